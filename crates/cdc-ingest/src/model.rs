//! JSearch response bodies → [`Job`] rows: envelope checks, the lenient field mapping, and the content
//! fingerprint that decides whether a re-seen job changed.
//!
//! Pure functions over `serde_json::Value`; nothing here panics on any input.
//!
//! Field policy: every API field is optional (`fields=` projections drop any of them). A field of the wrong
//! JSON type is stored as NULL and counted in [`Job::invalid_fields`]; the item itself is kept, since its
//! `job_id` and raw JSON are still good. An item is skipped only when it has no usable `job_id` or is not an
//! object. Both the 2025 shape and the legacy (to mid-2024) shape map to the same columns.
//!
//! Fingerprint: SHA-256 over the item's canonical JSON (keys sorted at every level, NUL characters removed)
//! without [`VOLATILE_FIELDS`]. The relative `job_posted_at` text ("17 hours ago") changes every day while
//! the posting does not; leaving it out is what lets an unchanged job only bump `last_seen_at`.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Fields left out of the content fingerprint because they change without the posting changing.
pub const VOLATILE_FIELDS: [&str; 1] = ["job_posted_at"];

/// A full JSearch page holds this many jobs; a shorter page is the last one.
pub const PAGE_SIZE: usize = 10;

/// Longest `job_id` accepted (real ids are 24 characters).
pub const MAX_JOB_ID_LEN: usize = 255;

/// Salaries at or above this do not fit `NUMERIC(12,2)` and are stored as NULL.
const MAX_SALARY: f64 = 1e10;

use crate::error::MalformedBody;

/// One job, mapped to `linkedin_jobs` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub job_id: String,
    pub job_title: Option<String>,
    pub company_name: Option<String>,
    pub location: Option<String>,
    pub job_description: Option<String>,
    pub employment_type: Option<String>,
    pub employment_types: Option<Value>,
    /// Unix seconds of `job_posted_at_timestamp` (or the parsed `job_posted_at_datetime_utc`).
    pub posted_at_unix: Option<i64>,
    /// Exact decimal text as the API sent it.
    pub salary_min: Option<String>,
    pub salary_max: Option<String>,
    /// The single `job_salary` figure some postings carry instead of a range.
    pub salary_amount: Option<String>,
    pub salary_currency: Option<String>,
    pub salary_period: Option<String>,
    pub remote_allowed: Option<bool>,
    pub application_url: Option<String>,
    pub apply_is_direct: Option<bool>,
    pub company_logo_url: Option<String>,
    pub company_website: Option<String>,
    pub publisher: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub benefits: Option<Value>,
    pub highlights: Option<Value>,
    pub google_link: Option<String>,
    pub onet_soc: Option<String>,
    pub onet_job_zone: Option<String>,
    /// The item as received (NUL characters removed, which PostgreSQL cannot store).
    pub raw: Value,
    /// Hex SHA-256 of the canonical item without volatile fields.
    pub fingerprint: String,
    /// Fields present with a JSON type that does not fit, stored as NULL.
    pub invalid_fields: Vec<&'static str>,
}

/// Why an item was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    NotAnObject { found: &'static str },
    MissingJobId,
    JobIdNotAString { found: &'static str },
    EmptyJobId,
    JobIdTooLong { len: usize },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NotAnObject { found } => write!(f, "the item is {found}, not an object"),
            SkipReason::MissingJobId => f.write_str("job_id is missing"),
            SkipReason::JobIdNotAString { found } => write!(f, "job_id is {found}, not a string"),
            SkipReason::EmptyJobId => f.write_str("job_id is empty"),
            SkipReason::JobIdTooLong { len } => {
                write!(f, "job_id is {len} characters long (max {MAX_JOB_ID_LEN})")
            }
        }
    }
}

/// The JSON type of `v`, for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The items of a 200 response body, or why the body is unusable.
pub fn parse_page(body: &[u8]) -> Result<Vec<Value>, MalformedBody> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| MalformedBody::NotJson { detail: e.to_string() })?;
    let Value::Object(mut envelope) = value else {
        return Err(MalformedBody::NotAnObject);
    };
    if let Some(status) = envelope.get("status").and_then(Value::as_str) {
        if !status.eq_ignore_ascii_case("OK") {
            let message = envelope
                .get("error")
                .and_then(|e| e.get("message"))
                .or_else(|| envelope.get("message"))
                .and_then(Value::as_str)
                .unwrap_or(status);
            return Err(MalformedBody::ProviderError { message: message.chars().take(200).collect() });
        }
    }
    match envelope.remove("data") {
        None => Err(MalformedBody::MissingData),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(MalformedBody::DataNotArray { found: json_kind(&other) }),
    }
}

/// The envelope's `parameters.query`, for saved response files.
pub fn envelope_query(body: &[u8]) -> Option<String> {
    let envelope: Value = serde_json::from_slice(body).ok()?;
    envelope.get("parameters")?.get("query")?.as_str().map(str::to_owned)
}

/// Maps one item of `data`.
pub fn map_item(mut item: Value) -> Result<Job, SkipReason> {
    strip_nul(&mut item);
    let Value::Object(obj) = &item else {
        return Err(SkipReason::NotAnObject { found: json_kind(&item) });
    };
    let job_id = match obj.get("job_id") {
        None => return Err(SkipReason::MissingJobId),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(SkipReason::EmptyJobId),
        Some(Value::String(s)) if s.chars().count() > MAX_JOB_ID_LEN => {
            return Err(SkipReason::JobIdTooLong { len: s.chars().count() })
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(SkipReason::JobIdNotAString { found: json_kind(other) }),
    };
    let mut f = Fields { obj, invalid: Vec::new() };

    let city = f.string("job_city");
    let state = f.string("job_state");
    let country = f.string("job_country");
    let location = f.string("job_location").or_else(|| {
        let parts: Vec<&str> = [&city, &state, &country].into_iter().flatten().map(String::as_str).collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    });
    let salary_min = f.salary("job_min_salary");
    let salary_max = f.salary("job_max_salary");
    let salary_amount = f.salary("job_salary");
    let has_salary = salary_min.is_some() || salary_max.is_some() || salary_amount.is_some();
    let salary_currency = match f.string("job_salary_currency") {
        Some(c) => Some(c),
        None if has_salary => country.as_deref().and_then(currency_of_country).map(str::to_owned),
        None => None,
    };
    let posted_at_unix = match f.integer("job_posted_at_timestamp") {
        Some(ts) => Some(ts),
        None => f
            .string("job_posted_at_datetime_utc")
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok().map(|t| t.timestamp())),
    };
    let employment_types = f.string_array("job_employment_types");
    let benefits = f.string_array("job_benefits");
    let highlights = f.object("job_highlights");

    let job = Job {
        job_id,
        job_title: f.string("job_title"),
        company_name: f.string("employer_name"),
        location,
        job_description: f.string("job_description"),
        employment_type: f.string("job_employment_type"),
        employment_types,
        posted_at_unix,
        salary_min,
        salary_max,
        salary_amount,
        salary_currency,
        salary_period: f.string("job_salary_period"),
        remote_allowed: f.boolean("job_is_remote"),
        application_url: f.string("job_apply_link"),
        apply_is_direct: f.boolean("job_apply_is_direct"),
        company_logo_url: f.string("employer_logo"),
        company_website: f.string("employer_website"),
        publisher: f.string("job_publisher"),
        city,
        state,
        country,
        latitude: f.coordinate("job_latitude", 90.0),
        longitude: f.coordinate("job_longitude", 180.0),
        benefits,
        highlights,
        google_link: f.string("job_google_link"),
        onet_soc: f.string("job_onet_soc"),
        onet_job_zone: f.string("job_onet_job_zone"),
        fingerprint: String::new(),
        invalid_fields: f.invalid,
        raw: Value::Null,
    };
    Ok(Job { fingerprint: fingerprint(&item), raw: item, ..job })
}

/// Typed, lenient access to an item's fields; wrong types become `None` and are remembered.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    invalid: Vec<&'static str>,
}

impl Fields<'_> {
    /// `Some(v)` for a present non-null field, `None` for absent or null.
    fn get(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn typed<T>(&mut self, key: &'static str, convert: impl FnOnce(&Value) -> Option<T>) -> Option<T> {
        let v = self.get(key)?;
        let out = convert(v);
        if out.is_none() {
            self.invalid.push(key);
        }
        out
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        self.typed(key, |v| v.as_str().map(str::to_owned))
    }

    fn boolean(&mut self, key: &'static str) -> Option<bool> {
        self.typed(key, Value::as_bool)
    }

    fn integer(&mut self, key: &'static str) -> Option<i64> {
        self.typed(key, |v| {
            v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e15).map(|f| f as i64))
        })
    }

    /// A salary figure as exact decimal text, when it is a finite number in range.
    fn salary(&mut self, key: &'static str) -> Option<String> {
        self.typed(key, |v| match v {
            Value::Number(n) if n.as_f64().is_some_and(|f| f.is_finite() && f.abs() < MAX_SALARY) => {
                Some(n.to_string())
            }
            _ => None,
        })
    }

    fn coordinate(&mut self, key: &'static str, limit: f64) -> Option<f64> {
        self.typed(key, |v| v.as_f64().filter(|f| f.is_finite() && f.abs() <= limit))
    }

    fn string_array(&mut self, key: &'static str) -> Option<Value> {
        self.typed(key, |v| match v {
            Value::Array(items) if items.iter().all(Value::is_string) => Some(v.clone()),
            _ => None,
        })
    }

    fn object(&mut self, key: &'static str) -> Option<Value> {
        self.typed(key, |v| v.is_object().then(|| v.clone()))
    }
}

/// ISO-4217 currency of a job market, for the 2025 shape that no longer sends `job_salary_currency`.
pub fn currency_of_country(country: &str) -> Option<&'static str> {
    let code = country.trim().to_ascii_uppercase();
    let currency = match code.as_str() {
        "US" | "PR" | "EC" | "SV" => "USD",
        "CA" => "CAD",
        "GB" => "GBP",
        "AT" | "BE" | "CY" | "DE" | "EE" | "ES" | "FI" | "FR" | "GR" | "HR" | "IE" | "IT" | "LT" | "LU"
        | "LV" | "MT" | "NL" | "PT" | "SI" | "SK" => "EUR",
        "AU" => "AUD",
        "NZ" => "NZD",
        "IN" => "INR",
        "SG" => "SGD",
        "CH" => "CHF",
        "SE" => "SEK",
        "NO" => "NOK",
        "DK" => "DKK",
        "PL" => "PLN",
        "JP" => "JPY",
        "BR" => "BRL",
        "MX" => "MXN",
        "ZA" => "ZAR",
        "AE" => "AED",
        "IL" => "ILS",
        _ => return None,
    };
    Some(currency)
}

/// Hex SHA-256 of the canonical form of `item` without [`VOLATILE_FIELDS`] at the top level.
pub fn fingerprint(item: &Value) -> String {
    let mut canonical = String::new();
    match item {
        Value::Object(obj) => {
            let kept: Map<String, Value> = obj
                .iter()
                .filter(|(k, _)| !VOLATILE_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            write_canonical(&Value::Object(kept), &mut canonical);
        }
        other => write_canonical(other, &mut canonical),
    }
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level, so that key order never counts as a change.
fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(obj) => {
            let mut keys: Vec<&String> = obj.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(child) = obj.get(k) {
                    write_canonical(child, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Removes U+0000 from every string and key: PostgreSQL's text and jsonb cannot hold it.
fn strip_nul(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(obj) => {
            if obj.keys().any(|k| k.contains('\0')) {
                let entries: Vec<(String, Value)> = std::mem::take(obj).into_iter().collect();
                for (k, v) in entries {
                    obj.insert(k.replace('\0', ""), v);
                }
            }
            obj.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fingerprint_ignores_key_order_and_the_relative_posted_text() {
        let a = json!({"job_id": "a", "job_title": "X", "job_posted_at": "1 day ago", "h": {"b": 1, "a": 2}});
        let b =
            json!({"h": {"a": 2, "b": 1}, "job_posted_at": "2 days ago", "job_title": "X", "job_id": "a"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = json!({"job_id": "a", "job_title": "Y", "job_posted_at": "1 day ago", "h": {"b": 1, "a": 2}});
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn wrong_types_become_null_and_are_counted() {
        let job = map_item(json!({
            "job_id": "id1", "job_title": 42, "job_is_remote": "yes", "job_min_salary": "120k",
            "job_max_salary": [1], "job_latitude": "30.1", "job_benefits": "dental", "job_highlights": [],
        }))
        .expect("item with a valid id is kept");
        assert_eq!(job.job_title, None);
        assert_eq!(job.remote_allowed, None);
        assert_eq!((job.salary_min, job.salary_max), (None, None));
        assert_eq!(job.invalid_fields.len(), 7);
    }

    #[test]
    fn nul_characters_are_removed_before_storage() {
        let job = map_item(json!({"job_id": "id\u{0}2", "job_title": "a\u{0}b"})).expect("kept");
        assert_eq!(job.job_id, "id2");
        assert_eq!(job.job_title.as_deref(), Some("ab"));
    }

    #[test]
    fn items_without_a_usable_job_id_are_skipped_with_a_reason() {
        assert_eq!(map_item(json!({"x": 1})), Err(SkipReason::MissingJobId));
        assert_eq!(map_item(json!({"job_id": null})), Err(SkipReason::JobIdNotAString { found: "null" }));
        assert_eq!(map_item(json!({"job_id": " "})), Err(SkipReason::EmptyJobId));
        assert_eq!(map_item(json!("s")), Err(SkipReason::NotAnObject { found: "a string" }));
        assert_eq!(map_item(json!({"job_id": "x".repeat(300)})), Err(SkipReason::JobIdTooLong { len: 300 }));
    }

    #[test]
    fn salary_currency_comes_from_the_country_only_when_there_is_a_salary() {
        let paid = map_item(json!({"job_id": "a", "job_country": "US", "job_min_salary": 1})).expect("kept");
        assert_eq!(paid.salary_currency.as_deref(), Some("USD"));
        let unpaid = map_item(json!({"job_id": "b", "job_country": "US"})).expect("kept");
        assert_eq!(unpaid.salary_currency, None);
    }
}
