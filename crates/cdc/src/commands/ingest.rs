//! `cdc ingest`: the JSearch API → `linkedin_jobs`, on a schedule (`SCHEDULE_INTERVAL_MINUTES`), once, or from
//! saved responses.

use anyhow::{bail, Result};
use cdc_ingest::RunReport;

use crate::admin::{self, Connector, One, State};
use crate::cli::IngestArgs;
use crate::config::Config;

pub async fn run(
    config: Config,
    args: IngestArgs,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    if args.from_dir.is_none() {
        config.ingest.validate("ingest")?;
    }
    let name = config.admin.name.clone().unwrap_or_else(|| "cdc-ingest".to_owned());
    cdc_core::metrics::set_pipeline(&name);
    if let Some(listen) = config.admin.listen {
        // /metrics, /health and the connector's state for the scheduler (no pipeline to pause).
        let redacted = serde_json::to_value(&config)?;
        let envelope =
            cdc_core::envelope::Envelope::new(config.events.clone(), config.postgres.dbname.clone());
        let connector = std::sync::Arc::new(Connector::new(name, "source", redacted, envelope));
        connector.set(State::Running, None);
        admin::serve(listen, config.admin.token.clone(), std::sync::Arc::new(One(connector)), Vec::new())
            .await?;
    }
    let report = match (&args.from_dir, args.once) {
        (Some(dir), _) => cdc_ingest::run_from_dir(&config.postgres, dir).await?,
        (None, true) => cdc_ingest::run_once(&config.postgres, &config.ingest).await?,
        (None, false) => {
            let stop = async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            };
            cdc_ingest::run_scheduled(&config.postgres, &config.ingest, stop).await?;
            return Ok(());
        }
    };
    print_summary(&report);
    let failed: Vec<String> = report.failed_queries().map(|q| q.search_query.clone()).collect();
    if !failed.is_empty() {
        bail!("{} of {} queries failed: {}", failed.len(), report.queries.len(), failed.join("; "));
    }
    Ok(())
}

fn print_summary(report: &RunReport) {
    println!(
        "ingest: {} requests, {} new jobs, {} changed, {} unchanged, {} items skipped",
        report.requests(),
        report.jobs_new(),
        report.jobs_changed(),
        report.jobs_unchanged(),
        report.items_skipped()
    );
}
