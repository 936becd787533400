//! Every supported type round-trips: the decoded value of each column matches what PostgreSQL itself says
//! (`to_jsonb`, or the column's text for exact numerics), through the snapshot (COPY) and the stream (pgoutput).

use std::collections::BTreeMap;

use cdc_core::config::SnapshotMode;
use cdc_core::{ChangeEvent, DateValue, Numeric, Op, TimestampValue, Value};
use serde_json::{json, Value as Json};

use crate::support::TestDb;

const SETUP: &str = "
    CREATE EXTENSION IF NOT EXISTS hstore;
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
    CREATE TABLE every_type (
        id int PRIMARY KEY,
        c_bool bool, c_int2 int2, c_int4 int4, c_int8 int8,
        c_numeric numeric, c_numeric_ps numeric(10,2), c_float4 float4, c_float8 float8,
        c_text text, c_varchar varchar(20), c_char char(5), c_bytea bytea,
        c_date date, c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamp3 timestamp(3),
        c_timestamptz timestamptz, c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb,
        c_int_array int[], c_text_array text[], c_2d int[][], c_enum mood, c_domain positive_int,
        c_inet inet, c_cidr cidr, c_macaddr macaddr, c_money money, c_bit bit(4), c_varbit varbit,
        c_oid oid, c_hstore hstore, c_xml xml, c_point point
    );
    ALTER TABLE every_type REPLICA IDENTITY FULL;
";

/// Rows covering ordinary values, NULLs, empties and edge cases.
fn rows(base: i32) -> Vec<String> {
    let big = format!("{}.{}", "9".repeat(600), "1".repeat(400));
    vec![
        format!("({base}, true, 1, 2, 3, 12.345, 10.50, 1.5, 2.25, 'héllo ✓ 𝄞', 'v', 'ab', '\\x00ff10',
          '2024-02-29', '13:14:15.123456', '13:14:15+05:30', '2024-01-02 03:04:05.678901', '2024-01-02 03:04:05.678',
          '2024-01-02 03:04:05.678901+02', '1 year 2 mons 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
          '{{\"b\": 1, \"a\": [1, 2]}}', '{{\"b\": 1, \"a\": [1, 2]}}', '{{1,2,NULL}}', '{{\"a b\",\"c,d\",\"\\\"q\\\"\",NULL,\"NULL\"}}',
          '{{{{1,2}},{{3,4}}}}', 'happy', 7, '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', 1234.56, B'1010', B'101',
          42, 'a=>1, b=>NULL, \"c d\"=>\"e\\\"f\"', '<a>x</a>', '(1,2)')"),
        format!("({}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
          NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
          NULL, NULL, NULL)", base + 1),
        format!("({}, false, -32768, -2147483648, -9223372036854775808, '{big}', -0.01, 'NaN', '-Infinity', '', '', '',
          '\\x', 'infinity', '24:00:00', '00:00:00-12:45:30', '-infinity', '0044-03-15 12:00:00 BC', 'infinity',
          '-1 years -2 mons +3 days -04:05:06.000001', '00000000-0000-0000-0000-000000000000', '[]', '{{}}', '{{}}', '{{}}',
          '{{}}', 'sad', 1, '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', -0.99, B'0000', B'', 0, '', '<a/>', '(0,0)')",
          base + 2),
        format!("({}, true, 32767, 2147483647, 9223372036854775807, 'NaN', 99999999.99, 'Infinity', 'NaN', 'x', 'x', 'x',
          '\\xdeadbeef', '-infinity', '00:00:00', '23:59:59.999999+14', 'infinity', '10000-01-01 00:00:00',
          '-infinity', '0 seconds', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'null', '\"string\"', '{{-1}}', '{{\"\"}}',
          '{{{{NULL}}}}', 'ok', 2147483647, '0.0.0.0/0', '0.0.0.0/0', '00:00:00:00:00:00', 0, B'1111', B'1', 4294967295, 'k=>v',
          '<b/>', '(-1.5,2.5)')", base + 3),
    ]
}

#[tokio::test]
async fn every_type_round_trips_through_snapshot_and_stream_as_postgres_sees_it() {
    let db = TestDb::new(SETUP).await;
    let two_mb: String = "ü".repeat(1024 * 1024);
    db.client.batch_execute(&format!("INSERT INTO every_type VALUES {}", rows(1).join(","))).await.unwrap();
    db.client.execute("INSERT INTO every_type (id, c_text) VALUES (5, $1)", &[&two_mb]).await.unwrap();
    let running = db.capture(db.source_config(&["every_type"], SnapshotMode::Initial)).await;
    running.wait_for(5).await;
    db.client.batch_execute(&format!("INSERT INTO every_type VALUES {}", rows(11).join(","))).await.unwrap();
    db.client.execute("INSERT INTO every_type (id, c_text) VALUES (15, $1)", &[&two_mb]).await.unwrap();
    let events = running.wait_for(10).await;
    running.stop().await;
    assert_eq!(events.iter().filter(|e| e.op == Op::Read).count(), 5);
    assert_eq!(events.iter().filter(|e| e.op == Op::Insert).count(), 5);

    db.client.batch_execute("SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'").await.unwrap();
    let mut mismatches = Vec::new();
    for event in &events {
        let row = event.after.as_ref().unwrap();
        let Value::Int32(id) = row.0[0] else { panic!("id") };
        let expected = expected_row(&db.client, id).await;
        for (index, column) in event.schema.columns.iter().enumerate() {
            let ours = to_jsonb_like(&row.0[index]);
            let theirs = &expected[&column.name];
            if !same(&ours, theirs) {
                mismatches.push(format!(
                    "row {id} ({:?}) {}: ours {} vs postgres {}",
                    event.op,
                    column.name,
                    short(&ours),
                    short(theirs)
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
    assert_typed(&events);
}

/// The same row as PostgreSQL renders it: `to_jsonb` per column, exact text for numerics and money.
async fn expected_row(client: &tokio_postgres::Client, id: i32) -> BTreeMap<String, Json> {
    let row = client
        .query_one(
            "SELECT to_jsonb(t)::text, c_numeric::text, c_numeric_ps::text, c_money::numeric::text
             FROM every_type t WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let mut map: BTreeMap<String, Json> =
        serde_json::from_str::<serde_json::Map<String, Json>>(&lossless(&row.get::<_, String>(0)))
            .unwrap()
            .into_iter()
            .collect();
    for (i, name) in [(1, "c_numeric"), (2, "c_numeric_ps"), (3, "c_money")] {
        map.insert(
            name.into(),
            row.get::<_, Option<String>>(i).map_or(Json::Null, |s| json!({ "numeric": s })),
        );
    }
    map
}

/// `to_jsonb` text with every bare number quoted, so 1000-digit numerics survive parsing: numbers are compared as
/// text (or as floats, for float columns) by [`same`].
fn lossless(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '-' || c.is_ascii_digit() {
            let mut number = String::from(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-') {
                    number.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push_str(&format!("{{\"number\":\"{number}\"}}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// Our value rendered the way `to_jsonb` renders the type (numbers as `{"number": text}`, see [`lossless`]).
fn to_jsonb_like(value: &Value) -> Json {
    let number = |s: String| json!({ "number": s });
    match value {
        Value::Null => Json::Null,
        Value::Unchanged => json!("<unchanged>"),
        Value::Bool(b) => json!(b),
        Value::Int16(v) => number(v.to_string()),
        Value::Int32(v) => number(v.to_string()),
        Value::Int64(v) => number(v.to_string()),
        // to_jsonb has no number mapping for oid: it uses the text form.
        Value::Oid(v) => json!(v.to_string()),
        Value::Float32(v) => float(f64::from(*v)),
        Value::Float64(v) => float(*v),
        Value::Numeric(n) | Value::Money(n) => match n {
            Numeric::Finite(s) => json!({ "numeric": s }),
            Numeric::NaN => json!({ "numeric": "NaN" }),
            Numeric::PosInfinity => json!({ "numeric": "Infinity" }),
            Numeric::NegInfinity => json!({ "numeric": "-Infinity" }),
        },
        Value::Text(s)
        | Value::Enum(s)
        | Value::Inet(s)
        | Value::MacAddr(s)
        | Value::Bits(s)
        | Value::Other(s) => {
            json!(s)
        }
        Value::Uuid(s) => json!(s),
        Value::Bytes(b) => json!(format!("\\x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())),
        Value::Json(s) => serde_json::from_str(&lossless(s)).unwrap_or_else(|_| json!({ "unparsable": s })),
        Value::Date(d) => json!(match d {
            DateValue::Days(days) => date_text(i64::from(*days)),
            DateValue::PosInfinity => "infinity".into(),
            DateValue::NegInfinity => "-infinity".into(),
        }),
        Value::Time(micros) => json!(time_text(*micros)),
        Value::TimeTz { micros, offset_seconds } => {
            json!(format!("{}{}", time_text(*micros), offset_text(*offset_seconds)))
        }
        Value::Timestamp(ts) => json!(timestamp_text(ts, "")),
        Value::TimestampTz(ts) => json!(timestamp_text(ts, "+00:00")),
        Value::Interval { months, days, micros } => json!(iso_interval(*months, *days, *micros)),
        Value::Hstore(pairs) => Json::Object(
            pairs.iter().map(|(k, v)| (k.clone(), v.as_ref().map_or(Json::Null, |v| json!(v)))).collect(),
        ),
        Value::Array(items) => Json::Array(items.iter().map(to_jsonb_like).collect()),
    }
}

fn float(v: f64) -> Json {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!({ "float": v })
    }
}

/// Equality with floats compared as numbers and integers/numerics as text.
fn same(ours: &Json, theirs: &Json) -> bool {
    match (ours, theirs) {
        (Json::Object(a), Json::Object(b)) if a.contains_key("float") => {
            let theirs = b.get("number").and_then(|n| n.as_str()).and_then(|s| s.parse::<f64>().ok());
            a.get("float").and_then(Json::as_f64) == theirs
        }
        (Json::Object(a), Json::Object(b)) if a.contains_key("numeric") => {
            a.get("numeric") == b.get("numeric")
        }
        (Json::Array(a), Json::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => ours == theirs,
    }
}

fn date_text(days: i64) -> String {
    let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
    bc_year(date.format("%Y-%m-%d").to_string(), date.year_ce())
}

fn bc_year(text: String, (ce, year): (bool, u32)) -> String {
    if ce {
        // chrono marks years past 9999 with '+'; PostgreSQL does not.
        text.trim_start_matches('+').to_owned()
    } else {
        // chrono prints astronomical years (-0043); PostgreSQL's to_jsonb prints "0044-…BC".
        let rest =
            text.trim_start_matches('-').split_once('-').map(|(_, r)| r).unwrap_or_default().to_owned();
        format!("{year:04}-{rest} BC")
    }
}

use chrono::Datelike;

fn time_text(micros: i64) -> String {
    let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
    let base = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        base
    } else {
        format!("{base}.{}", format!("{frac:06}").trim_end_matches('0'))
    }
}

fn offset_text(offset: i32) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.abs();
    // PostgreSQL prints only the parts it needs: +14, +05:30, -12:45:30.
    let mut text = format!("{sign}{:02}", o / 3600);
    if o % 3600 != 0 {
        text.push_str(&format!(":{:02}", o / 60 % 60));
    }
    if o % 60 != 0 {
        text.push_str(&format!(":{:02}", o % 60));
    }
    text
}

fn timestamp_text(ts: &TimestampValue, zone: &str) -> String {
    match ts {
        TimestampValue::PosInfinity => "infinity".into(),
        TimestampValue::NegInfinity => "-infinity".into(),
        TimestampValue::Micros(m) => {
            let days = m.div_euclid(86_400_000_000);
            let rest = m.rem_euclid(86_400_000_000);
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Duration::days(days);
            let text = format!("{}T{}{zone}", date.format("%Y-%m-%d"), time_text(rest));
            bc_year(text, date.year_ce())
        }
    }
}

/// PostgreSQL's iso_8601 IntervalStyle.
fn iso_interval(months: i32, days: i32, micros: i64) -> String {
    if months == 0 && days == 0 && micros == 0 {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let (years, months) = (months / 12, months % 12);
    for (v, unit) in [(i64::from(years), 'Y'), (i64::from(months), 'M'), (i64::from(days), 'D')] {
        if v != 0 {
            out.push_str(&format!("{v}{unit}"));
        }
    }
    if micros != 0 {
        out.push('T');
        let (h, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
        let (m, rest) = (rest / 60_000_000, rest % 60_000_000);
        if h != 0 {
            out.push_str(&format!("{h}H"));
        }
        if m != 0 {
            out.push_str(&format!("{m}M"));
        }
        if rest != 0 {
            let sign = if rest < 0 { "-" } else { "" };
            let (s, f) = (rest.abs() / 1_000_000, rest.abs() % 1_000_000);
            if f == 0 {
                out.push_str(&format!("{sign}{s}S"));
            } else {
                out.push_str(&format!("{sign}{s}.{}S", format!("{f:06}").trim_end_matches('0')));
            }
        }
    }
    out
}

fn short(v: &Json) -> String {
    let text = v.to_string();
    if text.len() > 120 {
        format!(
            "{}… ({} bytes)",
            &text[..text.char_indices().nth(100).map_or(text.len(), |(i, _)| i)],
            text.len()
        )
    } else {
        text
    }
}

/// Beyond equal renderings, the decoder chose the right variants.
fn assert_typed(events: &[ChangeEvent]) {
    let first = events.iter().find(|e| matches!(e.after.as_ref().unwrap().0[0], Value::Int32(1))).unwrap();
    let get = |name: &str| &first.after.as_ref().unwrap().0[first.schema.column_index(name).unwrap()];
    assert!(matches!(get("c_int8"), Value::Int64(3)));
    assert!(matches!(get("c_bytea"), Value::Bytes(b) if b == &[0, 255, 16]));
    assert!(matches!(get("c_uuid"), Value::Uuid(_)));
    assert!(matches!(get("c_jsonb"), Value::Json(_)));
    assert!(matches!(get("c_enum"), Value::Enum(s) if s == "happy"));
    assert!(matches!(get("c_domain"), Value::Int32(7)));
    assert!(matches!(get("c_point"), Value::Other(_)), "unknown types fall back to text");
}
