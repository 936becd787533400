//! Snowflake SQL for one [`TablePlan`](crate::TablePlan): type names, DDL, the staging steps and the MERGE. Pure
//! text generation: identifiers are always quoted, values never appear (they travel as bindings).
//!
//! Applying a plan:
//! 1. `raw`: a temporary table of text columns (plus presence flags), filled by array-bound INSERTs;
//! 2. `typed`: a temporary table built from `raw` with every conversion (CAST, `PARSE_JSON`, `TO_BINARY`) and the
//!    `QUALIFY ROW_NUMBER()` dedup (a resent INSERT cannot double a key);
//! 3. unsent TOAST columns of `typed` are filled from the target row, so that
//! 4. the MERGE assigns plain columns: delete or soft-delete, update, insert, each guarded by position.
//!
//! Conversions and TOAST handling live in the staging steps rather than in the MERGE because fakesnow cannot
//! bind function calls or CASE expressions inside MERGE's SET; the result is the same in Snowflake.

use crate::meta;
use crate::types::TargetType;
use crate::DeleteMode;

/// Double-quotes an identifier, doubling embedded quotes.
pub fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The Snowflake name of a PostgreSQL identifier. A name PostgreSQL folded to lower case (one that can be
/// written unquoted there: `customers`, `order_id`) becomes the name Snowflake gives the same unquoted
/// identifier (`CUSTOMERS`), so `SELECT * FROM customers` works on both sides. Any other name (mixed case,
/// spaces, quotes, unicode) keeps its exact spelling, quoted.
pub fn fold(name: &str) -> String {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_ascii_uppercase()
    } else {
        name.to_owned()
    }
}

/// A configured object name (database, schema, warehouse): unquoted names are case-insensitive in Snowflake
/// (upper-cased), `"Quoted"` ones exact.
pub fn config_ident(name: &str) -> String {
    let trimmed = name.trim();
    match trimmed.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(exact) => q(&exact.replace("\"\"", "\"")),
        None => q(&trimmed.to_ascii_uppercase()),
    }
}

/// The type as Snowflake spells it in DDL.
pub fn type_name(t: &TargetType) -> String {
    match t {
        TargetType::Boolean => "BOOLEAN".into(),
        TargetType::SmallInt => "NUMBER(5,0)".into(),
        TargetType::Integer => "NUMBER(10,0)".into(),
        TargetType::BigInt => "NUMBER(19,0)".into(),
        TargetType::UBigInt => "NUMBER(20,0)".into(),
        TargetType::Float | TargetType::Double => "FLOAT".into(),
        TargetType::Decimal { precision, scale } => format!("NUMBER({precision},{scale})"),
        TargetType::Blob => "BINARY".into(),
        TargetType::Date => "DATE".into(),
        TargetType::Time => "TIME(6)".into(),
        TargetType::Timestamp => "TIMESTAMP_NTZ(6)".into(),
        TargetType::TimestampTz => "TIMESTAMP_TZ(6)".into(),
        TargetType::Json | TargetType::List(_) => "VARIANT".into(),
        // No Snowflake type holds these exactly: PostgreSQL's text does.
        TargetType::Varchar
        | TargetType::TimeTz
        | TargetType::Interval
        | TargetType::Uuid
        | TargetType::Bit => "VARCHAR".into(),
    }
}

/// What `information_schema.columns.data_type` reports for a column of this type (with precision and scale for
/// NUMBER), to compare existing tables with wanted ones.
pub fn reported_type(t: &TargetType) -> (String, Option<(u32, u32)>) {
    let name = type_name(t);
    match name.strip_prefix("NUMBER(").and_then(|rest| rest.strip_suffix(')')) {
        Some(ps) => {
            let mut parts = ps.split(',').map(|p| p.trim().parse::<u32>().unwrap_or_default());
            ("NUMBER".into(), Some((parts.next().unwrap_or(38), parts.next().unwrap_or(0))))
        }
        None => (
            match t {
                TargetType::Varchar
                | TargetType::TimeTz
                | TargetType::Interval
                | TargetType::Uuid
                | TargetType::Bit => "TEXT".into(),
                TargetType::Time => "TIME".into(),
                TargetType::Timestamp => "TIMESTAMP_NTZ".into(),
                TargetType::TimestampTz => "TIMESTAMP_TZ".into(),
                _ => name,
            },
            None,
        ),
    }
}

/// The metadata columns (Snowflake names) and types, after the source columns.
pub fn meta_columns() -> [(String, &'static str); 7] {
    [
        (fold(meta::OP), "VARCHAR"),
        (fold(meta::LSN), "NUMBER(20,0)"),
        (fold(meta::EVENT_LSN), "NUMBER(20,0)"),
        (fold(meta::TX_ID), "NUMBER(19,0)"),
        (fold(meta::SOURCE_TS), "TIMESTAMP_TZ(6)"),
        (fold(meta::SYNCED_AT), "TIMESTAMP_TZ(6)"),
        (fold(meta::DELETED), "BOOLEAN"),
    ]
}

/// Name of the presence flag of the staged column at `index` (by index, so no source name can clash with it).
pub fn sent(index: usize) -> String {
    format!("_CDC_STG_SENT_{index}")
}

/// The staging layout of one plan: metadata cells, then per source column its text and presence flag.
#[derive(Debug, Clone)]
pub struct Staging<'a> {
    pub raw: String,
    pub typed: String,
    /// (Snowflake column name, type), in schema order.
    pub columns: &'a [(String, TargetType)],
    pub key: &'a [usize],
}

/// Staging metadata columns: the action ('u' upsert, 'd' delete), op code, positions, xid, source time. The
/// `_CDC_STG_` prefix keeps them apart from source columns (`_op`, `_lsn` are plausible source names).
const ACTION: &str = "_CDC_STG_ACTION";
const OP: &str = "_CDC_STG_OP";
const LSN: &str = "_CDC_STG_LSN";
const EVENT_LSN: &str = "_CDC_STG_EVENT_LSN";
const TX_ID: &str = "_CDC_STG_TX_ID";
const SOURCE_TS: &str = "_CDC_STG_SOURCE_TS";
const SYNCED_AT: &str = "_CDC_STG_SYNCED_AT";
const STAGE_META: [(&str, &str); 6] = [
    (ACTION, "VARCHAR"),
    (OP, "VARCHAR"),
    (LSN, "NUMBER(20,0)"),
    (EVENT_LSN, "NUMBER(20,0)"),
    (TX_ID, "NUMBER(19,0)"),
    (SOURCE_TS, "VARCHAR"),
];

/// Bind types of the staging metadata columns, in order.
pub const STAGE_META_BINDS: [&str; 6] = ["TEXT", "TEXT", "FIXED", "FIXED", "FIXED", "TEXT"];

impl Staging<'_> {
    pub fn create_raw(&self) -> String {
        let defs =
            STAGE_META
                .iter()
                .map(|(n, t)| format!("{} {t}", q(n)))
                .chain(self.columns.iter().enumerate().flat_map(|(i, (n, _))| {
                    [format!("{} VARCHAR", q(n)), format!("{} BOOLEAN", q(&sent(i)))]
                }))
                .collect::<Vec<_>>()
                .join(", ");
        format!("CREATE OR REPLACE TEMPORARY TABLE {} ({defs})", q(&self.raw))
    }

    /// The array-bound INSERT: one `?` per staging column.
    pub fn insert_raw(&self) -> String {
        let marks = vec!["?"; STAGE_META.len() + 2 * self.columns.len()].join(", ");
        format!("INSERT INTO {} VALUES ({marks})", q(&self.raw))
    }

    /// `typed`: converted values, the newest row per key (a resent INSERT may have doubled one).
    pub fn create_typed(&self) -> String {
        let key = self.key.iter().map(|&i| q(&self.columns[i].0)).collect::<Vec<_>>().join(", ");
        let columns = self
            .columns
            .iter()
            .enumerate()
            .flat_map(|(i, (n, t))| [format!("{} AS {}", convert(&q(n), t), q(n)), q(&sent(i))])
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "CREATE OR REPLACE TEMPORARY TABLE {typed} AS SELECT {action}, {op}, {lsn}, {ev}, {tx}, \
             CAST({ts} AS TIMESTAMP_TZ(6)) AS {ts}, CURRENT_TIMESTAMP() AS {synced}, {columns} FROM {raw} \
             QUALIFY ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {lsn} DESC, {ev} DESC, {action} DESC) = 1",
            typed = q(&self.typed),
            raw = q(&self.raw),
            action = q(ACTION),
            op = q(OP),
            lsn = q(LSN),
            ev = q(EVENT_LSN),
            tx = q(TX_ID),
            ts = q(SOURCE_TS),
            synced = q(SYNCED_AT),
        )
    }

    /// Fills the column at `index`, where the change did not send it (unchanged TOAST), with the target row's value.
    pub fn fill_unsent(&self, target: &str, index: usize) -> String {
        format!(
            "UPDATE {typed} AS s SET {c} = t.{c} FROM {target} AS t WHERE {on} AND NOT s.{p}",
            typed = q(&self.typed),
            c = q(&self.columns[index].0),
            p = q(&sent(index)),
            on = self.on(),
        )
    }

    /// Gives rows older than a position (three numeric bindings: lsn, lsn, event lsn) that lack the column
    /// their source rows read as `fill` (one text binding, first) that value: rows written before the column
    /// existed in the source.
    pub fn fill_older(target: &str, column: &str, ty: &TargetType) -> String {
        let [_, lsn, ev, ..] = meta_columns().map(|(n, _)| q(&n));
        format!(
            "UPDATE {target} SET {c} = {v} WHERE {c} IS NULL AND ({lsn} < ? OR ({lsn} = ? AND {ev} < ?))",
            c = q(column),
            v = convert("?", ty)
        )
    }

    fn on(&self) -> String {
        // NULL-safe: a table without a primary key is keyed by all its columns, NULLs included.
        self.key
            .iter()
            .map(|&i| format!("t.{c} IS NOT DISTINCT FROM s.{c}", c = q(&self.columns[i].0)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The MERGE of `typed` into `target`.
    pub fn merge(&self, target: &str, mode: DeleteMode) -> String {
        let [op, lsn, ev, tx, ts, synced, deleted] = meta_columns().map(|(n, _)| q(&n));
        let [s_action, s_op, s_lsn, s_ev, s_tx, s_ts, s_synced] =
            [ACTION, OP, LSN, EVENT_LSN, TX_ID, SOURCE_TS, SYNCED_AT].map(|c| format!("s.{}", q(c)));
        let newer = format!("(t.{lsn} < {s_lsn} OR (t.{lsn} = {s_lsn} AND t.{ev} < {s_ev}))");
        let meta_set = format!(
            "{op} = {s_op}, {lsn} = {s_lsn}, {ev} = {s_ev}, {tx} = {s_tx}, {ts} = {s_ts}, {synced} = {s_synced}"
        );
        let set_columns =
            self.columns.iter().map(|(n, _)| format!("{c} = s.{c}", c = q(n))).collect::<Vec<_>>().join(", ");
        let insert_columns = self
            .columns
            .iter()
            .map(|(n, _)| q(n))
            .chain([
                op.clone(),
                lsn.clone(),
                ev.clone(),
                tx.clone(),
                ts.clone(),
                synced.clone(),
                deleted.clone(),
            ])
            .collect::<Vec<_>>()
            .join(", ");
        let insert_values = self
            .columns
            .iter()
            .map(|(n, _)| format!("s.{}", q(n)))
            .chain([s_op, s_lsn.clone(), s_ev.clone(), s_tx, s_ts, s_synced])
            .chain(["FALSE".to_owned()])
            .collect::<Vec<_>>()
            .join(", ");
        let on_delete = match mode {
            DeleteMode::Hard => "DELETE".to_owned(),
            DeleteMode::Soft => format!("UPDATE SET {meta_set}, {deleted} = TRUE"),
        };
        format!(
            "MERGE INTO {target} AS t USING {typed} AS s ON {on} \
             WHEN MATCHED AND {s_action} = 'd' AND {newer} THEN {on_delete} \
             WHEN MATCHED AND {s_action} = 'u' AND {newer} THEN UPDATE SET {set_columns}, {meta_set}, \
             {deleted} = FALSE \
             WHEN NOT MATCHED AND {s_action} = 'u' THEN INSERT ({insert_columns}) VALUES ({insert_values})",
            typed = q(&self.typed),
            on = self.on(),
        )
    }
}

/// The expression turning staged text `column` into type `t`.
pub(crate) fn convert(column: &str, t: &TargetType) -> String {
    match t {
        TargetType::Json | TargetType::List(_) => format!("PARSE_JSON({column})"),
        TargetType::Blob => format!("TO_BINARY({column}, 'HEX')"),
        other => match type_name(other).as_str() {
            "VARCHAR" => column.to_owned(),
            name => format!("CAST({column} AS {name})"),
        },
    }
}

/// Removes (or marks deleted) every row older than a TRUNCATE at `(lsn, event_lsn)`; returns the statement and
/// its (numeric) bindings in order.
pub fn truncate(target: &str, mode: DeleteMode, lsn: u64, event_lsn: u64) -> (String, Vec<u64>) {
    let [op, l, e, _, _, synced, deleted] = meta_columns().map(|(n, _)| q(&n));
    let older = format!("({l} < ? OR ({l} = ? AND {e} < ?))");
    match mode {
        DeleteMode::Hard => (format!("DELETE FROM {target} WHERE {older}"), vec![lsn, lsn, event_lsn]),
        DeleteMode::Soft => (
            format!(
                "UPDATE {target} SET {deleted} = TRUE, {op} = 't', {l} = ?, {e} = ?, {synced} = CURRENT_TIMESTAMP() \
                 WHERE {older}"
            ),
            vec![lsn, event_lsn, lsn, lsn, event_lsn],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_mirrors_each_side_s_unquoted_names() {
        assert_eq!(fold("customers"), "CUSTOMERS");
        assert_eq!(fold("_cdc_lsn"), "_CDC_LSN");
        assert_eq!(fold("Mixed"), "Mixed");
        assert_eq!(fold("with space"), "with space");
        assert_eq!(fold("tä"), "tä");
        assert_eq!(fold("1abc"), "1abc");
        assert_eq!(q("a\"b"), "\"a\"\"b\"");
        assert_eq!(config_ident("compute_wh"), "\"COMPUTE_WH\"");
        assert_eq!(config_ident("\"My Db\""), "\"My Db\"");
    }

    #[test]
    fn merge_guards_every_change_by_position() {
        let columns = vec![("ID".to_owned(), TargetType::Integer), ("N".to_owned(), TargetType::Json)];
        let staging = Staging { raw: "r".into(), typed: "s".into(), columns: &columns, key: &[0] };
        let merge = staging.merge("\"DB\".\"PUBLIC\".\"T\"", DeleteMode::Hard);
        assert_eq!(merge.matches("t.\"_CDC_LSN\" < s.\"_CDC_STG_LSN\"").count(), 2, "{merge}");
        assert!(merge.contains("THEN DELETE"));
        assert!(staging.create_typed().contains("PARSE_JSON(\"N\") AS \"N\""));
        assert!(staging.create_typed().contains("QUALIFY ROW_NUMBER()"));
    }
}
