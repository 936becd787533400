//! PostgreSQL side of ingestion: the `ingestion_runs` audit rows and the fingerprinted upsert into
//! `linkedin_jobs`.
//!
//! One page is one transaction, and each job in it runs under a savepoint, so a job the database refuses (a
//! value too large for an index, say) is skipped and counted while the rest of the page lands.
//!
//! The upsert writes a row only when it is new or its content fingerprint changed:
//!
//! ```sql
//! INSERT … ON CONFLICT (job_id) DO UPDATE SET … WHERE linkedin_jobs.content_fingerprint
//!                                                 IS DISTINCT FROM EXCLUDED.content_fingerprint
//! ```
//!
//! When it writes nothing, the job was re-seen unchanged and only `last_seen_at` moves (and not even that
//! when the same run already saw it, as happens with a job listed under two queries). So CDC carries one
//! real update per content change, plus one small `last_seen_at` update per sighting per run.

use std::time::Duration;

use cdc_core::config::PostgresConfig;
use chrono::{DateTime, Utc};
use tokio_postgres::{Client, Statement};

use crate::error::IngestError;
use crate::model::Job;

/// Opens a query connection; its driver task ends when the client is dropped.
// TODO: use cdc_core::postgres::connect (TLS per sslmode, session settings) once it is enabled.
pub(crate) async fn connect(pg: &PostgresConfig) -> Result<Client, IngestError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&pg.host)
        .port(pg.port)
        .dbname(&pg.dbname)
        .user(&pg.user)
        .application_name(&pg.application_name)
        .connect_timeout(Duration::from_secs(pg.connect_timeout_secs));
    if let Some(password) = &pg.password {
        config.password(password.expose());
    }
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|source| IngestError::Connect { target: pg.describe(), source })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(error = %error, "postgres connection closed");
        }
    });
    Ok(client)
}

/// How the jobs of one page landed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PageOutcome {
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Jobs the database refused: `(job_id, message)`.
    pub refused: Vec<(String, String)>,
}

pub(crate) struct Store {
    client: Client,
    upsert: Statement,
    bump: Statement,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

const UPSERT: &str = "
INSERT INTO linkedin_jobs AS j (
    job_id, job_title, company_name, location, job_description, employment_type, posted_date,
    salary_min, salary_max, salary_currency, salary_period, remote_allowed, application_url, company_logo_url,
    search_query, raw_data, first_seen_at,
    publisher, company_website, employment_types, city, state, country, latitude, longitude, posted_at,
    salary_amount, apply_is_direct, benefits, highlights, google_link, onet_soc, onet_job_zone,
    content_fingerprint, last_seen_at, last_changed_at)
VALUES (
    $1, $2, $3, $4, $5, $6, (to_timestamp($7::bigint) AT TIME ZONE 'UTC')::date,
    CAST($8::text AS numeric), CAST($9::text AS numeric), $10, $11, $12, $13, $14,
    $15, $16, $17,
    $18, $19, $20, $21, $22, $23, $24, $25, to_timestamp($7::bigint),
    CAST($26::text AS numeric), $27, $28, $29, $30, $31, $32,
    $33, $17, $17)
ON CONFLICT (job_id) DO UPDATE SET
    job_title = EXCLUDED.job_title, company_name = EXCLUDED.company_name, location = EXCLUDED.location,
    job_description = EXCLUDED.job_description, employment_type = EXCLUDED.employment_type,
    posted_date = EXCLUDED.posted_date, salary_min = EXCLUDED.salary_min, salary_max = EXCLUDED.salary_max,
    salary_currency = EXCLUDED.salary_currency, salary_period = EXCLUDED.salary_period,
    remote_allowed = EXCLUDED.remote_allowed, application_url = EXCLUDED.application_url,
    company_logo_url = EXCLUDED.company_logo_url, search_query = EXCLUDED.search_query,
    raw_data = EXCLUDED.raw_data, publisher = EXCLUDED.publisher, company_website = EXCLUDED.company_website,
    employment_types = EXCLUDED.employment_types, city = EXCLUDED.city, state = EXCLUDED.state,
    country = EXCLUDED.country, latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude,
    posted_at = EXCLUDED.posted_at, salary_amount = EXCLUDED.salary_amount,
    apply_is_direct = EXCLUDED.apply_is_direct, benefits = EXCLUDED.benefits, highlights = EXCLUDED.highlights,
    google_link = EXCLUDED.google_link, onet_soc = EXCLUDED.onet_soc, onet_job_zone = EXCLUDED.onet_job_zone,
    content_fingerprint = EXCLUDED.content_fingerprint, last_seen_at = EXCLUDED.last_seen_at,
    last_changed_at = EXCLUDED.last_changed_at
WHERE j.content_fingerprint IS DISTINCT FROM EXCLUDED.content_fingerprint
RETURNING (xmax = 0) AS inserted";

const BUMP: &str = "UPDATE linkedin_jobs SET last_seen_at = $2 WHERE job_id = $1 AND last_seen_at < $2";

/// Tables ingestion writes; their absence means `cdc db init` has not run.
const REQUIRED_TABLES: [&str; 2] = ["linkedin_jobs", "ingestion_runs"];

impl Store {
    pub async fn open(pg: &PostgresConfig) -> Result<Store, IngestError> {
        let client = connect(pg).await?;
        for table in REQUIRED_TABLES {
            let row = client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
                .await
                .map_err(IngestError::database("checking the ingestion tables"))?;
            if !row.get::<_, bool>(0) {
                return Err(IngestError::SchemaMissing { target: pg.describe(), table });
            }
        }
        let upsert =
            client.prepare(UPSERT).await.map_err(IngestError::database("preparing the job upsert"))?;
        let bump =
            client.prepare(BUMP).await.map_err(IngestError::database("preparing the sighting update"))?;
        Ok(Store { client, upsert, bump })
    }

    /// Requests recorded in `ingestion_runs` since the start of this month (UTC).
    pub async fn requests_this_month(&self) -> Result<u64, IngestError> {
        let row = self
            .client
            .query_one(
                "SELECT coalesce(sum(requests), 0)::bigint FROM ingestion_runs \
                 WHERE started_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
                &[],
            )
            .await
            .map_err(IngestError::database("counting this month's requests"))?;
        Ok(row.get::<_, i64>(0).max(0).unsigned_abs())
    }

    /// Inserts the `running` row of one query's run; returns its id and start time (the sighting time).
    pub async fn begin_run(
        &self,
        source: &str,
        query: &str,
        location: Option<&str>,
    ) -> Result<(i64, DateTime<Utc>), IngestError> {
        let row = self
            .client
            .query_one(
                "INSERT INTO ingestion_runs (source, search_query, location) VALUES ($1, $2, $3) \
                 RETURNING run_id, started_at",
                &[&source, &query, &location],
            )
            .await
            .map_err(IngestError::database("recording the start of a run in ingestion_runs"))?;
        Ok((row.get(0), row.get(1)))
    }

    /// Writes the final counters and status of a run row.
    pub async fn finish_run(&self, run: &crate::run::QueryReport) -> Result<(), IngestError> {
        let errors = serde_json::Value::from(run.errors.clone());
        let to_i32 = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        let quota = run.quota_remaining.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        self.client
            .execute(
                "UPDATE ingestion_runs SET finished_at = clock_timestamp(), status = $2, pages_fetched = $3, \
                 requests = $4, jobs_seen = $5, jobs_new = $6, jobs_changed = $7, jobs_unchanged = $8, \
                 items_skipped = $9, error_count = $10, errors = $11, quota_remaining = $12 WHERE run_id = $1",
                &[
                    &run.run_id,
                    &run.status.as_str(),
                    &to_i32(run.pages),
                    &to_i32(run.requests),
                    &to_i32(run.jobs_seen),
                    &to_i32(run.jobs_new),
                    &to_i32(run.jobs_changed),
                    &to_i32(run.jobs_unchanged),
                    &to_i32(run.items_skipped),
                    &to_i32(run.error_count),
                    &errors,
                    &quota,
                ],
            )
            .await
            .map_err(IngestError::database("recording the end of a run in ingestion_runs"))?;
        Ok(())
    }

    /// Upserts the jobs of one page in one transaction, one savepoint per job.
    pub async fn write_page(
        &mut self,
        seen_at: DateTime<Utc>,
        query: &str,
        jobs: &[Job],
    ) -> Result<PageOutcome, IngestError> {
        let mut outcome = PageOutcome::default();
        let mut tx =
            self.client.transaction().await.map_err(IngestError::database("starting a page transaction"))?;
        for job in jobs {
            let savepoint =
                tx.transaction().await.map_err(IngestError::database("starting a savepoint for a job"))?;
            match upsert_one(&savepoint, &self.upsert, &self.bump, seen_at, query, job).await {
                Ok(kind) => {
                    savepoint.commit().await.map_err(IngestError::database("releasing a job savepoint"))?;
                    match kind {
                        Written::New => outcome.new += 1,
                        Written::Changed => outcome.changed += 1,
                        Written::Unchanged => outcome.unchanged += 1,
                    }
                }
                Err(error) if is_refusal(&error) => {
                    savepoint
                        .rollback()
                        .await
                        .map_err(IngestError::database("rolling back a refused job"))?;
                    let message = error.as_db_error().map(|d| d.message().to_owned()).unwrap_or_default();
                    outcome.refused.push((job.job_id.clone(), message));
                }
                Err(source) => {
                    return Err(IngestError::Database { during: "upserting a job".into(), source });
                }
            }
        }
        tx.commit().await.map_err(IngestError::database("committing a page"))?;
        Ok(outcome)
    }
}

enum Written {
    New,
    Changed,
    Unchanged,
}

async fn upsert_one(
    tx: &tokio_postgres::Transaction<'_>,
    upsert: &Statement,
    bump: &Statement,
    seen_at: DateTime<Utc>,
    query: &str,
    job: &Job,
) -> Result<Written, tokio_postgres::Error> {
    let Job {
        job_id,
        job_title,
        company_name,
        location,
        job_description,
        employment_type,
        employment_types,
        posted_at_unix,
        salary_min,
        salary_max,
        salary_amount,
        salary_currency,
        salary_period,
        remote_allowed,
        application_url,
        apply_is_direct,
        company_logo_url,
        company_website,
        publisher,
        city,
        state,
        country,
        latitude,
        longitude,
        benefits,
        highlights,
        google_link,
        onet_soc,
        onet_job_zone,
        raw,
        fingerprint,
        invalid_fields: _,
    } = job;
    let written = tx
        .query_opt(
            upsert,
            &[
                job_id,
                job_title,
                company_name,
                location,
                job_description,
                employment_type,
                posted_at_unix,
                salary_min,
                salary_max,
                salary_currency,
                salary_period,
                remote_allowed,
                application_url,
                company_logo_url,
                &query,
                raw,
                &seen_at,
                publisher,
                company_website,
                employment_types,
                city,
                state,
                country,
                latitude,
                longitude,
                salary_amount,
                apply_is_direct,
                benefits,
                highlights,
                google_link,
                onet_soc,
                onet_job_zone,
                fingerprint,
            ],
        )
        .await?;
    match written {
        Some(row) if row.get::<_, bool>(0) => Ok(Written::New),
        Some(_) => Ok(Written::Changed),
        None => {
            tx.execute(bump, &[job_id, &seen_at]).await?;
            Ok(Written::Unchanged)
        }
    }
}

/// A database refusal of this one job's values (data exception, constraint, size limit), as opposed to a
/// failure of the database or the connection.
fn is_refusal(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|c| ["22", "23", "54"].iter().any(|class| c.code().starts_with(class)))
}
