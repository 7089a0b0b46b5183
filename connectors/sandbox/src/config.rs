//! The `[channels.connection]` table of a sandbox channel, plus its secrets.
//!
//! ```toml
//! [[channels]]
//! id = "sandbox"
//! kind = "sandbox"
//! [channels.connection]
//! base_url = "http://127.0.0.1:8089"
//! page_size = 100
//! timeout_ms = 30000
//! [channels.connection.rate_limits."inventory.write"]
//! rate_per_sec = 9.0
//! burst = 18.0
//! [channels.secrets]          # resolved by the daemon, handed over as ConnectorSecrets
//! token = { env = "SANDBOX_TOKEN" }
//! webhook_secret = { env = "SANDBOX_WEBHOOK_SECRET" }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use channels_core::{ChannelError, ConnectorSecrets, Limit, RetryPolicy};
use secrecy::SecretString;
use serde::Deserialize;

/// The operations the sandbox meters, as the client names them (same names as the server).
pub const OPERATIONS: &[&str] = &[
    "orders.list",
    "orders.get",
    "inventory.read",
    "inventory.write",
    "prices.write",
    "listings.write",
    "shipments.create",
    "orders.cancel",
    "returns.list",
    "settlements.list",
];

/// The marketplace's documented limits (requests/s, burst), the way a real connector carries
/// its marketplace's published numbers.
pub fn documented_limits() -> BTreeMap<String, Limit> {
    let l = Limit::new;
    [
        ("orders.list", l(20.0, 40.0)),
        ("orders.get", l(20.0, 40.0)),
        ("inventory.read", l(20.0, 40.0)),
        ("inventory.write", l(10.0, 20.0)),
        ("prices.write", l(10.0, 20.0)),
        ("listings.write", l(10.0, 20.0)),
        ("shipments.create", l(10.0, 20.0)),
        ("orders.cancel", l(10.0, 20.0)),
        ("returns.list", l(10.0, 20.0)),
        ("settlements.list", l(5.0, 10.0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// We run a little under the marketplace's limit: the server measures arrival times, we
/// measure send times, and network jitter must not turn into 429s.
pub const SAFETY_MARGIN: f64 = 0.9;

pub fn with_margin(l: Limit) -> Limit {
    Limit::new(
        l.rate_per_sec * SAFETY_MARGIN,
        (l.burst * SAFETY_MARGIN).floor().max(1.0),
    )
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connection {
    pub base_url: String,
    /// Orders/returns/settlements per page (1..=250).
    pub page_size: u32,
    /// Whole-request timeout. A write that times out is *ambiguous*.
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Overrides of the documented limits, per operation (exact values: no margin applied).
    pub rate_limits: BTreeMap<String, Limit>,
    /// Items per bulk request (1..=100).
    pub max_batch: usize,
    pub retry: RetrySettings,
    /// Accepted age of a webhook's signed timestamp.
    pub webhook_window_secs: u64,
    /// Largest webhook body accepted.
    pub webhook_max_body: usize,
}

impl Default for Connection {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            page_size: 100,
            timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
            rate_limits: BTreeMap::new(),
            max_batch: 100,
            retry: RetrySettings::default(),
            webhook_window_secs: 300,
            webhook_max_body: channels_core::webhook::DEFAULT_MAX_BODY,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySettings {
    pub max_attempts: u32,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_retry_after_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        let p = RetryPolicy::default();
        Self {
            max_attempts: p.max_attempts,
            min_delay_ms: p.min_delay.as_millis() as u64,
            max_delay_ms: p.max_delay.as_millis() as u64,
            max_retry_after_ms: p.max_retry_after.as_millis() as u64,
        }
    }
}

impl RetrySettings {
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            min_delay: Duration::from_millis(self.min_delay_ms),
            max_delay: Duration::from_millis(self.max_delay_ms.max(self.min_delay_ms)),
            max_retry_after: Duration::from_millis(self.max_retry_after_ms),
            jitter: true,
        }
    }
}

/// Everything a [`crate::SandboxChannel`] needs.
#[derive(Debug)]
pub struct SandboxConfig {
    pub connection: Connection,
    pub token: SecretString,
    /// Without it the channel cannot verify webhooks (and says so in its capabilities).
    pub webhook_secret: Option<SecretString>,
}

impl SandboxConfig {
    pub fn new(
        base_url: impl Into<String>,
        token: SecretString,
        webhook_secret: Option<SecretString>,
    ) -> Self {
        Self {
            connection: Connection {
                base_url: base_url.into(),
                ..Connection::default()
            },
            token,
            webhook_secret,
        }
    }

    /// From the connection table (JSON) and the resolved secrets `token`, `webhook_secret`.
    pub fn from_parts(
        connection: &serde_json::Value,
        secrets: &ConnectorSecrets,
    ) -> Result<Self, ChannelError> {
        let connection: Connection = serde_json::from_value(connection.clone())
            .map_err(|e| ChannelError::Config(format!("sandbox connection: {e}")))?;
        let cfg = Self {
            connection,
            token: secrets.require("token")?.clone(),
            webhook_secret: secrets.get("webhook_secret").cloned(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Every problem at once, so a person fixes the file in one go.
    pub fn validate(&self) -> Result<(), ChannelError> {
        let c = &self.connection;
        let mut problems = Vec::new();
        match url::Url::parse(&c.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(_) => problems.push("base_url must be http(s)".to_string()),
            Err(e) => problems.push(format!("base_url {:?}: {e}", c.base_url)),
        }
        if !(1..=250).contains(&c.page_size) {
            problems.push("page_size must be 1..=250".into());
        }
        if !(1..=100).contains(&c.max_batch) {
            problems.push("max_batch must be 1..=100".into());
        }
        if c.timeout_ms == 0 {
            problems.push("timeout_ms must be positive".into());
        }
        for (op, l) in &c.rate_limits {
            if !OPERATIONS.contains(&op.as_str()) {
                problems.push(format!(
                    "rate_limits: unknown operation {op:?} (known: {})",
                    OPERATIONS.join(", ")
                ));
            }
            if !(l.rate_per_sec > 0.0 && l.burst >= 1.0) {
                problems.push(format!("rate_limits.{op}: rate must be > 0 and burst >= 1"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ChannelError::Config(format!(
                "sandbox connection: {}",
                problems.join("; ")
            )))
        }
    }

    /// The client-side limit of each operation: an explicit override as given, else the
    /// documented limit with the safety margin.
    pub fn limits(&self) -> BTreeMap<String, Limit> {
        let mut out: BTreeMap<String, Limit> = documented_limits()
            .into_iter()
            .map(|(k, l)| (k, with_margin(l)))
            .collect();
        for (k, l) in &self.connection.rate_limits {
            out.insert(k.clone(), *l);
        }
        out
    }
}
