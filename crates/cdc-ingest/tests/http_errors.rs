//! HTTP failures: 401/403 stop at once, 429 is waited out or ends the run on quota, 5xx is retried.

use std::time::Duration;

use cdc_ingest::{run_once, IngestError, RunStatus};

use crate::support::jsearch::{FakeJsearch, Reply, DE};
use crate::support::{assert_no_secret, error_text, ingest_config, run_row, TestDb};

#[tokio::test]
async fn a_401_stops_the_run_at_once_with_a_clear_error_and_a_failed_run_row() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    api.script(DE, 1, vec![Reply::fixture("error-401-invalid-key.json")]);

    let error = run_once(&db.pg, &ingest_config(api.url())).await.expect_err("401 must fail the run");

    assert!(matches!(error, IngestError::Unauthorized { status: 401, .. }), "{error:?}");
    assert_eq!(error.retry(), cdc_ingest::Retry::Permanent);
    let text = error.to_string();
    assert!(text.contains("RAPIDAPI_KEY") && text.contains("Invalid API key"), "{text}");
    assert!(error.hint().is_some_and(|h| h.contains("RAPIDAPI_KEY")));
    assert_eq!(api.requests().len(), 1, "no retry and no further query after a 401");
    let (status, errors, messages) = run_row(&db).await;
    assert_eq!((status.as_str(), errors), ("failed", 1));
    assert!(messages[0].as_str().is_some_and(|m| m.contains("RAPIDAPI_KEY")), "{messages}");
    assert_eq!(db.count("SELECT count(*) FROM ingestion_runs").await, 1);
    assert_no_secret("the error", &error_text(&error));
    assert_no_secret("ingestion_runs", &db.runs_text().await);
}

#[tokio::test]
async fn a_403_not_subscribed_is_permanent_and_says_how_to_fix_it() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    api.script(DE, 1, vec![Reply::fixture("error-403-not-subscribed.json")]);
    let error = run_once(&db.pg, &ingest_config(api.url())).await.expect_err("403 must fail the run");
    assert!(matches!(error, IngestError::Unauthorized { status: 403, .. }), "{error:?}");
    assert!(error.to_string().contains("not subscribed"), "{error}");
    assert!(error.hint().is_some_and(|h| h.contains("subscribe")));
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn a_429_with_retry_after_2_is_waited_out_and_succeeds() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    api.script(
        DE,
        1,
        vec![Reply::fixture("error-429-rate-limit.json"), Reply::fixture("search-data-engineer-page1.json")],
    );

    let report = run_once(&db.pg, &ingest_config(api.url())).await.expect("run");

    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 58);
    let de = &report.queries[0];
    assert_eq!((de.status, de.requests), (RunStatus::Succeeded, 5), "{de:?}");
    let requests = api.requests();
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}, before Retry-After");
    assert!(waited < Duration::from_secs(5), "waited far longer than Retry-After: {waited:?}");
}

#[tokio::test]
async fn a_429_for_the_monthly_quota_stops_the_run_without_retrying() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    api.script(DE, 1, vec![Reply::fixture("error-429-monthly-quota.json")]);
    let error = run_once(&db.pg, &ingest_config(api.url())).await.expect_err("quota must stop the run");
    assert!(matches!(error, IngestError::QuotaExhausted { reset_in: Some(_), .. }), "{error:?}");
    assert!(error.to_string().contains("resets in 19 days"), "{error}");
    assert_eq!(api.requests().len(), 1);
    assert_eq!(run_row(&db).await.0, "failed");
}

#[tokio::test]
async fn server_errors_twice_then_200_succeed_after_backoff() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    let plain_500 = Reply::json(500, &serde_json::json!({"message": "Internal Server Error"}));
    api.script(
        DE,
        2,
        vec![
            Reply::fixture("malformed/html-502.html"),
            plain_500,
            Reply::fixture("search-data-engineer-page2.json"),
        ],
    );
    let report = run_once(&db.pg, &ingest_config(api.url())).await.expect("run");
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 58);
    assert_eq!((report.queries[0].status, report.queries[0].requests), (RunStatus::Succeeded, 6));
    assert_eq!(run_row(&db).await, ("succeeded".into(), 0, serde_json::json!([])));
}

#[tokio::test]
async fn a_server_error_beyond_the_retries_fails_only_its_query() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    api.script(DE, 1, vec![Reply::fixture("malformed/html-502.html")]);
    let report = run_once(&db.pg, &ingest_config(api.url())).await.expect("the run goes on");
    let de = &report.queries[0];
    assert_eq!((de.status, de.requests, de.jobs_seen), (RunStatus::Failed, 4, 0), "{de:?}");
    assert!(de.errors[0].contains("HTTP 502") && de.errors[0].contains("page 1 of query"), "{:?}", de.errors);
    assert!(
        de.errors[0].contains("502 Bad Gateway"),
        "the body excerpt says what the proxy said: {:?}",
        de.errors
    );
    assert_eq!(report.queries[1].status, RunStatus::Succeeded);
    assert_eq!(report.failed_queries().count(), 1);
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 30);
}

#[tokio::test]
async fn a_400_provider_error_fails_its_query_with_the_providers_message() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    api.script(DE, 1, vec![Reply::fixture("malformed/status-error-400.json")]);
    let report = run_once(&db.pg, &ingest_config(api.url())).await.expect("the run goes on");
    let de = &report.queries[0];
    assert_eq!((de.status, de.requests), (RunStatus::Failed, 1));
    assert!(de.errors[0].contains("Invalid value for parameter date_posted"), "{:?}", de.errors);
}
