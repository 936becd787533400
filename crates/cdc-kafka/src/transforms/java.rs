//! The two pieces of `java.util.regex` the routers and predicates rely on:
//! - `Matcher.matches()`: the pattern must match the whole input (not a substring);
//! - `Matcher.replaceFirst(replacement)`: the first match (found with `find()`, which after a successful
//!   `matches()` can still be shorter than the whole input, as with `a|ab` on `ab`) replaced by the
//!   replacement, in which `$n` and `${name}` insert groups and `\x` inserts `x` literally.
//!
//! Patterns compile with the `regex` crate, whose leftmost-first semantics equal Java's backtracking choice
//! for the constructs both support; Java-only constructs (look-around, back-references, possessive
//! quantifiers) fail to compile and are reported as invalid properties.

use regex::Regex;

/// A Java pattern compiled for full matches and for `find`.
#[derive(Debug, Clone)]
pub(crate) struct JavaRegex {
    full: Regex,
    find: Regex,
}

impl JavaRegex {
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let find = Regex::new(pattern).map_err(|e| format!("not a supported regular expression: {e}"))?;
        let full = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("not a supported regular expression: {e}"))?;
        Ok(JavaRegex { full, find })
    }

    /// `matcher(input).matches()`.
    pub(crate) fn matches(&self, input: &str) -> bool {
        self.full.is_match(input)
    }

    /// `matcher(input).replaceFirst(replacement)`.
    pub(crate) fn replace_first(&self, input: &str, replacement: &Replacement) -> String {
        let Some(caps) = self.find.captures(input) else { return input.to_owned() };
        let Some(whole) = caps.get(0) else { return input.to_owned() };
        let mut out = String::with_capacity(input.len() + 16);
        out.push_str(input.get(..whole.start()).unwrap_or_default());
        for part in &replacement.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
                Part::Named(name) => out.push_str(caps.name(name).map_or("", |m| m.as_str())),
            }
        }
        out.push_str(input.get(whole.end()..).unwrap_or_default());
        out
    }

    /// `matches()` then `replaceFirst()`: `None` when the input does not match as a whole.
    pub(crate) fn replace_full_match(&self, input: &str, replacement: &Replacement) -> Option<String> {
        self.matches(input).then(|| self.replace_first(input, replacement))
    }
}

/// A parsed `Matcher.appendReplacement` string, its group references checked against the pattern.
#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Group(usize),
    Named(String),
}

impl Replacement {
    /// Parses `replacement` for `regex`, with Java's rules: `$` followed by digits takes as many digits as
    /// still name an existing group (`$12` is group 1 then `2` when there are fewer than 12 groups);
    /// `${name}` names a group; `\` escapes the next character. Errors are Java's exceptions, raised at
    /// build time rather than on the first record.
    pub(crate) fn parse(replacement: &str, regex: &JavaRegex) -> Result<Self, String> {
        let groups = regex.find.captures_len() - 1;
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => literal.push(escaped),
                    None => return Err("character to be escaped is missing (a trailing `\\`)".into()),
                },
                '$' => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    match chars.next() {
                        Some('{') => {
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(c) if c.is_ascii_alphanumeric() => name.push(c),
                                    _ => return Err("named capturing group is missing trailing '}'".into()),
                                }
                            }
                            let starts_with_letter = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
                            if !starts_with_letter || !regex.find.capture_names().flatten().any(|n| n == name) {
                                return Err(format!("no group with name {{{name}}} in the regex"));
                            }
                            parts.push(Part::Named(name));
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut group = d.to_digit(10).map_or(0, |d| d as usize);
                            if group > groups {
                                return Err(format!("no group {group}: the regex has {groups} group(s)"));
                            }
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = group * 10 + next as usize;
                                if longer > groups {
                                    break;
                                }
                                group = longer;
                                chars.next();
                            }
                            parts.push(Part::Group(group));
                        }
                        _ => return Err("illegal group reference: `$` must be followed by a group number or {name} (write `\\$` for a dollar sign)".into()),
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement { parts })
    }
}
