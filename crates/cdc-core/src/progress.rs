//! Progress of long tasks (a table's snapshot, `cdc db init`) for a person watching a terminal.
//!
//! Libraries report progress here without knowing who draws it; the binary installs a [`Display`] (progress
//! bars) only when stdout is a terminal and logs are for people, so tests, pipes and JSON logs see nothing.
//! Metrics are separate and always recorded: this is only for eyes.

use std::sync::{Arc, OnceLock};

/// What a task counts, so the display can print `rows` or `steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Rows,
    Steps,
}

/// Draws tasks; installed once per process by [`install`].
pub trait Display: Send + Sync {
    /// A new task called `label`, expected to reach `total` (unknown when `None`).
    fn start(&self, label: &str, total: Option<u64>, unit: Unit) -> Box<dyn Bar>;
}

/// One task on the display.
pub trait Bar: Send {
    fn advance(&mut self, by: u64);
    /// What the task is doing now (e.g. the step's name).
    fn describe(&mut self, what: &str);
    /// The task completed; the bar stays with its final count.
    fn finish(&mut self);
    /// The task stopped without completing (an error); the bar is removed.
    fn abandon(&mut self);
}

static DISPLAY: OnceLock<Arc<dyn Display>> = OnceLock::new();

/// Installs the process's display; later calls are ignored.
pub fn install(display: Arc<dyn Display>) {
    let _ = DISPLAY.set(display);
}

/// A running task; does nothing when no display is installed. Dropped before [`Task::finish`], it abandons.
pub struct Task {
    bar: Option<Box<dyn Bar>>,
    in_step: bool,
}

impl Task {
    pub fn start(label: &str, total: Option<u64>, unit: Unit) -> Task {
        Task { bar: DISPLAY.get().map(|display| display.start(label, total, unit)), in_step: false }
    }

    /// A task that shows nothing (what a finished task leaves behind).
    pub fn none() -> Task {
        Task { bar: None, in_step: false }
    }

    pub fn advance(&mut self, by: u64) {
        if let Some(bar) = self.bar.as_mut() {
            bar.advance(by);
        }
    }

    /// Names the step now running and counts the one before it as done.
    pub fn step(&mut self, what: &str) {
        if let Some(bar) = self.bar.as_mut() {
            if self.in_step {
                bar.advance(1);
            }
            bar.describe(what);
        }
        self.in_step = true;
    }

    pub fn finish(mut self) {
        if let Some(mut bar) = self.bar.take() {
            if self.in_step {
                bar.advance(1);
            }
            bar.finish();
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(mut bar) = self.bar.take() {
            bar.abandon();
        }
    }
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("shown", &self.bar.is_some()).finish()
    }
}
