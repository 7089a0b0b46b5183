//! The file as written: lenient serde structs, every field optional or defaulted.
//!
//! Parsing stops at the first error (that is how serde works), so this layer accepts as much
//! as it can: enumerations, schedules and addresses are plain strings, integers are `i64`.
//! The validation in `super` then checks everything and reports every problem at once.
//!
//! **The defaults live here, once.** `config.example.toml` documents them; the test
//! `example_documents_every_default` keeps the two in step.

use channels_core::secret::SecretRef;
use rust_decimal::Decimal;
use serde::Deserialize;

pub const DEFAULT_STORE_URL: &str = "sqlite:///var/lib/odoo-channels/state.db";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub odoo: Option<RawOdoo>,
    pub store: RawStore,
    pub server: RawServer,
    pub log: RawLog,
    pub inventory: RawInventory,
    pub fulfilment: super::fulfilment::RawFulfilment,
    pub channels: Vec<RawChannel>,
    pub orders: super::orders::RawOrders,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOdoo {
    pub url: Option<String>,
    pub database: Option<String>,
    pub login: Option<String>,
    pub api_key: Option<SecretRef>,
    pub password: Option<SecretRef>,
    pub protocol: String,
    pub timeout_secs: i64,
    pub connect_timeout_secs: i64,
    pub max_concurrency: i64,
    pub batch_size: i64,
    pub retry_max_attempts: i64,
    pub retry_base_ms: i64,
    pub retry_max_ms: i64,
    pub company_id: Option<i64>,
}

impl Default for RawOdoo {
    fn default() -> Self {
        RawOdoo {
            url: None,
            database: None,
            login: None,
            api_key: None,
            password: None,
            protocol: "auto".into(),
            timeout_secs: 30,
            connect_timeout_secs: 10,
            max_concurrency: 4,
            batch_size: 2000,
            retry_max_attempts: 5,
            retry_base_ms: 200,
            retry_max_ms: 10_000,
            company_id: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    pub url: String,
    pub max_connections: i64,
    pub busy_timeout_ms: i64,
    pub outbox_lease_secs: i64,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            url: DEFAULT_STORE_URL.into(),
            max_connections: 8,
            busy_timeout_ms: 5000,
            outbox_lease_secs: 120,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: String,
    pub max_body_bytes: i64,
    pub request_timeout_secs: i64,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:8787".into(),
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub format: String,
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: "auto".into(),
            level: "info".into(),
        }
    }
}

/// `[inventory]` lives in `super::inventory` (its raw layer, defaults and validation).
pub use super::inventory::RawInventory;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawChannel {
    pub id: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub enabled: bool,
    pub priority: i64,
    pub warehouses: Vec<String>,
    pub buffer_percent: Decimal,
    pub buffer_units: i64,
    /// `max` or `sum` (validated in `super`).
    pub buffer_mode: String,
    pub min_qty: i64,
    pub max_qty: Option<i64>,
    pub keep_last_units: i64,
    /// `None`: the kind's default (see `config::default_stock_schedule`).
    pub stock_schedule: Option<String>,
    pub order_schedule: Option<String>,
    pub connection: toml::Table,
    pub secrets: std::collections::BTreeMap<String, channels_core::secret::SecretRef>,
    pub fulfilment: super::fulfilment::RawChannelFulfilment,
}

impl Default for RawChannel {
    fn default() -> Self {
        RawChannel {
            id: None,
            name: None,
            kind: None,
            enabled: true,
            priority: 0,
            warehouses: Vec::new(),
            buffer_percent: Decimal::ZERO,
            buffer_units: 0,
            buffer_mode: "max".into(),
            min_qty: 0,
            max_qty: None,
            keep_last_units: 0,
            stock_schedule: None,
            order_schedule: None,
            connection: toml::Table::new(),
            secrets: Default::default(),
            fulfilment: Default::default(),
        }
    }
}
