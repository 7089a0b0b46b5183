//! A generic marketplace emulator: an HTTP server with its own small REST API in the style of
//! a real marketplace (bearer auth, cursor paging, per-item bulk results, per-operation rate
//! limits with 429 + `Retry-After`, JSON error bodies, signed webhooks delivered at least once
//! and out of order), with state rather than canned answers.
//!
//! The same operations are reachable over HTTP under `/_sandbox/…` (for the `sandbox` CLI and
//! for people rehearsing) and through [`SandboxMarketplace`]'s methods (for tests): both call
//! the one implementation in `state.rs`.
//!
//! ```text
//! GET  /v1/orders?updated_after=RFC3339&limit=N&cursor=…  → {orders, next_cursor}
//! GET  /v1/orders/{id}
//! POST /v1/orders/{id}/shipments {carrier:{code,name}, service, tracking_number, tracking_url, lines:[{line_id, quantity}]}
//! POST /v1/orders/{id}/cancel    {reason, lines?}
//! PUT  /v1/inventory  {items:[{sku, quantity, expected_quantity?}]} → {results:[…]}
//! GET  /v1/inventory?sku=A&sku=B → {items:[{sku, quantity, updated_at}], missing:[…]}
//! PUT  /v1/prices     {items:[{sku, price, currency, compare_at_price?}]} → {results:[…]}
//! PUT  /v1/listings/{sku} {title, description, brand, barcode, weight, images, price, attributes}
//! GET  /v1/returns?updated_after=…   GET /v1/settlements?updated_after=…
//! ```

mod delivery;
mod limits;
mod routes;
mod state;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use delivery::{DeliveryRecord, WebhookBehaviour};
pub use limits::{Fault, OpLimit, default_limits};
pub use state::{
    CatalogItem, Corruption, Counters, NewLine, NewOrder, SbAddress, SbBuyer, SbEvent,
};
pub use wire::ApiError;

use limits::{Faults, Limits};
use state::State;

/// How to start the marketplace.
#[derive(Clone, Debug)]
pub struct MarketplaceConfig {
    /// Default `127.0.0.1:0` (a free port).
    pub bind: SocketAddr,
    /// The API token clients must send; random when `None`.
    pub token: Option<String>,
    /// The webhook signing secret; random when `None`.
    pub webhook_secret: Option<String>,
    /// The shop's currency.
    pub currency: String,
    pub catalog: Vec<CatalogItem>,
    /// Seeds the order generator and webhook delivery jitter.
    pub seed: u64,
    pub rate_limits: BTreeMap<String, OpLimit>,
    pub webhooks: WebhookBehaviour,
    /// Largest `items` array accepted by bulk endpoints.
    pub max_batch: usize,
    /// Largest `limit` accepted by list endpoints.
    pub max_page: usize,
}

impl Default for MarketplaceConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            webhook_secret: None,
            currency: "USD".into(),
            catalog: demo_catalog(20),
            seed: 42,
            rate_limits: default_limits(),
            webhooks: WebhookBehaviour::default(),
            max_batch: 100,
            max_page: 250,
        }
    }
}

/// `n` SKUs `SKU-0001`… with prices 9.99 + i and 50 units each.
pub fn demo_catalog(n: usize) -> Vec<CatalogItem> {
    (1..=n)
        .map(|i| CatalogItem {
            sku: format!("SKU-{i:04}"),
            title: format!("Demo product {i}"),
            price: Decimal::new(999, 2) + Decimal::from(i as u64),
            compare_at_price: None,
            quantity: 50,
        })
        .collect()
}

/// The order generator of the demo.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneratorConfig {
    /// Time between two orders.
    #[serde(with = "millis")]
    pub interval: Duration,
    /// Share of bad orders: unknown SKU, missing address, unparseable price, missing quantity.
    pub bad_rate: f64,
    /// Share of marketplace-fulfilled (FBA-style) orders.
    pub marketplace_rate: f64,
    /// Stop after this many orders.
    pub max_orders: Option<u64>,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            bad_rate: 0.05,
            marketplace_rate: 0.1,
            max_orders: None,
        }
    }
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

pub(crate) struct App {
    pub state: Mutex<State>,
    pub limits: Mutex<Limits>,
    pub faults: Mutex<Faults>,
    pub token: Mutex<String>,
    pub webhook_secret: String,
    pub webhooks: Mutex<WebhookBehaviour>,
    pub deliveries: Mutex<Vec<DeliveryRecord>>,
    pub events_tx: mpsc::UnboundedSender<SbEvent>,
    pub max_batch: usize,
    pub max_page: usize,
    pub generator: Mutex<Option<JoinHandle<()>>>,
}

impl App {
    /// Runs `f` on the state and hands the events it queued to the webhook deliverer.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (r, events) = {
            let mut st = self.state.lock();
            let r = f(&mut st);
            (r, std::mem::take(&mut st.pending_events))
        };
        for e in events {
            // The receiver lives as long as the server; if it is gone we are shutting down.
            let _ = self.events_tx.send(e);
        }
        r
    }

    /// Starts (or restarts) the background order generator.
    pub fn start_generator(self: &Arc<Self>, config: GeneratorConfig) {
        let app = self.clone();
        let task = tokio::spawn(async move {
            let mut made = 0u64;
            let mut tick = tokio::time::interval(config.interval.max(Duration::from_millis(1)));
            tick.tick().await;
            loop {
                if config.max_orders.is_some_and(|m| made >= m) {
                    break;
                }
                tick.tick().await;
                app.with_state(|s| s.generate_order(config.bad_rate, config.marketplace_rate));
                made += 1;
            }
        });
        if let Some(old) = self.generator.lock().replace(task) {
            old.abort();
        }
    }

    pub fn stop_generator(&self) {
        if let Some(t) = self.generator.lock().take() {
            t.abort();
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// A running sandbox marketplace. Dropping it stops the server and its background tasks.
pub struct SandboxMarketplace {
    app: Arc<App>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl SandboxMarketplace {
    /// Binds and starts serving.
    pub async fn start(config: MarketplaceConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let app = Arc::new(App {
            state: Mutex::new(State::new(
                &config.currency,
                config.seed,
                config.catalog.clone(),
            )),
            limits: Mutex::new(Limits::new(&config.rate_limits)),
            faults: Mutex::new(Faults::default()),
            token: Mutex::new(
                config
                    .token
                    .clone()
                    .unwrap_or_else(|| format!("sbx_{}", random_hex(16))),
            ),
            webhook_secret: config
                .webhook_secret
                .clone()
                .unwrap_or_else(|| random_hex(24)),
            webhooks: Mutex::new(config.webhooks.clone()),
            deliveries: Mutex::new(Vec::new()),
            events_tx,
            max_batch: config.max_batch.max(1),
            max_page: config.max_page.max(1),
            generator: Mutex::new(None),
        });
        let router = routes::router(app.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let r = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "sandbox marketplace server stopped");
            }
        });
        let deliverer = tokio::spawn(delivery::run(app.clone(), events_rx, config.seed));
        Ok(Self {
            app,
            addr,
            shutdown: Some(tx),
            tasks: vec![server, deliverer],
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn token(&self) -> String {
        self.app.token.lock().clone()
    }

    /// Replace the API token: requests with the old one get 401 (a revoked app).
    pub fn rotate_token(&self, new_token: &str) {
        *self.app.token.lock() = new_token.to_string();
    }

    pub fn webhook_secret(&self) -> String {
        self.app.webhook_secret.clone()
    }

    // ---- catalog, quantities, prices

    pub fn upsert_catalog_item(&self, item: CatalogItem) {
        self.app.with_state(|s| s.upsert_catalog(item))
    }

    /// Quantities as the marketplace shows them now (set by the daemon, minus orders).
    pub fn quantities(&self) -> BTreeMap<String, i64> {
        self.app.state.lock().quantities()
    }

    pub fn quantity(&self, sku: &str) -> Option<i64> {
        self.app
            .state
            .lock()
            .catalog
            .get(sku)
            .map(|l| l.item.quantity)
    }

    pub fn prices(&self) -> BTreeMap<String, Decimal> {
        self.app.state.lock().prices()
    }

    pub fn price(&self, sku: &str) -> Option<Decimal> {
        self.app.state.lock().catalog.get(sku).map(|l| l.item.price)
    }

    /// The last body received by `PUT /v1/listings/{sku}`.
    pub fn listing(&self, sku: &str) -> Option<Value> {
        self.app
            .state
            .lock()
            .catalog
            .get(sku)
            .and_then(|l| l.body.clone())
    }

    // ---- orders, returns, settlements

    pub fn create_order(&self, spec: NewOrder) -> Result<Value, ApiError> {
        self.app.with_state(|s| s.create_order(spec))
    }

    pub fn order(&self, id: &str) -> Option<Value> {
        self.app.state.lock().get_order(id).ok()
    }

    pub fn order_ids(&self) -> Vec<String> {
        self.app.state.lock().orders.keys().cloned().collect()
    }

    pub fn set_order_status(&self, id: &str, status: &str) -> Result<Value, ApiError> {
        self.app.with_state(|s| s.set_order_status(id, status))
    }

    /// Cancel as the buyer or the marketplace would (not counted as a client write).
    pub fn cancel_order(&self, id: &str, reason: &str) -> Result<Value, ApiError> {
        self.app
            .with_state(|s| s.cancel_order(id, &serde_json::json!({ "reason": reason })))
            .map(|(_, v)| v)
    }

    /// Cancel some units of some lines as the buyer or the marketplace would: the order stays
    /// open for the rest (`line_items[].quantity_cancelled` rises).
    pub fn cancel_lines(
        &self,
        id: &str,
        lines: &[(String, u32)],
        reason: &str,
    ) -> Result<Value, ApiError> {
        let body = serde_json::json!({
            "reason": reason,
            "lines": lines
                .iter()
                .map(|(l, q)| serde_json::json!({"line_id": l, "quantity": q}))
                .collect::<Vec<_>>(),
        });
        self.app
            .with_state(|s| s.cancel_order(id, &body))
            .map(|(_, v)| v)
    }

    /// `lines`: (line id, quantity, reason); empty returns every shipped unit.
    pub fn create_return(
        &self,
        order_id: &str,
        lines: &[(String, u32, Option<String>)],
    ) -> Result<Value, ApiError> {
        self.app.with_state(|s| s.create_return(order_id, lines))
    }

    pub fn set_return_status(
        &self,
        id: &str,
        status: &str,
        refund: Option<Decimal>,
    ) -> Result<Value, ApiError> {
        self.app
            .with_state(|s| s.set_return_status(id, status, refund))
    }

    /// Settles shipped/refunded orders (all unsettled ones, or `order_ids`).
    pub fn create_settlement(
        &self,
        order_ids: Option<&[String]>,
        adjustment: Option<Decimal>,
    ) -> Result<Value, ApiError> {
        self.app
            .with_state(|s| s.create_settlement(order_ids, adjustment))
    }

    // ---- counters, faults, limits

    pub fn counters(&self) -> Counters {
        self.app.state.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.app.state.lock().counters = Counters::default();
    }

    /// Inject `fault` into the next `times` requests of `op` (`"*"` for any operation).
    pub fn inject_fault(&self, op: &str, fault: Fault, times: u32) {
        self.app.faults.lock().push(op, fault, times);
    }

    pub fn clear_faults(&self) {
        self.app.faults.lock().clear();
    }

    pub fn set_rate_limit(&self, op: &str, limit: OpLimit) {
        self.app.limits.lock().set(op, limit);
    }

    // ---- webhooks

    pub fn set_webhooks(&self, behaviour: WebhookBehaviour) {
        *self.app.webhooks.lock() = behaviour;
    }

    /// Every event the marketplace emitted, in emission order.
    pub fn events(&self) -> Vec<SbEvent> {
        self.app.state.lock().events.clone()
    }

    /// Every delivery attempt, in completion order.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.app.deliveries.lock().clone()
    }

    // ---- generator

    /// Creates `count` random orders now (seeded: the same seed gives the same orders).
    pub fn generate_orders(
        &self,
        count: usize,
        bad_rate: f64,
        marketplace_rate: f64,
    ) -> Vec<Value> {
        self.app.with_state(|s| {
            (0..count)
                .map(|_| s.generate_order(bad_rate, marketplace_rate))
                .collect()
        })
    }

    /// The sales tax rate generated orders charge (default 8 %): a seller-collected tax the
    /// daemon maps to the Odoo sale tax of the same rate.
    pub fn set_generated_tax_rate(&self, rate: Decimal) {
        self.app.with_state(|s| s.generated_tax_rate = rate);
    }

    /// Starts (or restarts) the background order generator.
    pub fn start_generator(&self, config: GeneratorConfig) {
        self.app.start_generator(config);
    }

    pub fn stop_generator(&self) {
        self.app.stop_generator();
    }
}

impl Drop for SandboxMarketplace {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in &self.tasks {
            t.abort();
        }
        self.app.stop_generator();
    }
}
