//! The JSearch HTTP client: one `GET /search` per page, paced by a client-side rate limit, retried on 429,
//! 5xx and network errors, and stopped at once on 401/403.
//!
//! ```text
//! fetch_page ─▶ budget ─▶ pacer (requests_per_second) ─▶ GET ─┬─ 200 ───────────────▶ body
//!     ▲                                                         ├─ 401/403 ───────────▶ Unauthorized (ends the run)
//!     │                                                         ├─ 429, remaining = 0 ─▶ QuotaExhausted (ends the run)
//!     └── wait: Retry-After, else exponential backoff + jitter ◀┼─ 429, 408, 5xx, network error
//!                                                               └─ other 4xx ─────────▶ Rejected (ends the query)
//! ```
//!
//! RapidAPI reports the monthly quota in `x-ratelimit-requests-remaining` (and `-reset`, in seconds); a 429
//! with `remaining: 0` is the monthly quota, not the per-second limit, and waiting seconds cannot help. Real
//! RapidAPI 429s often carry no `Retry-After`, so the backoff applies then too. The API key travels only in a
//! header marked sensitive: never in a URL, a log line or an error.

use std::time::Duration;

use cdc_core::config::Secret;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use tokio::time::Instant;

use crate::config::IngestConfig;
use crate::error::{excerpt, IngestError, PageRef};

/// A page body received with a 200.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub body: Vec<u8>,
}

pub(crate) struct JsearchClient {
    http: reqwest::Client,
    search_url: reqwest::Url,
    key: Secret,
    host: String,
    fixed_params: Vec<(&'static str, String)>,
    pacer: Pacer,
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    /// `monthly_request_budget` and the requests recorded this month before this run.
    budget: Option<(u64, u64)>,
    /// Requests sent by this client, retries included.
    requests: u64,
    /// The last `x-ratelimit-requests-remaining` seen.
    quota_remaining: Option<u64>,
}

impl std::fmt::Debug for JsearchClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsearchClient").field("search_url", &self.search_url.as_str()).finish_non_exhaustive()
    }
}

/// What one attempt ended with.
enum Attempt {
    Done(Fetched),
    Retry { wait: Option<Duration>, last: IngestError },
    Fail(IngestError),
}

impl JsearchClient {
    /// `used_this_month`: requests already recorded this month, for `monthly_request_budget`.
    pub fn new(cfg: &IngestConfig, used_this_month: u64) -> Result<JsearchClient, IngestError> {
        let key = cfg
            .api_key
            .clone()
            .filter(|k| !k.expose().trim().is_empty())
            .ok_or(IngestError::MissingApiKey)?;
        let invalid = |reason: &str| {
            IngestError::Config(cdc_core::config::ConfigError::invalid("ingest.base_url", reason.to_owned()))
        };
        let mut search_url = reqwest::Url::parse(&cfg.base_url).map_err(|_| invalid("is not a URL"))?;
        let path = format!("{}/search", search_url.path().trim_end_matches('/'));
        search_url.set_path(&path);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.request_timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.request_timeout_secs.min(10)))
            .user_agent(concat!("cdc-pipeline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(IngestError::HttpClient)?;
        let mut fixed_params = vec![
            ("num_pages", "1".to_owned()),
            ("date_posted", cfg.date_posted.as_str().to_owned()),
            ("country", cfg.country.to_ascii_lowercase()),
        ];
        if !cfg.employment_types.is_empty() {
            let types: Vec<&str> = cfg.employment_types.iter().map(|t| t.as_str()).collect();
            fixed_params.push(("employment_types", types.join(",")));
        }
        if cfg.remote_only {
            fixed_params.push(("work_from_home", "true".to_owned()));
        }
        Ok(JsearchClient {
            http,
            search_url,
            key,
            host: cfg.api_host.clone(),
            fixed_params,
            pacer: Pacer::new(cfg.requests_per_second),
            max_retries: cfg.max_retries,
            initial_backoff: Duration::from_millis(cfg.initial_backoff_ms),
            max_backoff: Duration::from_millis(cfg.max_backoff_ms),
            max_retry_after: Duration::from_secs(cfg.max_retry_after_secs),
            budget: cfg.monthly_request_budget.map(|b| (b, used_this_month)),
            requests: 0,
            quota_remaining: None,
        })
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The monthly quota left, as last reported by RapidAPI.
    pub fn quota_remaining(&self) -> Option<u64> {
        self.quota_remaining
    }

    /// Fetches one page, retrying what can be retried. Cancel-safe: dropping the future abandons the request.
    pub async fn fetch_page(&mut self, query: &str, page: u32) -> Result<Fetched, IngestError> {
        let at = PageRef::Api { query: query.to_owned(), page };
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.check_quota(&at)?;
            self.pacer.wait().await;
            self.requests += 1;
            let outcome = match self.send(query, page).await {
                Ok(response) => self.classify(response, &at, attempt).await,
                Err(source) => Attempt::Retry {
                    wait: None,
                    last: IngestError::Network { at: at.clone(), attempts: attempt, source },
                },
            };
            match outcome {
                Attempt::Done(fetched) => return Ok(fetched),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry { last, .. } if attempt > self.max_retries => return Err(last),
                Attempt::Retry { wait, last } => {
                    let delay = wait.unwrap_or_else(|| self.backoff(attempt));
                    tracing::warn!(
                        query, page, attempt, delay_ms = delay.as_millis() as u64, error = %last,
                        "jsearch request failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Refuses to send once the monthly budget is used up or RapidAPI reported no quota left.
    fn check_quota(&self, at: &PageRef) -> Result<(), IngestError> {
        if let Some((budget, used_before)) = self.budget {
            let used = used_before + self.requests;
            if used >= budget {
                return Err(IngestError::BudgetExhausted { at: at.clone(), budget, used });
            }
        }
        if self.quota_remaining == Some(0) {
            return Err(IngestError::QuotaExhausted { at: at.clone(), reset_in: None });
        }
        Ok(())
    }

    async fn send(&self, query: &str, page: u32) -> Result<reqwest::Response, reqwest::Error> {
        let mut key =
            HeaderValue::from_str(self.key.expose()).unwrap_or_else(|_| HeaderValue::from_static(""));
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("x-rapidapi-key", key);
        if let Ok(host) = HeaderValue::from_str(&self.host) {
            headers.insert("x-rapidapi-host", host);
        }
        let page = page.to_string();
        let mut params: Vec<(&str, &str)> = vec![("query", query), ("page", &page)];
        params.extend(self.fixed_params.iter().map(|(k, v)| (*k, v.as_str())));
        self.http.get(self.search_url.clone()).headers(headers).query(&params).send().await
    }

    async fn classify(&mut self, response: reqwest::Response, at: &PageRef, attempt: u32) -> Attempt {
        let status = response.status();
        let headers = response.headers().clone();
        let remaining = header_u64(&headers, "x-ratelimit-requests-remaining");
        if remaining.is_some() {
            self.quota_remaining = remaining;
        }
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(source) => {
                let last = IngestError::Network { at: at.clone(), attempts: attempt, source };
                return Attempt::Retry { wait: None, last };
            }
        };
        let secret = self.key.expose();
        match status {
            s if s.is_success() => Attempt::Done(Fetched { body }),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Attempt::Fail(IngestError::Unauthorized {
                status: status.as_u16(),
                at: at.clone(),
                message: error_message(&body, secret),
            }),
            StatusCode::TOO_MANY_REQUESTS if remaining == Some(0) => {
                Attempt::Fail(IngestError::QuotaExhausted {
                    at: at.clone(),
                    reset_in: header_u64(&headers, "x-ratelimit-requests-reset").map(Duration::from_secs),
                })
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after = retry_after(&headers);
                let last = IngestError::RateLimited { at: at.clone(), attempts: attempt, retry_after };
                match retry_after {
                    Some(wait) if wait > self.max_retry_after => Attempt::Fail(last),
                    wait => Attempt::Retry { wait, last },
                }
            }
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => Attempt::Retry {
                wait: None,
                last: IngestError::Server {
                    at: at.clone(),
                    status: s.as_u16(),
                    attempts: attempt,
                    excerpt: excerpt(&body, secret),
                },
            },
            s => Attempt::Fail(IngestError::Rejected {
                at: at.clone(),
                status: s.as_u16(),
                message: error_message(&body, secret),
            }),
        }
    }

    /// Exponential backoff with jitter: between half and all of `initial · 2^(attempt-1)`, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.initial_backoff.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_backoff);
        capped.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// The message of a gateway (`{"message"}`) or provider (`{"error": {"message"}}`) error body, else an excerpt.
fn error_message(body: &[u8], secret: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.get("message").or_else(|| v.get("error").and_then(|e| e.get("message"))).and_then(|m| m.as_str())
    });
    match message {
        Some(m) => excerpt(m.as_bytes(), secret),
        None => excerpt(body, secret),
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` as delta-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (at.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(secs.unsigned_abs()))
}

/// Spaces requests at least `1 / requests_per_second` apart.
struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    fn new(requests_per_second: f64) -> Pacer {
        let interval = if requests_per_second.is_finite() && requests_per_second > 0.0 {
            Duration::from_secs_f64((1.0 / requests_per_second).min(3600.0))
        } else {
            Duration::from_secs(1)
        };
        Pacer { interval, next: None }
    }

    async fn wait(&mut self) {
        if let Some(next) = self.next {
            tokio::time::sleep_until(next).await;
        }
        self.next = Some(Instant::now() + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn error_messages_are_taken_from_both_error_shapes_and_never_echo_the_key() {
        assert_eq!(error_message(br#"{"message":"Invalid API key."}"#, "sk-123"), "Invalid API key.");
        assert_eq!(
            error_message(br#"{"status":"ERROR","error":{"message":"bad date"}}"#, "sk-123"),
            "bad date"
        );
        assert_eq!(error_message(b"<html>echo sk-123</html>", "sk-123"), "<html>echo ***</html>");
    }
}
