//! What a Debezium connector captures ([`TableFilters`]) and what it does to single columns
//! ([`ColumnPolicies`]), compiled from the connector's regex lists.
//!
//! Debezium's list semantics, kept here: a list is comma-separated (`\,` is a literal comma), each entry is
//! trimmed and compiled case-insensitively, and an entry must match the *whole* identifier: the schema name
//! for `schema.*.list`, `schema.table` for `table.*.list`, and `schema.table.column` for the column lists and
//! the column rules. A table is captured when its schema passes the schema filter and `schema.table` passes the
//! table filter; system schemas are never captured.

use super::pattern::{Pattern, PatternError};

/// Schemas Debezium never captures from.
const SYSTEM_SCHEMAS: [&str; 3] = ["pg_catalog", "information_schema", "pg_toast"];

/// Splits a Debezium regex list: commas separate entries unless escaped (`\,`), entries are trimmed, empty
/// entries are dropped (Debezium's `Strings.RegExSplitter`).
pub(crate) fn split_regex_list(value: &str) -> Result<Vec<String>, String> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next =
                    chars.next().ok_or("ends in an unterminated escape sequence (a lone backslash)")?;
                current.push('\\');
                current.push(next);
            }
            ',' => entries.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    entries.push(current);
    Ok(entries.into_iter().map(|e| e.trim().replace("\\,", ",")).filter(|e| !e.is_empty()).collect())
}

/// One entry of a list: the text as written, and its compiled form.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterEntry {
    pub text: String,
    pub pattern: Pattern,
}

impl FilterEntry {
    pub(crate) fn compile(text: &str) -> Result<FilterEntry, PatternError> {
        Ok(FilterEntry { text: text.to_owned(), pattern: Pattern::new(text, true)? })
    }
}

/// An include list, an exclude list, or neither (Debezium refuses both at once).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Filter {
    #[default]
    All,
    Include(Vec<FilterEntry>),
    Exclude(Vec<FilterEntry>),
}

impl Filter {
    /// Whether `name` passes.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Include(entries) => entries.iter().any(|e| e.pattern.full_match(name)),
            Filter::Exclude(entries) => !entries.iter().any(|e| e.pattern.full_match(name)),
        }
    }
}

/// `schema.include.list|exclude.list`, `table.include.list|exclude.list`, `column.include.list|exclude.list`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableFilters {
    /// Matched against the schema name.
    pub schemas: Filter,
    /// Matched against `schema.table`.
    pub tables: Filter,
    /// Matched against `schema.table.column`.
    pub columns: Filter,
}

impl TableFilters {
    /// Whether the connector captures `schema.table`.
    pub fn matches(&self, schema: &str, table: &str) -> bool {
        let system = SYSTEM_SCHEMAS.contains(&schema)
            || schema.starts_with("pg_temp_")
            || schema.starts_with("pg_toast_temp_");
        !system && self.schemas.allows(schema) && self.tables.allows(&format!("{schema}.{table}"))
    }

    /// Whether `table.include.list` is set (its entries can then be checked against the catalog).
    pub fn has_table_include_list(&self) -> bool {
        matches!(self.tables, Filter::Include(_))
    }

    /// Whether a captured table's `column` is kept in its events.
    pub fn column_included(&self, schema: &str, table: &str, column: &str) -> bool {
        self.columns.allows(&format!("{schema}.{table}.{column}"))
    }

    /// The entries of `table.include.list` that match none of `existing_tables` (schema, table): a misspelt
    /// name captures nothing in Debezium, silently; the REST layer reports these instead.
    pub fn unmatched_entries(&self, existing_tables: &[(String, String)]) -> Vec<String> {
        let Filter::Include(entries) = &self.tables else { return Vec::new() };
        entries
            .iter()
            .filter(|e| !existing_tables.iter().any(|(s, t)| e.pattern.full_match(&format!("{s}.{t}"))))
            .map(|e| e.text.clone())
            .collect()
    }

    /// The entries of `schema.include.list` that match no schema of `existing_tables`.
    pub fn unmatched_schema_entries(&self, existing_tables: &[(String, String)]) -> Vec<String> {
        let Filter::Include(entries) = &self.schemas else { return Vec::new() };
        entries
            .iter()
            .filter(|e| !existing_tables.iter().any(|(s, _)| e.pattern.full_match(s)))
            .map(|e| e.text.clone())
            .collect()
    }

    /// The `table.include.list` as plain `schema.table` names, when every entry is one (`public.customers`,
    /// `public\.orders`) and no schema filter or table exclude list narrows it: such a list names exactly the
    /// tables to capture, which is what `[source].tables` holds. `None` when the list needs a catalog to resolve.
    pub fn literal_tables(&self) -> Option<Vec<String>> {
        let Filter::Include(entries) = &self.tables else { return None };
        if self.schemas != Filter::All {
            return None;
        }
        entries.iter().map(|e| literal_table(&e.text)).collect()
    }
}

/// `schema.table` when `entry` is an identifier, an (optionally escaped) dot and an identifier. An unescaped
/// `.` also matches any character, but in a full match of `schema.table` it can only be the dot.
fn literal_table(entry: &str) -> Option<String> {
    let plain = entry.replacen("\\.", ".", 1);
    let (schema, table) = plain.split_once('.')?;
    let ident = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
    };
    (ident(schema) && ident(table)).then(|| format!("{schema}.{table}"))
}

/// A message digest Debezium's `column.mask.hash.<algorithm>.with.salt.<salt>` names (Java's
/// `MessageDigest` standard names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Md2,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

impl HashAlgorithm {
    const NAMES: [(&'static str, HashAlgorithm); 15] = [
        ("MD2", HashAlgorithm::Md2),
        ("MD5", HashAlgorithm::Md5),
        ("SHA", HashAlgorithm::Sha1),
        ("SHA1", HashAlgorithm::Sha1),
        ("SHA-1", HashAlgorithm::Sha1),
        ("SHA-224", HashAlgorithm::Sha224),
        ("SHA-256", HashAlgorithm::Sha256),
        ("SHA-384", HashAlgorithm::Sha384),
        ("SHA-512", HashAlgorithm::Sha512),
        ("SHA-512/224", HashAlgorithm::Sha512_224),
        ("SHA-512/256", HashAlgorithm::Sha512_256),
        ("SHA3-224", HashAlgorithm::Sha3_224),
        ("SHA3-256", HashAlgorithm::Sha3_256),
        ("SHA3-384", HashAlgorithm::Sha3_384),
        ("SHA3-512", HashAlgorithm::Sha3_512),
    ];

    /// Java's names, case-insensitively (`MessageDigest.getInstance` ignores case).
    pub fn parse(name: &str) -> Option<HashAlgorithm> {
        Self::NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, a)| *a)
    }
}

/// Debezium's two hashing schemes: v1 digests the Java-serialized string, v2 its UTF-8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashVersion {
    V1,
    V2,
}

/// What a column rule does to a matching column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnAction {
    /// `column.truncate.to.N.chars`: strings longer than N characters are cut to N.
    TruncateTo(usize),
    /// `column.mask.with.N.chars`: the value becomes N asterisks.
    MaskWithChars(usize),
    /// `column.mask.hash[.v2].<algorithm>.with.salt.<salt>`: the value becomes the hex digest of salt + value.
    Hash { algorithm: HashAlgorithm, salt: String, version: HashVersion },
}

/// One column property: the columns it applies to and what it does.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRule {
    /// The property that defined the rule, for messages.
    pub property: String,
    /// Matched against `schema.table.column`.
    pub columns: Vec<FilterEntry>,
    pub action: ColumnAction,
}

/// `message.key.columns`: for tables matching `table`, the key is the columns matching `columns` (each
/// compiled as `<table regex>.<column regex>` and matched against `schema.table.column`, as Debezium does).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageKeyRule {
    /// The table regex as written.
    pub table: String,
    pub columns: Vec<FilterEntry>,
}

/// The column-level properties, typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnPolicies {
    /// In Debezium's order of precedence: truncate rules, then mask-with-chars, then v2 hashes, then v1 hashes;
    /// within a kind, by property name. Only the first matching rule applies to a column.
    pub rules: Vec<ColumnRule>,
    pub message_key_columns: Vec<MessageKeyRule>,
}

impl ColumnPolicies {
    /// The action for a column, if any rule matches it (Debezium's `ColumnMappers.mapperFor`: the first).
    pub fn action_for(&self, schema: &str, table: &str, column: &str) -> Option<&ColumnAction> {
        let name = format!("{schema}.{table}.{column}");
        self.rules.iter().find(|r| r.columns.iter().any(|e| e.pattern.full_match(&name))).map(|r| &r.action)
    }

    /// The message key of `schema.table` whose columns are `columns` (in table order), when
    /// `message.key.columns` overrides it: for each rule entry in order, the matching columns in table order.
    /// `None` means the primary key (also when no listed column exists).
    pub fn key_columns(&self, schema: &str, table: &str, columns: &[&str]) -> Option<Vec<String>> {
        let mut key: Vec<String> = Vec::new();
        for entry in self.message_key_columns.iter().flat_map(|rule| &rule.columns) {
            for column in columns {
                if entry.pattern.full_match(&format!("{schema}.{table}.{column}")) {
                    key.push((*column).to_owned());
                }
            }
        }
        (!key.is_empty()).then_some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn include(list: &str) -> Filter {
        Filter::Include(
            split_regex_list(list).unwrap().iter().map(|e| FilterEntry::compile(e).unwrap()).collect(),
        )
    }

    #[test]
    fn lists_split_on_unescaped_commas_and_trim() {
        assert_eq!(split_regex_list(" a , b\\,c,,d{1\\,2} ").unwrap(), ["a", "b,c", "d{1,2}"]);
        assert!(split_regex_list("a\\").is_err());
    }

    #[test]
    fn a_table_passes_schema_and_table_filters_but_never_a_system_schema() {
        let filters = TableFilters { tables: include("public.orders,inventory\\..*"), ..Default::default() };
        assert!(filters.matches("public", "orders"));
        assert!(filters.matches("inventory", "anything"));
        assert!(!filters.matches("public", "orders_archive"));
        let all = TableFilters::default();
        assert!(all.matches("public", "x") && !all.matches("pg_catalog", "pg_class"));
        let excluded = TableFilters {
            schemas: Filter::Exclude(vec![FilterEntry::compile("audit").unwrap()]),
            ..Default::default()
        };
        assert!(!excluded.matches("AUDIT", "log") && excluded.matches("public", "log"));
    }

    #[test]
    fn a_misspelt_include_entry_is_reported() {
        let filters = TableFilters {
            tables: include("public.customers,public.custmers,sales\\..*"),
            ..Default::default()
        };
        let existing =
            [("public".to_owned(), "customers".to_owned()), ("public".to_owned(), "orders".to_owned())];
        assert_eq!(filters.unmatched_entries(&existing), ["public.custmers", "sales\\..*"]);
        assert_eq!(filters.literal_tables(), None, "a regex entry needs the catalog");
        let literal =
            TableFilters { tables: include("public.customers,public\\.orders"), ..Default::default() };
        assert_eq!(literal.literal_tables().unwrap(), ["public.customers", "public.orders"]);
    }

    #[test]
    fn the_first_matching_column_rule_wins_and_key_columns_follow_rule_order() {
        let entry = |t: &str| vec![FilterEntry::compile(t).unwrap()];
        let policies = ColumnPolicies {
            rules: vec![
                ColumnRule {
                    property: "t".into(),
                    columns: entry("public.c.note"),
                    action: ColumnAction::TruncateTo(5),
                },
                ColumnRule {
                    property: "m".into(),
                    columns: entry(".*\\.email|public.c.note"),
                    action: ColumnAction::MaskWithChars(3),
                },
            ],
            message_key_columns: vec![MessageKeyRule {
                table: "public.c".into(),
                columns: vec![
                    FilterEntry::compile("public.c.b").unwrap(),
                    FilterEntry::compile("public.c.a").unwrap(),
                ],
            }],
        };
        assert_eq!(policies.action_for("public", "c", "note"), Some(&ColumnAction::TruncateTo(5)));
        assert_eq!(policies.action_for("public", "c", "email"), Some(&ColumnAction::MaskWithChars(3)));
        assert_eq!(policies.action_for("public", "c", "id"), None);
        assert_eq!(policies.key_columns("public", "c", &["a", "b", "c"]).unwrap(), ["b", "a"]);
        assert_eq!(policies.key_columns("public", "other", &["a"]), None);
    }

    #[test]
    fn hash_algorithms_use_java_names() {
        assert_eq!(HashAlgorithm::parse("sha-256"), Some(HashAlgorithm::Sha256));
        assert_eq!(HashAlgorithm::parse("SHA-512/256"), Some(HashAlgorithm::Sha512_256));
        assert_eq!(HashAlgorithm::parse("SHA256"), None);
    }
}
