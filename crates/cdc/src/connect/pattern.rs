//! [`Pattern`]: the regular expressions of Debezium's filter and column lists, matched the way Debezium matches
//! them (`java.util.regex.Pattern.matcher(..).matches()`, case-insensitive): the whole name, never a
//! substring.
//!
//! The `regex` crate does the matching (linear time whatever the pattern, so a hostile list cannot hang the
//! worker). Its syntax agrees with Java's for what name lists use (classes, groups, alternation, quantifiers,
//! `(?i)`); Java's `\Q…\E` quoting is translated here. What only Java has (back-references, look-around,
//! possessive quantifiers) does not compile, and the property is refused rather than matched differently.

use std::fmt;

/// A compiled, anchored regular expression.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: regex::Regex,
}

/// A regular expression that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.regex.as_str() == other.regex.as_str()
    }
}

impl Pattern {
    /// Compiles `source`; `case_insensitive` is Java's `Pattern.CASE_INSENSITIVE`, which Debezium sets for every
    /// filter list.
    pub fn new(source: &str, case_insensitive: bool) -> Result<Pattern, PatternError> {
        let flags = if case_insensitive { "(?i)" } else { "" };
        let anchored = format!("{flags}^(?:{})$", unquote(source));
        let regex = regex::Regex::new(&anchored)
            .map_err(|e| PatternError { pattern: source.to_owned(), reason: e.to_string() })?;
        Ok(Pattern { source: source.to_owned(), regex })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches all of `text` (Java's `Matcher.matches()`).
    pub fn full_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// Java's `\Q…\E` (quote everything between) as escaped text; an unclosed `\Q` quotes to the end, as in Java.
fn unquote(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("\\Q") {
        out.push_str(&rest[..start]);
        let quoted = &rest[start + 2..];
        let (literal, after) = match quoted.find("\\E") {
            Some(end) => (&quoted[..end], &quoted[end + 2..]),
            None => (quoted, ""),
        };
        out.push_str(&regex::escape(literal));
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Pattern::new(pattern, true).unwrap().full_match(text)
    }

    #[test]
    fn a_pattern_matches_the_whole_name_only() {
        assert!(matches("public.customers", "public.customers"));
        assert!(!matches("public.customers", "public.customers_archive"));
        assert!(!matches("customers", "public.customers"));
        assert!(matches("public\\.cust.*", "public.customers"));
        assert!(!matches("public\\.cust.*", "publicXcustomers"));
        assert!(matches(".*\\.audit_[0-9]{4}", "sales.audit_2024"));
        assert!(!matches(".*\\.audit_[0-9]{4}", "sales.audit_24"));
        assert!(matches("a|b", "b"), "alternation is inside the anchors");
    }

    #[test]
    fn case_folds_as_debezium_asks() {
        assert!(matches("PUBLIC.Customers", "public.customers"));
        assert!(!Pattern::new("PUBLIC", false).unwrap().full_match("public"));
        assert!(Pattern::new("(?i)PUBLIC", false).unwrap().full_match("public"));
    }

    #[test]
    fn java_quoting_is_literal() {
        assert!(matches("\\Qa.b\\E", "a.b"));
        assert!(!matches("\\Qa.b\\E", "axb"));
        assert!(matches("s\\.\\Q$t(1)\\E.*", "s.$t(1)_x"));
    }

    #[test]
    fn broken_or_java_only_syntax_is_an_error() {
        for bad in ["(abc", "abc)", "[abc", "*a", "a{3,2}", "(?=a)", "\\1", "\\"] {
            assert!(Pattern::new(bad, true).is_err(), "{bad:?} compiled");
        }
    }
}
