//! [`Connector`]: what the admin API shows of a running role and how it steers it.
//!
//! The role's supervisor owns the pipeline; the API only reads the [`Status`] the supervisor publishes and sends
//! it [`Desired`] changes (pause, resume, restart). Pausing stops the pipeline after its batch in flight is
//! durable and acknowledged and closes the source (the slot stays where it is; a consumer leaves its group);
//! resuming opens it again where it was acknowledged, so nothing is lost.

use std::sync::{Arc, Mutex};

use cdc_core::envelope::Envelope;
use cdc_core::pipeline::EventTap;

use serde_json::Value as Json;
use tokio::sync::watch;

/// How many recent events the UI can browse.
const RECENT_EVENTS: usize = 50;

/// The connector's state, as Kafka Connect spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Failed,
}

impl State {
    pub const ALL: [State; 4] = [State::Unassigned, State::Running, State::Paused, State::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
        }
    }
}

/// What the supervisor last published.
#[derive(Debug, Clone)]
pub struct Status {
    pub state: State,
    /// The error chain of the last failure (Kafka Connect's `trace`).
    pub trace: Option<String>,
}

/// What the operator asked for: paused or not, and how many restarts so far (a change means "restart now").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Desired {
    pub paused: bool,
    pub restarts: u64,
}

/// One connector (one role of this process).
#[derive(Debug)]
pub struct Connector {
    pub name: String,
    /// `source` (capture, run) or `sink` (load), as Kafka Connect types them.
    pub kind: &'static str,
    /// The effective configuration, secrets redacted.
    pub config: Json,
    status: Mutex<Status>,
    desired: watch::Sender<Desired>,
    /// The last durable events, for the UI.
    pub tap: Arc<EventTap>,
    /// Encodes them as the Debezium envelope the topics carry.
    pub envelope: Mutex<Envelope>,
    /// Where `/offsets` reads its positions.
    pub offsets: super::Offsets,
}

impl Connector {
    pub fn new(name: String, kind: &'static str, config: Json, envelope: Envelope) -> Connector {
        let connector = Connector {
            name,
            kind,
            config,
            status: Mutex::new(Status { state: State::Unassigned, trace: None }),
            desired: watch::Sender::new(Desired::default()),
            tap: Arc::new(EventTap::new(RECENT_EVENTS)),
            envelope: Mutex::new(envelope),
            offsets: super::Offsets::NotApplicable,
        };
        connector.publish_state_metric(State::Unassigned);
        connector
    }

    /// Where `/offsets` reads this connector's positions (default: none).
    pub fn with_offsets(mut self, offsets: super::Offsets) -> Connector {
        self.offsets = offsets;
        self
    }

    pub fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or(Status { state: State::Failed, trace: None })
    }

    /// Called by the supervisor.
    pub fn set(&self, state: State, trace: Option<String>) {
        if let Ok(mut status) = self.status.lock() {
            if status.state != state {
                tracing::info!(pipeline = %self.name, state = state.as_str(), "connector state");
            }
            *status = Status { state, trace };
        }
        self.publish_state_metric(state);
    }

    fn publish_state_metric(&self, state: State) {
        for s in State::ALL {
            metrics::gauge!(cdc_core::metrics::CONNECTOR_STATE, "pipeline" => self.name.clone(), "state" => s.as_str())
                .set(if s == state { 1.0 } else { 0.0 });
        }
    }

    pub fn pause(&self) {
        self.desired.send_modify(|d| d.paused = true);
    }

    pub fn resume(&self) {
        self.desired.send_modify(|d| d.paused = false);
    }

    pub fn restart(&self) {
        self.desired.send_modify(|d| d.restarts += 1);
    }

    /// The supervisor's view of what is wanted.
    pub fn desired(&self) -> watch::Receiver<Desired> {
        self.desired.subscribe()
    }
}
