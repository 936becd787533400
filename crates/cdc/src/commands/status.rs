//! `cdc status`: what the admin API of a running `cdc` reports, as a table (the same state as
//! `GET /connectors/{name}/status` and `…/offsets`).

use anyhow::{Context, Result};
use cdc_core::config::ConfigError;
use serde_json::Value as Json;

use crate::cli::StatusArgs;
use crate::config::Config;

pub async fn run(config: Config, args: StatusArgs) -> Result<()> {
    let base = match (args.url, config.admin.listen) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(listen)) => format!("http://{listen}"),
        (None, None) => {
            return Err(ConfigError::invalid(
                "admin.listen",
                "cdc status reads the admin API of a running cdc: pass --url http://HOST:PORT or set [admin].listen \
                 (CDC_ADMIN_LISTEN)",
            )
            .into())
        }
    };
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let token = config.admin.token.clone();
    let api = Api { http, base, token };
    let get = |path: String| api.get(path);
    let names = get("/connectors".into()).await?;
    println!("{:<16} {:<7} {:<11} {:<22} {:<14} error", "connector", "type", "state", "worker", "slot lsn");
    for name in names.as_array().into_iter().flatten().filter_map(Json::as_str) {
        let status = get(format!("/connectors/{name}/status")).await?;
        let offsets = get(format!("/connectors/{name}/offsets")).await.unwrap_or(Json::Null);
        let lsn = offsets["offsets"][0]["offset"]["lsn"].as_str().unwrap_or("-").to_owned();
        let trace = status["tasks"][0]["trace"].as_str().and_then(|t| t.lines().next()).unwrap_or("");
        println!(
            "{:<16} {:<7} {:<11} {:<22} {:<14} {trace}",
            name,
            status["type"].as_str().unwrap_or("-"),
            status["connector"]["state"].as_str().unwrap_or("-"),
            status["connector"]["worker_id"].as_str().unwrap_or("-"),
            lsn,
        );
    }
    Ok(())
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<cdc_core::config::Secret>,
}

impl Api {
    async fn get(&self, path: String) -> Result<Json> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response =
            request.send().await.with_context(|| format!("cannot reach the admin API at {}", self.base))?;
        let status = response.status();
        let body: Json = response.json().await.unwrap_or(Json::Null);
        if !status.is_success() {
            anyhow::bail!("{path}: HTTP {status}: {}", body["message"].as_str().unwrap_or("no message"));
        }
        Ok(body)
    }
}
