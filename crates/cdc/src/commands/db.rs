//! `cdc db init`: the source schema, sample data, replication role and publication (cdc-ingest's `db_init`),
//! plus the snapshot-progress table that `cdc capture` writes, granted to the replication role.

use anyhow::{Context, Result};
use cdc_core::config::Secret;
use cdc_core::postgres::setup::{ensure_progress_table, PROGRESS_TABLE};
use cdc_core::schema::quote_ident;
use cdc_ingest::{DbInitOptions, SampleData};

use crate::config::Config;

/// Environment variable with the password given to a newly created replication role.
pub const REPLICATION_PASSWORD_ENV: &str = "CDC_REPLICATION_PASSWORD";

pub async fn init(config: Config, no_sample_data: bool, replication_role: String) -> Result<()> {
    let options = DbInitOptions {
        sample_data: !no_sample_data,
        replication_role: replication_role.clone(),
        replication_password: std::env::var(REPLICATION_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(Secret::new),
        publication: config.source.publication.clone(),
    };
    let report = cdc_ingest::db_init(&config.postgres, &options).await?;
    let client = cdc_core::postgres::connect(&config.postgres).await?;
    ensure_progress_table(&client).await?;
    client
        .batch_execute(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON public.{PROGRESS_TABLE} TO {}",
            quote_ident(&replication_role)
        ))
        .await
        .context("cannot grant the replication role access to the snapshot progress table")?;

    for (label, items) in
        [("created", &report.created), ("altered", &report.altered), ("present", &report.present)]
    {
        if !items.is_empty() {
            println!("{label}: {}", items.join(", "));
        }
    }
    match &report.sample_data {
        SampleData::Loaded { customers, products, orders, order_items, inventory_transactions } => println!(
            "sample data: {customers} customers, {products} products, {orders} orders, {order_items} order items, \
             {inventory_transactions} inventory transactions"
        ),
        SampleData::SkippedNotEmpty => println!("sample data: skipped (tables already hold rows)"),
        SampleData::SkippedByOption => println!("sample data: skipped (--no-sample-data)"),
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "{}",
        if report.changed() {
            "database initialised"
        } else {
            "database already initialised; nothing changed"
        }
    );
    Ok(())
}
