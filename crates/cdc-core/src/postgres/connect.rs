//! Query connections (tokio-postgres) with the session settings every decoder relies on, TLS per `sslmode`,
//! and connection errors translated into what the operator should fix.

use std::time::Duration;

use tokio_postgres::Client;

use super::error::PgError;
use super::tls;
use crate::config::{PostgresConfig, SslMode};

/// Session settings for every connection, query and replication alike: the text output of values is then the
/// format `value::parse_text` reads (ISO dates in UTC, ISO 8601 intervals, shortest exact floats, hex bytea).
pub const SESSION_SETTINGS: [(&str, &str); 5] = [
    ("DateStyle", "ISO, YMD"),
    ("TimeZone", "UTC"),
    ("IntervalStyle", "iso_8601"),
    ("extra_float_digits", "3"),
    ("bytea_output", "hex"),
];

/// The `options` startup parameter carrying [`SESSION_SETTINGS`].
pub fn session_options() -> String {
    SESSION_SETTINGS
        .iter()
        .map(|(name, value)| format!("-c {name}={}", value.replace(' ', "\\ ")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens a query connection; its driver task ends when the client is dropped.
pub async fn connect(config: &PostgresConfig) -> Result<Client, PgError> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&config.host)
        .port(config.port)
        .dbname(&config.dbname)
        .user(&config.user)
        .application_name(&config.application_name)
        .options(session_options())
        .connect_timeout(Duration::from_secs(config.connect_timeout_secs));
    if let Some(password) = &config.password {
        pg.password(password.expose());
    }
    let result = match tls::client_config(config)? {
        None => {
            pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
            pg.connect(tokio_postgres::NoTls).await.map(|(client, conn)| {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            })
        }
        Some(tls) => {
            pg.ssl_mode(match config.sslmode {
                SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
                _ => tokio_postgres::config::SslMode::Require,
            });
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone());
            pg.connect(connector).await.map(|(client, conn)| {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            })
        }
    };
    result.map_err(|e| connect_error(config, e))
}

/// Turns a failed connection attempt into a [`PgError::Connect`] with a hint. The cause's text is kept out of
/// `reason` when it could echo a secret (it never does for tokio-postgres, which does not print passwords).
pub(crate) fn connect_error(config: &PostgresConfig, error: tokio_postgres::Error) -> PgError {
    let target = config.describe();
    if let Some(db) = error.as_db_error() {
        let (reason, hint) = classify_sqlstate(db.code().code(), db.message(), config);
        return PgError::Connect { target, reason, hint, source: Some(Box::new(error)) };
    }
    let text = error.to_string();
    let io_text = std::error::Error::source(&error).map(|s| s.to_string()).unwrap_or_default();
    let (reason, hint) = classify_io(&format!("{text}: {io_text}"));
    PgError::Connect { target, reason, hint, source: Some(Box::new(error)) }
}

/// Reason and hint for a server-side refusal (shared with the replication connection).
pub(crate) fn classify_sqlstate(
    code: &str,
    message: &str,
    config: &PostgresConfig,
) -> (String, &'static str) {
    let hint = match code {
        "28P01" => "check the password (POSTGRES_PASSWORD or [postgres].password)",
        "28000" => "the server's pg_hba.conf has no entry for this user, database and address; add one",
        "3D000" => "create the database or fix POSTGRES_DB / [postgres].dbname",
        "53300" => "the server has no free connection slots; raise max_connections or close idle sessions",
        "57P03" => "the server is starting up or shutting down; it is retried",
        "42501" => "grant the role the privilege it lacks (LOGIN, REPLICATION, or CONNECT on the database)",
        _ => "see the server log for details",
    };
    let _ = config;
    (format!("{message} (SQLSTATE {code})"), hint)
}

fn classify_io(text: &str) -> (String, &'static str) {
    let lower = text.to_lowercase();
    if lower.contains("refused") {
        (
            "connection refused".into(),
            "is PostgreSQL running and listening there? check POSTGRES_HOST and POSTGRES_PORT",
        )
    } else if lower.contains("timed out") || lower.contains("timeout") {
        (
            "connection timed out".into(),
            "check the host, the port and any firewall between here and the server",
        )
    } else if lower.contains("failed to lookup")
        || lower.contains("name or service not known")
        || lower.contains("dns")
    {
        ("host name not found".into(), "check POSTGRES_HOST")
    } else if lower.contains("tls") || lower.contains("ssl") || lower.contains("certificate") {
        (
            format!("TLS negotiation failed: {}", text.trim_end_matches(": ")),
            "check sslmode and sslrootcert, and that the server has ssl=on",
        )
    } else {
        (text.trim_end_matches(": ").to_owned(), "check the connection settings in [postgres]")
    }
}
