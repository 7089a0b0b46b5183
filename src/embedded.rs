//! The embedded sandboxes: an Odoo sandbox and a sandbox marketplace that sell the same
//! catalogue, plus the configuration that points the daemon at them.
//!
//! `demo`, `sandbox` and the end-to-end tests all start them here, so the three always agree
//! on SKUs, credentials and URLs, and the daemon reaches them over real HTTP exactly as it
//! reaches a real Odoo and a real marketplace.

use std::net::SocketAddr;

use channel_sandbox::sandbox::{CatalogItem, MarketplaceConfig, SandboxMarketplace};
use odoo_sandbox::{OdooSandbox, OdooVersion, SandboxConfig, Seed};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

/// What to start.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub odoo_version: OdooVersion,
    /// Generated products (on top of the demo database's own).
    pub products: usize,
    pub warehouses: usize,
    pub odoo_port: u16,
    pub channel_port: u16,
    /// Where the daemon will listen: the marketplace then delivers its signed webhooks to
    /// `http://<addr>/webhooks/<channel>`, as a real shop would.
    pub daemon_listen: Option<SocketAddr>,
    pub seed: u64,
    /// Install the `channel_sync` addon in the Odoo sandbox.
    pub addon: bool,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            odoo_version: OdooVersion::V19,
            products: 200,
            warehouses: 2,
            odoo_port: 0,
            channel_port: 0,
            daemon_listen: None,
            seed: 7,
            addon: false,
        }
    }
}

/// The running sandboxes.
pub struct Embedded {
    pub odoo: OdooSandbox,
    pub market: SandboxMarketplace,
    /// The channel id the configuration gives the marketplace.
    pub channel_id: String,
    pub daemon_listen: Option<SocketAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("Odoo sandbox: {0}")]
    Odoo(String),
    #[error("sandbox marketplace: {0}")]
    Market(String),
}

impl Embedded {
    /// Start the Odoo sandbox (seeded with the catalogue) and a marketplace listing every
    /// storable product of it, at quantity 0 until the daemon pushes.
    pub async fn start(opts: &EmbeddedOptions) -> Result<Embedded, EmbeddedError> {
        let mut cfg = SandboxConfig::default()
            .version(opts.odoo_version)
            .seed(Seed::Catalog {
                products: opts.products,
                warehouses: opts.warehouses,
                seed: opts.seed,
            })
            .addon(opts.addon);
        cfg.listen = SocketAddr::from(([127, 0, 0, 1], opts.odoo_port));
        let odoo = OdooSandbox::start(cfg)
            .await
            .map_err(|e| EmbeddedError::Odoo(e.to_string()))?;
        let storable = if opts.odoo_version.major >= 18 {
            serde_json::json!([["is_storable", "=", true], ["default_code", "!=", false]])
        } else {
            serde_json::json!([["type", "=", "product"], ["default_code", "!=", false]])
        };
        let rows = odoo
            .handle()
            .search_read(
                "product.product",
                storable,
                &["default_code", "name", "list_price"],
            )
            .map_err(|e| EmbeddedError::Odoo(e.to_string()))?;
        let catalog: Vec<CatalogItem> = rows
            .iter()
            .filter_map(|r| {
                Some(CatalogItem {
                    sku: r.get("default_code")?.as_str()?.to_owned(),
                    title: r.get("name")?.as_str().unwrap_or("").to_owned(),
                    price: r
                        .get("list_price")
                        .and_then(|v| v.as_f64())
                        .and_then(Decimal::from_f64)
                        .unwrap_or_default()
                        .round_dp(2),
                    compare_at_price: None,
                    quantity: 0,
                })
            })
            .collect();
        let channel_id = "shop".to_string();
        let webhooks = channel_sandbox::sandbox::WebhookBehaviour {
            url: opts
                .daemon_listen
                .map(|a| format!("http://{a}/webhooks/{channel_id}")),
            ..Default::default()
        };
        let market = SandboxMarketplace::start(MarketplaceConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], opts.channel_port)),
            catalog,
            seed: opts.seed,
            webhooks,
            ..MarketplaceConfig::default()
        })
        .await
        .map_err(|e| EmbeddedError::Market(e.to_string()))?;
        Ok(Embedded {
            odoo,
            market,
            channel_id,
            daemon_listen: opts.daemon_listen,
        })
    }

    /// A configuration file for the daemon against these sandboxes (inline secrets: they
    /// are throwaway sandbox keys, and the text is never written world-readable).
    pub fn config_toml(&self, store_url: &str) -> String {
        format!(
            r#"# odoo-channels against the embedded sandboxes
[odoo]
url = "{odoo_url}"
database = "{db}"
login = "{login}"
api_key = "{key}"
protocol = "auto"
timeout_secs = 60

[store]
url = "{store_url}"

[server]
listen = "{listen}"

[[channels]]
id = "{channel}"
name = "Sandbox marketplace"
kind = "sandbox"
priority = 10
buffer_percent = 10
stock_schedule = "realtime"
order_schedule = "realtime"
[channels.connection]
base_url = "{market_url}"
[channels.secrets]
token = "{token}"
webhook_secret = "{webhook_secret}"
"#,
            odoo_url = self.odoo.url(),
            listen = self
                .daemon_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            db = self.odoo.database(),
            login = self.odoo.login(),
            key = self.odoo.api_key(),
            store_url = store_url,
            channel = self.channel_id,
            market_url = self.market.url(),
            token = self.market.token(),
            webhook_secret = self.market.webhook_secret(),
        )
    }

    pub async fn shutdown(self) {
        self.odoo.shutdown().await;
    }
}
