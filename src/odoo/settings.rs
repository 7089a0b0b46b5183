//! What the client needs to reach one Odoo database.
//!
//! A plain struct: the config layer maps the TOML `[odoo]` table into it, tests build it by
//! hand with [`Settings::new`]. Nothing here does I/O.

use secrecy::SecretString;
use std::time::Duration;

/// Which wire protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// JSON-2 when the server has it and the secret is an API key, else JSON-RPC.
    #[default]
    Auto,
    /// `POST /json/2/<model>/<method>` (Odoo saas-18.4 / 19+).
    Json2,
    /// `POST /jsonrpc`, `object.execute_kw`.
    JsonRpc,
    /// `POST /xmlrpc/2/object`, `execute_kw`.
    XmlRpc,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Auto => "auto",
            Protocol::Json2 => "json2",
            Protocol::JsonRpc => "jsonrpc",
            Protocol::XmlRpc => "xmlrpc",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "auto" => Ok(Protocol::Auto),
            "json2" => Ok(Protocol::Json2),
            "jsonrpc" => Ok(Protocol::JsonRpc),
            "xmlrpc" => Ok(Protocol::XmlRpc),
            other => Err(format!(
                "unknown Odoo protocol {other:?} (expected auto, json2, jsonrpc or xmlrpc)"
            )),
        }
    }
}

/// What the secret is. JSON-2 only accepts API keys (a password as bearer is a 401), so `auto`
/// needs to know; JSON-RPC and XML-RPC accept either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretKind {
    /// An API key (Preferences → Account Security). The recommended choice from Odoo 14 on.
    #[default]
    ApiKey,
    /// The user's password: JSON-RPC / XML-RPC only.
    Password,
}

/// Backoff for **reads** only; writes are never retried (see `error.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first one (1 = no retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // Odoo already retries serialization failures 5 times server-side; a few client
        // attempts with a generous cap ride out a worker restart or a proxy blip.
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the Odoo server, e.g. `https://erp.example.com` (a path prefix is kept).
    pub url: String,
    pub database: String,
    pub login: String,
    /// API key (or password, see [`SecretKind`]). Never logged.
    pub secret: SecretString,
    pub secret_kind: SecretKind,
    pub protocol: Protocol,
    /// Whole-call timeout (connect + send + Odoo's work + reading the answer).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Calls in flight at once against this Odoo; Odoo's workers are the scarce resource.
    pub max_concurrency: usize,
    /// Rows per page for paged reads. 2,000 costs ~25 % over one page on a real Odoo 19;
    /// 500 doubles the time (briefs/odoo-api.md).
    pub batch_size: usize,
    /// Products per `stock.quant` read in [`crate::odoo::OdooClient::stock_levels`]: 5,000 keeps
    /// 10,000 SKUs at ≤ 3 calls while bounding the size of one answer.
    pub stock_product_batch: usize,
    pub retry: RetryPolicy,
    pub user_agent: String,
}

impl Settings {
    /// Settings with every tunable at its default.
    pub fn new(
        url: impl Into<String>,
        database: impl Into<String>,
        login: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        Settings {
            url: url.into(),
            database: database.into(),
            login: login.into(),
            secret,
            secret_kind: SecretKind::default(),
            protocol: Protocol::default(),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            max_concurrency: 4,
            batch_size: 2000,
            stock_product_batch: 5000,
            retry: RetryPolicy::default(),
            user_agent: format!("odoo-channels/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Every problem at once, so `check` can print them together.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        match url::Url::parse(self.url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(u) => problems.push(format!(
                "odoo.url {:?}: expected an http:// or https:// URL with a host, got scheme {:?}",
                self.url,
                u.scheme()
            )),
            Err(e) => problems.push(format!("odoo.url {:?} is not a URL: {e}", self.url)),
        }
        if self.database.trim().is_empty() {
            problems.push("odoo.database is empty".into());
        }
        if self.login.trim().is_empty() {
            problems.push("odoo.login is empty".into());
        }
        if secrecy::ExposeSecret::expose_secret(&self.secret).is_empty() {
            problems.push("odoo secret (API key or password) is empty".into());
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            problems.push("odoo timeouts must be greater than zero".into());
        }
        if self.max_concurrency == 0 {
            problems.push("odoo.max_concurrency must be at least 1".into());
        }
        if self.batch_size == 0 || self.stock_product_batch == 0 {
            problems.push("odoo batch sizes must be at least 1".into());
        }
        if self.retry.max_attempts == 0 {
            problems.push("odoo.retry.max_attempts must be at least 1".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_problems_are_listed_together() {
        let s = Settings::new("http://odoo:8069", "db", "admin", SecretString::from("k"));
        assert!(s.validate().is_ok());
        let mut bad = s.clone();
        bad.url = "odoo:8069".into();
        bad.database.clear();
        bad.batch_size = 0;
        let problems = bad.validate().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn protocol_parses_what_people_write() {
        assert_eq!("JSON-2".parse::<Protocol>(), Ok(Protocol::Json2));
        assert_eq!("json_rpc".parse::<Protocol>(), Ok(Protocol::JsonRpc));
        assert_eq!("xmlrpc".parse::<Protocol>(), Ok(Protocol::XmlRpc));
        assert!("soap".parse::<Protocol>().is_err());
    }
}
