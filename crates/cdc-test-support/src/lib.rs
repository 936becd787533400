//! Real components for tests, started per test and torn down on drop, even when the test panics.
//!
//! - [`PgCluster`]: a throwaway PostgreSQL (Debian's package, version 15 or newer) on a free loopback port with
//!   `wal_level=logical`, run as the `postgres` user when the tests run as root (PostgreSQL refuses root).
//! - [`FakeSnow`]: a Snowflake stand-in (fakesnow over DuckDB) behind a layer that adds Snowflake's
//!   authentication, warehouse and privilege errors and injectable faults.
//!
//! `scripts/install-deps.sh` installs the packages; a missing binary makes [`PgCluster::start`] panic with that
//! hint, since a test without its real component must fail loudly, never skip.

mod kafka;
mod postgres;
mod prometheus;
mod snowflake;
pub mod workload;

pub use kafka::Tansu;
pub use postgres::{free_port, PgCluster, PgClusterBuilder};
pub use prometheus::Prometheus;
pub use snowflake::{FakeSnow, FakeSnowOptions, FakeSnowStats};

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
///
/// Tests wait on observable state, never on a fixed sleep: the poll interval only bounds how quickly a ready
/// condition is noticed.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: std::time::Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    wait_for_every(what, timeout, std::time::Duration::from_millis(20), check).await
}

/// [`wait_for`] with a chosen poll interval, for checks that cost the system under test something (a Kafka
/// client per check, a DuckDB file the loaders must then wait for).
pub async fn wait_for_every<T, F, Fut>(
    what: &str,
    timeout: std::time::Duration,
    interval: std::time::Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(interval).await;
    }
}
