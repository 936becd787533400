//! Offline mode (`cdc ingest --from-dir DIR`): saved `GET /search` response bodies go through the same
//! parse, map and upsert path as fetched ones, for demos and air-gapped loads. No API key is needed.

use std::path::Path;

use cdc_core::config::PostgresConfig;

use crate::error::{IngestError, PageRef};
use crate::model;
use crate::run::{parse_and_record, write_items, QueryReport, RunReport};
use crate::store::Store;

/// One saved response body.
struct SavedPage {
    path: String,
    body: Vec<u8>,
}

/// Offline mode (`cdc ingest --from-dir DIR`): loads saved `GET /search` response bodies (`*.json`, in file
/// name order) as if fetched. Each file's `parameters.query` names its query (the file stem when absent); one
/// `ingestion_runs` row (source `files`) is written per query.
pub async fn run_from_dir(pg: &PostgresConfig, dir: &Path) -> Result<RunReport, IngestError> {
    let read_error = |source| IngestError::ReadFile { path: dir.display().to_string(), source };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect();
    files.sort();
    // Group pages by query, in order of first appearance.
    let mut groups: Vec<(String, Vec<SavedPage>)> = Vec::new();
    for path in files {
        let body = std::fs::read(&path)
            .map_err(|source| IngestError::ReadFile { path: path.display().to_string(), source })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let query = model::envelope_query(&body).unwrap_or(stem);
        let entry = SavedPage { path: path.display().to_string(), body };
        match groups.iter_mut().find(|(q, _)| *q == query) {
            Some((_, pages)) => pages.push(entry),
            None => groups.push((query, vec![entry])),
        }
    }
    let mut store = Store::open(pg).await?;
    let mut report = RunReport::default();
    for (query, pages) in groups {
        let (run_id, started_at) = store.begin_run("files", &query, None).await?;
        let mut run = QueryReport::new(run_id, started_at, query.clone());
        let mut result = Ok(());
        for SavedPage { path, body } in pages {
            run.pages += 1;
            let at = PageRef::File { path };
            if let Some(items) = parse_and_record(&body, &at, &mut run) {
                result = write_items(&mut store, &mut run, &query, items, &at).await;
                if result.is_err() {
                    break;
                }
            }
        }
        if let Err(error) = &result {
            run.record_error(error.to_string());
        }
        run.settle(result.is_err(), false);
        let finished = store.finish_run(&run).await;
        report.queries.push(run);
        result?;
        finished?;
    }
    Ok(report)
}
