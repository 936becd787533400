//! A mixed workload over four tables, and queries that dump them as comparable text (PostgreSQL and DuckDB
//! spellings of the same columns), shared by the warehouse tests and the binary's crash tests.

pub const TABLES: &str = "
    CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2), active bool);
    CREATE TABLE docs (id bigint PRIMARY KEY, title varchar(50), body text, revision int NOT NULL);
    ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
    CREATE TABLE events (id serial PRIMARY KEY, kind text, payload jsonb, at timestamptz);
    ALTER TABLE events REPLICA IDENTITY FULL;
    CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b));
    CREATE SEQUENCE moved_keys START 100000;
";

/// (table, source query, warehouse query) producing comparable text, ordered by key.
pub const DUMPS: [(&str, &str, &str); 4] = [
    (
        "accounts",
        "SELECT id::text, owner, balance::text, active::text FROM accounts ORDER BY id",
        "SELECT id::VARCHAR, owner, balance::VARCHAR, active::VARCHAR FROM public.accounts WHERE NOT _cdc_deleted ORDER BY id",
    ),
    (
        "docs",
        "SELECT id::text, title, md5(body), length(body)::text, revision::text FROM docs ORDER BY id",
        "SELECT id::VARCHAR, title, md5(body), length(body)::VARCHAR, revision::VARCHAR FROM public.docs WHERE NOT _cdc_deleted ORDER BY id",
    ),
    (
        "events",
        "SELECT id::text, kind, payload::text, (extract(epoch FROM at) * 1000000)::bigint::text FROM events ORDER BY id",
        "SELECT id::VARCHAR, kind, payload::VARCHAR, epoch_us(\"at\")::VARCHAR FROM public.events WHERE NOT _cdc_deleted ORDER BY id",
    ),
    (
        "pairs",
        "SELECT a::text, b::text, v FROM pairs ORDER BY a, b",
        "SELECT a::VARCHAR, b::VARCHAR, v FROM public.pairs WHERE NOT _cdc_deleted ORDER BY a, b",
    ),
];

/// [`DUMPS`] for a Snowflake warehouse in database `CDC_DB` (the `events.payload` VARIANT reads back as compact
/// JSON: compare it as JSON). Unquoted names resolve to the folded (upper-case) ones.
pub const SNOWFLAKE_DUMPS: [(&str, &str, &str); 4] = [
    (
        "accounts",
        "SELECT id::text, owner, balance::text, active::text FROM accounts",
        "SELECT id::VARCHAR, owner, balance::VARCHAR, CASE WHEN active THEN 'true' WHEN NOT active THEN 'false' END \
         FROM cdc_db.public.accounts WHERE NOT _cdc_deleted",
    ),
    (
        "docs",
        "SELECT id::text, title, md5(body), length(body)::text, revision::text FROM docs",
        "SELECT id::VARCHAR, title, MD5(body), LENGTH(body)::VARCHAR, revision::VARCHAR FROM cdc_db.public.docs \
         WHERE NOT _cdc_deleted",
    ),
    (
        "events",
        "SELECT id::text, kind, payload::jsonb::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') \
         FROM events",
        "SELECT id::VARCHAR, kind, payload, TO_VARCHAR(CONVERT_TIMEZONE('UTC', \"AT\")::TIMESTAMP_NTZ, \
         'YYYY-MM-DD HH24:MI:SS.FF6') FROM cdc_db.public.events WHERE NOT _cdc_deleted",
    ),
    (
        "pairs",
        "SELECT a::text, b::text, v FROM pairs",
        "SELECT a::VARCHAR, b::VARCHAR, v FROM cdc_db.public.pairs WHERE NOT _cdc_deleted",
    ),
];

/// 200k changes with `CDC_TEST_FULL=1` (the acceptance size), else `reduced`.
pub fn workload_size(reduced: usize) -> usize {
    if std::env::var_os("CDC_TEST_FULL").is_some() {
        200_000
    } else {
        reduced
    }
}

/// Mixed single-statement changes over the four tables: inserts, updates (some leave a TOASTed column
/// untouched, some change a primary key), deletes and the odd TRUNCATE.
pub async fn workload(client: &tokio_postgres::Client, changes: usize, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let big = "lorem ipsum ".repeat(10_000);
    let mut done = 0;
    while done < changes {
        let id = rng.i64(1..=300);
        let sql = match rng.u8(0..20) {
            0..=3 => format!(
                "INSERT INTO accounts VALUES ({id}, 'o{id}', {}.{:02}, {}) ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + 1",
                rng.i32(-1000..1000), rng.u8(0..100), rng.bool()
            ),
            4..=5 => format!("UPDATE accounts SET balance = balance * 2, active = NOT active WHERE id = {id}"),
            6 => format!("DELETE FROM accounts WHERE id = {id}"),
            7..=8 => format!(
                "INSERT INTO docs VALUES ({id}, 't{id}', '{big}' || {id}, 1) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body || 'x'"
            ),
            // A TOAST-untouched update: body is not rewritten.
            9..=10 => format!("UPDATE docs SET revision = revision + 1, title = 'rev' || revision WHERE id = {id}"),
            11 => format!("DELETE FROM docs WHERE id = {id}"),
            12..=13 => format!(
                "INSERT INTO events (kind, payload, at) VALUES ('k{id}', '{{\"n\": {id}, \"tags\": [\"a\", \"b\"]}}', now() - interval '{id} seconds')"
            ),
            14 => format!("UPDATE events SET kind = kind || '!' WHERE id % 300 = {}", id % 300),
            15 => format!("DELETE FROM events WHERE id % 300 = {}", id % 300),
            16..=17 => format!("INSERT INTO pairs VALUES ({id}, {}, 'v') ON CONFLICT DO NOTHING", id % 7),
            // A primary-key change.
            18 => format!("UPDATE pairs SET a = nextval('moved_keys'), v = 'moved' WHERE a = {id}"),
            _ if rng.u8(0..40) == 0 => "TRUNCATE pairs".to_owned(),
            _ => format!("DELETE FROM pairs WHERE a = {id}"),
        };
        client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        done += 1;
    }
}
