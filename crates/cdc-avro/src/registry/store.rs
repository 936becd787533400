//! [`SchemaStore`]: the embedded registry's state in PostgreSQL, so that ids survive restarts and several `cdc`
//! processes can share one registry database.
//!
//! Three tables in schema `public` of the connected database, created on open if missing:
//!
//! ```text
//! cdc_schema_registry_schemas           id (global, from 1) │ schema text │ normalized │ fingerprint │ canonical
//! cdc_schema_registry_subject_versions  subject │ version (from 1) │ schema_id │ deleted (soft delete)
//! cdc_schema_registry_config            subject ('' = global) │ compatibility
//! ```
//!
//! Identity: two texts are the same schema when their normalized JSON is equal (see [`ParsedSchema`]): the same id
//! under every subject, as Confluent does. The canonical form is stored to answer lookups with `normalize=true`.
//!
//! Writes (register, delete, and the table creation) run in a transaction holding one
//! `pg_advisory_xact_lock`, which serializes them across every process using the database: a version number or
//! id is never handed out twice, and registering one schema concurrently yields one id.

use std::collections::HashMap;

use apache_avro::Schema;
use cdc_core::config::PostgresConfig;
use cdc_core::postgres::error::PgError;
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, GenericClient};

use super::compat;
use super::schema_text::{InvalidSchema, ParsedSchema};
use super::{Compatibility, SchemaId, Version};

/// The advisory lock key that serializes registry writes ("cdc_sreg").
const WRITE_LOCK: i64 = 0x6364_635f_7372_6567;

/// The key of the global row in the config table; no subject is empty.
const GLOBAL: &str = "";

/// Run under [`WRITE_LOCK`], so that processes starting together do not race on `CREATE TABLE IF NOT EXISTS`.
const CREATE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS public.cdc_schema_registry_schemas (
    id integer PRIMARY KEY CHECK (id > 0),
    schema_type text NOT NULL DEFAULT 'AVRO',
    schema text NOT NULL,
    normalized text NOT NULL,
    fingerprint bytea NOT NULL UNIQUE,
    canonical text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.cdc_schema_registry_subject_versions (
    subject text NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    schema_id integer NOT NULL REFERENCES public.cdc_schema_registry_schemas (id),
    deleted boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, version)
);
CREATE INDEX IF NOT EXISTS cdc_schema_registry_subject_versions_schema_id
    ON public.cdc_schema_registry_subject_versions (schema_id);
CREATE TABLE IF NOT EXISTS public.cdc_schema_registry_config (
    subject text PRIMARY KEY,
    compatibility text NOT NULL
);
";

/// A version reference in a path: a number, or `latest` (also written `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    Latest,
    Number(Version),
}

impl std::str::FromStr for VersionRef {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        let trimmed = s.trim();
        if trimmed.eq_ignore_ascii_case("latest") || trimmed == "-1" {
            return Ok(VersionRef::Latest);
        }
        match trimmed.parse::<i64>() {
            Ok(n) if (1..=i64::from(i32::MAX)).contains(&n) => {
                Ok(VersionRef::Number(Version(u32::try_from(n).unwrap_or(u32::MAX))))
            }
            _ => Err(StoreError::InvalidVersion(s.to_owned())),
        }
    }
}

/// Which versions a listing includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deleted {
    /// Live versions only (the default).
    #[default]
    Exclude,
    /// Live and soft-deleted versions.
    Include,
    /// Soft-deleted versions only.
    Only,
}

/// One version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: Version,
    pub id: SchemaId,
    pub schema: String,
}

/// What registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    pub id: SchemaId,
    pub version: Version,
    /// False when the subject already had this schema (nothing was written).
    pub created: bool,
}

/// What the store can fail with. The messages of the Confluent cases are Confluent's, as clients show them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the schema registry's PostgreSQL database")]
    Connect(#[source] PgError),
    #[error("schema registry storage failed during {during}")]
    Query {
        during: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("stored schema {id} no longer parses")]
    Corrupt {
        id: SchemaId,
        #[source]
        source: InvalidSchema,
    },
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {0} not found.")]
    VersionNotFound(Version),
    #[error("Schema {0} not found")]
    SchemaNotFound(SchemaId),
    #[error("Schema not found")]
    NotRegisteredUnderSubject,
    #[error("Invalid schema")]
    InvalidSchema(#[source] InvalidSchema),
    #[error(
        "The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the \
         string \"latest\""
    )]
    InvalidVersion(String),
    #[error(
        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
        messages.join("; ")
    )]
    Incompatible { subject: String, messages: Vec<String> },
    #[error("Subject '{0}' was soft deleted. Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Subject '{0}' Version {1} was soft deleted. Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, Version),
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, Version),
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    NoSubjectCompatibility(String),
}

impl StoreError {
    /// What the operator should do about a storage failure.
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::Connect(e) => e.hint(),
            StoreError::Query { source, .. } if source.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Some(
                "the embedded schema registry keeps its tables in schema public of the connected database: GRANT \
                 CREATE, USAGE ON SCHEMA public to the user, or create the cdc_schema_registry_* tables as their \
                 owner"
                    .into(),
            ),
            _ => None,
        }
    }
}

fn query(during: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |source| StoreError::Query { during, source }
}

/// The registry's tables behind one connection, reopened when it drops.
///
/// One connection is enough: clients cache ids and schemas, so the registry sees a few requests per schema
/// change, not per message. Requests queue on it; writes also queue on the advisory lock across processes.
#[derive(Debug)]
pub struct SchemaStore {
    postgres: PostgresConfig,
    client: Mutex<Client>,
}

impl SchemaStore {
    /// Connects and creates the tables if missing.
    pub async fn open(postgres: &PostgresConfig) -> Result<Self, StoreError> {
        let mut client = cdc_core::postgres::connect::connect(postgres).await.map_err(StoreError::Connect)?;
        let tx = client.transaction().await.map_err(query("creating the schema registry tables"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(query("locking the registry"))?;
        tx.batch_execute(CREATE_TABLES).await.map_err(query("creating the schema registry tables"))?;
        tx.commit().await.map_err(query("creating the schema registry tables"))?;
        Ok(SchemaStore { postgres: postgres.clone(), client: Mutex::new(client) })
    }

    /// The connection, reopened first if it was lost. The empty query finds a connection that the server or a
    /// proxy closed (a restart, an idle timeout) before the request's own queries would fail on it: one more round
    /// trip per request, for requests that clients make once per schema.
    async fn client(&self) -> Result<MutexGuard<'_, Client>, StoreError> {
        let mut client = self.client.lock().await;
        if client.is_closed() || client.simple_query("").await.is_err() {
            tracing::info!(database = %self.postgres.describe(), "schema registry reconnecting to PostgreSQL");
            *client =
                cdc_core::postgres::connect::connect(&self.postgres).await.map_err(StoreError::Connect)?;
        }
        Ok(client)
    }

    /// Registers `schema` under `subject` if the subject's compatibility level allows it; the schema already
    /// there returns its id and version unchanged.
    pub async fn register(&self, subject: &str, schema: &ParsedSchema) -> Result<Registered, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(query("starting a registration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(query("locking the registry"))?;
        let existing = tx
            .query_opt(
                "SELECT v.version, v.schema_id FROM public.cdc_schema_registry_subject_versions v
                 JOIN public.cdc_schema_registry_schemas s ON s.id = v.schema_id
                 WHERE v.subject = $1 AND NOT v.deleted
                   AND s.fingerprint = sha256(convert_to($2, 'UTF8')) AND s.normalized = $2
                 ORDER BY v.version DESC LIMIT 1",
                &[&subject, &schema.normalized],
            )
            .await
            .map_err(query("looking up the schema under its subject"))?;
        if let Some(row) = existing {
            return Ok(Registered {
                version: version(row.get(0)),
                id: schema_id(row.get(1)),
                created: false,
            });
        }
        let history = live_versions(&tx, subject).await?;
        let level = effective_compatibility(&tx, subject).await?;
        check(level, subject, schema, &history)?;
        let id = match tx
            .query_opt(
                "SELECT id FROM public.cdc_schema_registry_schemas
                 WHERE fingerprint = sha256(convert_to($1, 'UTF8')) AND normalized = $1",
                &[&schema.normalized],
            )
            .await
            .map_err(query("looking up the schema id"))?
        {
            Some(row) => row.get::<_, i32>(0),
            None => tx
                .query_one(
                    "INSERT INTO public.cdc_schema_registry_schemas (id, schema, normalized, fingerprint, canonical)
                     SELECT coalesce(max(id), 0) + 1, $1, $2, sha256(convert_to($2, 'UTF8')), $3
                     FROM public.cdc_schema_registry_schemas
                     RETURNING id",
                    &[&schema.text, &schema.normalized, &schema.canonical],
                )
                .await
                .map_err(query("storing the schema"))?
                .get(0),
        };
        let version_number: i32 = tx
            .query_one(
                "INSERT INTO public.cdc_schema_registry_subject_versions (subject, version, schema_id)
                 SELECT $1, coalesce(max(version), 0) + 1, $2
                 FROM public.cdc_schema_registry_subject_versions WHERE subject = $1
                 RETURNING version",
                &[&subject, &id],
            )
            .await
            .map_err(query("storing the subject version"))?
            .get(0);
        tx.commit().await.map_err(query("committing a registration"))?;
        Ok(Registered { id: schema_id(id), version: version(version_number), created: true })
    }

    /// Compatibility of `schema` with one version of `subject` (its latest by default), under the subject's
    /// level. `Ok(messages)`: empty when compatible.
    pub async fn test_compatibility(
        &self,
        subject: &str,
        schema: &ParsedSchema,
        against: Option<VersionRef>,
    ) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let history = live_versions(&*client, subject).await?;
        let level = effective_compatibility(&*client, subject).await?;
        let chosen: Vec<StoredVersion> = match against {
            // Every version, as far as the level looks.
            None => history,
            Some(reference) => {
                if history.is_empty() {
                    return Err(StoreError::SubjectNotFound(subject.to_owned()));
                }
                let found = match reference {
                    VersionRef::Latest => history.into_iter().next(),
                    VersionRef::Number(n) => history.into_iter().find(|v| v.version == n),
                };
                match (found, reference) {
                    (Some(found), _) => vec![found],
                    (None, VersionRef::Number(n)) => return Err(StoreError::VersionNotFound(n)),
                    (None, VersionRef::Latest) => Vec::new(),
                }
            }
        };
        match check(level, subject, schema, &chosen) {
            Ok(()) => Ok(Vec::new()),
            Err(StoreError::Incompatible { messages, .. }) => Ok(messages),
            Err(other) => Err(other),
        }
    }

    /// The newest live version of `subject` holding `schema` (or soft-deleted ones too with `deleted`).
    /// `by_canonical` matches on Avro's canonical form instead (`normalize=true`).
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &ParsedSchema,
        deleted: bool,
        by_canonical: bool,
    ) -> Result<SubjectVersion, StoreError> {
        let client = self.client().await?;
        if !subject_exists(&*client, subject, deleted).await? {
            return Err(StoreError::SubjectNotFound(subject.to_owned()));
        }
        let row = client
            .query_opt(
                "SELECT v.version, s.id, s.schema FROM public.cdc_schema_registry_subject_versions v
                 JOIN public.cdc_schema_registry_schemas s ON s.id = v.schema_id
                 WHERE v.subject = $1 AND (NOT v.deleted OR $2)
                   AND CASE WHEN $3 THEN s.canonical = $5
                       ELSE s.fingerprint = sha256(convert_to($4, 'UTF8')) AND s.normalized = $4 END
                 ORDER BY v.version DESC LIMIT 1",
                &[&subject, &deleted, &by_canonical, &schema.normalized, &schema.canonical],
            )
            .await
            .map_err(query("looking up a schema under a subject"))?
            .ok_or(StoreError::NotRegisteredUnderSubject)?;
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            version: version(row.get(0)),
            id: schema_id(row.get(1)),
            schema: row.get(2),
        })
    }

    /// The schema text with id `id`. Ids outlive the versions that use them, so data stays decodable.
    pub async fn schema(&self, id: SchemaId) -> Result<String, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT schema FROM public.cdc_schema_registry_schemas WHERE id = $1",
                &[&id_param(id)],
            )
            .await
            .map_err(query("reading a schema by id"))?
            .ok_or(StoreError::SchemaNotFound(id))?;
        Ok(row.get(0))
    }

    /// The (subject, version) pairs using schema `id`.
    pub async fn usages(&self, id: SchemaId, deleted: bool) -> Result<Vec<(String, Version)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT s.id, v.subject, v.version FROM public.cdc_schema_registry_schemas s
                 LEFT JOIN public.cdc_schema_registry_subject_versions v ON v.schema_id = s.id AND (NOT v.deleted OR $2)
                 WHERE s.id = $1 ORDER BY v.subject, v.version",
                &[&id_param(id), &deleted],
            )
            .await
            .map_err(query("listing the subjects of a schema"))?;
        if rows.is_empty() {
            return Err(StoreError::SchemaNotFound(id));
        }
        Ok(rows
            .iter()
            .filter_map(|row| {
                Some((row.get::<_, Option<String>>(1)?, version(row.get::<_, Option<i32>>(2)?)))
            })
            .collect())
    }

    /// Subjects, sorted; `Deleted::Only` lists the soft-deleted subjects (no live version left).
    pub async fn subjects(&self, deleted: Deleted, prefix: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let having = match deleted {
            Deleted::Exclude => "bool_or(NOT deleted)",
            Deleted::Include => "true",
            Deleted::Only => "NOT bool_or(NOT deleted)",
        };
        let rows = client
            .query(
                &format!(
                    "SELECT subject FROM public.cdc_schema_registry_subject_versions
                     WHERE starts_with(subject, $1) GROUP BY subject HAVING {having} ORDER BY subject"
                ),
                &[&prefix],
            )
            .await
            .map_err(query("listing subjects"))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// The version numbers of `subject`, ascending.
    pub async fn versions(&self, subject: &str, deleted: Deleted) -> Result<Vec<Version>, StoreError> {
        let client = self.client().await?;
        if !subject_exists(&*client, subject, deleted != Deleted::Exclude).await? {
            return Err(StoreError::SubjectNotFound(subject.to_owned()));
        }
        let rows = client
            .query(
                "SELECT version, deleted FROM public.cdc_schema_registry_subject_versions
                 WHERE subject = $1 ORDER BY version",
                &[&subject],
            )
            .await
            .map_err(query("listing versions"))?;
        Ok(rows
            .iter()
            .filter(|row| match deleted {
                Deleted::Exclude => !row.get::<_, bool>(1),
                Deleted::Include => true,
                Deleted::Only => row.get::<_, bool>(1),
            })
            .map(|row| version(row.get(0)))
            .collect())
    }

    /// One version of `subject`; soft-deleted versions only with `deleted`.
    pub async fn version(
        &self,
        subject: &str,
        reference: VersionRef,
        deleted: bool,
    ) -> Result<SubjectVersion, StoreError> {
        let client = self.client().await?;
        if !subject_exists(&*client, subject, deleted).await? {
            return Err(StoreError::SubjectNotFound(subject.to_owned()));
        }
        let number = match reference {
            VersionRef::Latest => None,
            VersionRef::Number(Version(n)) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
        };
        let row = client
            .query_opt(
                "SELECT v.version, s.id, s.schema FROM public.cdc_schema_registry_subject_versions v
                 JOIN public.cdc_schema_registry_schemas s ON s.id = v.schema_id
                 WHERE v.subject = $1 AND (NOT v.deleted OR $2) AND ($3::integer IS NULL OR v.version = $3)
                 ORDER BY v.version DESC LIMIT 1",
                &[&subject, &deleted, &number],
            )
            .await
            .map_err(query("reading a subject version"))?;
        match row {
            Some(row) => Ok(SubjectVersion {
                subject: subject.to_owned(),
                version: version(row.get(0)),
                id: schema_id(row.get(1)),
                schema: row.get(2),
            }),
            None => Err(StoreError::VersionNotFound(match reference {
                VersionRef::Number(n) => n,
                VersionRef::Latest => Version(0),
            })),
        }
    }

    /// Soft-deletes every live version of `subject`, or (`permanent`) removes a soft-deleted subject with its
    /// compatibility setting. Returns the versions affected. Schema ids stay readable either way.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<Version>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(query("starting a delete"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(query("locking the registry"))?;
        let rows = tx
            .query(
                "SELECT version, deleted FROM public.cdc_schema_registry_subject_versions
                 WHERE subject = $1 ORDER BY version",
                &[&subject],
            )
            .await
            .map_err(query("reading a subject's versions"))?;
        if rows.is_empty() {
            return Err(StoreError::SubjectNotFound(subject.to_owned()));
        }
        let live: Vec<Version> =
            rows.iter().filter(|row| !row.get::<_, bool>(1)).map(|row| version(row.get(0))).collect();
        let affected = if permanent {
            if !live.is_empty() {
                return Err(StoreError::SubjectNotSoftDeleted(subject.to_owned()));
            }
            tx.execute(
                "DELETE FROM public.cdc_schema_registry_subject_versions WHERE subject = $1",
                &[&subject],
            )
            .await
            .map_err(query("deleting a subject"))?;
            tx.execute("DELETE FROM public.cdc_schema_registry_config WHERE subject = $1", &[&subject])
                .await
                .map_err(query("deleting a subject's compatibility"))?;
            rows.iter().map(|row| version(row.get(0))).collect()
        } else {
            if live.is_empty() {
                return Err(StoreError::SubjectSoftDeleted(subject.to_owned()));
            }
            tx.execute(
                "UPDATE public.cdc_schema_registry_subject_versions SET deleted = true
                 WHERE subject = $1 AND NOT deleted",
                &[&subject],
            )
            .await
            .map_err(query("soft-deleting a subject"))?;
            live
        };
        tx.commit().await.map_err(query("committing a delete"))?;
        Ok(affected)
    }

    /// Soft-deletes one version, or (`permanent`) removes a soft-deleted one. `latest` is the newest live version
    /// (the newest of all when permanent).
    pub async fn delete_version(
        &self,
        subject: &str,
        reference: VersionRef,
        permanent: bool,
    ) -> Result<Version, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(query("starting a delete"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .await
            .map_err(query("locking the registry"))?;
        let rows = tx
            .query(
                "SELECT version, deleted FROM public.cdc_schema_registry_subject_versions
                 WHERE subject = $1 ORDER BY version DESC",
                &[&subject],
            )
            .await
            .map_err(query("reading a subject's versions"))?;
        if rows.is_empty() {
            return Err(StoreError::SubjectNotFound(subject.to_owned()));
        }
        let versions: Vec<(Version, bool)> =
            rows.iter().map(|row| (version(row.get(0)), row.get::<_, bool>(1))).collect();
        let target = match reference {
            VersionRef::Latest => versions.iter().find(|(_, deleted)| permanent || !deleted).copied(),
            VersionRef::Number(n) => versions.iter().find(|(v, _)| *v == n).copied(),
        };
        let Some((target, was_deleted)) = target else {
            return Err(StoreError::VersionNotFound(match reference {
                VersionRef::Number(n) => n,
                VersionRef::Latest => Version(0),
            }));
        };
        let number = i32::try_from(target.0).unwrap_or(i32::MAX);
        if permanent {
            if !was_deleted {
                return Err(StoreError::VersionNotSoftDeleted(subject.to_owned(), target));
            }
            tx.execute(
                "DELETE FROM public.cdc_schema_registry_subject_versions WHERE subject = $1 AND version = $2",
                &[&subject, &number],
            )
            .await
            .map_err(query("deleting a version"))?;
        } else {
            if was_deleted {
                return Err(StoreError::VersionSoftDeleted(subject.to_owned(), target));
            }
            tx.execute(
                "UPDATE public.cdc_schema_registry_subject_versions SET deleted = true
                 WHERE subject = $1 AND version = $2",
                &[&subject, &number],
            )
            .await
            .map_err(query("soft-deleting a version"))?;
        }
        tx.commit().await.map_err(query("committing a delete"))?;
        Ok(target)
    }

    /// The level configured for `subject` (`None`: the global one), if any.
    pub async fn compatibility(&self, subject: Option<&str>) -> Result<Option<Compatibility>, StoreError> {
        let client = self.client().await?;
        configured(&*client, subject.unwrap_or(GLOBAL)).await
    }

    /// The level that applies to `subject`: its own, else the global one, else BACKWARD.
    pub async fn effective_compatibility(&self, subject: &str) -> Result<Compatibility, StoreError> {
        let client = self.client().await?;
        effective_compatibility(&*client, subject).await
    }

    /// Sets the level of `subject` (`None`: the global one).
    pub async fn set_compatibility(
        &self,
        subject: Option<&str>,
        level: Compatibility,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO public.cdc_schema_registry_config (subject, compatibility) VALUES ($1, $2)
                 ON CONFLICT (subject) DO UPDATE SET compatibility = excluded.compatibility",
                &[&subject.unwrap_or(GLOBAL), &level.as_str()],
            )
            .await
            .map_err(query("setting a compatibility level"))?;
        Ok(())
    }

    /// Removes the level of `subject` (`None`: the global one, back to BACKWARD); returns the removed level.
    pub async fn delete_compatibility(
        &self,
        subject: Option<&str>,
    ) -> Result<Option<Compatibility>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "DELETE FROM public.cdc_schema_registry_config WHERE subject = $1 RETURNING compatibility",
                &[&subject.unwrap_or(GLOBAL)],
            )
            .await
            .map_err(query("deleting a compatibility level"))?;
        Ok(row.and_then(|row| row.get::<_, String>(0).parse().ok()))
    }
}

/// A live version with its parsed schema.
#[derive(Debug)]
struct StoredVersion {
    version: Version,
    schema: Schema,
}

/// The live versions of `subject`, newest first, parsed.
async fn live_versions(client: &impl GenericClient, subject: &str) -> Result<Vec<StoredVersion>, StoreError> {
    let rows = client
        .query(
            "SELECT v.version, s.id, s.schema FROM public.cdc_schema_registry_subject_versions v
             JOIN public.cdc_schema_registry_schemas s ON s.id = v.schema_id
             WHERE v.subject = $1 AND NOT v.deleted ORDER BY v.version DESC",
            &[&subject],
        )
        .await
        .map_err(query("reading a subject's schemas"))?;
    let mut parsed: HashMap<i32, Schema> = HashMap::new();
    let mut versions = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i32 = row.get(1);
        let schema = match parsed.get(&id) {
            Some(schema) => schema.clone(),
            None => {
                let text: String = row.get(2);
                let schema = ParsedSchema::parse(&text)
                    .map_err(|source| StoreError::Corrupt { id: schema_id(id), source })?
                    .schema;
                parsed.insert(id, schema.clone());
                schema
            }
        };
        versions.push(StoredVersion { version: version(row.get(0)), schema });
    }
    Ok(versions)
}

/// [`compat::check`] with messages naming versions.
fn check(
    level: Compatibility,
    subject: &str,
    schema: &ParsedSchema,
    history: &[StoredVersion],
) -> Result<(), StoreError> {
    let existing: Vec<Schema> = history.iter().map(|v| v.schema.clone()).collect();
    compat::check(level, &schema.schema, &existing).map_err(|incompatible| {
        let mut messages = incompatible.messages(|i| match history.get(i) {
            Some(v) => format!("version {}", v.version),
            None => "an earlier version".to_owned(),
        });
        messages.push(format!("compatibility level: {level}"));
        StoreError::Incompatible { subject: subject.to_owned(), messages }
    })
}

async fn subject_exists(
    client: &impl GenericClient,
    subject: &str,
    deleted: bool,
) -> Result<bool, StoreError> {
    client
        .query_one(
            "SELECT EXISTS (SELECT FROM public.cdc_schema_registry_subject_versions
                            WHERE subject = $1 AND (NOT deleted OR $2))",
            &[&subject, &deleted],
        )
        .await
        .map(|row| row.get(0))
        .map_err(query("checking that a subject exists"))
}

async fn configured(client: &impl GenericClient, key: &str) -> Result<Option<Compatibility>, StoreError> {
    let row = client
        .query_opt("SELECT compatibility FROM public.cdc_schema_registry_config WHERE subject = $1", &[&key])
        .await
        .map_err(query("reading a compatibility level"))?;
    // Only this module writes the column, with `Compatibility::as_str`.
    Ok(row.and_then(|row| row.get::<_, String>(0).parse().ok()))
}

async fn effective_compatibility(
    client: &impl GenericClient,
    subject: &str,
) -> Result<Compatibility, StoreError> {
    if let Some(level) = configured(client, subject).await? {
        return Ok(level);
    }
    Ok(configured(client, GLOBAL).await?.unwrap_or_default())
}

fn version(n: i32) -> Version {
    Version(u32::try_from(n).unwrap_or_default())
}

fn schema_id(n: i32) -> SchemaId {
    SchemaId(u32::try_from(n).unwrap_or_default())
}

/// Ids above `i32::MAX` exist nowhere (the column is `integer`); they map to an id that is never found.
fn id_param(id: SchemaId) -> i32 {
    i32::try_from(id.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_confluent_does() {
        assert_eq!("latest".parse::<VersionRef>().unwrap(), VersionRef::Latest);
        assert_eq!("-1".parse::<VersionRef>().unwrap(), VersionRef::Latest);
        assert_eq!("7".parse::<VersionRef>().unwrap(), VersionRef::Number(Version(7)));
        for bad in ["0", "-2", "x", "2147483648"] {
            assert!(matches!(bad.parse::<VersionRef>(), Err(StoreError::InvalidVersion(_))), "{bad}");
        }
    }
}
