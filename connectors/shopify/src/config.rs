//! The `[channels.connection]` table of a Shopify channel, plus its secrets.
//!
//! ```toml
//! [[channels]]
//! id = "shopify-eu"
//! kind = "shopify"
//! [channels.connection]
//! shop = "acme-eu"                    # or "acme-eu.myshopify.com"
//! # base_url = "http://127.0.0.1:8090"  # instead of the shop's URL (the sandbox)
//! location_id = "gid://shopify/Location/123"   # default: the shop's primary location
//! page_size = 5                       # orders per page (cost-bounded, see below)
//! line_items_per_order = 10           # more are fetched by a follow-up query
//! [channels.secrets]
//! access_token = { env = "SHOPIFY_ACCESS_TOKEN" }     # Admin API access token (shpat_…)
//! client_secret = { env = "SHOPIFY_CLIENT_SECRET" }   # the app's client secret: signs webhooks
//! ```
//!
//! Query cost: an order page costs about `2 + page_size × (50 + 13 × line_items_per_order)`
//! points (Shopify: connections cost `2 + first × node`), so the defaults (5 × 10) request
//! ~900 of the 1,000-point single-query limit; the actual cost is refunded down to what the
//! orders really hold. A page refused with `MAX_COST_EXCEEDED` is retried at half the size.

use std::time::Duration;

use channels_core::{ChannelError, ConnectorSecrets, RetryPolicy};
use secrecy::SecretString;
use serde::Deserialize;

use crate::documents::API_VERSION;

/// Reasons `inventorySetQuantities` accepts (shopify.dev, "inventorySetQuantities").
pub const INVENTORY_REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connection {
    /// `acme` or `acme.myshopify.com`.
    pub shop: String,
    /// Overrides `https://{shop}.myshopify.com` (the sandbox, a proxy).
    pub base_url: Option<String>,
    /// Only `2025-01` is supported (the schema the documents are validated against).
    pub api_version: String,
    /// `gid://shopify/Location/…` where stock is set; default: the shop's primary location.
    pub location_id: Option<String>,
    /// Orders per page (1..=50).
    pub page_size: u32,
    /// Line items fetched with each order (1..=100); the rest by a follow-up query.
    pub line_items_per_order: u32,
    /// Stock updates per `inventorySetQuantities` (1..=250, Shopify's input array limit).
    pub max_batch: usize,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Fraction of the shop's restore rate the client allows itself (0.1..=1.0): the server
    /// measures arrivals, we measure sends, and jitter must not turn into THROTTLED.
    pub rate_margin: f64,
    /// `inventorySetQuantities` reason.
    pub inventory_reason: String,
    /// Notify the buyer on fulfilment and cancellation.
    pub notify_customer: bool,
    /// `orderCancel`: refund the payment / restock the items.
    pub cancel_refund: bool,
    pub cancel_restock: bool,
    pub retry: RetrySettings,
    /// Accepted age of `X-Shopify-Triggered-At`.
    pub webhook_window_secs: u64,
    /// Largest webhook body accepted.
    pub webhook_max_body: usize,
    /// How many webhook ids are remembered for dedupe.
    pub webhook_dedupe_capacity: usize,
}

impl Default for Connection {
    fn default() -> Self {
        Self {
            shop: String::new(),
            base_url: None,
            api_version: API_VERSION.to_string(),
            location_id: None,
            page_size: 5,
            line_items_per_order: 10,
            max_batch: 100,
            timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
            rate_margin: 0.9,
            inventory_reason: "correction".into(),
            notify_customer: false,
            cancel_refund: true,
            cancel_restock: true,
            retry: RetrySettings::default(),
            webhook_window_secs: 300,
            webhook_max_body: channels_core::webhook::DEFAULT_MAX_BODY,
            webhook_dedupe_capacity: 10_000,
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
            max_attempts: 6,
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

/// Everything a [`crate::ShopifyChannel`] needs. `Debug` never shows the secrets.
pub struct ShopifyConfig {
    pub connection: Connection,
    pub access_token: SecretString,
    /// Without it the channel cannot verify webhooks (and says so in its capabilities).
    pub client_secret: Option<SecretString>,
}

impl std::fmt::Debug for ShopifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyConfig")
            .field("connection", &self.connection)
            .field("access_token", &"<redacted>")
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl ShopifyConfig {
    /// For tests and the demo: a shop at `base_url` (the sandbox).
    pub fn new(
        base_url: impl Into<String>,
        access_token: SecretString,
        client_secret: Option<SecretString>,
    ) -> Self {
        Self {
            connection: Connection {
                shop: "sandbox".into(),
                base_url: Some(base_url.into()),
                ..Connection::default()
            },
            access_token,
            client_secret,
        }
    }

    /// From the connection table (JSON) and the resolved secrets `access_token`,
    /// `client_secret`.
    pub fn from_parts(
        connection: &serde_json::Value,
        secrets: &ConnectorSecrets,
    ) -> Result<Self, ChannelError> {
        let connection: Connection = serde_json::from_value(connection.clone())
            .map_err(|e| ChannelError::Config(format!("shopify connection: {e}")))?;
        let cfg = Self {
            connection,
            access_token: secrets.require("access_token")?.clone(),
            client_secret: secrets.get("client_secret").cloned(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// `https://{shop}.myshopify.com` or the configured base URL, without a trailing slash.
    pub fn base_url(&self) -> String {
        if let Some(b) = &self.connection.base_url {
            return b.trim_end_matches('/').to_string();
        }
        let shop = self.connection.shop.trim();
        let host = if shop.ends_with(".myshopify.com") {
            shop.to_string()
        } else {
            format!("{shop}.myshopify.com")
        };
        format!("https://{host}")
    }

    pub fn graphql_url(&self) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.base_url(),
            self.connection.api_version
        )
    }

    /// Every problem at once, so a person fixes the file in one go.
    pub fn validate(&self) -> Result<(), ChannelError> {
        let c = &self.connection;
        let mut problems = Vec::new();
        match &c.base_url {
            Some(b) => match url::Url::parse(b) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(_) => problems.push("base_url must be http(s)".to_string()),
                Err(e) => problems.push(format!("base_url {b:?}: {e}")),
            },
            None => {
                let name = c.shop.trim().trim_end_matches(".myshopify.com");
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                {
                    problems.push(format!(
                        "shop {:?} must be a shop name (letters, digits, '-') or NAME.myshopify.com",
                        c.shop
                    ));
                }
            }
        }
        if c.api_version != API_VERSION {
            problems.push(format!(
                "api_version {:?} is not supported (this connector speaks {API_VERSION})",
                c.api_version
            ));
        }
        if let Some(l) = &c.location_id
            && crate::mapping::gid_number(l, "Location").is_none()
        {
            problems.push(format!(
                "location_id {l:?} must be gid://shopify/Location/<number>"
            ));
        }
        if !(1..=50).contains(&c.page_size) {
            problems.push("page_size must be 1..=50".into());
        }
        if !(1..=100).contains(&c.line_items_per_order) {
            problems.push("line_items_per_order must be 1..=100".into());
        }
        if !(1..=250).contains(&c.max_batch) {
            problems.push("max_batch must be 1..=250".into());
        }
        if c.timeout_ms == 0 {
            problems.push("timeout_ms must be positive".into());
        }
        if !(0.1..=1.0).contains(&c.rate_margin) {
            problems.push("rate_margin must be within 0.1..=1.0".into());
        }
        if !INVENTORY_REASONS.contains(&c.inventory_reason.as_str()) {
            problems.push(format!(
                "inventory_reason {:?} is not one Shopify accepts",
                c.inventory_reason
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ChannelError::Config(format!(
                "shopify connection: {}",
                problems.join("; ")
            )))
        }
    }
}
