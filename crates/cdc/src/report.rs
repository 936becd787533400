//! Errors for the operator: one line with what went wrong, its causes, and what to do.

use cdc_core::postgres::PgError;

/// `cdc: error: <what>: <cause>: <cause> — hint: <what to do>`.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = format!("cdc: error: {error}");
    let mut seen = vec![error.to_string()];
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        // Error types that already print their cause would repeat it; skip exact repeats.
        if seen.iter().any(|s| s.contains(&text)) {
            continue;
        }
        line.push_str(": ");
        line.push_str(&text);
        seen.push(text);
    }
    if let Some(hint) = hint(error) {
        line.push_str(" — hint: ");
        line.push_str(&hint);
    }
    line.replace('\n', " ")
}

fn hint(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|e| {
        e.downcast_ref::<PgError>()
            .and_then(PgError::hint)
            .or_else(|| e.downcast_ref::<cdc_ingest::IngestError>().and_then(cdc_ingest::IngestError::hint))
            .or_else(|| {
                e.downcast_ref::<cdc_warehouse::WarehouseError>()
                    .and_then(cdc_warehouse::WarehouseError::hint)
            })
            .or_else(|| e.downcast_ref::<cdc_kafka::KafkaError>().and_then(cdc_kafka::KafkaError::hint))
    })
}

/// 2 for bad configuration or usage, 1 for everything else.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let config_error = error.chain().any(|e| {
        e.downcast_ref::<crate::config::LoadError>().is_some()
            || e.downcast_ref::<cdc_core::config::ConfigError>().is_some()
    });
    if config_error {
        2
    } else {
        1
    }
}
