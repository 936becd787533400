//! `cdc verify`: source vs warehouse (DuckDB, or Snowflake with `--sink snowflake`), table by table: row counts
//! and a checksum over the key and every column whose text form both databases spell alike (integers, exact
//! decimals, text, booleans). Exit 1 on any mismatch.
//!
//! Run it while the pipeline is stopped (DuckDB allows one writer process per file) or caught up.

use anyhow::{bail, Context, Result};
use cdc_core::postgres::catalog::Catalog;
use cdc_core::postgres::setup;
use cdc_core::schema::quote_ident;
use cdc_core::TypeKind;

use cdc_core::TableId;
use cdc_warehouse::snowflake::client::{Bindings, Client as SnowflakeClient};
use cdc_warehouse::snowflake::sql;
use cdc_warehouse::WarehouseError;

use crate::cli::{VerifyArgs, WarehouseSink};
use crate::config::Config;

pub async fn run(mut config: Config, args: VerifyArgs) -> Result<()> {
    if let Some(path) = args.duckdb {
        config.duckdb.path = path;
    }
    let client = cdc_core::postgres::connect(&config.postgres).await?;
    let mut catalog = Catalog::default();
    let tables = setup::prepare_publication(&client, &mut catalog, &config.source).await?;
    let warehouse = match args.sink {
        WarehouseSink::Duckdb => {
            Warehouse::DuckDb(duckdb::Connection::open(&config.duckdb.path).with_context(|| {
                format!("cannot open {} (is `cdc run` still running?)", config.duckdb.path.display())
            })?)
        }
        WarehouseSink::Snowflake => {
            config.snowflake.validate("snowflake")?;
            let client = SnowflakeClient::connect(&config.snowflake)
                .await
                .map_err(|source| WarehouseError::Snowflake { during: "logging in".into(), source })?;
            Warehouse::Snowflake(Box::new(client), sql::config_ident(&config.snowflake.database))
        }
    };
    let name = match args.sink {
        WarehouseSink::Duckdb => "duckdb",
        WarehouseSink::Snowflake => "snowflake",
    };
    println!("{:<28} {:>12} {:>12}  checksum", "table", "source rows", format!("{name} rows"));
    let mut mismatches = 0;
    for info in &tables {
        let schema = catalog.schema(&client, info, &info.columns, info.replica_identity).await?;
        // Raw names: each database quotes (and, for Snowflake, folds) them its own way.
        let mut keys: Vec<String> = schema.key_columns().map(|(_, c)| c.name.clone()).collect();
        if keys.is_empty() {
            keys = schema.columns.iter().map(|c| c.name.clone()).collect();
        }
        let comparable: Vec<String> = schema
            .columns
            .iter()
            .filter(|c| {
                matches!(
                    c.pg_type.kind,
                    TypeKind::Int2 | TypeKind::Int4 | TypeKind::Int8 | TypeKind::Text | TypeKind::Bool
                ) || (c.pg_type.kind == TypeKind::Numeric && c.numeric_precision_scale().is_some())
            })
            .map(|c| c.name.clone())
            .collect();
        let order = keys.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", ");
        let pg_sql = format!(
            "SELECT count(*), md5(coalesce(string_agg({}, E'\\n' ORDER BY {order}), '')) FROM {}",
            row_text(comparable.iter().map(|c| quote_ident(c)), "text"),
            info.id.quoted()
        );
        let row =
            client.query_one(&pg_sql, &[]).await.with_context(|| format!("checksumming {}", info.id))?;
        let (pg_count, pg_sum): (i64, String) = (row.get(0), row.get(1));
        let (duck_count, duck_sum) = warehouse.checksum(&info.id, &comparable, &keys).await;
        let ok = pg_count == duck_count && pg_sum == duck_sum;
        if !ok {
            mismatches += 1;
        }
        let shown = if duck_count < 0 { "missing".to_owned() } else { duck_count.to_string() };
        println!(
            "{:<28} {:>12} {:>12}  {}",
            info.id.to_string(),
            pg_count,
            shown,
            if ok { "match" } else { "DIFFERENT" }
        );
    }
    if mismatches > 0 {
        bail!("{mismatches} of {} tables differ between the source and {name}", tables.len());
    }
    println!("all {} tables match", tables.len());
    Ok(())
}

/// Where the warehouse rows are read.
enum Warehouse {
    DuckDb(duckdb::Connection),
    /// The client and the quoted database name.
    Snowflake(Box<SnowflakeClient>, String),
}

impl Warehouse {
    /// Row count and md5 of the comparable columns' text, rows in key order, deleted rows left out; `(-1, "")`
    /// when the table cannot be read (missing).
    async fn checksum(&self, id: &TableId, comparable: &[String], keys: &[String]) -> (i64, String) {
        match self {
            Warehouse::DuckDb(duck) => {
                let sql = format!(
                    "SELECT count(*), md5(coalesce(string_agg({}, chr(10) ORDER BY {}), '')) FROM {}.{} \
                     WHERE NOT _cdc_deleted",
                    row_text(comparable.iter().map(|c| quote_ident(c)), "VARCHAR"),
                    keys.iter().map(|k| quote_ident(k)).collect::<Vec<_>>().join(", "),
                    quote_ident(&id.schema),
                    quote_ident(&id.name)
                );
                duck.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap_or((-1, String::new()))
            }
            Warehouse::Snowflake(client, database) => {
                let folded = |name: &str| sql::q(&sql::fold(name));
                let query = format!(
                    "SELECT COUNT(*), MD5(COALESCE(LISTAGG({}, CHR(10)) WITHIN GROUP (ORDER BY {}), '')) \
                     FROM {database}.{}.{} WHERE NOT {}",
                    row_text(comparable.iter().map(|c| folded(c)), "VARCHAR"),
                    keys.iter().map(|k| folded(k)).collect::<Vec<_>>().join(", "),
                    folded(&id.schema),
                    folded(&id.name),
                    folded(cdc_warehouse::meta::DELETED),
                );
                match client.query(&query, Bindings::None).await {
                    Ok(result) => {
                        let row = result.rows.first().cloned().unwrap_or_default();
                        let count = row.first().cloned().flatten().and_then(|c| c.parse().ok()).unwrap_or(-1);
                        (count, row.get(1).cloned().flatten().unwrap_or_default())
                    }
                    Err(_) => (-1, String::new()),
                }
            }
        }
    }
}

/// `coalesce(CAST(c AS cast), '<null>') || '|' || …` over the (already quoted) columns.
fn row_text(columns: impl Iterator<Item = String>, cast: &str) -> String {
    columns
        .map(|c| format!("coalesce(CAST({c} AS {cast}), '<null>')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ")
}
