//! Secrets, configuration from the environment, the request budget, offline mode and the scheduler.

use std::time::Duration;

use cdc_core::config::Secret;
use cdc_ingest::{run_from_dir, run_once, run_scheduled, IngestError};

use crate::support::jsearch::{FakeJsearch, Reply, DE};
use crate::support::{assert_no_secret, error_text, ingest_config, run_row, TestDb, TEST_KEY};

#[tokio::test]
async fn the_api_key_never_appears_in_errors_logs_or_ingestion_runs() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    // A proxy that echoes the key back in its error page must not leak it either.
    let echo = Reply {
        status: 503,
        headers: vec![],
        body: format!("<html>upstream rejected key {TEST_KEY}</html>").into_bytes(),
    };
    let scenarios = vec![
        vec![Reply::fixture("error-401-invalid-key.json")],
        vec![Reply::fixture("error-403-not-subscribed.json")],
        vec![Reply::fixture("error-429-monthly-quota.json")],
        vec![echo],
        vec![Reply::fixture("malformed/status-error-400.json")],
        vec![Reply::fixture("malformed/truncated.json")],
        vec![Reply::fixture("malformed/bad-items.json")],
    ];
    let mut texts = Vec::new();
    for replies in scenarios {
        api.script(DE, 1, replies);
        match run_once(&db.pg, &ingest_config(api.url())).await {
            Ok(report) => texts.push(format!("{report:?}")),
            Err(error) => texts.push(error_text(&error)),
        }
    }
    let mut bad_key = ingest_config(api.url());
    bad_key.api_key = Some(Secret::new(format!("{TEST_KEY}\n")));
    texts.push(format!("{:?}", run_once(&db.pg, &bad_key).await.map(|_| ())));
    texts.push(format!("{:?}", ingest_config(api.url())));

    for text in &texts {
        assert_no_secret("an error or report", text);
    }
    assert!(texts.iter().any(|t| t.contains("RAPIDAPI_KEY")));
    assert!(texts.iter().any(|t| t.contains("upstream rejected key ***")), "the echoed key is masked");
    assert_no_secret("ingestion_runs", &db.runs_text().await);
    // Every test of this binary logs into the same buffer, all with the same key.
    let logged = crate::support::captured_logs();
    assert!(logged.contains("retrying"), "the retry warnings were captured: {logged}");
    assert_no_secret("the logs", &logged);
}

fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
}

#[test]
fn the_seed_environment_variables_override_the_file_and_a_bad_one_is_named() {
    let mut cfg = cdc_ingest::IngestConfig::default();
    cfg.apply_env(env(&[
        ("RAPIDAPI_KEY", "k-123"),
        ("SEARCH_QUERIES", " data engineer, rust developer ,,"),
        ("SEARCH_LOCATION", "Canada"),
        ("SCHEDULE_INTERVAL_MINUTES", "15"),
    ]))
    .expect("valid environment");
    assert_eq!(cfg.api_key.as_ref().map(Secret::expose), Some("k-123"));
    assert_eq!(cfg.queries, vec!["data engineer", "rust developer"]);
    assert_eq!(cfg.search_text("data engineer"), "data engineer in Canada");
    assert_eq!(cfg.schedule_interval_minutes, 15);
    cfg.validate("ingest").expect("valid config");

    for (vars, name) in [
        (&[("SCHEDULE_INTERVAL_MINUTES", "hourly")][..], "SCHEDULE_INTERVAL_MINUTES"),
        (&[("SCHEDULE_INTERVAL_MINUTES", "0")][..], "SCHEDULE_INTERVAL_MINUTES"),
        (&[("SEARCH_QUERIES", " , ")][..], "SEARCH_QUERIES"),
        (&[("RAPIDAPI_KEY", " ")][..], "RAPIDAPI_KEY"),
    ] {
        let error = cdc_ingest::IngestConfig::default().apply_env(env(vars)).expect_err("bad variable");
        assert_eq!(error.key, name);
    }
    let missing_key = cdc_ingest::IngestConfig::default().validate("ingest").expect_err("no key");
    assert!(missing_key.key == "ingest.api_key" && missing_key.reason.contains("RAPIDAPI_KEY"));
    let toml_like: Result<cdc_ingest::IngestConfig, _> = serde_json::from_str(r#"{"querys": ["x"]}"#);
    assert!(toml_like.expect_err("unknown key").to_string().contains("querys"));
}

#[tokio::test]
async fn the_monthly_request_budget_stops_requests_once_used_up() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    let cfg = cdc_ingest::IngestConfig { monthly_request_budget: Some(10), ..ingest_config(api.url()) };
    run_once(&db.pg, &cfg).await.expect("8 requests fit in a budget of 10");
    let error = run_once(&db.pg, &cfg).await.expect_err("the second pass exceeds the budget");
    assert!(matches!(error, IngestError::BudgetExhausted { budget: 10, used: 10, .. }), "{error:?}");
    assert_eq!(api.requests().len(), 10);
    assert_eq!(db.count("SELECT sum(requests)::bigint FROM ingestion_runs").await, 10);
}

#[tokio::test]
async fn ingesting_without_db_init_says_to_run_it() {
    let db = TestDb::empty().await;
    let api = FakeJsearch::with_first_fetch().await;
    let error = run_once(&db.pg, &ingest_config(api.url())).await.expect_err("no schema");
    assert!(matches!(error, IngestError::SchemaMissing { .. }), "{error:?}");
    assert!(error.hint().is_some_and(|h| h.contains("cdc db init")));
    assert!(api.requests().is_empty(), "no request is spent before the database is ready");
}

#[tokio::test]
async fn offline_mode_loads_saved_responses_like_fetched_ones() {
    let db = TestDb::initialized().await;
    let dir = tempfile::tempdir().expect("tempdir");
    for slug in ["data-engineer", "rust-developer"] {
        for page in 1..=4 {
            let name = format!("search-{slug}-page{page}.json");
            std::fs::copy(crate::support::jsearch::data_dir().join(&name), dir.path().join(&name))
                .expect("copy");
        }
    }
    let report = run_from_dir(&db.pg, dir.path()).await.expect("offline run");
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 58);
    assert_eq!(report.queries.len(), 2);
    assert_eq!(report.jobs_new(), 58);
    assert_eq!(
        db.count("SELECT count(*) FROM ingestion_runs WHERE source = 'files' AND status = 'succeeded'").await,
        2
    );
    // Loading the same files again changes no content.
    let again = run_from_dir(&db.pg, dir.path()).await.expect("second offline run");
    assert_eq!((again.jobs_new(), again.jobs_changed(), again.jobs_unchanged()), (0, 0, 60));
}

#[tokio::test]
async fn the_scheduler_runs_a_pass_at_once_and_stops_cleanly_on_shutdown() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    let cfg = ingest_config(api.url());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pg = db.pg.clone();
    let scheduler = tokio::spawn(async move { run_scheduled(&pg, &cfg, stopped).await });

    cdc_test_support::wait_for("the first scheduled pass", Duration::from_secs(30), || async {
        (db.count("SELECT count(*) FROM ingestion_runs WHERE status = 'succeeded'").await == 2).then_some(())
    })
    .await;
    stop.send(()).expect("scheduler is waiting");
    let result = tokio::time::timeout(Duration::from_secs(10), scheduler)
        .await
        .expect("stops promptly")
        .expect("join");
    result.expect("clean shutdown");
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 58);
    assert_eq!(api.requests().len(), 8, "the next pass is an hour away");
}

#[tokio::test]
async fn a_shutdown_during_a_backoff_marks_the_run_interrupted() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    // Page 2 keeps rate-limiting with a long Retry-After: the pass is waiting when shutdown comes.
    api.script(DE, 2, vec![Reply::fixture("error-429-rate-limit.json").with_header("retry-after", "120")]);
    let cfg = ingest_config(api.url());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pg = db.pg.clone();
    let scheduler = tokio::spawn(async move { run_scheduled(&pg, &cfg, stopped).await });

    cdc_test_support::wait_for("the 429 on page 2", Duration::from_secs(30), || async {
        api.requests().iter().any(|r| r.param("page") == "2").then_some(())
    })
    .await;
    stop.send(()).expect("scheduler is running");
    tokio::time::timeout(Duration::from_secs(10), scheduler)
        .await
        .expect("stops promptly")
        .expect("join")
        .expect("ok");

    let (status, _, _) = run_row(&db).await;
    assert_eq!(status, "interrupted");
    assert_eq!(
        db.count("SELECT count(*) FROM linkedin_jobs").await,
        10,
        "page 1 was written before the stop"
    );
    assert_eq!(db.count("SELECT count(*) FROM ingestion_runs").await, 1, "no further query started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_records_runs_jobs_errors_and_the_quota_left_in_the_metrics() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    // A recorder of its own, for this pass only (other tests of this binary run passes concurrently): set on
    // a thread running the pass on its own runtime.
    let (pg, config) = (db.pg.clone(), ingest_config(api.url()));
    let (report, text) = tokio::task::spawn_blocking(move || {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let report = metrics::with_local_recorder(&recorder, || runtime.block_on(run_once(&pg, &config)));
        (report.expect("a pass"), handle.render())
    })
    .await
    .expect("the pass thread");

    let value = |name: &str, labels: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let queries = report.queries.len() as f64;
    assert_eq!(value(cdc_core::metrics::INGEST_RUNS, "status=\"succeeded\""), queries, "{text}");
    let stored: u64 = report.queries.iter().map(|q| q.jobs_new + q.jobs_changed + q.jobs_unchanged).sum();
    assert!(stored > 0, "the fixtures hold jobs");
    assert_eq!(value(cdc_core::metrics::INGEST_JOBS, ""), stored as f64, "{text}");
    assert!(text.contains(cdc_core::metrics::INGEST_ERRORS), "{text}");
    let quota =
        report.queries.last().and_then(|q| q.quota_remaining).expect("the fixtures carry the quota header");
    assert_eq!(value(cdc_core::metrics::INGEST_QUOTA_REMAINING, ""), quota as f64, "{text}");
}
