//! Before streaming: check that the server and role can do logical replication, that every captured table can
//! be keyed, and make sure the publication and the snapshot-progress table exist. Every failure names what is
//! missing and the SQL that fixes it.

use tokio_postgres::Client;

use super::catalog::{Catalog, TableInfo};
use super::error::PgError;
use crate::config::{PublicationAutocreate, SourceConfig};
use crate::schema::{quote_ident, ReplicaIdentity, TableId};

/// Where snapshot progress lives: a table in the source database (the one piece of progress with no natural
/// home; see STYLE.md). Rows are written only after the sink made a table's snapshot durable.
pub const PROGRESS_TABLE: &str = "cdc_snapshot_progress";

/// The first PostgreSQL version (`server_version_num`) whose pgoutput streams in-progress transactions.
pub const STREAMING_SINCE: i32 = 140_000;
/// The first version with TID range scans, which make a `ctid` range read only its blocks.
pub const TID_RANGE_SCANS_SINCE: i32 = 140_000;

/// Checks `wal_level` and the role's REPLICATION attribute; returns `server_version_num`.
pub async fn check_server(client: &Client) -> Result<i32, PgError> {
    let row = client
        .query_one(
            "SELECT current_setting('wal_level'), r.rolreplication OR r.rolsuper, current_user::text,
                    current_setting('server_version_num')::int
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(PgError::query("checking server settings"))?;
    let wal_level: String = row.get(0);
    let can_replicate: bool = row.get(1);
    let user: String = row.get(2);
    let version: i32 = row.get(3);
    if version < 100_000 {
        return Err(PgError::Prerequisite {
            problem: format!("server version {version} is older than PostgreSQL 10"),
            hint: "pgoutput needs PostgreSQL 10 or newer (14+ for streaming of large transactions)".into(),
        });
    }
    if wal_level != "logical" {
        return Err(PgError::Prerequisite {
            problem: format!("wal_level is '{wal_level}', not 'logical'"),
            hint: "run ALTER SYSTEM SET wal_level = logical; and restart PostgreSQL".into(),
        });
    }
    if !can_replicate {
        return Err(PgError::Prerequisite {
            problem: format!("role {user} lacks the REPLICATION attribute"),
            hint: format!("run ALTER ROLE {} REPLICATION; as a superuser", quote_ident(&user)),
        });
    }
    Ok(version)
}

/// Resolves the tables to capture: the configured ones (each must exist and be keyable) or, when none are
/// configured, every table of the publication. Creates the publication when it does not exist.
pub async fn prepare_publication(
    client: &Client,
    catalog: &mut Catalog,
    config: &SourceConfig,
) -> Result<Vec<TableInfo>, PgError> {
    let wanted = config.table_ids();
    let mut tables = Vec::with_capacity(wanted.len());
    for id in &wanted {
        let info = catalog.find_table(client, id).await?.ok_or_else(|| PgError::Prerequisite {
            problem: format!("table {id} from [source].tables does not exist"),
            hint: "fix the name in [source].tables (schema.table), or create the table".into(),
        })?;
        tables.push(info);
    }
    let all_tables = client
        .query_opt("SELECT puballtables FROM pg_publication WHERE pubname = $1", &[&config.publication])
        .await
        .map_err(PgError::query("looking up the publication"))?
        .map(|row| row.get::<_, bool>(0));
    if all_tables.is_none() {
        let target = if wanted.is_empty() || config.publication_autocreate == PublicationAutocreate::AllTables
        {
            "FOR ALL TABLES".to_owned()
        } else {
            format!("FOR TABLE {}", wanted.iter().map(TableId::quoted).collect::<Vec<_>>().join(", "))
        };
        let sql = format!("CREATE PUBLICATION {} {target}", quote_ident(&config.publication));
        if config.publication_autocreate == PublicationAutocreate::Disabled {
            return Err(PgError::Prerequisite {
                problem: format!(
                    "publication {} does not exist (publication_autocreate = \"disabled\")",
                    config.publication
                ),
                hint: format!("create it: {sql};"),
            });
        }
        client.batch_execute(&sql).await.map_err(|e| PgError::Prerequisite {
            problem: format!(
                "publication {} does not exist and cannot be created: {}",
                config.publication,
                db_message(&e)
            ),
            hint: format!("run as the table owner or a superuser: {sql};"),
        })?;
        tracing::info!(publication = %config.publication, "created publication");
    } else if all_tables == Some(false) && config.publication_autocreate == PublicationAutocreate::Filtered {
        add_missing_tables(client, config, &wanted).await?;
    }
    let published = published_tables(client, &config.publication).await?;
    if wanted.is_empty() {
        for id in published {
            if [PROGRESS_TABLE, super::incremental::CHUNK_PROGRESS_TABLE].contains(&id.name.as_str()) {
                continue;
            }
            if let Some(info) = catalog.find_table(client, &id).await? {
                tables.push(info);
            }
        }
    } else {
        for info in &tables {
            if !published.contains(&info.id) {
                return Err(PgError::Prerequisite {
                    problem: format!("publication {} does not include table {}", config.publication, info.id),
                    hint: format!(
                        "run ALTER PUBLICATION {} ADD TABLE {};",
                        quote_ident(&config.publication),
                        info.id.quoted()
                    ),
                });
            }
        }
    }
    for info in &tables {
        check_keyable(info)?;
    }
    Ok(tables)
}

/// The tables a publication publishes, in name order.
async fn published_tables(client: &Client, publication: &str) -> Result<Vec<TableId>, PgError> {
    Ok(client
        .query(
            "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1
             ORDER BY 1, 2",
            &[&publication],
        )
        .await
        .map_err(PgError::query("listing the publication's tables"))?
        .into_iter()
        .map(|r| TableId::new(r.get::<_, String>(0), r.get::<_, String>(1)))
        .collect())
}

/// Keeps a publication we manage (`filtered`) in step with the configured tables: a table added to the
/// configuration is added to the publication, so its changes are decoded from here on.
async fn add_missing_tables(
    client: &Client,
    config: &SourceConfig,
    wanted: &[TableId],
) -> Result<(), PgError> {
    let published = published_tables(client, &config.publication).await?;
    let missing: Vec<&TableId> = wanted.iter().filter(|id| !published.contains(id)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "ALTER PUBLICATION {} ADD TABLE {}",
        quote_ident(&config.publication),
        missing.iter().map(|id| id.quoted()).collect::<Vec<_>>().join(", ")
    );
    client.batch_execute(&sql).await.map_err(|e| PgError::Prerequisite {
        problem: format!(
            "publication {} lacks configured tables and cannot be altered: {}",
            config.publication,
            db_message(&e)
        ),
        hint: format!("run as the publication's owner: {sql};"),
    })?;
    tracing::info!(publication = %config.publication, tables = ?missing.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "added tables to the publication");
    Ok(())
}

/// A table whose updates and deletes cannot be tied to a row is refused up front rather than half-captured.
fn check_keyable(info: &TableInfo) -> Result<(), PgError> {
    let keyable = !info.primary_key.is_empty()
        || matches!(info.replica_identity, ReplicaIdentity::Full | ReplicaIdentity::Index);
    if keyable {
        return Ok(());
    }
    Err(PgError::Prerequisite {
        problem: format!("table {} has no primary key and its REPLICA IDENTITY is not FULL", info.id),
        hint: format!("add a primary key, or run ALTER TABLE {} REPLICA IDENTITY FULL;", info.id.quoted()),
    })
}

/// The slot's state, if it exists.
#[derive(Debug, Clone)]
pub struct SlotState {
    pub confirmed_flush: Option<crate::Lsn>,
    pub active: bool,
}

pub async fn slot_state(client: &Client, slot: &str) -> Result<Option<SlotState>, PgError> {
    let row = client
        .query_opt(
            "SELECT plugin::text, database::text, confirmed_flush_lsn::text, active
             FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(PgError::query("looking up the replication slot"))?;
    let Some(row) = row else { return Ok(None) };
    let plugin: Option<String> = row.get(0);
    if plugin.as_deref() != Some("pgoutput") {
        return Err(PgError::Prerequisite {
            problem: format!("replication slot {slot} exists but uses plugin {plugin:?}, not pgoutput"),
            hint: format!(
                "choose another [source].slot_name, or drop it: SELECT pg_drop_replication_slot('{slot}');"
            ),
        });
    }
    let confirmed: Option<String> = row.get(2);
    Ok(Some(SlotState { confirmed_flush: confirmed.and_then(|t| t.parse().ok()), active: row.get(3) }))
}

/// Creates the snapshot-progress table when missing.
pub async fn ensure_progress_table(client: &Client) -> Result<(), PgError> {
    ensure_table(
        client,
        PROGRESS_TABLE,
        "slot_name text NOT NULL,
         table_schema text NOT NULL,
         table_name text NOT NULL,
         snapshot_lsn pg_lsn NOT NULL,
         completed_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (slot_name, table_schema, table_name)",
    )
    .await
}

/// Whether the progress table `public.<name>` exists.
pub(crate) async fn table_exists(
    client: &impl tokio_postgres::GenericClient,
    name: &str,
) -> Result<bool, PgError> {
    Ok(client
        .query_one(&format!("SELECT to_regclass('public.{name}') IS NOT NULL"), &[])
        .await
        .map_err(PgError::query(format!("looking up the progress table public.{name}")))?
        .get(0))
}

/// Creates `public.<name>` with `columns` when missing. Looks first: `CREATE … IF NOT EXISTS` would demand CREATE
/// on the schema even when the table exists, which a least-privilege capture role does not have.
pub(crate) async fn ensure_table(client: &Client, name: &str, columns: &str) -> Result<(), PgError> {
    if table_exists(client, name).await? {
        return Ok(());
    }
    let sql = format!("CREATE TABLE IF NOT EXISTS public.{name} ({columns})");
    client.batch_execute(&sql).await.map_err(|e| PgError::Prerequisite {
        problem: format!("cannot create the progress table public.{name}: {}", db_message(&e)),
        hint: "create it once as an owner (see sql/), or GRANT CREATE ON SCHEMA public to the capture role"
            .into(),
    })
}

/// Tables whose snapshot for `slot` completed.
pub async fn completed_snapshots(client: &Client, slot: &str) -> Result<Vec<TableId>, PgError> {
    let rows = client
        .query(
            &format!("SELECT table_schema, table_name FROM public.{PROGRESS_TABLE} WHERE slot_name = $1"),
            &[&slot],
        )
        .await
        .map_err(PgError::query("reading snapshot progress"))?;
    Ok(rows.into_iter().map(|r| TableId::new(r.get::<_, String>(0), r.get::<_, String>(1))).collect())
}

pub async fn clear_snapshot_progress(client: &Client, slot: &str) -> Result<(), PgError> {
    client
        .execute(&format!("DELETE FROM public.{PROGRESS_TABLE} WHERE slot_name = $1"), &[&slot])
        .await
        .map_err(PgError::query("clearing snapshot progress"))?;
    Ok(())
}

/// Records a table's snapshot done (on a client or inside a caller's transaction).
pub async fn record_snapshot_done(
    client: &impl tokio_postgres::GenericClient,
    slot: &str,
    table: &TableId,
    lsn: crate::Lsn,
) -> Result<(), PgError> {
    client
        .execute(
            &format!(
                "INSERT INTO public.{PROGRESS_TABLE} (slot_name, table_schema, table_name, snapshot_lsn)
                 VALUES ($1, $2, $3, $4::text::pg_lsn)
                 ON CONFLICT (slot_name, table_schema, table_name)
                 DO UPDATE SET snapshot_lsn = EXCLUDED.snapshot_lsn, completed_at = now()"
            ),
            &[&slot, &table.schema, &table.name, &lsn.to_string()],
        )
        .await
        .map_err(PgError::query("recording snapshot progress"))?;
    Ok(())
}

fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| e.to_string())
}
