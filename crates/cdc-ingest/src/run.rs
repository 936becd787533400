//! One ingestion pass and the scheduler around it.
//!
//! ```text
//! run_scheduled ── every schedule_interval ──▶ pass ── for each query ──▶ ingestion_runs row (running)
//!                                                      for page 1..=max_pages:
//!                                                        fetch (client.rs) ─▶ parse + map (model.rs)
//!                                                        ─▶ one transaction per page (store.rs)
//!                                                        stop at an empty or short page
//!                                                      ingestion_runs row (final status and counters)
//! ```
//!
//! Failure scopes: a malformed page or a refused job is counted and the pass goes on; a page that still fails
//! after its retries ends its query; 401/403, an exhausted quota or budget, and database failures end the
//! pass with an error. Every query that started has its `ingestion_runs` row finished, whatever happened.
//!
//! Shutdown: the pass stops waiting (for a response, a backoff, the pacer) as soon as shutdown fires, but a
//! page already fetched is written to the end first; the run row is then marked `interrupted`.

use std::future::Future;
use std::pin::Pin;

use cdc_core::config::PostgresConfig;
use chrono::{DateTime, Utc};

use crate::client::JsearchClient;
use crate::config::IngestConfig;
use crate::error::{IngestError, PageRef, Retry};
use crate::model::{self, PAGE_SIZE};
use crate::store::Store;

/// At most this many error messages are kept per run row; the count keeps going.
const MAX_ERROR_MESSAGES: usize = 50;

/// Final state of one query's run (`ingestion_runs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    /// Every page fetched and every item stored.
    Succeeded,
    /// Paging finished, but some pages were malformed or some items skipped.
    CompletedWithErrors,
    /// The query stopped early on an error.
    Failed,
    /// Shutdown stopped the query.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::CompletedWithErrors => "completed_with_errors",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// What one query of a pass did; the same numbers are in its `ingestion_runs` row.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryReport {
    pub run_id: i64,
    pub started_at: DateTime<Utc>,
    /// The `query` sent (`"<query> in <location>"`), or the saved envelope's query.
    pub search_query: String,
    pub status: RunStatus,
    pub pages: u64,
    pub requests: u64,
    /// Items that mapped to a job (new + changed + unchanged + refused by the database).
    pub jobs_seen: u64,
    pub jobs_new: u64,
    pub jobs_changed: u64,
    /// Re-seen with the same content: only `last_seen_at` moved.
    pub jobs_unchanged: u64,
    /// Items skipped: no usable `job_id`, not an object, or refused by the database.
    pub items_skipped: u64,
    /// Fields of stored jobs that had the wrong JSON type and were stored as NULL.
    pub invalid_fields: u64,
    pub error_count: u64,
    /// The first error messages (no secrets), as in `ingestion_runs.errors`.
    pub errors: Vec<String>,
    pub quota_remaining: Option<u64>,
}

impl QueryReport {
    pub(crate) fn new(run_id: i64, started_at: DateTime<Utc>, search_query: String) -> QueryReport {
        QueryReport {
            run_id,
            started_at,
            search_query,
            status: RunStatus::Running,
            pages: 0,
            requests: 0,
            jobs_seen: 0,
            jobs_new: 0,
            jobs_changed: 0,
            jobs_unchanged: 0,
            items_skipped: 0,
            invalid_fields: 0,
            error_count: 0,
            errors: Vec::new(),
            quota_remaining: None,
        }
    }

    pub(crate) fn record_error(&mut self, message: String) {
        tracing::warn!(query = %self.search_query, error = %message, "ingestion error");
        self.error_count += 1;
        if self.errors.len() < MAX_ERROR_MESSAGES {
            self.errors.push(message);
        }
    }

    pub(crate) fn settle(&mut self, stopped_early: bool, interrupted: bool) {
        self.status = if interrupted {
            RunStatus::Interrupted
        } else if stopped_early {
            RunStatus::Failed
        } else if self.error_count > 0 {
            RunStatus::CompletedWithErrors
        } else {
            RunStatus::Succeeded
        };
    }
}

/// What one pass over every query did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    pub queries: Vec<QueryReport>,
    /// Shutdown stopped the pass before every query ran.
    pub interrupted: bool,
}

impl RunReport {
    pub fn jobs_new(&self) -> u64 {
        self.queries.iter().map(|q| q.jobs_new).sum()
    }
    pub fn jobs_changed(&self) -> u64 {
        self.queries.iter().map(|q| q.jobs_changed).sum()
    }
    pub fn jobs_unchanged(&self) -> u64 {
        self.queries.iter().map(|q| q.jobs_unchanged).sum()
    }
    pub fn items_skipped(&self) -> u64 {
        self.queries.iter().map(|q| q.items_skipped).sum()
    }
    pub fn requests(&self) -> u64 {
        self.queries.iter().map(|q| q.requests).sum()
    }
    /// Queries that stopped early on an error (the pass itself went on).
    pub fn failed_queries(&self) -> impl Iterator<Item = &QueryReport> {
        self.queries.iter().filter(|q| q.status == RunStatus::Failed)
    }
}

/// The shutdown future, pollable again after it fired.
struct Stop<'a> {
    signal: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
    fired: bool,
}

impl<'a> Stop<'a> {
    fn new(signal: impl Future + Send + 'a) -> Stop<'a> {
        Stop {
            signal: Box::pin(async move {
                signal.await;
            }),
            fired: false,
        }
    }

    /// Resolves once shutdown was requested (at once, if it already was). Cancel-safe.
    async fn wait(&mut self) {
        if !self.fired {
            (&mut self.signal).await;
            self.fired = true;
        }
    }
}

/// One pass over every configured query and page, upserting into `linkedin_jobs`; each query writes an
/// `ingestion_runs` row. `Err` for failures that end the pass (bad key, quota, database); failures of a single
/// query are in its [`QueryReport`].
pub async fn run_once(pg: &PostgresConfig, cfg: &IngestConfig) -> Result<RunReport, IngestError> {
    let mut stop = Stop::new(std::future::pending::<()>());
    pass(pg, cfg, &mut stop).await
}

/// Runs a pass every `schedule_interval_minutes` (measured start to start; the first at once) until
/// `shutdown` resolves. A pass that fails with a transient error is logged and the schedule goes on; a
/// permanent one (bad key, missing schema) is returned.
pub async fn run_scheduled(
    pg: &PostgresConfig,
    cfg: &IngestConfig,
    shutdown: impl Future + Send,
) -> Result<(), IngestError> {
    cfg.validate("ingest")?;
    let mut stop = Stop::new(shutdown);
    let mut ticks = tokio::time::interval(cfg.schedule_interval());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            // 1. shutdown wins over starting a pass.
            () = stop.wait() => return Ok(()),
            // 2. the next pass is due.
            _ = ticks.tick() => {}
        }
        match pass(pg, cfg, &mut stop).await {
            Ok(report) => tracing::info!(
                new = report.jobs_new(),
                changed = report.jobs_changed(),
                unchanged = report.jobs_unchanged(),
                skipped = report.items_skipped(),
                requests = report.requests(),
                "ingestion pass finished"
            ),
            Err(error) if error.retry() == Retry::Transient => {
                tracing::warn!(error = %error, "ingestion pass failed; the next scheduled pass tries again");
            }
            Err(error) => return Err(error),
        }
        if stop.fired {
            return Ok(());
        }
    }
}

async fn pass(
    pg: &PostgresConfig,
    cfg: &IngestConfig,
    stop: &mut Stop<'_>,
) -> Result<RunReport, IngestError> {
    cfg.validate("ingest")?;
    let mut store = Store::open(pg).await?;
    let used = match cfg.monthly_request_budget {
        Some(_) => store.requests_this_month().await?,
        None => 0,
    };
    let mut client = JsearchClient::new(cfg, used)?;
    let mut report = RunReport::default();
    for query in &cfg.queries {
        if stop.fired {
            report.interrupted = true;
            break;
        }
        let text = cfg.search_text(query);
        let location = Some(cfg.location.trim()).filter(|l| !l.is_empty());
        let (run_id, started_at) = store.begin_run("api", &text, location).await?;
        let mut run = QueryReport::new(run_id, started_at, text);
        let requests_before = client.requests();
        let result = fetch_query(&mut store, &mut client, cfg.max_pages, &mut run, stop).await;
        run.requests = client.requests() - requests_before;
        run.quota_remaining = client.quota_remaining();
        let fatal = match result {
            Ok(stopped_early) => {
                run.settle(stopped_early, stop.fired);
                None
            }
            Err(error) => {
                run.record_error(error.to_string());
                run.settle(true, false);
                Some(error)
            }
        };
        let finished = store.finish_run(&run).await;
        record_metrics(&run);
        report.queries.push(run);
        if let Some(error) = fatal {
            return Err(error);
        }
        finished?;
    }
    report.interrupted |= stop.fired;
    Ok(report)
}

/// One query's run in the metrics: runs by status, jobs stored, errors, the API quota left.
fn record_metrics(run: &QueryReport) {
    use cdc_core::metrics as m;
    let pipeline = m::pipeline();
    // The alert rules and the dashboard read `succeeded` and `failed`: a run with item errors still succeeded.
    let status = match run.status {
        RunStatus::Failed => "failed",
        RunStatus::Interrupted => "interrupted",
        _ => "succeeded",
    };
    metrics::counter!(m::INGEST_RUNS, "pipeline" => pipeline.clone(), "status" => status).increment(1);
    metrics::counter!(m::INGEST_JOBS, "pipeline" => pipeline.clone())
        .increment(run.jobs_new + run.jobs_changed + run.jobs_unchanged);
    metrics::counter!(m::INGEST_ERRORS, "pipeline" => pipeline.clone()).increment(run.error_count);
    if let Some(remaining) = run.quota_remaining {
        metrics::gauge!(m::INGEST_QUOTA_REMAINING, "pipeline" => pipeline).set(remaining as f64);
    }
}

/// Pages of one query. `Ok(true)` when the query stopped early on an error that ends only this query;
/// `Err` for errors that end the pass.
async fn fetch_query(
    store: &mut Store,
    client: &mut JsearchClient,
    max_pages: u32,
    run: &mut QueryReport,
    stop: &mut Stop<'_>,
) -> Result<bool, IngestError> {
    let query = run.search_query.clone();
    for page in 1..=max_pages {
        let fetched = tokio::select! {
            biased;
            () = stop.wait() => return Ok(false),
            fetched = client.fetch_page(&query, page) => fetched,
        };
        let body = match fetched {
            Ok(fetched) => fetched.body,
            Err(error) if error.ends_run() => return Err(error),
            Err(error) => {
                run.record_error(error.to_string());
                return Ok(true);
            }
        };
        run.pages += 1;
        let at = PageRef::Api { query: query.clone(), page };
        let Some(items) = parse_and_record(&body, &at, run) else {
            // A malformed page says nothing about the next one; go on.
            continue;
        };
        let count = items.len();
        write_items(store, run, &query, items, &at).await?;
        if count < PAGE_SIZE || stop.fired {
            break;
        }
    }
    Ok(false)
}

/// The items of a page body, or `None` after recording why the body is unusable.
pub(crate) fn parse_and_record(
    body: &[u8],
    at: &PageRef,
    run: &mut QueryReport,
) -> Option<Vec<serde_json::Value>> {
    match model::parse_page(body) {
        Ok(items) => Some(items),
        Err(reason) => {
            run.record_error(IngestError::Malformed { at: at.clone(), reason }.to_string());
            None
        }
    }
}

/// Maps the items of a page and writes them in one transaction.
pub(crate) async fn write_items(
    store: &mut Store,
    run: &mut QueryReport,
    query: &str,
    items: Vec<serde_json::Value>,
    at: &PageRef,
) -> Result<(), IngestError> {
    let mut jobs = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match model::map_item(item) {
            Ok(job) => {
                if !job.invalid_fields.is_empty() {
                    run.invalid_fields += job.invalid_fields.len() as u64;
                    tracing::debug!(job_id = %job.job_id, fields = ?job.invalid_fields, "fields of the wrong type stored as null");
                }
                jobs.push(job);
            }
            Err(reason) => {
                run.items_skipped += 1;
                run.record_error(format!("{at}, item {index}: skipped: {reason}"));
            }
        }
    }
    let outcome = store.write_page(run.started_at, query, &jobs).await?;
    run.jobs_seen += jobs.len() as u64;
    run.jobs_new += outcome.new;
    run.jobs_changed += outcome.changed;
    run.jobs_unchanged += outcome.unchanged;
    for (job_id, message) in outcome.refused {
        run.items_skipped += 1;
        run.record_error(format!("{at}, job {job_id}: refused by PostgreSQL: {message}"));
    }
    Ok(())
}
