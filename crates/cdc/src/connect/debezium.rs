//! The Debezium PostgreSQL connector's own properties, one handler per group: the connector's identity, the
//! database connection, topic naming, the slot and publication, the filter and column lists, snapshots, the
//! event encoding, heartbeats and batching. Each handler takes what it reads from [`Props`], so whatever is
//! left at the end is unknown ([`super::framework::unknown`]).

use cdc_core::config::{Secret, SnapshotMode, SslMode};
use cdc_core::envelope::{BinaryHandling, DecimalHandling, HstoreHandling, IntervalHandling, TimePrecision};

use super::filters::{
    ColumnAction, ColumnPolicies, ColumnRule, Filter, FilterEntry, HashAlgorithm, HashVersion,
    MessageKeyRule, TableFilters,
};
use super::properties::{
    ConnectorConfig, Heartbeat, Props, PublicationAutocreate, SkippedOperation, SnapshotModeExtra,
    DEBEZIUM_PUBLICATION_NAME, DEBEZIUM_SLOT_NAME, DEFAULT_HEARTBEAT_TOPICS_PREFIX,
    DEFAULT_INCREMENTAL_SNAPSHOT_CHUNK_SIZE, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_QUEUE_SIZE,
    DEFAULT_POLL_INTERVAL_MS, POSTGRES_CONNECTOR_CLASS,
};
use crate::config::Config;

pub(crate) fn connector_identity(p: &mut Props, connector: &ConnectorConfig) {
    if let Some(name) = p.take("name") {
        if name != connector.name {
            p.error(
                "name",
                format!(
                    "{name:?} does not match the connector name {:?}; they must be equal",
                    connector.name
                ),
            );
        }
    }
    if connector.name.trim().is_empty() {
        p.error("name", "the connector name must not be empty");
    }
    if let Some(class) = p.required("connector.class") {
        let class = class.trim();
        if ![POSTGRES_CONNECTOR_CLASS, "PostgresConnector", "Postgres"].contains(&class) {
            p.error(
                "connector.class",
                format!(
                    "{class:?} is not supported: this worker runs the Debezium PostgreSQL connector \
                     ({POSTGRES_CONNECTOR_CLASS}) only"
                ),
            );
        }
    }
    let tasks: u32 = p.take_int("tasks.max", 1, 1, i128::from(i32::MAX));
    if tasks > 1 {
        p.warn(format!(
            "tasks.max={tasks} is ignored: the PostgreSQL connector always runs a single task (one replication slot)"
        ));
    }
}

pub(crate) fn database(p: &mut Props, config: &mut Config) {
    let pg = &mut config.postgres;
    if let Some(host) = p.required("database.hostname") {
        pg.host = host.trim().to_owned();
    }
    pg.port = p.take_int("database.port", cdc_core::config::DEFAULT_PG_PORT, 1, 65_535);
    if let Some(user) = p.required("database.user") {
        pg.user = user.trim().to_owned();
    }
    pg.password = p.take("database.password").map(Secret::new);
    if let Some(dbname) = p.required("database.dbname") {
        pg.dbname = dbname.trim().to_owned();
    }
    let modes = [
        ("disable", SslMode::Disable),
        ("allow", SslMode::Prefer),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ];
    if p.peek("database.sslmode").is_some_and(|v| v.trim().eq_ignore_ascii_case("allow")) {
        p.warn(
            "database.sslmode=allow is treated as prefer: cdc tries TLS first, then plain TCP, where allow \
             tries plain TCP first"
                .to_owned(),
        );
    }
    // Debezium's default is prefer (the JDBC driver's), not cdc's disable.
    config.postgres.sslmode = p.take_choice("database.sslmode", &modes, SslMode::Prefer);
    config.postgres.sslrootcert = p
        .take("database.sslrootcert")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from);
    for unsupported in ["database.sslcert", "database.sslkey", "database.sslpassword", "database.sslfactory"]
    {
        if p.take(unsupported).is_some() {
            p.error(
                unsupported,
                "client certificates and custom SSL socket factories are not supported: authenticate with \
                 database.password, and verify the server with database.sslmode and database.sslrootcert",
            );
        }
    }
    if p.take("database.initial.statements").is_some() {
        p.error(
            "database.initial.statements",
            "is not supported: session settings that change what the connector reads must be set on the role \
             (ALTER ROLE … SET …)",
        );
    }
}

/// `topic.prefix` and `topic.delimiter`; returns the delimiter, for the heartbeat topic.
pub(crate) fn topic_naming(p: &mut Props, config: &mut Config) -> String {
    let legacy = p.take("database.server.name");
    let prefix = match (p.take("topic.prefix"), legacy) {
        (Some(prefix), Some(_)) => {
            p.warn("database.server.name is ignored: topic.prefix replaces it and is set".to_owned());
            Some(prefix)
        }
        (Some(prefix), None) => Some(prefix),
        (None, Some(legacy)) => Some(legacy),
        (None, None) => {
            if !p.is_unresolved("topic.prefix") && !p.is_unresolved("database.server.name") {
                p.error("topic.prefix", "is required and has no default value (it names every topic)");
            }
            None
        }
    };
    let given = prefix.is_some();
    let prefix = prefix.map(|v| v.trim().to_owned()).unwrap_or_default();
    let prefix_ok = prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if given && prefix.is_empty() {
        p.error("topic.prefix", "must not be empty (it names every topic)");
    } else if !prefix_ok {
        p.invalid(
            "topic.prefix",
            &prefix,
            "use only a-z, A-Z, 0-9, '.', '_' and '-' (Kafka's topic characters)",
        );
    }
    if !prefix.is_empty() {
        config.events.topic_prefix = prefix.clone();
    }
    let delimiter = p.take("topic.delimiter").unwrap_or_else(|| ".".to_owned());
    if delimiter.is_empty() || delimiter.contains(['{', '}']) {
        p.invalid("topic.delimiter", &delimiter, "expected a non-empty delimiter such as . or _");
    }
    // Debezium's naming is fixed (the transforms rename); a worker's own template does not apply to it.
    config.events.topic_template =
        (delimiter != ".").then(|| format!("{{prefix}}{delimiter}{{schema}}{delimiter}{{table}}"));
    let strategies =
        ["io.debezium.schema.DefaultTopicNamingStrategy", "io.debezium.schema.SchemaTopicNamingStrategy"];
    if let Some(strategy) = p.take("topic.naming.strategy") {
        if !strategies.contains(&strategy.trim()) {
            p.invalid(
                "topic.naming.strategy",
                &strategy,
                "only Debezium's default topic naming is supported",
            );
        }
    }
    delimiter
}

/// `plugin.name`, the slot and the publication.
pub(crate) fn replication(p: &mut Props, config: &mut Config) -> (bool, PublicationAutocreate) {
    match p.take("plugin.name").map(|v| v.trim().to_ascii_lowercase()) {
        None => p.warn(
            "plugin.name is not set: Debezium's default is decoderbufs; cdc always decodes pgoutput"
                .to_owned(),
        ),
        Some(plugin) if plugin == "pgoutput" => {}
        Some(plugin) => {
            let message = if [
                "decoderbufs",
                "wal2json",
                "wal2json_streaming",
                "wal2json_rds",
                "wal2json_rds_streaming",
            ]
            .contains(&plugin.as_str())
            {
                format!(
                    "{plugin:?} is not supported: cdc decodes pgoutput, PostgreSQL's built-in plugin (10+), which \
                     needs no server extension; set plugin.name=pgoutput"
                )
            } else {
                format!("{plugin:?} is not a logical decoding plugin cdc knows; set plugin.name=pgoutput")
            };
            p.error("plugin.name", message);
        }
    }
    config.source.slot_name =
        p.take("slot.name").map(|v| v.trim().to_owned()).unwrap_or_else(|| DEBEZIUM_SLOT_NAME.to_owned());
    let drop_on_stop = p.take_bool("slot.drop.on.stop", false);
    if p.take_bool("slot.failover", false) {
        p.error("slot.failover", "failover slots (PostgreSQL 17) are not supported yet");
    }
    config.source.publication = p
        .take("publication.name")
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| DEBEZIUM_PUBLICATION_NAME.to_owned());
    let modes = [
        ("disabled", PublicationAutocreate::Disabled),
        ("all_tables", PublicationAutocreate::AllTables),
        ("filtered", PublicationAutocreate::Filtered),
        ("no_tables", PublicationAutocreate::NoTables),
    ];
    let autocreate = p.take_choice("publication.autocreate.mode", &modes, PublicationAutocreate::AllTables);
    config.source.publication_autocreate = match autocreate {
        PublicationAutocreate::AllTables => cdc_core::config::PublicationAutocreate::AllTables,
        PublicationAutocreate::Filtered => cdc_core::config::PublicationAutocreate::Filtered,
        // no_tables: the tables are added by hand, so the publication is never altered here.
        PublicationAutocreate::Disabled | PublicationAutocreate::NoTables => {
            cdc_core::config::PublicationAutocreate::Disabled
        }
    };
    config.source.status_interval_ms = p.take_int(
        "status.update.interval.ms",
        cdc_core::config::DEFAULT_STATUS_INTERVAL_MS,
        1,
        i128::from(i32::MAX),
    );
    (drop_on_stop, autocreate)
}

pub(crate) fn table_filters(p: &mut Props) -> TableFilters {
    let mut level = |include: &str, exclude: &str| -> Filter {
        let inc = p.take_regex_list(include);
        let exc = p.take_regex_list(exclude);
        match (inc, exc) {
            (Some(inc), Some(exc)) if !inc.is_empty() && !exc.is_empty() => {
                p.error(exclude, format!("cannot be used together with {include}; set one of them"));
                Filter::All
            }
            (Some(inc), _) if !inc.is_empty() => Filter::Include(inc),
            (_, Some(exc)) if !exc.is_empty() => Filter::Exclude(exc),
            _ => Filter::All,
        }
    };
    TableFilters {
        schemas: level("schema.include.list", "schema.exclude.list"),
        tables: level("table.include.list", "table.exclude.list"),
        columns: level("column.include.list", "column.exclude.list"),
    }
}

/// The number in a property name such as `column.mask.with.12.chars`.
fn length_in_name(p: &mut Props, name: &str, digits: &str, min: usize) -> Option<usize> {
    match digits.parse::<usize>() {
        Ok(n) if n >= min => Some(n),
        _ => {
            p.error(
                name,
                format!("the length {digits:?} in the property name must be an integer of at least {min}"),
            );
            None
        }
    }
}

pub(crate) fn column_policies(p: &mut Props) -> ColumnPolicies {
    // Debezium's precedence: truncate, mask with chars, hash v2, hash v1 (ColumnMappers).
    let mut truncate = Vec::new();
    let mut mask = Vec::new();
    let mut hash_v2 = Vec::new();
    let mut hash_v1 = Vec::new();
    for name in p.names_with_prefix("column.") {
        let rule_of = |p: &mut Props, action: ColumnAction| {
            let value = p.take(&name).unwrap_or_default();
            let columns = p.compile_list(&name, &value, |e| e.to_owned()).unwrap_or_default();
            ColumnRule { property: name.clone(), columns, action }
        };
        if let Some(n) = name.strip_prefix("column.truncate.to.").and_then(|r| r.strip_suffix(".chars")) {
            match length_in_name(p, &name, n, 1) {
                Some(n) => truncate.push(rule_of(p, ColumnAction::TruncateTo(n))),
                None => {
                    p.take(&name);
                }
            }
        } else if let Some(n) = name.strip_prefix("column.mask.with.").and_then(|r| r.strip_suffix(".chars"))
        {
            match length_in_name(p, &name, n, 0) {
                Some(n) => mask.push(rule_of(p, ColumnAction::MaskWithChars(n))),
                None => {
                    p.take(&name);
                }
            }
        } else if let Some(rest) = name.strip_prefix("column.mask.hash.") {
            let (version, rest) = match rest.strip_prefix("v2.") {
                Some(rest) => (HashVersion::V2, rest),
                None => (HashVersion::V1, rest),
            };
            let Some((algorithm, salt)) = rest.split_once(".with.salt.") else {
                p.take(&name);
                p.error(&name, "expected column.mask.hash[.v2].<algorithm>.with.salt.<salt>");
                continue;
            };
            let Some(algorithm) = HashAlgorithm::parse(algorithm).filter(|_| !salt.is_empty()) else {
                p.take(&name);
                p.error(
                    &name,
                    format!(
                        "{algorithm:?} is not a Java MessageDigest algorithm cdc knows (MD5, SHA-1, SHA-256, \
                         SHA-384, SHA-512, SHA3-256, …), or the salt is empty"
                    ),
                );
                continue;
            };
            let rule = rule_of(p, ColumnAction::Hash { algorithm, salt: salt.to_owned(), version });
            match version {
                HashVersion::V2 => hash_v2.push(rule),
                HashVersion::V1 => hash_v1.push(rule),
            }
        }
    }
    let rules = truncate.into_iter().chain(mask).chain(hash_v2).chain(hash_v1).collect();
    ColumnPolicies { rules, message_key_columns: message_key_columns(p) }
}

/// `message.key.columns=<table regex>:<column>,<column>;<table regex>:<column>…`
fn message_key_columns(p: &mut Props) -> Vec<MessageKeyRule> {
    const NAME: &str = "message.key.columns";
    let Some(value) = p.take(NAME) else { return Vec::new() };
    let mut rules = Vec::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        // Debezium's shape: `^\s*([^\s:]+):([^:\s]+)\s*$`.
        let parts = entry.split_once(':').filter(|(t, c)| {
            !t.is_empty() && !c.is_empty() && !c.contains(':') && !entry.contains(char::is_whitespace)
        });
        let Some((table, columns)) = parts else {
            p.invalid(
                NAME,
                entry,
                "each entry must be <schema.table regex>:<column>[,<column>…], entries separated by ;",
            );
            continue;
        };
        let columns = columns.split(',').filter(|c| !c.is_empty()).map(|c| format!("{table}.{c}"));
        let mut compiled = Vec::new();
        for column in columns {
            match FilterEntry::compile(&column) {
                Ok(e) => compiled.push(e),
                Err(e) => p.error(NAME, e.to_string()),
            }
        }
        rules.push(MessageKeyRule { table: table.to_owned(), columns: compiled });
    }
    rules
}

pub(crate) struct Snapshot {
    pub(crate) extra: Option<SnapshotModeExtra>,
    pub(crate) max_threads: usize,
    pub(crate) chunk_size: usize,
    pub(crate) signal_data_collection: Option<String>,
}

pub(crate) fn snapshot(p: &mut Props, config: &mut Config) -> Snapshot {
    let mut extra = None;
    if let Some(mode) = p.take("snapshot.mode") {
        let normalized = mode.trim().to_ascii_lowercase();
        config.source.snapshot_mode = match normalized.as_str() {
            "initial" => SnapshotMode::Initial,
            "initial_only" => SnapshotMode::InitialOnly,
            "no_data" => SnapshotMode::Never,
            "never" => {
                p.warn(
                    "snapshot.mode=never is Debezium's deprecated name for no_data; translated as no_data"
                        .to_owned(),
                );
                SnapshotMode::Never
            }
            "exported" => {
                p.warn(
                    "snapshot.mode=exported is Debezium's deprecated name for initial; translated as initial"
                        .to_owned(),
                );
                SnapshotMode::Initial
            }
            "when_needed" | "always" => {
                extra = Some(if normalized == "always" {
                    SnapshotModeExtra::Always
                } else {
                    SnapshotModeExtra::WhenNeeded
                });
                SnapshotMode::Initial
            }
            "configuration_based" | "custom" => {
                p.invalid(
                    "snapshot.mode",
                    &mode,
                    "custom and configuration-based snapshotters are not supported",
                );
                SnapshotMode::Initial
            }
            _ => {
                p.invalid(
                    "snapshot.mode",
                    &mode,
                    "expected one of initial, initial_only, no_data, when_needed, always",
                );
                SnapshotMode::Initial
            }
        };
    } else {
        config.source.snapshot_mode = SnapshotMode::Initial;
    }
    // Debezium's default is one thread; a connector that does not say reads with cdc's default instead.
    let max_threads: usize =
        p.take_int("snapshot.max.threads", cdc_core::config::DEFAULT_SNAPSHOT_MAX_THREADS, 1, 64);
    let chunk_size = p.take_int(
        "incremental.snapshot.chunk.size",
        DEFAULT_INCREMENTAL_SNAPSHOT_CHUNK_SIZE,
        1,
        i128::from(i32::MAX),
    );
    // A table that joins later (table.include.list grows, an execute-snapshot signal) is read in chunks while
    // the stream goes on, as Debezium's incremental snapshots do.
    config.source.snapshot_new_tables = cdc_core::config::SnapshotNewTables::Incremental;
    config.source.incremental_chunk_size = chunk_size;
    config.source.snapshot_max_threads = max_threads;
    let signal_data_collection =
        p.take("signal.data.collection").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if let Some(table) = &signal_data_collection {
        if table.split('.').count() != 2 || table.split('.').any(str::is_empty) {
            let table = table.clone();
            p.invalid("signal.data.collection", &table, "expected the signalling table as schema.table");
        }
    }
    if let Some(channels) = p.take("signal.enabled.channels") {
        for channel in channels.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if !channel.eq_ignore_ascii_case("source") {
                p.invalid(
                    "signal.enabled.channels",
                    &channels,
                    &format!("the {channel} channel is not supported; cdc reads signals from the source table only"),
                );
                break;
            }
        }
    }
    Snapshot { extra, max_threads, chunk_size, signal_data_collection }
}

/// The event encoding; returns `skipped.operations`.
pub(crate) fn encoding(p: &mut Props, config: &mut Config) -> Vec<SkippedOperation> {
    let events = &mut config.events;
    events.decimal_handling = p.take_choice(
        "decimal.handling.mode",
        &[
            ("precise", DecimalHandling::Precise),
            ("string", DecimalHandling::String),
            ("double", DecimalHandling::Double),
        ],
        DecimalHandling::Precise,
    );
    events.time_precision = p.take_choice(
        "time.precision.mode",
        &[
            ("adaptive", TimePrecision::Adaptive),
            ("adaptive_time_microseconds", TimePrecision::AdaptiveTimeMicroseconds),
            ("connect", TimePrecision::Connect),
        ],
        TimePrecision::Adaptive,
    );
    events.interval_handling = p.take_choice(
        "interval.handling.mode",
        &[("numeric", IntervalHandling::Numeric), ("string", IntervalHandling::String)],
        IntervalHandling::Numeric,
    );
    events.hstore_handling = p.take_choice(
        "hstore.handling.mode",
        &[("json", HstoreHandling::Json), ("map", HstoreHandling::Map)],
        HstoreHandling::Json,
    );
    events.binary_handling = p.take_choice(
        "binary.handling.mode",
        &[
            ("bytes", BinaryHandling::Bytes),
            ("base64", BinaryHandling::Base64),
            ("base64-url-safe", BinaryHandling::Base64UrlSafe),
            ("hex", BinaryHandling::Hex),
        ],
        BinaryHandling::Bytes,
    );
    events.tombstones = p.take_bool("tombstones.on.delete", true);
    events.transaction_metadata = p.take_bool("provide.transaction.metadata", false);
    for name in ["column.propagate.source.type", "datatype.propagate.source.type"] {
        if let Some(value) = p.take(name) {
            if !value.trim().is_empty() {
                config.events.propagate_source_types = true;
                if value.trim() != ".*" {
                    p.warn(format!(
                        "{name}={value}: cdc propagates the source type of every column, not only the listed ones"
                    ));
                }
            }
        }
    }
    let Some(value) = p.take("skipped.operations") else { return vec![SkippedOperation::Truncate] };
    let mut skipped = Vec::new();
    for op in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        match op.to_ascii_lowercase().as_str() {
            "none" => {}
            "c" => skipped.push(SkippedOperation::Create),
            "u" => skipped.push(SkippedOperation::Update),
            "d" => skipped.push(SkippedOperation::Delete),
            "t" => skipped.push(SkippedOperation::Truncate),
            _ => {
                p.invalid("skipped.operations", &value, "expected a list of c, u, d, t, or none");
                break;
            }
        }
    }
    skipped
}

pub(crate) fn heartbeat(p: &mut Props, config: &mut Config, delimiter: &str) -> Heartbeat {
    let interval_ms: u64 = p.take_int("heartbeat.interval.ms", 0, 0, i128::from(i32::MAX));
    if interval_ms > 0 {
        // Our own idle keep-alive (which lets the slot advance) follows Debezium's heartbeat when one is set.
        config.source.heartbeat_interval_ms = interval_ms;
    }
    let legacy = p.take("heartbeat.topics.prefix");
    let topics_prefix = match (p.take("topic.heartbeat.prefix"), legacy) {
        (Some(prefix), Some(_)) => {
            p.warn(
                "heartbeat.topics.prefix is ignored: topic.heartbeat.prefix replaces it and is set"
                    .to_owned(),
            );
            prefix
        }
        (Some(prefix), None) | (None, Some(prefix)) => prefix,
        (None, None) => DEFAULT_HEARTBEAT_TOPICS_PREFIX.to_owned(),
    };
    let topics_prefix = topics_prefix.trim().to_owned();
    let action_query =
        p.take("heartbeat.action.query").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if action_query.is_some() && interval_ms == 0 {
        p.warn("heartbeat.action.query never runs: heartbeat.interval.ms is 0 (no heartbeats)".to_owned());
    }
    Heartbeat { interval_ms, topics_prefix, delimiter: delimiter.to_owned(), action_query }
}

pub(crate) struct Batching {
    pub(crate) max_batch_size: usize,
    pub(crate) max_queue_size: usize,
    pub(crate) poll_interval_ms: u64,
}

pub(crate) fn batching(p: &mut Props, config: &mut Config) -> Batching {
    let batch_set = p.contains("max.batch.size");
    let poll_set = p.contains("poll.interval.ms");
    let max_batch_size = p.take_int("max.batch.size", DEFAULT_MAX_BATCH_SIZE, 1, i128::from(i32::MAX));
    let max_queue_size = p.take_int("max.queue.size", DEFAULT_MAX_QUEUE_SIZE, 1, i128::from(i32::MAX));
    let poll_interval_ms = p.take_int("poll.interval.ms", DEFAULT_POLL_INTERVAL_MS, 1, i128::from(i32::MAX));
    if max_queue_size <= max_batch_size {
        p.error("max.queue.size", format!("must be larger than max.batch.size ({max_batch_size})"));
    }
    // The worker's batching stands unless the connector sets its own.
    if batch_set {
        config.pipeline.batch_size = max_batch_size;
    }
    if poll_set {
        config.pipeline.poll_timeout_ms = poll_interval_ms;
    }
    Batching { max_batch_size, max_queue_size, poll_interval_ms }
}
