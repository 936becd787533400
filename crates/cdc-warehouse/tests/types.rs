//! Every type of the capture core lands in DuckDB with the mapped type and the source's value.

use cdc_warehouse::DeleteMode;

use crate::support::{duck_dump, Db};

const SETUP: &str = "
    CREATE EXTENSION IF NOT EXISTS hstore;
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
    CREATE TABLE every_type (
        id int PRIMARY KEY, c_bool bool, c_int2 int2, c_int8 int8, c_numeric numeric, c_numeric_ps numeric(10,2),
        c_float4 float4, c_float8 float8, c_text text, c_varchar varchar(20), c_bytea bytea, c_date date,
        c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz, c_interval interval,
        c_uuid uuid, c_json json, c_jsonb jsonb, c_int_array int[], c_text_array text[], c_enum mood,
        c_domain positive_int, c_inet inet, c_money money, c_bit bit(4), c_oid oid, c_hstore hstore
    );
";

const ROW: &str =
    "(1, true, -2, 9000000000, '12.345', 12.5, 1.5, 2.25, 'héllo ✓ 𝄞', 'v', '\\x00ff10', '2024-02-29',
    '13:14:15.123456', '13:14:15+05:30', '2024-01-02 03:04:05.678901', '2024-01-02 03:04:05.678901+02',
    '1 year 2 mons 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": 1, \"a\": [1, 2]}',
    '{\"b\": 1}', '{1,2,NULL}', '{\"a b\",\"c,d\",NULL}', 'happy', 7, '192.168.0.1/24', 1234.56, B'1010', 42,
    'a=>1, b=>NULL')";

/// (column, DuckDB type, DuckDB expression, expected text).
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    ("c_bool", "BOOLEAN", "c_bool::VARCHAR", "true"),
    ("c_int2", "SMALLINT", "c_int2::VARCHAR", "-2"),
    ("c_int8", "BIGINT", "c_int8::VARCHAR", "9000000000"),
    ("c_numeric", "VARCHAR", "c_numeric", "12.345"),
    ("c_numeric_ps", "DECIMAL(10,2)", "c_numeric_ps::VARCHAR", "12.50"),
    ("c_float4", "FLOAT", "c_float4::VARCHAR", "1.5"),
    ("c_float8", "DOUBLE", "c_float8::VARCHAR", "2.25"),
    ("c_text", "VARCHAR", "c_text", "héllo ✓ 𝄞"),
    ("c_varchar", "VARCHAR", "c_varchar", "v"),
    ("c_bytea", "BLOB", "hex(c_bytea)", "00FF10"),
    ("c_date", "DATE", "c_date::VARCHAR", "2024-02-29"),
    ("c_time", "TIME", "c_time::VARCHAR", "13:14:15.123456"),
    ("c_timetz", "TIME WITH TIME ZONE", "c_timetz::VARCHAR", "13:14:15+05:30"),
    ("c_timestamp", "TIMESTAMP", "c_timestamp::VARCHAR", "2024-01-02 03:04:05.678901"),
    ("c_timestamptz", "TIMESTAMP WITH TIME ZONE", "epoch_us(c_timestamptz)::VARCHAR", "1704157445678901"),
    ("c_interval", "INTERVAL", "to_json(c_interval)::VARCHAR", "\"1 year 2 months 3 days 04:05:06.5\""),
    ("c_uuid", "UUID", "c_uuid::VARCHAR", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("c_json", "JSON", "c_json::VARCHAR", "{\"b\": 1, \"a\": [1, 2]}"),
    ("c_jsonb", "JSON", "c_jsonb::VARCHAR", "{\"b\": 1}"),
    ("c_int_array", "INTEGER[]", "c_int_array::VARCHAR", "[1, 2, NULL]"),
    ("c_text_array", "VARCHAR[]", "to_json(c_text_array)::VARCHAR", "[\"a b\",\"c,d\",null]"),
    ("c_enum", "VARCHAR", "c_enum", "happy"),
    ("c_domain", "INTEGER", "c_domain::VARCHAR", "7"),
    ("c_inet", "VARCHAR", "c_inet", "192.168.0.1/24"),
    ("c_money", "DECIMAL(19,2)", "c_money::VARCHAR", "1234.56"),
    ("c_bit", "BIT", "c_bit::VARCHAR", "1010"),
    ("c_oid", "UBIGINT", "c_oid::VARCHAR", "42"),
    ("c_hstore", "JSON", "c_hstore::VARCHAR", "{\"a\":\"1\",\"b\":null}"),
];

#[tokio::test]
async fn every_type_lands_with_its_mapped_duckdb_type_and_the_source_value() {
    let db = Db::new(SETUP).await;
    // One row through the snapshot, the same values again through the stream.
    db.client.batch_execute(&format!("INSERT INTO every_type VALUES {ROW}")).await.unwrap();
    db.sync(&["every_type"], DeleteMode::Hard).await;
    db.client
        .batch_execute(&format!("INSERT INTO every_type VALUES {}", ROW.replacen("(1,", "(2,", 1)))
        .await
        .unwrap();
    db.sync(&["every_type"], DeleteMode::Hard).await;

    let path = db.duckdb_path();
    let mut problems = Vec::new();
    for (column, ty, expr, expected) in EXPECTED {
        let actual_type = duck_dump(
            &path,
            &format!("SELECT data_type FROM information_schema.columns WHERE table_name = 'every_type' AND column_name = '{column}'"),
        );
        if actual_type != [vec![Some(ty.to_string())]] {
            problems.push(format!("{column}: type {actual_type:?}, want {ty}"));
        }
        for id in [1, 2] {
            let value = duck_dump(&path, &format!("SELECT {expr} FROM public.every_type WHERE id = {id}"));
            if value != [vec![Some(expected.to_string())]] {
                problems.push(format!("{column} (row {id}): {value:?}, want {expected:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
