//! Kafka Connect config providers: `${env:VAR}` (Kafka's `EnvVarConfigProvider`) and
//! `${file:/path/to/file.properties:key}` (Kafka's `FileConfigProvider`, which reads a Java properties file).
//!
//! Kafka's variable syntax is `${provider:[path:]key}`: the provider is everything before the first `:`; when
//! the rest holds another `:`, the part before it is the path and the part after it the key. Every value of a
//! connector configuration passes through [`resolve_providers`] before it is translated, so a secret can stay in
//! the environment or in a file instead of the POSTed JSON. An unset variable, an unreadable file or a missing
//! key is an error: passing the placeholder on as a password would only fail later, and less clearly.

use std::collections::HashMap;
use std::path::PathBuf;

/// A `${…}` reference that cannot be resolved. Never carries a resolved value.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("environment variable {name} (from ${{env:{name}}}) is not set")]
    UnsetVariable { name: String },
    #[error("cannot read {} (from ${{file:…}})", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has no key {key:?} (from ${{file:…}})", path.display())]
    MissingKey { path: PathBuf, key: String },
    #[error("${{file:{key}}} names no file: write ${{file:/path/to/file.properties:key}}")]
    MissingPath { key: String },
    #[error("unknown config provider {provider:?}: cdc resolves ${{env:VAR}} and ${{file:/path:key}}")]
    UnknownProvider { provider: String },
}

/// Replaces every `${env:VAR}` and `${file:/path:key}` in `value`, reading the process environment.
pub fn resolve_providers(value: &str) -> Result<String, ProviderError> {
    resolve_with(value, &|name| std::env::var(name).ok())
}

/// [`resolve_providers`] with the environment given (tests do not touch the process environment).
pub(crate) fn resolve_with(
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ProviderError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        // Kafka's pattern `\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`: no `}` inside, at least one `:`.
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        let Some((provider, reference)) = inner.split_once(':') else {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..start]);
        let (path, key) = match reference.split_once(':') {
            Some((path, key)) => (Some(path), key),
            None => (None, reference),
        };
        let resolved = match provider {
            "env" => env(key).ok_or_else(|| ProviderError::UnsetVariable { name: key.to_owned() })?,
            "file" => {
                let path = path
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| ProviderError::MissingPath { key: key.to_owned() })?;
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ProviderError::ReadFile { path: path.clone(), source })?;
                let mut properties = parse_java_properties(&text);
                properties
                    .remove(key)
                    .ok_or_else(|| ProviderError::MissingKey { path, key: key.to_owned() })?
            }
            other => return Err(ProviderError::UnknownProvider { provider: other.to_owned() }),
        };
        out.push_str(&resolved);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses a Java properties file as `java.util.Properties.load` does: `#`/`!` comment lines, `key=value`,
/// `key: value` or `key value`, a trailing backslash continues a line, and `\t \n \r \f \uXXXX \x` escapes.
pub(crate) fn parse_java_properties(text: &str) -> HashMap<String, String> {
    let mut properties = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start_matches([' ', '\t', '\u{c}']);
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // A logical line continues while the natural line ends in an odd number of backslashes.
        let mut logical = trimmed.to_owned();
        while logical.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1 {
            logical.pop();
            match lines.next() {
                Some(next) => logical.push_str(next.trim_start_matches([' ', '\t', '\u{c}'])),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        properties.insert(unescape(key), unescape(value));
    }
    properties
}

/// Splits at the first unescaped `=`, `:` or whitespace; whitespace around one `=`/`:` separator is dropped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' | ' ' | '\t' | '\u{c}' => {
                let key = &line[..i];
                let mut value = line[i..].trim_start_matches([' ', '\t', '\u{c}']);
                if c.is_whitespace() || c == '\u{c}' {
                    if let Some(v) = value.strip_prefix(['=', ':']) {
                        value = v.trim_start_matches([' ', '\t', '\u{c}']);
                    }
                } else {
                    value = line[i + 1..].trim_start_matches([' ', '\t', '\u{c}']);
                }
                return (key, value);
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) if hex.len() == 4 => {
                        out.push(decoded);
                        chars.nth(3);
                    }
                    // Java throws on a malformed \u escape; keep the text rather than fail the whole file.
                    _ => out.push_str("\\u"),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PGPASS" => Some("s3cr3t".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn env_variables_are_substituted_anywhere_in_a_value() {
        assert_eq!(resolve_with("${env:PGPASS}", &env).unwrap(), "s3cr3t");
        assert_eq!(resolve_with("a-${env:PGPASS}-${env:EMPTY}b", &env).unwrap(), "a-s3cr3t-b");
        // Not a provider reference: left alone, as Kafka leaves it.
        assert_eq!(resolve_with("cdc.$3 ${novar} ${", &env).unwrap(), "cdc.$3 ${novar} ${");
    }

    #[test]
    fn an_unset_variable_or_unknown_provider_is_an_error() {
        let err = resolve_with("${env:NOPE}", &env).unwrap_err().to_string();
        assert!(err.contains("NOPE"), "{err}");
        let err = resolve_with("${vault:secret/db:password}", &env).unwrap_err().to_string();
        assert!(err.contains("vault"), "{err}");
    }

    #[test]
    fn file_references_read_a_java_properties_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.properties");
        std::fs::write(
            &path,
            "# credentials\n! also a comment\n  user = cdc\npassword=p\\u00e4ss:word\nurl: jdbc\\:x\nlong = a, \\\n   b\nbare\n",
        )
        .unwrap();
        let at = |key: &str| format!("${{file:{}:{key}}}", path.display());
        assert_eq!(resolve_with(&at("user"), &env).unwrap(), "cdc");
        assert_eq!(resolve_with(&at("password"), &env).unwrap(), "päss:word");
        assert_eq!(resolve_with(&at("url"), &env).unwrap(), "jdbc:x");
        assert_eq!(resolve_with(&at("long"), &env).unwrap(), "a, b");
        assert_eq!(resolve_with(&at("bare"), &env).unwrap(), "");

        let err = resolve_with(&at("missing"), &env).unwrap_err().to_string();
        assert!(err.contains("missing") && err.contains("db.properties"), "{err}");
        let err = resolve_with("${file:/nonexistent/x.properties:k}", &env).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/x.properties"), "{err}");
        assert!(matches!(resolve_with("${file:k}", &env), Err(ProviderError::MissingPath { .. })));
    }
}
