//! Array literals as array_out prints them: `{1,2,NULL}`, `{"a b","c,d","NULL",""}`, `{{1,2},{3,4}}`, and
//! `[0:1]={1,2}` when a lower bound is not 1 (the decoration is skipped; the elements are what we keep).
//!
//! array_out double-quotes an element when it is empty, equals `NULL` in any case, or contains `{`, `}`,
//! `"`, `\`, the delimiter or whitespace; inside quotes `"` and `\` are backslash-escaped. So only an
//! unquoted `NULL` is SQL NULL. The delimiter is `,` for every type but `box`, whose text contains commas.

use super::{error, is_pg_space, parse_text, Cursor, Value, ValueParseError};
use crate::pgtype::PgType;

/// PostgreSQL's MAXDIM; deeper nesting is malformed (and would recurse without bound).
const MAX_DIMS: usize = 6;

/// Parses the array literal `text` of array type `ty` whose elements are `elem`.
pub(super) fn parse(ty: &PgType, elem: &PgType, text: &str) -> Result<Value, ValueParseError> {
    let parser = Parser { ty, elem, text, delim: if elem.name == "box" { ';' } else { ',' } };
    let body = skip_dimensions(text).ok_or_else(|| parser.syntax("malformed dimension decoration"))?;
    let mut cur = Cursor::new(body);
    let items = parser.level(&mut cur, 1)?;
    cur.skip_space();
    match cur.peek() {
        None => Ok(Value::Array(items)),
        Some(_) => Err(parser.syntax("text after the closing '}'")),
    }
}

/// Skips `[lo:hi]…=`, which array_out prints before the braces when a lower bound is not 1.
fn skip_dimensions(text: &str) -> Option<&str> {
    if !text.starts_with('[') {
        return Some(text);
    }
    let (dims, rest) = text.split_once('=')?;
    let is_bound = |s: &str| super::is_digits(s.strip_prefix('-').unwrap_or(s));
    let valid = dims
        .strip_prefix('[')?
        .strip_suffix(']')?
        .split("][")
        .all(|dim| dim.split_once(':').is_some_and(|(lo, hi)| is_bound(lo) && is_bound(hi)));
    valid.then_some(rest)
}

#[derive(Debug)]
struct Parser<'a> {
    ty: &'a PgType,
    elem: &'a PgType,
    text: &'a str,
    delim: char,
}

impl Parser<'_> {
    fn syntax(&self, reason: &str) -> ValueParseError {
        error(self.ty, self.text, reason)
    }

    /// One `{…}` level: elements, or sub-arrays (one level deeper), never a mix.
    fn level(&self, cur: &mut Cursor<'_>, depth: usize) -> Result<Vec<Value>, ValueParseError> {
        if depth > MAX_DIMS {
            return Err(self.syntax("more than 6 dimensions"));
        }
        cur.skip_space();
        if !cur.eat("{") {
            return Err(self.syntax("expected '{'"));
        }
        let mut items = Vec::new();
        cur.skip_space();
        if cur.eat("}") {
            return Ok(items);
        }
        let mut nested_level = None;
        loop {
            cur.skip_space();
            let nested = cur.peek() == Some('{');
            if *nested_level.get_or_insert(nested) != nested {
                return Err(self.syntax("sub-arrays mixed with elements"));
            }
            items.push(if nested { Value::Array(self.level(cur, depth + 1)?) } else { self.element(cur)? });
            cur.skip_space();
            match cur.bump() {
                Some('}') => return Ok(items),
                Some(c) if c == self.delim => {}
                _ => return Err(self.syntax("expected a delimiter or '}'")),
            }
        }
    }

    /// A quoted element (always a value) or an unquoted one (`NULL` is SQL NULL).
    fn element(&self, cur: &mut Cursor<'_>) -> Result<Value, ValueParseError> {
        if cur.peek() == Some('"') {
            let text = cur.quoted().map_err(|reason| self.syntax(reason))?;
            return parse_text(self.elem, &text);
        }
        let delim = self.delim;
        let raw = cur.take_until(|c| c == delim || c == '}').trim_end_matches(is_pg_space);
        if raw.is_empty() || raw.contains(['"', '\\', '{']) {
            return Err(self.syntax("malformed unquoted element"));
        }
        if raw.eq_ignore_ascii_case("NULL") {
            return Ok(Value::Null);
        }
        parse_text(self.elem, raw)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::{bad, ok};
    use super::*;
    use crate::pgtype::TypeKind;

    fn array_of(kind: TypeKind) -> TypeKind {
        TypeKind::Array(Box::new(PgType::new(0, "elem", kind)))
    }

    fn ints(items: &[i32]) -> Value {
        Value::Array(items.iter().map(|&i| Value::Int32(i)).collect())
    }

    fn texts(items: &[Option<&str>]) -> Value {
        Value::Array(items.iter().map(|item| item.map_or(Value::Null, |s| Value::Text(s.into()))).collect())
    }

    /// Writes `items` as array_out would for text[] (see the module doc for the quoting rule).
    fn write_literal(items: &[Option<String>]) -> String {
        let special = |c: char| matches!(c, '{' | '}' | ',' | '"' | '\\') || is_pg_space(c);
        let write = |item: &Option<String>| match item {
            None => "NULL".to_owned(),
            Some(s) if s.is_empty() || s.eq_ignore_ascii_case("NULL") || s.contains(special) => {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            }
            Some(s) => s.clone(),
        };
        format!("{{{}}}", items.iter().map(write).collect::<Vec<_>>().join(","))
    }

    #[test]
    fn int_arrays_nest_and_hold_nulls() {
        let square = Value::Array(vec![ints(&[1, 2]), ints(&[3, 4])]);
        let with_null = Value::Array(vec![Value::Int32(-1), Value::Int32(2), Value::Null]);
        ok(
            array_of(TypeKind::Int4),
            &[
                ("{}", ints(&[])),
                ("{-1,2,NULL}", with_null.clone()),
                (" { -1 , 2 ,null } ", with_null),
                ("{{1,2},{3,4}}", square.clone()),
                ("[0:1]={1,2}", ints(&[1, 2])),
                ("[0:1][-2:-1]={{1,2},{3,4}}", square),
                ("{{{{{{1}}}}}}", (1..6).fold(ints(&[1]), |inner, _| Value::Array(vec![inner]))),
            ],
        );
        let int_array = || array_of(TypeKind::Int4);
        bad(int_array(), &["", "1,2", "{1,2", "{1,,2}", "{1}}", "{1} x", "{{1},2}", "{1,{2}}", "{x}"]);
        bad(int_array(), &["{\"1}", "{1;2}", "{1 2}", "{,}", "[1:2{1}", "[a:b]={1}", "[1:2]{1}"]);
        bad(int_array(), &["{{{{{{{1}}}}}}}", "[1:2]="]);
    }

    #[test]
    fn text_arrays_unquote_and_unescape() {
        let quoted = r#"{"a b","c,d","NULL",NULL,""}"#;
        ok(
            array_of(TypeKind::Text),
            &[(quoted, texts(&[Some("a b"), Some("c,d"), Some("NULL"), None, Some("")]))],
        );
        let escaped = r#"{"say \"hi\"","back\\slash"}"#;
        ok(array_of(TypeKind::Text), &[(escaped, texts(&[Some("say \"hi\""), Some("back\\slash")]))]);
        let unicode = r#"{héllo,"日本 語",𝄞}"#;
        ok(array_of(TypeKind::Text), &[(unicode, texts(&[Some("héllo"), Some("日本 語"), Some("𝄞")]))]);
        ok(array_of(TypeKind::Text), &[("{\" {} \"}", texts(&[Some(" {} ")]))]);
        bad(array_of(TypeKind::Text), &["{\"a\\\"}", "{\"a\" b}", "{a\"b}", "{a\\b}"]);
    }

    #[test]
    fn box_arrays_split_on_semicolons() {
        let boxes = ["(1,1),(0,0)", "(2,2),(1,1)"].map(|b| Value::Other(b.into()));
        let box_array = TypeKind::Array(Box::new(PgType::new(603, "box", TypeKind::Other)));
        ok(box_array, &[("{(1,1),(0,0);(2,2),(1,1)}", Value::Array(boxes.to_vec()))]);
    }

    #[test]
    fn element_errors_name_the_element_type() {
        let ty = PgType::new(1007, "_int4", array_of(TypeKind::Int4));
        let err = parse_text(&ty, "{1,x}").expect_err("x is not an int4");
        assert_eq!((err.type_name.as_str(), err.text.as_str()), ("elem", "x"));
    }

    fn element() -> impl Strategy<Value = Option<String>> {
        let tricky = prop_oneof![Just("NULL".to_owned()), Just("nuLL".to_owned()), r#"[a-z"\\{}, \t]{0,6}"#];
        proptest::option::of(prop_oneof![any::<String>(), tricky])
    }

    proptest! {
        #[test]
        fn written_text_arrays_parse_back(items in proptest::collection::vec(element(), 0..8)) {
            let literal = write_literal(&items);
            let want = Value::Array(items.iter().map(|i| i.clone().map_or(Value::Null, Value::Text)).collect());
            let ty = PgType::new(1009, "_text", array_of(TypeKind::Text));
            prop_assert_eq!(parse_text(&ty, &literal), Ok(want), "{}", literal);
        }
    }
}
