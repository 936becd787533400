//! `cdc config check`: validate the configuration (and with `--connect`, the database prerequisites) without
//! changing anything; print the effective configuration with secrets redacted.

use anyhow::{Context, Result};
use cdc_core::postgres::catalog::Catalog;
use cdc_core::postgres::setup;

use crate::config::Loaded;

pub async fn run(loaded: Loaded, connect: bool, snowflake: bool) -> Result<()> {
    let Loaded { config, file, env_applied } = loaded;
    match &file {
        Some(path) => println!("config file: {}", path.display()),
        None => println!("config file: none (defaults and environment)"),
    }
    if !env_applied.is_empty() {
        println!("environment overrides: {}", env_applied.join(", "));
    }
    println!("{}", toml::to_string_pretty(&config).context("cannot print the configuration")?);
    if let Err(e) = config.ingest.validate("ingest") {
        println!("note: `cdc ingest` cannot run with this configuration: {e}");
    }
    if connect {
        let client = cdc_core::postgres::connect(&config.postgres).await?;
        setup::check_server(&client).await?;
        let mut catalog = Catalog::default();
        for id in config.source.table_ids() {
            catalog.find_table(&client, &id).await?.ok_or_else(|| {
                anyhow::anyhow!(
                    "table {id} from [source].tables does not exist; fix the name or create the table"
                )
            })?;
        }
        println!("database {}: ready for logical replication", config.postgres.describe());
    }
    if snowflake {
        config.snowflake.validate("snowflake")?;
        cdc_warehouse::snowflake::SnowflakeSink::check(&config.snowflake).await?;
        println!(
            "snowflake {}: logged in as {}; warehouse, database and schema usable; the role may create tables",
            config.snowflake.base_url(),
            config.snowflake.user
        );
    }
    println!("configuration ok");
    Ok(())
}
