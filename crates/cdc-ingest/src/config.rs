//! [`IngestConfig`]: the `[ingest]` section of `cdc.toml`, plus the seed's environment variables
//! (`RAPIDAPI_KEY`, `SEARCH_QUERIES`, `SEARCH_LOCATION`, `SCHEDULE_INTERVAL_MINUTES`) through
//! [`IngestConfig::apply_env`]. The binary layers file and environment once; this module only parses and checks.

use std::time::Duration;

use cdc_core::config::{ConfigError, Secret};

pub const DEFAULT_BASE_URL: &str = "https://jsearch.p.rapidapi.com";
pub const DEFAULT_API_HOST: &str = "jsearch.p.rapidapi.com";
pub const DEFAULT_QUERIES: [&str; 1] = ["data engineer"];
pub const DEFAULT_LOCATION: &str = "United States";
pub const DEFAULT_COUNTRY: &str = "us";
pub const DEFAULT_MAX_PAGES: u32 = 3;
/// JSearch's own ceiling for `page`.
pub const MAX_MAX_PAGES: u32 = 100;
pub const DEFAULT_SCHEDULE_INTERVAL_MINUTES: u64 = 60;
pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 1.0;
pub const DEFAULT_MAX_RETRIES: u32 = 5;
pub const DEFAULT_INITIAL_BACKOFF_MS: u64 = 1_000;
pub const DEFAULT_MAX_BACKOFF_MS: u64 = 60_000;
pub const DEFAULT_MAX_RETRY_AFTER_SECS: u64 = 300;
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;

/// JSearch's `date_posted` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatePosted {
    #[default]
    All,
    Today,
    #[serde(rename = "3days")]
    ThreeDays,
    Week,
    Month,
}

impl DatePosted {
    pub fn as_str(self) -> &'static str {
        match self {
            DatePosted::All => "all",
            DatePosted::Today => "today",
            DatePosted::ThreeDays => "3days",
            DatePosted::Week => "week",
            DatePosted::Month => "month",
        }
    }
}

/// JSearch's `employment_types` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EmploymentType {
    Fulltime,
    Parttime,
    Contractor,
    Intern,
}

impl EmploymentType {
    pub fn as_str(self) -> &'static str {
        match self {
            EmploymentType::Fulltime => "FULLTIME",
            EmploymentType::Parttime => "PARTTIME",
            EmploymentType::Contractor => "CONTRACTOR",
            EmploymentType::Intern => "INTERN",
        }
    }
}

/// JSearch ingestion (`[ingest]`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// RapidAPI key sent as `X-RapidAPI-Key` (`RAPIDAPI_KEY`); never logged. Required for API runs.
    pub api_key: Option<Secret>,
    /// Scheme and host of the API; override for tests or an egress proxy. `/search` is appended.
    pub base_url: String,
    /// Sent as `X-RapidAPI-Host`; stays the RapidAPI host even when `base_url` points at a proxy.
    pub api_host: String,
    /// Search terms (`SEARCH_QUERIES`, comma separated); each is sent as `"<query> in <location>"`.
    pub queries: Vec<String>,
    /// Appended to every query as `in <location>` (`SEARCH_LOCATION`); empty sends the query alone.
    pub location: String,
    /// ISO-3166 alpha-2 country code of the job market (`country` parameter).
    pub country: String,
    /// Only jobs posted within this window: `all`, `today`, `3days`, `week`, `month`.
    pub date_posted: DatePosted,
    /// Only these employment types (`FULLTIME`, `PARTTIME`, `CONTRACTOR`, `INTERN`); empty = all.
    pub employment_types: Vec<EmploymentType>,
    /// Only remote jobs (`work_from_home=true`).
    pub remote_only: bool,
    /// Pages (of up to 10 jobs, one request each) fetched per query and run, at most; paging stops earlier at
    /// an empty or short page.
    pub max_pages: u32,
    /// Minutes between the starts of two scheduled runs (`SCHEDULE_INTERVAL_MINUTES`).
    pub schedule_interval_minutes: u64,
    /// Client-side rate limit: requests per second, retries included.
    pub requests_per_second: f64,
    /// Requests allowed per calendar month (UTC), counted from `ingestion_runs`; unset = no budget.
    pub monthly_request_budget: Option<u64>,
    /// Retries of one page after 429, 5xx or a network error, before the query is given up for this run.
    pub max_retries: u32,
    /// First backoff delay; it doubles per retry (with jitter) up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// A 429's `Retry-After` longer than this is not waited out: the query is given up for this run.
    pub max_retry_after_secs: u64,
    /// Timeout of one HTTP request, body included.
    pub request_timeout_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            api_key: None,
            base_url: DEFAULT_BASE_URL.into(),
            api_host: DEFAULT_API_HOST.into(),
            queries: DEFAULT_QUERIES.iter().map(|q| (*q).to_owned()).collect(),
            location: DEFAULT_LOCATION.into(),
            country: DEFAULT_COUNTRY.into(),
            date_posted: DatePosted::default(),
            employment_types: Vec::new(),
            remote_only: false,
            max_pages: DEFAULT_MAX_PAGES,
            schedule_interval_minutes: DEFAULT_SCHEDULE_INTERVAL_MINUTES,
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
            monthly_request_budget: None,
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff_ms: DEFAULT_INITIAL_BACKOFF_MS,
            max_backoff_ms: DEFAULT_MAX_BACKOFF_MS,
            max_retry_after_secs: DEFAULT_MAX_RETRY_AFTER_SECS,
            request_timeout_secs: DEFAULT_REQUEST_TIMEOUT_SECS,
        }
    }
}

impl IngestConfig {
    /// Applies the seed's environment variables over the file's values; `get` is `std::env::var(..).ok()` in
    /// the binary and a map in tests. An unset variable leaves the value alone; a set but unusable one is an
    /// error naming the variable.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(key) = get("RAPIDAPI_KEY") {
            let key = key.trim();
            if key.is_empty() {
                return Err(ConfigError::invalid("RAPIDAPI_KEY", "is set but empty"));
            }
            self.api_key = Some(Secret::new(key));
        }
        if let Some(list) = get("SEARCH_QUERIES") {
            let queries: Vec<String> =
                list.split(',').map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned).collect();
            if queries.is_empty() {
                return Err(ConfigError::invalid(
                    "SEARCH_QUERIES",
                    "holds no query; give a comma-separated list such as \"data engineer,rust developer\"",
                ));
            }
            self.queries = queries;
        }
        if let Some(location) = get("SEARCH_LOCATION") {
            self.location = location.trim().to_owned();
        }
        if let Some(minutes) = get("SCHEDULE_INTERVAL_MINUTES") {
            self.schedule_interval_minutes = match minutes.trim().parse::<u64>() {
                Ok(m) if m >= 1 => m,
                _ => {
                    return Err(ConfigError::invalid(
                        "SCHEDULE_INTERVAL_MINUTES",
                        format!("{minutes:?} is not a whole number of minutes of at least 1"),
                    ))
                }
            };
        }
        Ok(())
    }

    /// Checks every value; `path` is the section's key path (`ingest`) used in the error.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let key = |name: &str| format!("{path}.{name}");
        match &self.api_key {
            Some(k) if k.expose().trim().is_empty() => {
                return Err(ConfigError::invalid(key("api_key"), "is empty: set RAPIDAPI_KEY"))
            }
            // Checked here so that the key is never sent mangled (and never echoed in the error).
            Some(k) if !k.expose().bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(ConfigError::invalid(
                    key("api_key"),
                    "contains spaces, control or non-ASCII characters, which an HTTP header cannot carry; \
                     check RAPIDAPI_KEY for a stray newline or quote",
                ))
            }
            Some(_) => {}
            None => return Err(ConfigError::invalid(key("api_key"), "is required: set RAPIDAPI_KEY")),
        }
        match reqwest::Url::parse(&self.base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => {
                return Err(ConfigError::invalid(
                    key("base_url"),
                    format!("{:?} is not an http(s) URL", self.base_url),
                ))
            }
        }
        if self.api_host.trim().is_empty() {
            return Err(ConfigError::invalid(key("api_host"), "must not be empty"));
        }
        if self.queries.is_empty() {
            return Err(ConfigError::invalid(key("queries"), "must hold at least one query"));
        }
        if let Some(i) = self.queries.iter().position(|q| q.trim().is_empty()) {
            return Err(ConfigError::invalid(format!("{path}.queries[{i}]"), "must not be empty"));
        }
        if self.country.len() != 2 || !self.country.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ConfigError::invalid(
                key("country"),
                "must be a two-letter ISO-3166 code such as \"us\"",
            ));
        }
        if !(1..=MAX_MAX_PAGES).contains(&self.max_pages) {
            return Err(ConfigError::invalid(key("max_pages"), format!("must be 1-{MAX_MAX_PAGES}")));
        }
        if self.schedule_interval_minutes == 0 {
            return Err(ConfigError::invalid(key("schedule_interval_minutes"), "must be at least 1"));
        }
        if !(self.requests_per_second.is_finite() && self.requests_per_second > 0.0) {
            return Err(ConfigError::invalid(key("requests_per_second"), "must be a number above 0"));
        }
        if self.monthly_request_budget == Some(0) {
            return Err(ConfigError::invalid(key("monthly_request_budget"), "must be at least 1, or unset"));
        }
        if self.initial_backoff_ms == 0 || self.max_backoff_ms < self.initial_backoff_ms {
            return Err(ConfigError::invalid(
                key("initial_backoff_ms"),
                "must be at least 1 and at most max_backoff_ms",
            ));
        }
        if self.request_timeout_secs == 0 {
            return Err(ConfigError::invalid(key("request_timeout_secs"), "must be at least 1"));
        }
        Ok(())
    }

    /// The `query` parameter for one configured query: `"<query> in <location>"`.
    pub fn search_text(&self, query: &str) -> String {
        let query = query.trim();
        let location = self.location.trim();
        if location.is_empty() {
            query.to_owned()
        } else {
            format!("{query} in {location}")
        }
    }

    pub fn schedule_interval(&self) -> Duration {
        Duration::from_secs(self.schedule_interval_minutes.saturating_mul(60))
    }
}
