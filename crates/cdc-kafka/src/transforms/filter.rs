//! Filters.
//!
//! `org.apache.kafka.connect.transforms.Filter` drops every record it is applied to; with a predicate it
//! drops the records the predicate matches (or, negated, those it does not). No properties.
//!
//! `io.debezium.transforms.Filter` keeps a record when its `condition` is true and drops it when false
//! (Debezium's "Message Filtering" page,
//! <https://debezium.io/documentation/reference/stable/transformations/filtering.html>). Debezium evaluates
//! the condition with a JSR 223 script engine (Groovy, JavaScript); this pipeline embeds no script engine
//! and accepts only conditions of this form, refusing anything else at build time:
//!
//! ```text
//!  condition  := comparison { ("&&" | "||") comparison }        && binds tighter than ||; no parentheses
//!  comparison := path ("==" | "!=") literal                      (or literal ==/!= path)
//!  path       := value.<field>{.<field>} | key.<field>{.<field>} | value | key | topic
//!  literal    := 'text' | "text" | number | true | false | null
//! ```
//!
//! e.g. `value.op == 'd'`, `value.op != 'c' && value.source.table == 'orders'`, the docs' own
//! `value.op == 'u' && value.before.id == 2`. A path through a missing field or a null struct is null (where
//! Groovy would throw); numbers compare by value (`2 == 2.0`). Properties: `language` (required; Debezium
//! requires a `jsr223.` engine name, and so does this), `condition` (required), `topic.regex` (only records
//! whose topic matches it as a whole are filtered; others pass), `null.handling.mode` (`keep`, default:
//! tombstones pass; `drop`; `evaluate`: the condition sees a null value). Wasm filters (`expression`) are
//! refused.

use serde_json::Value as J;

use super::java::JavaRegex;
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

pub(crate) const KAFKA_CLASS: &str = "org.apache.kafka.connect.transforms.Filter";
pub(crate) const DEBEZIUM_CLASS: &str = "io.debezium.transforms.Filter";

const SUPPORTED: &str = "only simple conditions are supported (no script engine is embedded): comparisons \
    `value.<field>[.<field>…] == <literal>` or `!=` (also on `key.…` and `topic`), with literals 'text', \
    \"text\", numbers, true, false or null, joined by && and || without parentheses, e.g. \
    `value.op == 'd'` or `value.op != 'c' && value.source.table == 'orders'`";

/// Kafka's `Filter`: drops what it is applied to.
#[derive(Debug)]
pub(crate) struct DropAll;

impl Smt for DropAll {
    fn apply(&mut self, _record: &mut Record) -> Result<Outcome, DataError> {
        Ok(Outcome::Drop)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NullHandling {
    Keep,
    Drop,
    Evaluate,
}

/// Debezium's `Filter` with a simple condition.
#[derive(Debug)]
pub(crate) struct ConditionFilter {
    /// Alternatives (`||`) of conjunctions (`&&`).
    condition: Vec<Vec<Comparison>>,
    topic_regex: Option<JavaRegex>,
    nulls: NullHandling,
}

#[derive(Debug)]
struct Comparison {
    path: Path,
    equal: bool,
    literal: J,
}

#[derive(Debug)]
enum Path {
    Topic,
    Key(Vec<String>),
    Value(Vec<String>),
}

impl ConditionFilter {
    pub(crate) fn build(props: &Props<'_>) -> Result<Self, TransformError> {
        props.refuse(
            &["expression"],
            "Wasm filters are not supported; use `language` and a simple `condition`",
        )?;
        let language = props.required("language")?;
        if !language.trim().starts_with("jsr223.") {
            return Err(props.invalid(
                "language",
                "must begin with `jsr223.`, e.g. `jsr223.groovy` (Wasm filters are not supported)",
            ));
        }
        let condition = props.required("condition")?;
        let condition = parse(condition).map_err(|reason| props.invalid("condition", reason))?;
        let topic_regex = match props.non_blank("topic.regex") {
            Some(pattern) => Some(props.regex("topic.regex", pattern)?),
            None => None,
        };
        let nulls = match props.choice("null.handling.mode", &["keep", "drop", "evaluate"], "keep", true)? {
            "keep" => NullHandling::Keep,
            "drop" => NullHandling::Drop,
            _ => NullHandling::Evaluate,
        };
        Ok(ConditionFilter { condition, topic_regex, nulls })
    }

    fn eval(&self, record: &Record) -> bool {
        self.condition.iter().any(|all| all.iter().all(|c| c.eval(record)))
    }
}

impl Smt for ConditionFilter {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        if self.topic_regex.as_ref().is_some_and(|r| !r.matches(&record.topic)) {
            return Ok(Outcome::Keep);
        }
        if record.value.is_none() {
            match self.nulls {
                NullHandling::Keep => return Ok(Outcome::Keep),
                NullHandling::Drop => return Ok(Outcome::Drop),
                NullHandling::Evaluate => {}
            }
        }
        Ok(if self.eval(record) { Outcome::Keep } else { Outcome::Drop })
    }
}

impl Comparison {
    fn eval(&self, record: &Record) -> bool {
        let value = match &self.path {
            Path::Topic => J::from(record.topic.as_str()),
            Path::Key(fields) => resolve(record.key.as_ref(), fields),
            Path::Value(fields) => resolve(record.value.as_ref(), fields),
        };
        equal(&value, &self.literal) == self.equal
    }
}

fn resolve(root: Option<&J>, fields: &[String]) -> J {
    let mut current = root;
    for field in fields {
        current = current.and_then(|v| v.get(field));
    }
    current.cloned().unwrap_or(J::Null)
}

/// Groovy's `==` on the values a path can produce: numbers by value, everything else structurally.
fn equal(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Path(Vec<String>),
    Literal(J),
    Eq,
    Ne,
    And,
    Or,
}

fn parse(condition: &str) -> Result<Vec<Vec<Comparison>>, String> {
    let tokens = tokenize(condition)?;
    let mut alternatives = vec![Vec::new()];
    let mut rest = tokens.as_slice();
    loop {
        let (comparison, after) = match rest {
            [left, op @ (Token::Eq | Token::Ne), right, after @ ..] => {
                let equal = *op == Token::Eq;
                let comparison = match (left, right) {
                    (Token::Path(path), Token::Literal(literal))
                    | (Token::Literal(literal), Token::Path(path)) => {
                        Comparison { path: to_path(path)?, equal, literal: literal.clone() }
                    }
                    _ => {
                        return Err(format!("`{condition}` compares two paths or two literals; {SUPPORTED}"))
                    }
                };
                (comparison, after)
            }
            _ => return Err(format!("`{condition}` is not a supported condition; {SUPPORTED}")),
        };
        if let Some(all) = alternatives.last_mut() {
            all.push(comparison);
        }
        match after {
            [] => break,
            [Token::And, next @ ..] => rest = next,
            [Token::Or, next @ ..] => {
                alternatives.push(Vec::new());
                rest = next;
            }
            _ => return Err(format!("`{condition}` is not a supported condition; {SUPPORTED}")),
        }
    }
    Ok(alternatives)
}

fn to_path(parts: &[String]) -> Result<Path, String> {
    match parts.split_first() {
        Some((root, [])) if root == "topic" => Ok(Path::Topic),
        Some((root, rest)) if root == "value" => Ok(Path::Value(rest.to_vec())),
        Some((root, rest)) if root == "key" => Ok(Path::Key(rest.to_vec())),
        _ => Err(format!("`{}` is not a path into value, key or topic; {SUPPORTED}", parts.join("."))),
    }
}

fn tokenize(condition: &str) -> Result<Vec<Token>, String> {
    let unsupported = |what: &str| format!("{what} in `{condition}`: {SUPPORTED}");
    let mut tokens = Vec::new();
    let mut chars = condition.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' | '!' | '&' | '|' => {
                chars.next();
                let token = match (c, chars.next()) {
                    ('=', Some('=')) => Token::Eq,
                    ('!', Some('=')) => Token::Ne,
                    ('&', Some('&')) => Token::And,
                    ('|', Some('|')) => Token::Or,
                    _ => return Err(unsupported(&format!("unsupported operator near `{c}`"))),
                };
                if token == Token::Eq && chars.peek() == Some(&'=') {
                    return Err(unsupported("unsupported operator `===`"));
                }
                tokens.push(token);
            }
            '\'' | '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(escaped @ ('\'' | '"' | '\\')) => text.push(escaped),
                            _ => return Err(unsupported("an unsupported escape sequence")),
                        },
                        Some(end) if end == c => break,
                        Some(other) => text.push(other),
                        None => return Err(unsupported("an unterminated string")),
                    }
                }
                tokens.push(Token::Literal(J::from(text)));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut number = String::new();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit() || matches!(d, '-' | '.')) {
                    number.push(d);
                    chars.next();
                }
                let literal = match number.parse::<i64>() {
                    Ok(n) => J::from(n),
                    Err(_) => number
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(J::Number)
                        .ok_or_else(|| unsupported(&format!("the number `{number}`")))?,
                };
                tokens.push(Token::Literal(literal));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut parts = vec![String::new()];
                while let Some(&d) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '$' {
                        if let Some(part) = parts.last_mut() {
                            part.push(d);
                        }
                    } else if d == '.' {
                        parts.push(String::new());
                    } else {
                        break;
                    }
                    chars.next();
                }
                if parts.iter().any(String::is_empty) {
                    return Err(unsupported(&format!("the path `{}`", parts.join("."))));
                }
                let token = match parts.as_slice() {
                    [word] if word == "true" => Token::Literal(J::Bool(true)),
                    [word] if word == "false" => Token::Literal(J::Bool(false)),
                    [word] if word == "null" => Token::Literal(J::Null),
                    _ => Token::Path(parts),
                };
                tokens.push(token);
            }
            other => return Err(unsupported(&format!("`{other}`"))),
        }
    }
    Ok(tokens)
}
