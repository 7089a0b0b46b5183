//! The `[channels.connection]` table of an Amazon channel, its secrets, and the published
//! per-operation usage plans.
//!
//! ```toml
//! [[channels]]
//! id = "amazon_us"
//! kind = "amazon"
//! [channels.connection]
//! endpoint = "https://sellingpartnerapi-na.amazon.com"   # regional SP-API host
//! lwa_endpoint = "https://api.amazon.com/auth/o2/token"   # Login with Amazon
//! client_id = "amzn1.application-oa2-client.0123"         # LWA app id (not a secret)
//! seller_id = "A1SELLER"                                  # merchant token (listings paths, feeds)
//! marketplace_id = "ATVPDKIKX0DER"
//! restricted_data = false        # true: fetch a Restricted Data Token for buyer/address PII
//! feed_threshold = 20            # more stock/price updates than this in one push go as a feed
//! returns_lookback_days = 60     # returns report window (≤ 60; 0: do not read returns)
//! returns_interval_secs = 3600   # request a returns report at most this often
//! [channels.connection.rate_limits.getOrders]             # only if your usage plan is higher
//! rate_per_sec = 0.0167
//! burst = 20.0
//! [channels.secrets]
//! refresh_token = { credential = "amazon_refresh_token" }
//! client_secret = { env = "AMAZON_LWA_CLIENT_SECRET" }
//! ```
//!
//! Why the limits live here as data: every SP-API operation has its own token bucket (rate +
//! burst) published in its model's "Usage Plan" table. `data/operations.json` is the subset of
//! the derived table in `../shared` that this crate calls (a contract test keeps it in step).
//! The real plan of a seller may be higher; Amazon says which in `x-amzn-RateLimit-Limit`, and
//! the client adopts it at runtime.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use channels_core::{ChannelError, ConnectorSecrets, Limit, RetryPolicy};
use secrecy::SecretString;
use serde::Deserialize;

/// One operation of the embedded usage-plan table.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct OperationSpec {
    #[serde(rename = "operationId")]
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub spec: String,
    pub rate_per_second: f64,
    pub burst: f64,
}

#[derive(Deserialize)]
struct OperationsFile {
    operations: Vec<OperationSpec>,
}

/// The embedded table (`data/operations.json`).
pub const OPERATIONS_JSON: &str = include_str!("../data/operations.json");

/// Every operation the connector calls, with its published default usage plan.
pub fn operations() -> &'static [OperationSpec] {
    static OPS: OnceLock<Vec<OperationSpec>> = OnceLock::new();
    OPS.get_or_init(|| {
        serde_json::from_str::<OperationsFile>(OPERATIONS_JSON)
            .map(|f| f.operations)
            // The file is part of the crate and tested; an unreadable table is a build defect.
            .unwrap_or_default()
    })
}

/// The published usage plan of each operation, by operationId.
pub fn published_limits() -> BTreeMap<String, Limit> {
    operations()
        .iter()
        .map(|o| {
            (
                o.operation_id.clone(),
                Limit::new(o.rate_per_second, o.burst),
            )
        })
        .collect()
}

/// We run under Amazon's limit: the server counts arrivals, we count departures, and network
/// jitter must not turn into 429s (repeated throttling lowers a seller's quota).
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
    /// Regional SP-API host, e.g. `https://sellingpartnerapi-eu.amazon.com`.
    pub endpoint: String,
    /// The LWA token endpoint (`https://api.amazon.com/auth/o2/token`).
    pub lwa_endpoint: String,
    pub client_id: String,
    /// The seller's merchant token: part of the Listings paths and the feed header.
    pub seller_id: String,
    pub marketplace_id: String,
    /// Orders per getOrders page (1..=100).
    pub page_size: u32,
    /// More updates than this in one push go through `JSON_LISTINGS_FEED` instead of one
    /// `patchListingsItem` each (patch: 5 req/s, burst 5 → 20 SKUs ≈ 3 s; a feed costs five
    /// calls whatever its size but is applied minutes later).
    pub feed_threshold: usize,
    /// Messages per feed document (the schema allows 25,000).
    pub feed_max_messages: usize,
    /// The product type sent with offer-only updates (`PRODUCT` is accepted for
    /// `LISTING_OFFER_ONLY` data: quantity and price).
    pub product_type: String,
    /// Fetch a Restricted Data Token so that getOrders returns `BuyerInfo` and the full
    /// `ShippingAddress`. Without it the address has only city/region/postal code/country and
    /// the daemon's audit holds merchant-fulfilled orders for a person.
    pub restricted_data: bool,
    /// The window of each returns report (`GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`),
    /// counted back from now: a return's row keeps changing after its request date, so each
    /// report re-reads the whole window. Amazon allows 60 days; 0 turns returns off.
    pub returns_lookback_days: u32,
    /// A new returns report at most this often (createReport allows one a minute).
    pub returns_interval_secs: u64,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Refresh the access token this long before it expires.
    pub token_refresh_margin_secs: u64,
    /// Overrides of the published usage plans, by operationId (exact: no margin applied, and
    /// the `x-amzn-RateLimit-Limit` header does not override them).
    pub rate_limits: BTreeMap<String, Limit>,
    pub retry: RetrySettings,
}

impl Default for Connection {
    fn default() -> Self {
        Self {
            endpoint: "https://sellingpartnerapi-na.amazon.com".into(),
            lwa_endpoint: "https://api.amazon.com/auth/o2/token".into(),
            client_id: String::new(),
            seller_id: String::new(),
            marketplace_id: String::new(),
            page_size: 100,
            feed_threshold: 20,
            feed_max_messages: 10_000,
            product_type: "PRODUCT".into(),
            restricted_data: false,
            returns_lookback_days: crate::returns::MAX_LOOKBACK_DAYS,
            returns_interval_secs: 3600,
            timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
            token_refresh_margin_secs: 60,
            rate_limits: BTreeMap::new(),
            retry: RetrySettings::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySettings {
    /// Attempts per call, including the first. A 429 is retried within these (never
    /// skipping the page); past them the error goes back and the job resumes from the same
    /// page token on its next run.
    pub max_attempts: u32,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_retry_after_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            min_delay_ms: 200,
            max_delay_ms: 10_000,
            // getOrders refills one token a minute at the default plan.
            max_retry_after_ms: 90_000,
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

/// Everything an [`crate::AmazonChannel`] needs.
pub struct AmazonConfig {
    pub connection: Connection,
    /// The seller's LWA refresh token (from the authorisation of the app).
    pub refresh_token: SecretString,
    pub client_secret: SecretString,
}

impl std::fmt::Debug for AmazonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmazonConfig")
            .field("connection", &self.connection)
            .field("refresh_token", &"<redacted>")
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

impl AmazonConfig {
    /// From the connection table (JSON) and the resolved secrets `refresh_token`,
    /// `client_secret`.
    pub fn from_parts(
        connection: &serde_json::Value,
        secrets: &ConnectorSecrets,
    ) -> Result<Self, ChannelError> {
        let connection: Connection = serde_json::from_value(connection.clone())
            .map_err(|e| ChannelError::Config(format!("amazon connection: {e}")))?;
        let cfg = Self {
            connection,
            refresh_token: secrets.require("refresh_token")?.clone(),
            client_secret: secrets.require("client_secret")?.clone(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Every problem at once, so a person fixes the file in one go.
    pub fn validate(&self) -> Result<(), ChannelError> {
        let c = &self.connection;
        let mut problems = Vec::new();
        for (key, value) in [("endpoint", &c.endpoint), ("lwa_endpoint", &c.lwa_endpoint)] {
            match url::Url::parse(value) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(_) => problems.push(format!("{key} must be http(s)")),
                Err(e) => problems.push(format!("{key} {value:?}: {e}")),
            }
        }
        for (key, value) in [
            ("client_id", &c.client_id),
            ("seller_id", &c.seller_id),
            ("marketplace_id", &c.marketplace_id),
            ("product_type", &c.product_type),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{key} is required"));
            }
        }
        if !(1..=100).contains(&c.page_size) {
            problems.push("page_size must be 1..=100".into());
        }
        if !(1..=25_000).contains(&c.feed_max_messages) {
            problems.push("feed_max_messages must be 1..=25000".into());
        }
        if c.returns_lookback_days > crate::returns::MAX_LOOKBACK_DAYS {
            problems.push(format!(
                "returns_lookback_days must be 0..={} (Amazon's limit for one returns report)",
                crate::returns::MAX_LOOKBACK_DAYS
            ));
        }
        if c.timeout_ms == 0 {
            problems.push("timeout_ms must be positive".into());
        }
        let known: Vec<&str> = operations()
            .iter()
            .map(|o| o.operation_id.as_str())
            .collect();
        for (op, l) in &c.rate_limits {
            if !known.contains(&op.as_str()) {
                problems.push(format!(
                    "rate_limits: unknown operation {op:?} (known: {})",
                    known.join(", ")
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
                "amazon connection: {}",
                problems.join("; ")
            )))
        }
    }

    /// The client-side limit of each operation: an explicit override as given, else the
    /// published plan with the safety margin.
    pub fn limits(&self) -> BTreeMap<String, Limit> {
        let mut out: BTreeMap<String, Limit> = published_limits()
            .into_iter()
            .map(|(k, l)| (k, with_margin(l)))
            .collect();
        for (k, l) in &self.connection.rate_limits {
            out.insert(k.clone(), *l);
        }
        out
    }
}
