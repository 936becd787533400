//! Ingestion counts and upsert semantics: the fixture set's 58 rows, the refetches, and the column mapping.

use std::collections::{BTreeMap, BTreeSet};

use cdc_ingest::{run_once, RunStatus};

use crate::support::jsearch::{fixture_jobs, FakeJsearch, Reply, DE, RUST};
use crate::support::{ingest_config, TestDb, TEST_KEY};

const NEW_JOB: &str = "gOCcYP_Y0Ry3apzYAAAAAA==";
const SALARY_CHANGED: &str = "s6XXmyhXQ2b5Krp0AAAAAA==";
const TITLE_CHANGED: &str = "2jJckLPxfb7bsV0HAAAAAA==";

#[tokio::test]
async fn two_queries_of_three_pages_store_58_jobs_and_stop_at_the_empty_page() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;

    let report = run_once(&db.pg, &ingest_config(api.url())).await.expect("run");

    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 58);
    assert_eq!(report.jobs_new(), 58);
    // The two duplicates (one within a query, one across queries) are re-sightings with equal content.
    assert_eq!(report.jobs_unchanged(), 2);
    assert_eq!(report.jobs_changed(), 0);
    assert_eq!(report.queries.len(), 2);
    for q in &report.queries {
        assert_eq!(q.status, RunStatus::Succeeded, "{q:?}");
        assert_eq!((q.pages, q.requests, q.jobs_seen), (4, 4, 30), "{q:?}");
        assert!(q.quota_remaining.is_some());
    }
    // The requests: /search with the documented parameters and headers, pages 1-4 per query.
    let requests = api.requests();
    assert_eq!(requests.len(), 8);
    for r in &requests {
        assert_eq!(r.path, "/search");
        assert_eq!(r.headers.get("x-rapidapi-key").map(String::as_str), Some(TEST_KEY));
        assert_eq!(r.headers.get("x-rapidapi-host").map(String::as_str), Some("jsearch.p.rapidapi.com"));
        assert_eq!((r.param("num_pages"), r.param("date_posted"), r.param("country")), ("1", "all", "us"));
    }
    let order: Vec<(String, String)> =
        requests.iter().map(|r| (r.param("query").to_owned(), r.param("page").to_owned())).collect();
    assert_eq!(order[0], (DE.to_owned(), "1".to_owned()));
    assert_eq!(order[7], (RUST.to_owned(), "4".to_owned()));

    let runs = db
        .client()
        .await
        .query(
            "SELECT search_query, status, source, pages_fetched, requests, jobs_seen, jobs_new, finished_at IS NOT NULL \
             FROM ingestion_runs ORDER BY run_id",
            &[],
        )
        .await
        .expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].get::<_, String>(0), DE);
    assert_eq!(runs[0].get::<_, String>(1), "succeeded");
    assert_eq!(runs[0].get::<_, String>(2), "api");
    assert_eq!((runs[0].get::<_, i32>(3), runs[0].get::<_, i32>(4), runs[0].get::<_, i32>(5)), (4, 4, 30));
    assert_eq!(runs[0].get::<_, i32>(6) + runs[1].get::<_, i32>(6), 58);
    assert!(runs[1].get::<_, bool>(7));
}

/// Records, per write to linkedin_jobs, the operation and the columns whose value changed.
async fn install_change_audit(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE job_audit (op text, job_id text, changed text[]);
             CREATE FUNCTION job_audit() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF TG_OP = 'INSERT' THEN
                     INSERT INTO job_audit VALUES ('insert', NEW.job_id, NULL);
                 ELSE
                     INSERT INTO job_audit
                     SELECT 'update', NEW.job_id, array_agg(n.key ORDER BY n.key)
                     FROM jsonb_each(to_jsonb(NEW)) n JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
                     WHERE n.value IS DISTINCT FROM o.value;
                 END IF;
                 RETURN NULL;
             END $$;
             CREATE TRIGGER job_audit AFTER INSERT OR UPDATE ON linkedin_jobs
                 FOR EACH ROW EXECUTE FUNCTION job_audit();",
        )
        .await
        .expect("install audit trigger");
}

/// (op, job_id) → changed columns, for the writes since the audit was installed.
async fn audited_writes(db: &TestDb) -> Vec<(String, String, Vec<String>)> {
    let rows = db
        .client()
        .await
        .query("SELECT op, job_id, coalesce(changed, '{}') FROM job_audit ORDER BY 2", &[])
        .await
        .expect("audit");
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect()
}

async fn row_versions(db: &TestDb) -> BTreeMap<String, String> {
    let rows =
        db.client().await.query("SELECT job_id, xmin::text FROM linkedin_jobs", &[]).await.expect("xmin");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// First fetch of both queries, then a second run of the data-engineer page 1 only, served from `file`.
async fn refetch_page_one(db: &TestDb, api: &FakeJsearch, file: &str) -> cdc_ingest::RunReport {
    api.script(DE, 1, vec![Reply::fixture(file)]);
    let cfg = cdc_ingest::IngestConfig {
        queries: vec!["data engineer".into()],
        max_pages: 1,
        ..ingest_config(api.url())
    };
    run_once(&db.pg, &cfg).await.expect("refetch run")
}

/// The acceptance of both refetch fixtures: 1 insert, 2 content updates, 8 rows with only last_seen_at moved.
async fn assert_one_new_two_changed_eight_seen(db: &TestDb, api: &FakeJsearch, file: &str) {
    run_once(&db.pg, &ingest_config(api.url())).await.expect("first run");
    let before = row_versions(db).await;
    install_change_audit(db).await;

    let report = refetch_page_one(db, api, file).await;

    assert_eq!((report.jobs_new(), report.jobs_changed(), report.jobs_unchanged()), (1, 2, 8), "{report:?}");
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 59);
    let writes = audited_writes(db).await;
    let inserts: Vec<&str> = writes.iter().filter(|w| w.0 == "insert").map(|w| w.1.as_str()).collect();
    assert_eq!(inserts, vec![NEW_JOB]);
    let updates: BTreeMap<&str, &Vec<String>> =
        writes.iter().filter(|w| w.0 == "update").map(|w| (w.1.as_str(), &w.2)).collect();
    assert_eq!(updates.len(), 10, "every old job of the page is written once: {updates:?}");
    let only_seen: Vec<&&str> =
        updates.iter().filter(|(_, c)| ***c == ["last_seen_at".to_owned()]).map(|(id, _)| id).collect();
    assert_eq!(only_seen.len(), 8, "8 unchanged jobs move last_seen_at alone: {updates:?}");
    for (id, must_change) in
        [(SALARY_CHANGED, ["salary_min", "salary_max"]), (TITLE_CHANGED, ["job_title", "onet_job_zone"])]
    {
        let changed = updates.get(id).unwrap_or_else(|| panic!("{id} was not updated"));
        for column in must_change.iter().chain(&[
            "content_fingerprint",
            "last_changed_at",
            "last_updated_at",
            "raw_data",
        ]) {
            assert!(changed.iter().any(|c| c == column), "{id}: {column} did not change: {changed:?}");
        }
        assert!(!changed.iter().any(|c| c == "first_seen_at"), "{id}: first_seen_at moved");
    }
    // Row versions: exactly the ten re-seen jobs got a new version; the 48 others were not touched.
    let after = row_versions(db).await;
    let rewritten: BTreeSet<&String> =
        before.iter().filter(|(id, x)| after.get(*id) != Some(*x)).map(|(id, _)| id).collect();
    let expected: BTreeSet<String> = updates.keys().map(|s| (*s).to_owned()).collect();
    assert_eq!(rewritten, expected.iter().collect());
}

#[tokio::test]
async fn a_refetch_inserts_one_job_changes_two_and_only_moves_last_seen_at_of_the_other_eight() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    assert_one_new_two_changed_eight_seen(&db, &api, "search-data-engineer-page1-refetch.json").await;

    let client = db.client().await;
    let row = client
        .query_one(
            &format!(
                "SELECT salary_min::text, salary_max::text, last_changed_at > first_seen_at FROM linkedin_jobs \
                 WHERE job_id = '{SALARY_CHANGED}'"
            ),
            &[],
        )
        .await
        .expect("salary row");
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, bool>(2)),
        ("145000.00".into(), "175000.00".into(), true)
    );
    let title: String = client
        .query_one(&format!("SELECT job_title FROM linkedin_jobs WHERE job_id = '{TITLE_CHANGED}'"), &[])
        .await
        .expect("title row")
        .get(0);
    assert_eq!(title, "Senior Data Engineer");
    // Unchanged jobs: seen now, changed at their first sighting, last_updated_at untouched.
    let stale = db
        .count(
            "SELECT count(*) FROM linkedin_jobs WHERE last_seen_at > last_changed_at \
             AND last_updated_at < last_seen_at AND last_changed_at = first_seen_at",
        )
        .await;
    assert_eq!(stale, 8);
}

#[tokio::test]
async fn a_next_day_refetch_gives_the_same_counts_because_the_relative_posted_text_is_not_content() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    assert_one_new_two_changed_eight_seen(&db, &api, "search-data-engineer-page1-refetch-nextday.json").await;

    // The eight re-seen jobs were not rewritten: their stored item still has the first fetch's relative text.
    let kept: String = db
        .client()
        .await
        .query_one(
            "SELECT raw_data->>'job_posted_at' FROM linkedin_jobs WHERE job_id = 'exEHxCV3__dumzh8AAAAAA=='",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(kept, "17 hours ago", "the next-day text ('1 day ago') must not count as a change");
}

#[tokio::test]
async fn salaries_are_mapped_from_job_min_salary_and_job_max_salary_exactly() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    run_once(&db.pg, &ingest_config(api.url())).await.expect("run");

    assert_eq!(
        db.count(
            "SELECT count(*) FROM linkedin_jobs WHERE salary_min IS NOT NULL AND salary_max IS NOT NULL"
        )
        .await,
        38
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM linkedin_jobs WHERE salary_min IS NOT NULL AND salary_period = 'HOUR'"
        )
        .await,
        5
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM linkedin_jobs WHERE salary_min IS NOT NULL AND salary_currency = 'USD'"
        )
        .await,
        38
    );
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs WHERE salary_min IS NULL AND salary_amount IS NULL AND salary_currency IS NOT NULL").await, 0);
    let client = db.client().await;
    let mut checked = 0;
    for file in [
        "search-data-engineer-page1.json",
        "search-rust-developer-page2.json",
        "search-rust-developer-page3.json",
    ] {
        for job in fixture_jobs(file) {
            let (Some(min), Some(max)) =
                (job["job_min_salary"].as_number(), job["job_max_salary"].as_number())
            else {
                continue;
            };
            let row = client
                .query_one(
                    "SELECT salary_min = CAST($2::text AS numeric) AND salary_max = CAST($3::text AS numeric) \
                     FROM linkedin_jobs WHERE job_id = $1",
                    &[&job["job_id"].as_str().expect("id"), &min.to_string(), &max.to_string()],
                )
                .await
                .expect("salary row");
            assert!(row.get::<_, bool>(0), "salary of {} differs from the API's {min}/{max}", job["job_id"]);
            checked += 1;
        }
    }
    assert!(checked >= 10, "too few salaried jobs checked: {checked}");
    // The single-figure contract salary lands in salary_amount.
    let row = client
        .query_one("SELECT salary_amount::text, salary_period, salary_min IS NULL FROM linkedin_jobs WHERE job_id = 'd9oI22jC8fqf6Ca1AAAAAA=='", &[])
        .await
        .expect("contract row");
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, bool>(2)),
        ("72.00".into(), "HOUR".into(), true)
    );
}

#[tokio::test]
async fn api_fields_the_seed_dropped_are_stored_in_their_own_columns() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::with_first_fetch().await;
    run_once(&db.pg, &ingest_config(api.url())).await.expect("run");
    let row = db
        .client()
        .await
        .query_one(
            "SELECT job_title, company_name, location, publisher, city, state, country, posted_at = '2026-11-21T16:00:00Z', \
                    posted_date::text, employment_type, employment_types::text, remote_allowed, company_website, \
                    search_query, raw_data->>'job_posted_at', benefits::text, highlights ? 'Qualifications', onet_soc \
             FROM linkedin_jobs WHERE job_id = 'exEHxCV3__dumzh8AAAAAA=='",
            &[],
        )
        .await
        .expect("first job");
    assert_eq!(row.get::<_, String>(0), "Data Engineer");
    assert_eq!(row.get::<_, String>(1), "Tidewater Freight Analytics");
    assert_eq!(row.get::<_, String>(2), "Austin, TX");
    assert_eq!(row.get::<_, String>(3), "LinkedIn");
    assert_eq!(
        (row.get::<_, String>(4), row.get::<_, String>(5), row.get::<_, String>(6)),
        ("Austin".into(), "Texas".into(), "US".into())
    );
    assert!(row.get::<_, bool>(7), "posted_at from job_posted_at_timestamp");
    assert_eq!(row.get::<_, String>(8), "2026-11-21");
    assert_eq!(row.get::<_, String>(9), "Full-time");
    assert_eq!(row.get::<_, String>(10), r#"["FULLTIME"]"#);
    assert!(!row.get::<_, bool>(11));
    assert_eq!(row.get::<_, String>(12), "https://www.tidewaterfreight.example");
    assert_eq!(row.get::<_, String>(13), DE);
    assert_eq!(row.get::<_, String>(14), "17 hours ago", "raw_data keeps the item as received");
    assert_eq!(row.get::<_, String>(15), r#"["dental_coverage"]"#);
    assert!(row.get::<_, bool>(16));
    assert_eq!(row.get::<_, String>(17), "15113200");
    // Remote jobs have no city; jobs without a posting date keep NULLs.
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs WHERE remote_allowed AND city IS NULL AND location = 'United States'").await, 10);
    assert_eq!(
        db.count("SELECT count(*) FROM linkedin_jobs WHERE posted_at IS NULL AND posted_date IS NULL").await,
        3
    );
}

#[tokio::test]
async fn the_legacy_response_shape_maps_to_the_same_columns() {
    let db = TestDb::initialized().await;
    let api = FakeJsearch::start().await;
    api.script(DE, 1, vec![Reply::fixture("search-legacy-shape-sample.json")]);
    let cfg = cdc_ingest::IngestConfig { queries: vec!["data engineer".into()], ..ingest_config(api.url()) };
    let report = run_once(&db.pg, &cfg).await.expect("run");
    assert_eq!(report.jobs_new(), 2);
    assert_eq!(report.queries[0].status, RunStatus::Succeeded, "{report:?}");
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs WHERE location IS NOT NULL AND employment_type IS NOT NULL AND job_title IS NOT NULL").await, 2);
}
