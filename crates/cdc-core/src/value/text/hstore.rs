//! hstore's output: `"a"=>"1", "b"=>NULL`. hstore_out always quotes keys, quotes values or prints a bare
//! `NULL`, and backslash-escapes `"` and `\` inside quotes. Pairs keep the server's order.

use super::Cursor;

pub(super) fn parse(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut cur = Cursor::new(text);
    let mut pairs = Vec::new();
    cur.skip_space();
    while cur.peek().is_some() {
        if !pairs.is_empty() {
            if !cur.eat(",") {
                return Err("expected ',' between pairs".into());
            }
            cur.skip_space();
        }
        let key = cur.quoted()?;
        cur.skip_space();
        if !cur.eat("=>") {
            return Err("expected '=>'".into());
        }
        cur.skip_space();
        let value = if cur.eat("NULL") { None } else { Some(cur.quoted()?) };
        pairs.push((key, value));
        cur.skip_space();
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bad, ok};
    use super::super::Value;
    use crate::pgtype::TypeKind;

    fn hstore(pairs: &[(&str, Option<&str>)]) -> Value {
        Value::Hstore(pairs.iter().map(|(k, v)| (k.to_string(), v.map(str::to_owned))).collect())
    }

    #[test]
    fn hstore_pairs_keep_order_escapes_and_nulls() {
        ok(
            TypeKind::Hstore,
            &[
                ("", hstore(&[])),
                (r#""a"=>"1", "b"=>NULL"#, hstore(&[("a", Some("1")), ("b", None)])),
                (r#""b"=>"2","a"=>"1""#, hstore(&[("b", Some("2")), ("a", Some("1"))])),
                (r#""k\"q"=>"v\\w""#, hstore(&[("k\"q", Some("v\\w"))])),
                (r#"""=>"", "NULL"=>"NULL""#, hstore(&[("", Some("")), ("NULL", Some("NULL"))])),
                (r#""ключ" => "значение, 1""#, hstore(&[("ключ", Some("значение, 1"))])),
            ],
        );
        bad(TypeKind::Hstore, &[r#""a"=>"#, r#""a"=>"1" "b"=>"2""#, "a=>1", r#""a"=>"1","#]);
        bad(TypeKind::Hstore, &[r#""a"=>NULLx"#, r#""a"#, r#""a"=>"1\"#, r#""a"=>null"#]);
    }
}
