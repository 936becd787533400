//! `cdc tail`: live changes from PostgreSQL, printed as they commit (the seed's local test consumer, without
//! Kafka). Uses a temporary slot, so it never moves the capture slot and leaves nothing behind.

use anyhow::Result;
use cdc_core::config::SnapshotMode;
use cdc_core::envelope::Envelope;
use cdc_core::postgres::PgSource;
use cdc_core::source::Source;
use cdc_core::{ChangeEvent, TableId};

use crate::cli::{TailArgs, TailFormat};
use crate::config::Config;

/// `cdc tail --from-kafka`: our topics read back like the seed's local test consumer did.
async fn from_kafka(
    config: Config,
    args: TailArgs,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
    let topics: Vec<String> = if args.table.is_empty() {
        vec![format!("^{}\\..*", config.events.topic_prefix.replace('.', "\\."))]
    } else {
        args.table.iter().map(|t| envelope.topic(&TableId::parse(t))).collect()
    };
    let options = cdc_kafka::TailOptions {
        topics,
        group: args.group.clone().unwrap_or_else(|| format!("cdc-tail-{}", std::process::id())),
        from_beginning: args.from_beginning,
    };
    eprintln!(
        "tailing Kafka topics {:?} at {} (Ctrl-C to stop)",
        options.topics, config.kafka.bootstrap_servers
    );
    let mut printed = 0u64;
    let avro = crate::registry::client(&config)?.map(cdc_kafka::AvroDecoder::new);
    let consume = cdc_kafka::tail(&config.kafka, &options, avro, |record| {
        let Some(value) = record.value else { return true };
        let payload = value.get("payload").cloned().unwrap_or(value);
        match args.format {
            TailFormat::Json => println!("{payload}"),
            TailFormat::Pretty => {
                let key = record.key.map(|k| k.get("payload").cloned().unwrap_or(k));
                println!(
                    "── {} {}  key {}",
                    payload["op"].as_str().unwrap_or("?"),
                    record.topic,
                    key.unwrap_or_default()
                );
                for side in ["before", "after"] {
                    if let Some(row) = payload.get(side).filter(|v| !v.is_null()) {
                        println!("   {side:<6} {row}");
                    }
                }
            }
        }
        printed += 1;
        args.max_events.is_none_or(|max| printed < max)
    });
    tokio::select! {
        _ = shutdown.changed() => Ok(()),
        result = consume => Ok(result?),
    }
}

pub async fn run(
    config: Config,
    args: TailArgs,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    if args.from_kafka {
        return from_kafka(config, args, shutdown).await;
    }
    let mut source_config = config.source.clone();
    source_config.snapshot_mode = SnapshotMode::Never;
    source_config.temporary_slot = true;
    source_config.slot_name = format!("{}_tail_{}", source_config.slot_name, std::process::id());
    let filter: Vec<TableId> = args.table.iter().map(|t| TableId::parse(t)).collect();
    let mut envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
    let mut source = PgSource::start(config.postgres.clone(), source_config).await?;
    eprintln!("tailing changes of {} (Ctrl-C to stop)", config.postgres.describe());
    let mut printed = 0u64;
    loop {
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_millis(config.pipeline.poll_timeout_ms);
        let batch = tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            batch = source.next_batch(config.pipeline.batch_size, deadline) => batch?,
        };
        let Some(batch) = batch else { return Ok(()) };
        for event in &batch.events {
            if !filter.is_empty() && !filter.contains(&event.schema.id) {
                continue;
            }
            match args.format {
                TailFormat::Json => println!("{}", envelope.value(event)),
                TailFormat::Pretty => print_pretty(&mut envelope, event),
            }
            printed += 1;
            if args.max_events.is_some_and(|max| printed >= max) {
                return Ok(());
            }
        }
        // Printing is this command's durability: acknowledge so the temporary slot does not hold WAL.
        if let Some(checkpoint) = batch.checkpoint {
            source.ack(checkpoint).await?;
        }
    }
}

fn print_pretty(envelope: &mut Envelope, event: &ChangeEvent) {
    let value = envelope.value(event);
    let payload = value.get("payload").unwrap_or(&value);
    let op = match event.op {
        cdc_core::Op::Read => "READ",
        cdc_core::Op::Insert => "INSERT",
        cdc_core::Op::Update => "UPDATE",
        cdc_core::Op::Delete => "DELETE",
        cdc_core::Op::Truncate => "TRUNCATE",
    };
    println!("── {op} {}  lsn {}  tx {}", event.schema.id, event.lsn, event.tx.xid);
    if let Some(key) = envelope.key(event) {
        println!("   key    {}", key.get("payload").unwrap_or(&key));
    }
    for side in ["before", "after"] {
        if let Some(row) = payload.get(side).filter(|v| !v.is_null()) {
            let pretty = serde_json::to_string_pretty(row).unwrap_or_default().replace('\n', "\n          ");
            println!("   {side:<6} {pretty}");
        }
    }
}
