//! [`Pattern`]: the regular expressions of Debezium's filter and column lists, matched the way Debezium matches
//! them (`java.util.regex.Pattern.matcher(..).matches()`): the whole name, never a substring.
//!
//! A small engine instead of the `regex` crate, which this binary does not depend on. It covers the Java syntax
//! that connector configurations use for names: literals and escapes (`\.`, `\Q…\E`, `\uXXXX`), `.`, classes
//! (`[a-z_]`, `[^0-9]`, `\d`, `\w`, `\s`), groups (`(…)`, `(?:…)`, `(?<name>…)`), alternation, the
//! quantifiers `* + ? {n} {n,} {n,m}` (lazy forms too), the anchors `^ $ \A \z \Z`, and the case flag
//! `(?i)` / `(?-i)` / `(?i:…)`. What it cannot match exactly as Java does (back-references, look-around, word
//! boundaries, possessive quantifiers, `\p{…}`, class intersections) is a compile error, never a silent
//! difference.
//!
//! Matching is a Pike VM (a breadth-first NFA simulation): linear in the name's length whatever the pattern,
//! so a hostile pattern cannot hang the worker.

use std::fmt;

/// Java's default `CASE_INSENSITIVE` folds ASCII letters only (without `UNICODE_CASE`); so does this.
fn eq_char(pattern: char, input: char, fold: bool) -> bool {
    pattern == input || (fold && pattern.eq_ignore_ascii_case(&input))
}

/// The most instructions one pattern may compile to (counted repetition is expanded).
const MAX_PROGRAM: usize = 20_000;
/// The largest bound of a counted repetition `{n,m}`.
const MAX_REPEAT: u32 = 1_000;

/// A compiled, anchored regular expression.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    program: Vec<Inst>,
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
        self.source == other.source && self.program == other.program
    }
}

impl Pattern {
    /// Compiles `source`; `case_insensitive` is Java's `Pattern.CASE_INSENSITIVE`, which Debezium sets for every
    /// filter list.
    pub fn new(source: &str, case_insensitive: bool) -> Result<Pattern, PatternError> {
        let fail = |reason: String| PatternError { pattern: source.to_owned(), reason };
        let mut parser = Parser { chars: source.chars().collect(), pos: 0, fold: case_insensitive };
        let node = parser.alternation(0).map_err(fail)?;
        if parser.pos < parser.chars.len() {
            // Only an unmatched `)` stops the top-level alternation early.
            return Err(fail(format!("unmatched ')' at position {}", parser.pos)));
        }
        let mut program = Vec::new();
        compile(&node, &mut program).map_err(fail)?;
        program.push(Inst::Match);
        Ok(Pattern { source: source.to_owned(), program })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches all of `text` (Java's `Matcher.matches()`).
    pub fn full_match(&self, text: &str) -> bool {
        let input: Vec<char> = text.chars().collect();
        let mut seen = vec![usize::MAX; self.program.len()];
        let mut current = Vec::new();
        let mut next = Vec::new();
        self.add_thread(&mut current, &mut seen, 0, 0, input.len());
        for (pos, &c) in input.iter().enumerate() {
            if current.is_empty() {
                return false;
            }
            next.clear();
            for &pc in &current {
                let advance = match &self.program[pc] {
                    Inst::Char(p, fold) => eq_char(*p, c, *fold),
                    Inst::Any => !matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'),
                    Inst::Class(class, fold) => class.matches(c, *fold),
                    Inst::Match => false,
                    // Epsilon instructions never sit in a thread list.
                    Inst::Split(..) | Inst::Jmp(_) | Inst::Start | Inst::End => false,
                };
                if advance {
                    self.add_thread(&mut next, &mut seen, pc + 1, pos + 1, input.len());
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        current.iter().any(|&pc| matches!(self.program[pc], Inst::Match))
    }

    /// Adds `pc` and everything reachable from it without consuming input; `seen[pc] == pos` marks the
    /// instructions already added at this position.
    fn add_thread(&self, list: &mut Vec<usize>, seen: &mut [usize], pc: usize, pos: usize, len: usize) {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if seen[pc] == pos {
                continue;
            }
            seen[pc] = pos;
            match &self.program[pc] {
                Inst::Jmp(target) => stack.push(*target),
                Inst::Split(first, second) => {
                    stack.push(*second);
                    stack.push(*first);
                }
                Inst::Start => {
                    if pos == 0 {
                        stack.push(pc + 1);
                    }
                }
                Inst::End => {
                    if pos == len {
                        stack.push(pc + 1);
                    }
                }
                Inst::Char(..) | Inst::Any | Inst::Class(..) | Inst::Match => list.push(pc),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Inst {
    /// A character; `true` folds ASCII case.
    Char(char, bool),
    /// Any character but a line terminator.
    Any,
    Class(Box<Class>, bool),
    /// Try both targets.
    Split(usize, usize),
    Jmp(usize),
    /// `^`, `\A`: only at the start.
    Start,
    /// `$`, `\z`, `\Z`: only at the end.
    End,
    Match,
}

/// A character class: it matches when any item matches, inverted when `negated`.
#[derive(Debug, Clone, PartialEq)]
struct Class {
    negated: bool,
    items: Vec<ClassItem>,
}

#[derive(Debug, Clone, PartialEq)]
enum ClassItem {
    Range(char, char),
    /// A negated shorthand inside a class (`[\D]`): any character outside these ranges.
    NotIn(Vec<(char, char)>),
}

impl Class {
    fn matches(&self, c: char, fold: bool) -> bool {
        let hit = |c: char| {
            self.items.iter().any(|item| match item {
                ClassItem::Range(lo, hi) => (*lo..=*hi).contains(&c),
                ClassItem::NotIn(ranges) => !ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)),
            })
        };
        let found = hit(c) || (fold && (hit(c.to_ascii_lowercase()) || hit(c.to_ascii_uppercase())));
        found != self.negated
    }
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
const SPACE: &[(char, char)] = &[(' ', ' '), ('\t', '\r')];

#[derive(Debug)]
enum Node {
    Empty,
    Char(char, bool),
    Any,
    Class(Class, bool),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32> },
}

/// Groups nested deeper than this are refused (the parser recurses per group).
const MAX_DEPTH: usize = 100;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// The case flag in force (scoped to the enclosing group, as in Java).
    fold: bool,
}

type Parsed<T> = Result<T, String>;

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn next(&mut self) -> Parsed<char> {
        let c = self.peek().ok_or("unexpected end of pattern")?;
        self.pos += 1;
        Ok(c)
    }

    fn alternation(&mut self, depth: usize) -> Parsed<Node> {
        let mut branches = vec![self.concatenation(depth)?];
        while self.eat('|') {
            branches.push(self.concatenation(depth)?);
        }
        Ok(if branches.len() == 1 { branches.pop().unwrap_or(Node::Empty) } else { Node::Alt(branches) })
    }

    fn concatenation(&mut self, depth: usize) -> Parsed<Node> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let Some(atom) = self.atom(depth)? else { continue };
            let atom = self.quantified(atom)?;
            items.push(atom);
        }
        Ok(Node::Concat(items))
    }

    fn quantified(&mut self, atom: Node) -> Parsed<Node> {
        let at = self.pos;
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                self.pos += 1;
                let bounds = self.counted().ok_or_else(|| format!("illegal repetition at position {at}"))?;
                self.pos -= 1;
                bounds
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        if matches!(atom, Node::Start | Node::End | Node::Empty) {
            return Err(format!("dangling quantifier at position {at}"));
        }
        if let Some(max) = max {
            if min > max {
                return Err(format!("illegal repetition range at position {at}"));
            }
        }
        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
            return Err(format!("a repetition bound above {MAX_REPEAT} at position {at}"));
        }
        // Lazy (`*?`) matches the same strings as greedy for a whole-string match; possessive (`*+`) does not.
        if self.eat('+') {
            return Err(format!("possessive quantifiers are not supported (position {at})"));
        }
        self.eat('?');
        if matches!(self.peek(), Some('*' | '+' | '?')) {
            return Err(format!(
                "dangling meta character {:?} at position {}",
                self.peek().unwrap_or('?'),
                self.pos
            ));
        }
        Ok(Node::Repeat { node: Box::new(atom), min, max })
    }

    /// After `{`: `n}`, `n,}` or `n,m}`; leaves the position after `}`.
    fn counted(&mut self) -> Option<(u32, Option<u32>)> {
        let number = |p: &mut Parser| -> Option<u32> {
            let start = p.pos;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.pos += 1;
            }
            p.chars[start..p.pos].iter().collect::<String>().parse().ok()
        };
        let min = number(self)?;
        let max = if self.eat(',') {
            if self.peek() == Some('}') {
                None
            } else {
                Some(number(self)?)
            }
        } else {
            Some(min)
        };
        self.eat('}').then_some((min, max))
    }

    /// One atom; `None` for a construct that matches nothing itself (a flag group such as `(?i)`).
    fn atom(&mut self, depth: usize) -> Parsed<Option<Node>> {
        let at = self.pos;
        let c = self.next()?;
        let node = match c {
            '(' => return self.group(depth, at),
            '[' => Node::Class(self.class()?, self.fold),
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => return self.escape(),
            '*' | '+' | '?' => return Err(format!("dangling meta character {c:?} at position {at}")),
            '{' => return Err(format!("illegal repetition at position {at}")),
            c => Node::Char(c, self.fold),
        };
        Ok(Some(node))
    }

    fn group(&mut self, depth: usize, at: usize) -> Parsed<Option<Node>> {
        if depth >= MAX_DEPTH {
            return Err(format!("groups nested deeper than {MAX_DEPTH}"));
        }
        let outer_fold = self.fold;
        if self.eat('?') {
            match self.peek() {
                Some(':') => self.pos += 1,
                Some('<') if self.peek_at(1).is_some_and(|c| c.is_ascii_alphabetic()) => {
                    self.pos += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                        self.pos += 1;
                    }
                    if !self.eat('>') {
                        return Err(format!("malformed named group at position {at}"));
                    }
                }
                Some('i' | '-') => {
                    let on = !self.eat('-');
                    if !self.eat('i') {
                        return Err(format!("only the (?i) flag is supported (position {at})"));
                    }
                    if self.eat(')') {
                        // `(?i)`: the flag holds until the end of the enclosing group.
                        self.fold = on;
                        return Ok(None);
                    }
                    if !self.eat(':') {
                        return Err(format!("only the (?i) flag is supported (position {at})"));
                    }
                    self.fold = on;
                }
                _ => {
                    return Err(format!(
                        "look-around, atomic groups and inline flags other than (?i) are not supported \
                         (position {at})"
                    ))
                }
            }
        }
        let inner = self.alternation(depth + 1)?;
        self.fold = outer_fold;
        if !self.eat(')') {
            return Err(format!("unclosed group at position {at}"));
        }
        Ok(Some(inner))
    }

    fn escape(&mut self) -> Parsed<Option<Node>> {
        let at = self.pos - 1;
        let c = self.next().map_err(|_| "a trailing backslash".to_owned())?;
        let class = |ranges: &[(char, char)], negated: bool| {
            let items = ranges.iter().map(|&(lo, hi)| ClassItem::Range(lo, hi)).collect();
            Node::Class(Class { negated, items }, false)
        };
        let node = match c {
            'd' => class(DIGIT, false),
            'D' => class(DIGIT, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(SPACE, true),
            'A' => Node::Start,
            'z' | 'Z' => Node::End,
            'Q' => {
                let mut quoted = Vec::new();
                while self.pos < self.chars.len() {
                    if self.peek() == Some('\\') && self.peek_at(1) == Some('E') {
                        self.pos += 2;
                        break;
                    }
                    quoted.push(Node::Char(self.chars[self.pos], self.fold));
                    self.pos += 1;
                }
                Node::Concat(quoted)
            }
            'E' => return Ok(None),
            _ => Node::Char(self.escaped_char(c, at)?, self.fold),
        };
        Ok(Some(node))
    }

    /// The character of an escape that stands for one character (`\.`, `\t`, `\u00e9`, `\x41`, `\0101`).
    fn escaped_char(&mut self, c: char, at: usize) -> Parsed<char> {
        let hex = |p: &mut Parser, digits: usize| -> Parsed<char> {
            let text: String = p.chars.get(p.pos..p.pos + digits).unwrap_or_default().iter().collect();
            let code = u32::from_str_radix(&text, 16)
                .map_err(|_| format!("illegal hexadecimal escape at position {at}"))?;
            p.pos += digits;
            char::from_u32(code).ok_or_else(|| format!("illegal character code at position {at}"))
        };
        Ok(match c {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\u{c}',
            'a' => '\u{7}',
            'e' => '\u{1b}',
            'u' => hex(self, 4)?,
            'x' => hex(self, 2)?,
            '0' => {
                let start = self.pos;
                while self.pos < start + 3 && self.peek().is_some_and(|d| ('0'..='7').contains(&d)) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                let code = u32::from_str_radix(&text, 8)
                    .map_err(|_| format!("illegal octal escape at position {at}"))?;
                char::from_u32(code).ok_or_else(|| format!("illegal octal escape at position {at}"))?
            }
            '1'..='9' => return Err(format!("back-references are not supported (position {at})")),
            'b' | 'B' | 'G' => return Err(format!("the boundary \\{c} is not supported (position {at})")),
            c if c.is_ascii_alphabetic() => {
                return Err(format!("the escape \\{c} is not supported (position {at})"));
            }
            c => c,
        })
    }

    /// After `[`: the items up to the closing `]`.
    fn class(&mut self) -> Parsed<Class> {
        let at = self.pos - 1;
        let negated = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.next().map_err(|_| format!("unclosed character class at position {at}"))?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = match c {
                '[' => return Err(format!("nested character classes are not supported (position {at})")),
                '&' if self.peek() == Some('&') => {
                    return Err(format!("class intersections (&&) are not supported (position {at})"))
                }
                '\\' => {
                    let e = self.next().map_err(|_| format!("unclosed character class at position {at}"))?;
                    let shorthand = match e {
                        'd' | 'D' => Some((DIGIT, e == 'D')),
                        'w' | 'W' => Some((WORD, e == 'W')),
                        's' | 'S' => Some((SPACE, e == 'S')),
                        _ => None,
                    };
                    if let Some((ranges, negative)) = shorthand {
                        if negative {
                            items.push(ClassItem::NotIn(ranges.to_vec()));
                        } else {
                            items.extend(ranges.iter().map(|&(lo, hi)| ClassItem::Range(lo, hi)));
                        }
                        continue;
                    }
                    if e == 'Q' {
                        return Err(format!("\\Q inside a character class is not supported (position {at})"));
                    }
                    self.escaped_char(e, self.pos - 2)?
                }
                c => c,
            };
            // A range `a-z`, unless the `-` is the last character of the class.
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
                self.pos += 1;
                let hi = match self.next()? {
                    '\\' => {
                        let e = self.next()?;
                        self.escaped_char(e, self.pos - 2)?
                    }
                    '[' => return Err(format!("nested character classes are not supported (position {at})")),
                    hi => hi,
                };
                if hi < lo {
                    return Err(format!("illegal character range {lo}-{hi} (position {at})"));
                }
                items.push(ClassItem::Range(lo, hi));
            } else {
                items.push(ClassItem::Range(lo, lo));
            }
        }
        Ok(Class { negated, items })
    }
}

fn compile(node: &Node, program: &mut Vec<Inst>) -> Result<(), String> {
    if program.len() > MAX_PROGRAM {
        return Err(format!("the pattern is too large (over {MAX_PROGRAM} instructions once expanded)"));
    }
    match node {
        Node::Empty => {}
        Node::Char(c, fold) => program.push(Inst::Char(*c, *fold)),
        Node::Any => program.push(Inst::Any),
        Node::Class(class, fold) => program.push(Inst::Class(Box::new(class.clone()), *fold)),
        Node::Start => program.push(Inst::Start),
        Node::End => program.push(Inst::End),
        Node::Concat(items) => {
            for item in items {
                compile(item, program)?;
            }
        }
        Node::Alt(branches) => {
            let mut to_end = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                if i + 1 < branches.len() {
                    let split = program.len();
                    program.push(Inst::Split(split + 1, usize::MAX));
                    compile(branch, program)?;
                    to_end.push(program.len());
                    program.push(Inst::Jmp(usize::MAX));
                    let next = program.len();
                    program[split] = Inst::Split(split + 1, next);
                } else {
                    compile(branch, program)?;
                }
            }
            let end = program.len();
            for at in to_end {
                program[at] = Inst::Jmp(end);
            }
        }
        Node::Repeat { node, min, max } => {
            for _ in 0..*min {
                compile(node, program)?;
            }
            match max {
                None => {
                    let split = program.len();
                    program.push(Inst::Split(split + 1, usize::MAX));
                    compile(node, program)?;
                    program.push(Inst::Jmp(split));
                    let end = program.len();
                    program[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(program.len());
                        program.push(Inst::Split(program.len() + 1, usize::MAX));
                        compile(node, program)?;
                    }
                    let end = program.len();
                    for at in splits {
                        program[at] = Inst::Split(at + 1, end);
                    }
                }
            }
        }
    }
    Ok(())
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
    }

    #[test]
    fn case_folds_ascii_as_java_does() {
        assert!(matches("PUBLIC.Customers", "public.customers"));
        assert!(matches("[A-Z]+", "abc"));
        assert!(!Pattern::new("PUBLIC", false).unwrap().full_match("public"));
        assert!(Pattern::new("(?i)PUBLIC", false).unwrap().full_match("public"));
        assert!(!Pattern::new("(?-i:A)b", true).unwrap().full_match("aB"));
        assert!(Pattern::new("(?-i:A)b", true).unwrap().full_match("AB"));
    }

    #[test]
    fn groups_alternation_and_quantifiers() {
        assert!(matches("inventory\\.(orders|customers)", "inventory.orders"));
        assert!(matches("(?:a|b)+c?", "abab"));
        assert!(matches("(?<s>x)y{2,3}", "xyyy"));
        assert!(!matches("xy{2,3}", "xyyyy"));
        assert!(matches("xy{2,}", "xyyyyyy"));
        assert!(matches("a*?b", "aaab"));
        assert!(matches("(a*)*b", "aaab"));
        assert!(matches("^a$", "a"));
        assert!(matches("\\Qa.b\\E", "a.b"));
        assert!(!matches("\\Qa.b\\E", "axb"));
        assert!(matches("[^.]+\\.[\\w$]+", "s.t_1$"));
        assert!(matches("a|", ""));
        assert!(matches("[]a]", "]"));
        assert!(matches("[a-]", "-"));
    }

    #[test]
    fn a_hostile_pattern_stays_linear() {
        let p = Pattern::new("(a|a)*(a*)*b", true).unwrap();
        assert!(!p.full_match(&"a".repeat(5_000)));
    }

    #[test]
    fn unsupported_or_broken_syntax_is_an_error() {
        for bad in [
            "(abc", "abc)", "[abc", "*a", "a**", "a{2", "{2}", "a{3,2}", "(?=a)", "\\1", "\\b", "\\p{L}",
            "a++", "[a&&b]", "[[a]]", "[z-a]", "a{5000}", "\\",
        ] {
            assert!(Pattern::new(bad, true).is_err(), "{bad:?} compiled");
        }
    }
}
