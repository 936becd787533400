//! `cdc verify`: source vs DuckDB, table by table: row counts and a checksum over the key and every column whose
//! text form both databases spell alike (integers, exact decimals, text, booleans). Exit 1 on any mismatch.
//!
//! Run it while `cdc run` is stopped (DuckDB allows one writer process per file) or caught up.

use anyhow::{bail, Context, Result};
use cdc_core::postgres::catalog::Catalog;
use cdc_core::postgres::setup;
use cdc_core::schema::quote_ident;
use cdc_core::TypeKind;

use crate::cli::VerifyArgs;
use crate::config::Config;

pub async fn run(mut config: Config, args: VerifyArgs) -> Result<()> {
    if let Some(path) = args.duckdb {
        config.duckdb.path = path;
    }
    let client = cdc_core::postgres::connect(&config.postgres).await?;
    let mut catalog = Catalog::default();
    let tables = setup::prepare_publication(&client, &mut catalog, &config.source).await?;
    let duck = duckdb::Connection::open(&config.duckdb.path).with_context(|| {
        format!("cannot open {} (is `cdc run` still running?)", config.duckdb.path.display())
    })?;
    println!("{:<28} {:>12} {:>12}  checksum", "table", "source rows", "duckdb rows");
    let mut mismatches = 0;
    for info in &tables {
        let schema = catalog.schema(&client, info, &info.columns, info.replica_identity).await?;
        let mut keys: Vec<String> = schema.key_columns().map(|(_, c)| quote_ident(&c.name)).collect();
        if keys.is_empty() {
            keys = schema.columns.iter().map(|c| quote_ident(&c.name)).collect();
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
            .map(|c| quote_ident(&c.name))
            .collect();
        let row_text = |cast: &str| {
            comparable
                .iter()
                .map(|c| format!("coalesce(CAST({c} AS {cast}), '<null>')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ")
        };
        let order = keys.join(", ");
        let pg_sql = format!(
            "SELECT count(*), md5(coalesce(string_agg({}, E'\\n' ORDER BY {order}), '')) FROM {}",
            row_text("text"),
            info.id.quoted()
        );
        let row =
            client.query_one(&pg_sql, &[]).await.with_context(|| format!("checksumming {}", info.id))?;
        let (pg_count, pg_sum): (i64, String) = (row.get(0), row.get(1));
        let duck_sql = format!(
            "SELECT count(*), md5(coalesce(string_agg({}, chr(10) ORDER BY {order}), '')) FROM {}.{} WHERE NOT _cdc_deleted",
            row_text("VARCHAR"),
            quote_ident(&info.id.schema),
            quote_ident(&info.id.name)
        );
        let (duck_count, duck_sum): (i64, String) =
            duck.query_row(&duck_sql, [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap_or((-1, String::new()));
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
        bail!("{mismatches} of {} tables differ between the source and DuckDB", tables.len());
    }
    println!("all {} tables match", tables.len());
    Ok(())
}
