//! The embedded sandboxes: an Odoo sandbox and one or more sandbox marketplaces that sell the
//! same catalogue, plus the configuration that points the daemon at them.
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
    /// Sandbox marketplaces (at least 1): channel `shop` (priority 10, buffer 10 %), then
    /// `market2` (priority 5, buffer 5 %), `market3` (priority 1, no buffer), … Each listens
    /// on its own free port (the first on `channel_port`).
    pub marketplaces: usize,
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
            marketplaces: 1,
            addon: false,
        }
    }
}

/// The running sandboxes.
pub struct Embedded {
    pub odoo: OdooSandbox,
    /// The first marketplace (channel [`Embedded::channel_id`]).
    pub market: SandboxMarketplace,
    /// The channel id the configuration gives the first marketplace.
    pub channel_id: String,
    /// The other marketplaces, with their channel ids (`market2`, `market3`, …).
    pub more_markets: Vec<(String, SandboxMarketplace)>,
    pub daemon_listen: Option<SocketAddr>,
}

/// Channel id, priority and buffer (percent) of the `i`-th embedded marketplace.
fn market_channel(i: usize) -> (String, u32, u32) {
    match i {
        0 => ("shop".into(), 10, 10),
        1 => ("market2".into(), 5, 5),
        n => (format!("market{}", n + 1), 1, 0),
    }
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
        let mut markets = Vec::new();
        for i in 0..opts.marketplaces.max(1) {
            let (channel_id, _, _) = market_channel(i);
            let webhooks = channel_sandbox::sandbox::WebhookBehaviour {
                url: opts
                    .daemon_listen
                    .map(|a| format!("http://{a}/webhooks/{channel_id}")),
                ..Default::default()
            };
            let port = if i == 0 { opts.channel_port } else { 0 };
            let market = SandboxMarketplace::start(MarketplaceConfig {
                bind: SocketAddr::from(([127, 0, 0, 1], port)),
                catalog: catalog.clone(),
                seed: opts.seed + i as u64,
                webhooks,
                ..MarketplaceConfig::default()
            })
            .await
            .map_err(|e| EmbeddedError::Market(e.to_string()))?;
            markets.push((channel_id, market));
        }
        let mut markets = markets.into_iter();
        let (channel_id, market) = markets.next().expect("at least one marketplace");
        Ok(Embedded {
            odoo,
            market,
            channel_id,
            more_markets: markets.collect(),
            daemon_listen: opts.daemon_listen,
        })
    }

    /// Every marketplace with its channel id, the first first.
    pub fn markets(&self) -> Vec<(&str, &SandboxMarketplace)> {
        std::iter::once((self.channel_id.as_str(), &self.market))
            .chain(self.more_markets.iter().map(|(id, m)| (id.as_str(), m)))
            .collect()
    }

    /// The marketplace behind a channel id.
    pub fn market_of(&self, channel: &str) -> Option<&SandboxMarketplace> {
        self.markets()
            .into_iter()
            .find(|(id, _)| *id == channel)
            .map(|(_, m)| m)
    }

    /// A configuration file for the daemon against these sandboxes (inline secrets: they
    /// are throwaway sandbox keys, and the text is never written world-readable). Tests may
    /// append an `[inventory]` table.
    pub fn config_toml(&self, store_url: &str) -> String {
        let mut text = format!(
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
"#,
            odoo_url = self.odoo.url(),
            listen = self
                .daemon_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            db = self.odoo.database(),
            login = self.odoo.login(),
            key = self.odoo.api_key(),
            store_url = store_url,
        );
        for (i, (channel, market)) in self.markets().into_iter().enumerate() {
            let (_, priority, buffer) = market_channel(i);
            let name = if i == 0 {
                "Sandbox marketplace".to_owned()
            } else {
                format!("Sandbox marketplace {}", i + 1)
            };
            text.push_str(&format!(
                r#"
[[channels]]
id = "{channel}"
name = "{name}"
kind = "sandbox"
priority = {priority}
buffer_percent = {buffer}
stock_schedule = "realtime"
order_schedule = "realtime"
[channels.connection]
base_url = "{market_url}"
[channels.secrets]
token = "{token}"
webhook_secret = "{webhook_secret}"
"#,
                market_url = market.url(),
                token = market.token(),
                webhook_secret = market.webhook_secret(),
            ));
        }
        text
    }

    pub async fn shutdown(self) {
        self.odoo.shutdown().await;
    }
}

/// A started engine serving webhooks, wired as `run` wires them (its HTTP server with the
/// channels' webhook sink, every job on its own task) without `run`'s systemd, signal and
/// readiness plumbing: for end-to-end tests and benchmarks that need a daemon that is running.
pub struct Serving {
    stop_server: tokio::sync::oneshot::Sender<()>,
    stop_jobs: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    jobs: tokio::task::JoinHandle<()>,
}

impl Serving {
    /// Serve `engine`'s webhooks on `listener` and run its jobs until [`Serving::stop`].
    pub fn start(
        engine: std::sync::Arc<crate::sync::Engine>,
        listener: tokio::net::TcpListener,
        server: &crate::config::ServerConfig,
    ) -> Self {
        use crate::server::{self, AppState, Readiness};
        let cell = std::sync::Arc::new(tokio::sync::OnceCell::new());
        let _ = cell.set(engine.clone());
        let state = AppState {
            readiness: Readiness::new(&[]),
            metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
                .build_recorder()
                .handle(),
            webhooks: std::sync::Arc::new(crate::sync::webhooks::ChannelWebhooks::new(cell)),
        };
        let router = server::router(state, server);
        let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
        let (stop_jobs, jobs_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(
            listener,
            router,
            async {
                let _ = server_stopped.await;
            },
            std::time::Duration::from_secs(1),
        ));
        let jobs = tokio::spawn(engine.run(async {
            let _ = jobs_stopped.await;
        }));
        Serving {
            stop_server,
            stop_jobs,
            server,
            jobs,
        }
    }

    /// Stop the jobs, then the server, and wait for both.
    pub async fn stop(self) {
        let _ = self.stop_jobs.send(());
        let _ = self.stop_server.send(());
        let _ = self.jobs.await;
        let _ = self.server.await;
    }
}
