//! Malformed bodies and odd items never crash a run: they are skipped, counted and recorded.

use cdc_ingest::{run_once, RunStatus};

use crate::support::jsearch::{fixture_jobs, FakeJsearch, Reply, DE};
use crate::support::{ingest_config, run_row, TestDb};

#[tokio::test]
async fn malformed_bodies_are_reported_with_page_and_query_and_good_items_still_land() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::start().await;
    api.script(DE, 1, vec![Reply::fixture("malformed/truncated.json")]);
    api.script(DE, 2, vec![Reply::fixture("malformed/missing-data.json")]);
    api.script(DE, 3, vec![Reply::fixture("malformed/data-not-array.json")]);
    api.script(DE, 4, vec![Reply::fixture("malformed/bad-items.json")]);
    let cfg = cdc_ingest::IngestConfig { queries: vec!["data engineer".into()], ..ingest_config(api.url()) };

    let report = run_once(&db.pg, &cfg).await.expect("malformed bodies never fail the run");

    let de = &report.queries[0];
    assert_eq!(de.status, RunStatus::CompletedWithErrors);
    assert_eq!(de.pages, 4, "paging went on after malformed pages and stopped at the short page");
    assert_eq!((de.jobs_new, de.items_skipped), (4, 5), "{de:?}");
    assert_eq!(de.invalid_fields, 8, "item 4's wrongly typed fields are stored as NULL: {de:?}");
    assert_eq!(de.error_count, 8);
    let expect = [
        ("page 1 of query \"data engineer in United States\"", "not valid JSON"),
        ("page 2 of query", "no `data` field"),
        ("page 3 of query", "`data` is an object, not an array"),
        ("page 4 of query", "item 1: skipped: job_id is missing"),
        ("page 4 of query", "item 2: skipped: job_id is null, not a string"),
        ("page 4 of query", "item 3: skipped: job_id is empty"),
        ("page 4 of query", "item 6: skipped: the item is a string, not an object"),
        ("page 4 of query", "item 7: skipped: the item is null, not an object"),
    ];
    for (message, (at, what)) in de.errors.iter().zip(expect) {
        assert!(message.contains(at) && message.contains(what), "{message:?} lacks {at:?} / {what:?}");
    }
    let (status, errors, messages) = run_row(&db).await;
    assert_eq!((status.as_str(), errors), ("completed_with_errors", 8));
    assert_eq!(messages.as_array().map(Vec::len), Some(8));

    // Item 4: kept with its wrongly typed fields as NULL, raw JSON intact.
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT job_title IS NULL, remote_allowed IS NULL, salary_min IS NULL, salary_max IS NULL, \
                    latitude IS NULL, benefits IS NULL, highlights IS NULL, raw_data->>'job_title' \
             FROM linkedin_jobs WHERE job_id = '0-9LFaAhixyQjL0KAAAAAA=='",
            &[],
        )
        .await
        .expect("item 4 stored");
    for i in 0..7 {
        assert!(row.get::<_, bool>(i), "column {i} of item 4 is not NULL");
    }
    assert_eq!(row.get::<_, String>(7), "12345");
    // Item 5: unicode, emoji, ZWJ, CRLF, tab, backslash and quotes stored unchanged.
    let items = fixture_jobs("malformed/bad-items.json");
    let row = client
        .query_one(
            "SELECT job_title, company_name FROM linkedin_jobs WHERE job_id = 'ZR5GbiYOFGxKPUZ_AAAAAA=='",
            &[],
        )
        .await
        .expect("item 5 stored");
    assert_eq!(row.get::<_, String>(0), items[5]["job_title"].as_str().expect("title"));
    assert_eq!(row.get::<_, String>(1), items[5]["employer_name"].as_str().expect("employer"));
    // Item 8: the unknown key is ignored by the mapping and kept in raw_data.
    assert_eq!(
        db.count("SELECT count(*) FROM linkedin_jobs WHERE job_id = 'viJBcbQ3LgI5roXOAAAAAA==' AND raw_data ? 'job_new_field_from_the_future'").await,
        1
    );
}

#[tokio::test]
async fn a_five_megabyte_description_with_emoji_and_nul_characters_is_stored() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::start().await;
    let mut jobs = fixture_jobs("search-data-engineer-page1.json");
    jobs.truncate(2);
    let description = format!("{}🦀 — “quoted” \\ end", "x".repeat(5_000_000));
    jobs[0]["job_description"] = serde_json::Value::String(description.clone());
    jobs[1]["job_title"] = serde_json::Value::String("NUL\u{0}inside".into());
    api.script(DE, 1, vec![Reply::page(DE, 1, jobs.clone())]);
    let cfg = cdc_ingest::IngestConfig { queries: vec!["data engineer".into()], ..ingest_config(api.url()) };

    let report = run_once(&db.pg, &cfg).await.expect("run");

    assert_eq!((report.jobs_new(), report.items_skipped()), (2, 0), "{report:?}");
    let client = db.client().await;
    let stored: String = client
        .query_one(
            "SELECT job_description FROM linkedin_jobs WHERE job_id = $1",
            &[&jobs[0]["job_id"].as_str()],
        )
        .await
        .expect("big row")
        .get(0);
    assert_eq!(stored, description);
    let title: String = client
        .query_one("SELECT job_title FROM linkedin_jobs WHERE job_id = $1", &[&jobs[1]["job_id"].as_str()])
        .await
        .expect("nul row")
        .get(0);
    assert_eq!(title, "NULinside", "PostgreSQL cannot store U+0000; it is removed");
}

#[tokio::test]
async fn a_job_the_database_refuses_is_skipped_and_counted_while_the_page_lands() {
    let db = TestDb::initialized().await;
    // An index entry cannot exceed about 2.7 kB: a company name of 1 MB of random text is refused (54000).
    let huge: String = (0..1_000_000).map(|_| fastrand::alphanumeric()).collect();
    let api = FakeJsearch::start().await;
    let mut jobs = fixture_jobs("search-data-engineer-page1.json");
    jobs.truncate(3);
    jobs[1]["employer_name"] = serde_json::Value::String(huge);
    api.script(DE, 1, vec![Reply::page(DE, 1, jobs)]);
    let cfg = cdc_ingest::IngestConfig { queries: vec!["data engineer".into()], ..ingest_config(api.url()) };

    let report = run_once(&db.pg, &cfg).await.expect("run");

    let de = &report.queries[0];
    assert_eq!((de.jobs_new, de.items_skipped, de.status), (2, 1, RunStatus::CompletedWithErrors), "{de:?}");
    assert!(de.errors[0].contains("refused by PostgreSQL"), "{:?}", de.errors);
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 2);
}
