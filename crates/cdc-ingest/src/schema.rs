//! `cdc db init`: applies the repository's `sql/` files (embedded at build time) and sets up the replication
//! role and the publication, idempotently and in one transaction.
//!
//! Each object is checked before it is created, so a second run changes nothing and the report tells created
//! from already present:
//!
//! 1. functions (`sql/functions/`), then tables in dependency order (`sql/tables/`; each file creates the
//!    table with its indexes, its `updated_at` trigger and `REPLICA IDENTITY FULL`); an existing published
//!    table whose replica identity is not FULL is altered;
//! 2. sample data (`sql/sample_data.sql`) when the five sample tables are all empty, unless disabled;
//! 3. the replication role: `LOGIN REPLICATION`, nothing else, and `SELECT` on the published tables only
//!    (the initial snapshot reads them); a password, when given, is sent as a SCRAM verifier computed here,
//!    so the plain text never reaches the server or its log;
//! 4. the publication over the six source tables (`dbz_publication`); missing tables are added.
//!
//! An advisory lock serialises concurrent runs. Object names other than the role and publication are fixed:
//! the seed's consumers depend on them.

use cdc_core::config::{PostgresConfig, Secret, DEFAULT_PUBLICATION};
use cdc_core::progress::{Task, Unit};
use tokio_postgres::Transaction;

use crate::error::IngestError;
use crate::store::connect;

/// The source tables: published, `REPLICA IDENTITY FULL`, readable by the replication role.
pub const SOURCE_TABLES: [&str; 6] =
    ["customers", "products", "orders", "order_items", "inventory_transactions", "linkedin_jobs"];

pub const DEFAULT_REPLICATION_ROLE: &str = "cdc_replicator";

/// The sample tables that receive sample data (all of them must be empty for it to load).
const SAMPLE_TABLES: [&str; 5] = ["customers", "products", "orders", "order_items", "inventory_transactions"];

const FUNCTIONS: [(&str, &str); 2] = [
    ("cdc_set_updated_at", include_str!("../../../sql/functions/cdc_set_updated_at.sql")),
    ("linkedin_jobs_touch", include_str!("../../../sql/functions/linkedin_jobs_touch.sql")),
];

/// In dependency order (foreign keys).
const TABLES: [(&str, &str); 7] = [
    ("customers", include_str!("../../../sql/tables/customers.sql")),
    ("products", include_str!("../../../sql/tables/products.sql")),
    ("orders", include_str!("../../../sql/tables/orders.sql")),
    ("order_items", include_str!("../../../sql/tables/order_items.sql")),
    ("inventory_transactions", include_str!("../../../sql/tables/inventory_transactions.sql")),
    ("linkedin_jobs", include_str!("../../../sql/tables/linkedin_jobs.sql")),
    ("ingestion_runs", include_str!("../../../sql/tables/ingestion_runs.sql")),
];

const SAMPLE_DATA: &str = include_str!("../../../sql/sample_data.sql");

/// Options of `cdc db init`.
#[derive(Debug, Clone, PartialEq)]
pub struct DbInitOptions {
    /// Load the sample rows (`--no-sample-data` sets this to false).
    pub sample_data: bool,
    /// The least-privilege role `cdc capture` logs in as.
    pub replication_role: String,
    /// Password given to the role when this run creates it; an existing role's password is left alone.
    pub replication_password: Option<Secret>,
    pub publication: String,
}

impl Default for DbInitOptions {
    fn default() -> Self {
        DbInitOptions {
            sample_data: true,
            replication_role: DEFAULT_REPLICATION_ROLE.into(),
            replication_password: None,
            publication: DEFAULT_PUBLICATION.into(),
        }
    }
}

/// What sample data did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleData {
    /// Loaded: rows per table.
    Loaded { customers: u64, products: u64, orders: u64, order_items: u64, inventory_transactions: u64 },
    /// At least one sample table already had rows.
    SkippedNotEmpty,
    /// `--no-sample-data`.
    SkippedByOption,
}

/// What `db init` did; objects read like `table customers`, `grant SELECT on orders to cdc_replicator`.
#[derive(Debug, Clone, PartialEq)]
pub struct DbInitReport {
    pub created: Vec<String>,
    /// Existing objects brought in line (replica identity, role attributes, publication tables).
    pub altered: Vec<String>,
    pub present: Vec<String>,
    pub sample_data: SampleData,
    /// Things `db init` does not change but `cdc capture` will need (e.g. `wal_level`).
    pub warnings: Vec<String>,
}

impl DbInitReport {
    /// Whether this run changed the database.
    pub fn changed(&self) -> bool {
        !self.created.is_empty()
            || !self.altered.is_empty()
            || matches!(self.sample_data, SampleData::Loaded { .. })
    }
}

/// Creates what is missing of the source schema, sample data, replication role and publication, in one
/// transaction.
pub async fn db_init(pg: &PostgresConfig, options: &DbInitOptions) -> Result<DbInitReport, IngestError> {
    check_identifier("replication_role", &options.replication_role)?;
    check_identifier("publication", &options.publication)?;
    let mut client = connect(pg).await?;
    let user = pg.user.clone();
    let mut tx = client.transaction().await.map_err(|source| step_error(&user, "begin", source))?;
    let mut init = Init {
        tx: &mut tx,
        user: &user,
        report: DbInitReport {
            created: Vec::new(),
            altered: Vec::new(),
            present: Vec::new(),
            sample_data: SampleData::SkippedByOption,
            warnings: Vec::new(),
        },
    };
    // One step per object, so a slow sample-data load or a lock wait shows where it is.
    let steps = 7 + FUNCTIONS.len() + TABLES.len();
    let mut progress = Task::start("db init", Some(steps as u64), Unit::Steps);
    progress.step("waiting for the db init lock");
    init.exec(
        "lock",
        "SET LOCAL search_path = public; SELECT pg_advisory_xact_lock(hashtext('cdc db init'))",
    )
    .await?;
    progress.step("wal_level");
    init.check_wal_level().await?;
    for (name, sql) in FUNCTIONS {
        let object = format!("function {name}()");
        progress.step(&object);
        let exists: bool = init
            .value(&object, "SELECT to_regprocedure($1) IS NOT NULL", &format!("public.{name}()"))
            .await?;
        init.create_unless(exists, object, sql).await?;
    }
    for (name, sql) in TABLES {
        let object = format!("table {name}");
        progress.step(&object);
        let exists: bool =
            init.value(&object, "SELECT to_regclass($1) IS NOT NULL", &format!("public.{name}")).await?;
        init.create_unless(exists, object, sql).await?;
        if exists && SOURCE_TABLES.contains(&name) {
            init.ensure_replica_identity_full(name).await?;
        }
    }
    progress.step("sample data");
    init.report.sample_data =
        if options.sample_data { init.sample_data().await? } else { SampleData::SkippedByOption };
    progress.step(&format!("role {}", options.replication_role));
    init.role(&options.replication_role, options.replication_password.as_ref()).await?;
    progress.step("grants");
    init.grants(&options.replication_role).await?;
    progress.step(&format!("publication {}", options.publication));
    init.publication(&options.publication).await?;
    progress.step("commit");
    let report = init.report;
    tx.commit().await.map_err(|source| step_error(&user, "commit", source))?;
    progress.finish();
    Ok(report)
}

/// Role and publication names are spliced into SQL (quoted); keep them to PostgreSQL's plain identifiers.
fn check_identifier(key: &str, name: &str) -> Result<(), IngestError> {
    let mut chars = name.chars();
    let valid = name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(IngestError::Config(cdc_core::config::ConfigError::invalid(
            key,
            format!("{name:?} must be 1-63 characters of a-z, 0-9 and _, not starting with a digit"),
        )))
    }
}

fn step_error(user: &str, step: &str, source: tokio_postgres::Error) -> IngestError {
    match source.as_db_error() {
        Some(db) if db.code().code() == "42501" => IngestError::InitPermission {
            step: step.to_owned(),
            user: user.to_owned(),
            message: db.message().to_owned(),
        },
        _ => IngestError::Init { step: step.to_owned(), source },
    }
}

struct Init<'t, 'c> {
    tx: &'t mut Transaction<'c>,
    user: &'t str,
    report: DbInitReport,
}

impl Init<'_, '_> {
    async fn exec(&self, step: &str, sql: &str) -> Result<(), IngestError> {
        self.tx.batch_execute(sql).await.map_err(|source| step_error(self.user, step, source))
    }

    async fn value<T>(&self, step: &str, sql: &str, param: &str) -> Result<T, IngestError>
    where
        T: for<'a> tokio_postgres::types::FromSql<'a>,
    {
        let row =
            self.tx.query_one(sql, &[&param]).await.map_err(|source| step_error(self.user, step, source))?;
        row.try_get(0).map_err(|source| step_error(self.user, step, source))
    }

    async fn create_unless(&mut self, exists: bool, object: String, sql: &str) -> Result<(), IngestError> {
        if exists {
            self.report.present.push(object);
        } else {
            self.exec(&format!("create {object}"), sql).await?;
            self.report.created.push(object);
        }
        Ok(())
    }

    async fn check_wal_level(&mut self) -> Result<(), IngestError> {
        let row = self
            .tx
            .query_one("SELECT current_setting('wal_level')", &[])
            .await
            .map_err(|source| step_error(self.user, "read wal_level", source))?;
        let level: String = row.get(0);
        if level != "logical" {
            self.report.warnings.push(format!(
                "wal_level is {level}; cdc capture needs wal_level = logical (set it in postgresql.conf and restart)"
            ));
        }
        Ok(())
    }

    async fn ensure_replica_identity_full(&mut self, table: &str) -> Result<(), IngestError> {
        let step = format!("replica identity of {table}");
        let identity: i8 = self
            .value(
                &step,
                "SELECT relreplident::\"char\" FROM pg_class WHERE oid = to_regclass($1)",
                &format!("public.{table}"),
            )
            .await?;
        if identity != b'f' as i8 {
            self.exec(&step, &format!("ALTER TABLE public.{table} REPLICA IDENTITY FULL")).await?;
            self.report.altered.push(format!("replica identity full on {table}"));
        }
        Ok(())
    }

    async fn sample_data(&mut self) -> Result<SampleData, IngestError> {
        for table in SAMPLE_TABLES {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM public.{table})");
            let row = self
                .tx
                .query_one(&sql, &[])
                .await
                .map_err(|source| step_error(self.user, "check sample tables", source))?;
            if row.get::<_, bool>(0) {
                return Ok(SampleData::SkippedNotEmpty);
            }
        }
        self.exec("load sample data", SAMPLE_DATA).await?;
        let mut counts = [0u64; 5];
        for (count, table) in counts.iter_mut().zip(SAMPLE_TABLES) {
            let row = self
                .tx
                .query_one(&format!("SELECT count(*) FROM public.{table}"), &[])
                .await
                .map_err(|source| step_error(self.user, "count sample data", source))?;
            *count = row.get::<_, i64>(0).max(0).unsigned_abs();
        }
        let [customers, products, orders, order_items, inventory_transactions] = counts;
        Ok(SampleData::Loaded { customers, products, orders, order_items, inventory_transactions })
    }

    async fn role(&mut self, role: &str, password: Option<&Secret>) -> Result<(), IngestError> {
        let object = format!("role {role}");
        let row = self
            .tx
            .query_opt(
                "SELECT rolcanlogin, rolreplication, rolsuper FROM pg_roles WHERE rolname = $1",
                &[&role],
            )
            .await
            .map_err(|source| step_error(self.user, &object, source))?;
        match row {
            None => {
                let mut sql = format!(
                    "CREATE ROLE \"{role}\" WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE"
                );
                if let Some(password) = password {
                    // A SCRAM verifier is base64 and `$:` only: safe inside a literal.
                    let verifier = postgres_protocol::password::scram_sha_256(password.expose().as_bytes());
                    sql.push_str(&format!(" PASSWORD '{verifier}'"));
                }
                self.exec(&format!("create {object}"), &sql).await?;
                self.report.created.push(object);
            }
            Some(row) => {
                let (login, replication, superuser): (bool, bool, bool) =
                    (row.get(0), row.get(1), row.get(2));
                if !(login && replication) {
                    self.exec(
                        &format!("alter {object}"),
                        &format!("ALTER ROLE \"{role}\" WITH LOGIN REPLICATION"),
                    )
                    .await?;
                    self.report.altered.push(format!("{object}: LOGIN REPLICATION"));
                } else {
                    self.report.present.push(object);
                }
                if superuser {
                    self.report.warnings.push(format!(
                        "role {role} is a superuser; the replication role needs only LOGIN REPLICATION and SELECT"
                    ));
                }
                if password.is_some() {
                    self.report
                        .warnings
                        .push(format!("role {role} already existed; its password was left unchanged"));
                }
            }
        }
        Ok(())
    }

    async fn grants(&mut self, role: &str) -> Result<(), IngestError> {
        let database: String = self
            .tx
            .query_one("SELECT current_database()", &[])
            .await
            .map_err(|source| step_error(self.user, "read the database name", source))?
            .get(0);
        let mut wanted = vec![
            (
                format!("grant CONNECT on database {database} to {role}"),
                format!("SELECT has_database_privilege('{role}', current_database(), 'CONNECT')"),
                format!("GRANT CONNECT ON DATABASE \"{}\" TO \"{role}\"", database.replace('"', "\"\"")),
            ),
            (
                format!("grant USAGE on schema public to {role}"),
                format!("SELECT has_schema_privilege('{role}', 'public', 'USAGE')"),
                format!("GRANT USAGE ON SCHEMA public TO \"{role}\""),
            ),
        ];
        for table in SOURCE_TABLES {
            wanted.push((
                format!("grant SELECT on {table} to {role}"),
                format!("SELECT has_table_privilege('{role}', 'public.{table}', 'SELECT')"),
                format!("GRANT SELECT ON public.{table} TO \"{role}\""),
            ));
        }
        for (object, check, grant) in wanted {
            let row = self
                .tx
                .query_one(&check, &[])
                .await
                .map_err(|source| step_error(self.user, &object, source))?;
            let held: bool = row.get(0);
            self.create_unless(held, object, &grant).await?;
        }
        Ok(())
    }

    async fn publication(&mut self, publication: &str) -> Result<(), IngestError> {
        let object = format!("publication {publication}");
        let row = self
            .tx
            .query_opt("SELECT puballtables FROM pg_publication WHERE pubname = $1", &[&publication])
            .await
            .map_err(|source| step_error(self.user, &object, source))?;
        match row {
            None => {
                let tables: Vec<String> = SOURCE_TABLES.iter().map(|t| format!("public.{t}")).collect();
                let sql = format!("CREATE PUBLICATION \"{publication}\" FOR TABLE {}", tables.join(", "));
                self.exec(&format!("create {object}"), &sql).await?;
                self.report.created.push(object);
            }
            Some(row) if row.get::<_, bool>(0) => self.report.present.push(format!("{object} (all tables)")),
            Some(_) => {
                let rows = self
                    .tx
                    .query(
                        "SELECT tablename::text FROM pg_publication_tables WHERE pubname = $1 AND schemaname = 'public'",
                        &[&publication],
                    )
                    .await
                    .map_err(|source| step_error(self.user, &object, source))?;
                let published: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                let mut missing = false;
                for table in SOURCE_TABLES.iter().filter(|t| !published.iter().any(|p| p == *t)) {
                    let sql = format!("ALTER PUBLICATION \"{publication}\" ADD TABLE public.{table}");
                    self.exec(&format!("add {table} to {object}"), &sql).await?;
                    self.report.altered.push(format!("{object}: added {table}"));
                    missing = true;
                }
                if !missing {
                    self.report.present.push(object);
                }
            }
        }
        Ok(())
    }
}
