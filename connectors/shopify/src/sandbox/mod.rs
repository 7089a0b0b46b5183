//! A Shopify shop behind the Admin GraphQL API 2025-01, **driven by the real schema**: every
//! incoming document is parsed and validated against the schema (the bundled subset of the
//! official SDL, see `schema.rs`) and executed by `apollo_compiler`'s executor against
//! stateful data, whose results it checks against the schema types. Rates are limited by a
//! leaky bucket of query-cost points, with `extensions.cost` on every response and
//! `THROTTLED` when the bucket is short.
//!
//! ```text
//! mod.rs       ShopifySandbox: start, the Rust control handle; App::execute (validate, cost, run)
//! schema.rs    the bundled schema subset, its generator and faithfulness check
//! state.rs     shop data and mutation rules (user errors as the schema types them)
//! exec.rs      resolvers: state → GraphQL objects, connections, hooks, mutation payloads
//! cost.rs      requested/actual query cost
//! limits.rs    the leaky bucket and fault injection
//! search.rs    Shopify's search syntax for `query:` arguments
//! routes.rs    HTTP: the GraphQL endpoint and /_sandbox/ control API
//! delivery.rs  signed webhooks out (REST-shaped bodies)
//! shape.rs     contract check of a response against a schema and the selection set
//! wire.rs      error bodies
//! ```

pub mod cost;
pub mod delivery;
pub mod exec;
pub mod limits;
mod routes;
pub mod schema;
pub mod search;
pub mod shape;
pub mod state;
mod wire;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::OperationType;
use apollo_compiler::resolvers::Execution;
use apollo_compiler::response::JsonValue;
use parking_lot::Mutex;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use delivery::{DeliveryRecord, WebhookRequest};
pub use limits::{Fault, ThrottleConfig};
pub use state::{
    Address, CatalogItem, Corruption, Counters, Customer, Event, NewLine, NewOrder, Order,
};

use limits::{Bucket, Faults};
use state::{State, gid};

/// How to start the sandbox shop.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Default `127.0.0.1:0` (a free port).
    pub bind: SocketAddr,
    /// The Admin API access token clients must send; random when `None`.
    pub access_token: Option<String>,
    /// The app's client secret that signs webhooks; random when `None`.
    pub client_secret: Option<String>,
    pub shop_name: String,
    pub currency: String,
    pub catalog: Vec<CatalogItem>,
    pub throttle: ThrottleConfig,
    /// Keep every request and response (for the contract tests).
    pub record_exchanges: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_token: None,
            client_secret: None,
            shop_name: "Odoo Channels Demo".into(),
            currency: "EUR".into(),
            catalog: demo_catalog(10),
            throttle: ThrottleConfig::STANDARD,
            record_exchanges: false,
        }
    }
}

/// `n` SKUs `SKU-0001`… priced 19.99 + i with 50 units each.
pub fn demo_catalog(n: usize) -> Vec<CatalogItem> {
    (1..=n)
        .map(|i| CatalogItem {
            sku: format!("SKU-{i:04}"),
            title: format!("Demo product {i}"),
            price: Decimal::new(1999, 2) + Decimal::from(i as u64),
            available: 50,
        })
        .collect()
}

/// One GraphQL request and the response the sandbox gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub operation_name: Option<String>,
    pub query: String,
    pub variables: Value,
    pub response: Value,
}

pub(crate) struct App {
    pub state: Mutex<State>,
    pub bucket: Mutex<Bucket>,
    pub faults: Mutex<Faults>,
    pub token: Mutex<String>,
    pub client_secret: String,
    pub domain: String,
    pub webhook_url: Mutex<Option<String>>,
    pub deliveries: Mutex<Vec<DeliveryRecord>>,
    pub exchanges: Mutex<Vec<Exchange>>,
    pub record_exchanges: bool,
    pub events_tx: mpsc::UnboundedSender<Event>,
}

fn random_hex(bytes: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

impl App {
    /// Hands what the state emitted to the webhook deliverer.
    pub fn flush_events(&self) {
        let events = std::mem::take(&mut self.state.lock().pending_events);
        for e in events {
            let _ = self.events_tx.send(e);
        }
    }

    /// Validate, cost, run: the whole GraphQL request after auth.
    pub fn execute(&self, query: &str, vars: &Value, op_name: Option<&str>) -> Value {
        let schema = schema::bundled();
        let doc = match ExecutableDocument::parse_and_validate(schema, query, "request.graphql") {
            Ok(d) => d,
            Err(e) => {
                self.state.lock().counters.invalid_documents += 1;
                let problems = e
                    .errors
                    .iter()
                    .map(|d| {
                        let loc = d
                            .line_column_range()
                            .map(|r| (r.start.line, r.start.column));
                        (d.error.to_string(), loc)
                    })
                    .collect();
                return wire::invalid_document(problems);
            }
        };
        let op = match doc.operations.get(op_name) {
            Ok(op) => op.clone(),
            Err(_) => {
                return wire::request_error(
                    "An operation name is required when the document has several operations, and it must name one of them",
                    "OPERATION_NOT_FOUND",
                );
            }
        };
        let requested = cost::requested(schema, &doc, &op, vars);
        {
            let mut b = self.bucket.lock();
            if requested > b.cfg.max_query_cost {
                self.state.lock().counters.max_cost_exceeded += 1;
                return wire::max_cost_exceeded(requested, b.cfg.max_query_cost, b.status());
            }
            if !b.take(requested as f64) {
                self.state.lock().counters.throttled += 1;
                return wire::throttled(requested, b.status());
            }
        }
        let vars_map = match JsonValue::from(vars.clone()) {
            JsonValue::Object(m) => m,
            _ => Default::default(),
        };
        let exec = Execution::new(schema, &doc)
            .operation(&op)
            .raw_variable_values(&vars_map);
        let result = {
            let mut st = self.state.lock();
            if op.operation_type == OperationType::Mutation {
                let root = exec::MutationRoot {
                    st: RefCell::new(&mut st),
                };
                exec.execute_sync(&root)
            } else {
                st.counters.queries += 1;
                let root = exec::JsonObj::new(Some(&st), "QueryRoot", json!({}));
                exec.execute_sync(&root)
            }
        };
        let mut body = match result {
            Ok(r) => serde_json::to_value(&r).unwrap_or_else(|_| json!({"data": null})),
            Err(e) => {
                json!({"errors": [{"message": e.message().to_string(), "extensions": {"code": "BAD_REQUEST"}}]})
            }
        };
        let actual = body
            .get("data")
            .map(|d| cost::actual(schema, &doc, &op, vars, d))
            .unwrap_or(0)
            .min(requested);
        let status = {
            let mut b = self.bucket.lock();
            b.refund((requested - actual) as f64);
            b.status()
        };
        body["extensions"] = json!({"cost": wire::cost(requested, Some(actual), status)});
        body
    }
}

/// A running sandbox shop. Dropping it stops the server and its tasks.
pub struct ShopifySandbox {
    app: Arc<App>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl ShopifySandbox {
    pub async fn start(config: SandboxConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let st = State::new(&config.shop_name, &config.currency, &config.catalog);
        let domain = st.domain.clone();
        let app = Arc::new(App {
            state: Mutex::new(st),
            bucket: Mutex::new(Bucket::new(config.throttle)),
            faults: Mutex::new(Faults::default()),
            token: Mutex::new(
                config
                    .access_token
                    .clone()
                    .unwrap_or_else(|| format!("shpat_{}", random_hex(16))),
            ),
            client_secret: config
                .client_secret
                .clone()
                .unwrap_or_else(|| random_hex(16)),
            domain,
            webhook_url: Mutex::new(None),
            deliveries: Mutex::new(Vec::new()),
            exchanges: Mutex::new(Vec::new()),
            record_exchanges: config.record_exchanges,
            events_tx,
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
                tracing::error!(error = %e, "shopify sandbox server stopped");
            }
        });
        let deliverer = tokio::spawn(delivery::run(app.clone(), events_rx));
        // Events emitted while seeding the catalog are not webhooks anyone subscribed to.
        app.state.lock().pending_events.clear();
        Ok(Self {
            app,
            addr,
            shutdown: Some(tx),
            tasks: vec![server, deliverer],
        })
    }

    /// `http://127.0.0.1:PORT`: the connector's `base_url` (it appends
    /// `/admin/api/2025-01/graphql.json`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn graphql_url(&self) -> String {
        format!(
            "{}/admin/api/{}/graphql.json",
            self.url(),
            schema::API_VERSION
        )
    }

    pub fn access_token(&self) -> String {
        self.app.token.lock().clone()
    }

    pub fn client_secret(&self) -> String {
        self.app.client_secret.clone()
    }

    pub fn shop_domain(&self) -> String {
        self.app.domain.clone()
    }

    /// A connector configuration pointing at this shop (token, client secret, domain).
    pub fn connector_config(&self) -> crate::ShopifyConfig {
        let mut c = crate::ShopifyConfig::new(
            self.url(),
            secrecy::SecretString::from(self.access_token()),
            Some(secrecy::SecretString::from(self.client_secret())),
        );
        c.connection.shop = self.shop_domain();
        c
    }

    /// Revoke the token (an uninstalled app, a rotated token): requests get 401.
    pub fn rotate_token(&self, new_token: &str) {
        *self.app.token.lock() = new_token.to_string();
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.app.state.lock());
        self.app.flush_events();
        r
    }

    // ---- catalog and stock

    /// Adds a one-variant product; returns the product GID.
    pub fn add_product(&self, sku: &str, title: &str, price: Decimal, available: i64) -> String {
        let id = self.with_state(|s| {
            s.add_catalog_item(&CatalogItem {
                sku: sku.into(),
                title: title.into(),
                price,
                available,
            })
        });
        gid("Product", id)
    }

    /// A second variant with the same SKU (Shopify allows it; the connector must refuse to
    /// guess which one a stock update is for).
    pub fn duplicate_sku(&self, sku: &str) -> String {
        self.add_product(sku, &format!("Copy of {sku}"), Decimal::ONE, 0)
    }

    pub fn add_collection(&self, handle: &str, title: &str) -> String {
        gid(
            "Collection",
            self.with_state(|s| s.add_collection(handle, title)),
        )
    }

    pub fn add_location(&self, name: &str) -> String {
        gid("Location", self.with_state(|s| s.add_location(name)))
    }

    pub fn primary_location(&self) -> String {
        gid("Location", self.app.state.lock().primary_location())
    }

    /// `available` at the primary location.
    pub fn available(&self, sku: &str) -> Option<i64> {
        self.app.state.lock().available(sku, None)
    }

    /// A shop-side change (a POS sale, a stock count): returns the previous quantity.
    pub fn set_available(&self, sku: &str, quantity: i64) -> Option<i64> {
        self.with_state(|s| s.set_available(sku, None, quantity))
    }

    /// (price, compare-at price) of the variant with this SKU.
    pub fn price(&self, sku: &str) -> Option<(Decimal, Option<Decimal>)> {
        let st = self.app.state.lock();
        st.variant_by_sku(sku)
            .map(|v| (v.price, v.compare_at_price))
    }

    /// The product holding this SKU, in its GraphQL shape (seo, metafields, collections,
    /// variants…), for read-back.
    pub fn product_by_sku(&self, sku: &str) -> Option<Value> {
        let st = self.app.state.lock();
        let v = st.variant_by_sku(sku)?;
        let p = st.products.get(&v.product_id)?;
        Some(exec::product_json(&st, p))
    }

    pub fn product_count(&self) -> usize {
        self.app.state.lock().products.len()
    }

    // ---- orders

    /// Creates an order (emits `orders/create`); returns its numeric id.
    pub fn create_order(&self, spec: NewOrder) -> Result<u64, String> {
        self.with_state(|s| s.create_order(spec))
    }

    /// A shop-side edit (a tag): bumps `updated_at`.
    pub fn touch_order(&self, id: u64, tag: &str) -> bool {
        self.with_state(|s| s.touch_order(id, Some(tag)))
    }

    pub fn cancel_order_shop_side(&self, id: u64, reason: &str) -> Result<(), String> {
        self.with_state(|s| s.cancel_order_shop_side(id, reason))
            .map_err(|e| e.message)
    }

    pub fn order(&self, id: u64) -> Option<Order> {
        self.app.state.lock().orders.get(&id).cloned()
    }

    pub fn order_ids(&self) -> Vec<u64> {
        self.app.state.lock().orders.keys().copied().collect()
    }

    /// The order in its GraphQL shape.
    pub fn order_json(&self, id: u64) -> Option<Value> {
        self.app.state.lock().orders.get(&id).map(exec::order_json)
    }

    // ---- payments

    /// Pays out every balance transaction not yet paid out; returns the payout id.
    pub fn create_payout(&self, status: &str) -> Option<u64> {
        self.with_state(|s| s.create_payout(status))
    }

    pub fn add_adjustment(&self, amount: Decimal, reason: &str) -> u64 {
        self.with_state(|s| s.add_adjustment(amount, reason))
    }

    // ---- counters, exchanges, limits, faults

    pub fn counters(&self) -> Counters {
        self.app.state.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.app.state.lock().counters = Counters::default();
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.app.exchanges.lock().clone()
    }

    pub fn set_throttle(&self, cfg: ThrottleConfig) {
        self.app.bucket.lock().set(cfg);
    }

    /// The bucket as the shop sees it now: (maximum, currently available, restore rate).
    pub fn throttle_status(&self) -> (f64, f64, f64) {
        let s = self.app.bucket.lock().status();
        (s.maximum_available, s.currently_available, s.restore_rate)
    }

    /// Take `points` from the bucket as another consumer of the same app and shop would (a
    /// second process with the same token): the connector cannot know, and meets THROTTLED.
    pub fn consume_points(&self, points: f64) {
        let mut b = self.app.bucket.lock();
        let available = b.status().currently_available;
        let _ = b.take(points.min(available));
    }

    /// Inject `fault` into the next `times` requests with this operation name (`"*"`: any).
    pub fn inject_fault(&self, operation: &str, fault: Fault, times: u32) {
        self.app.faults.lock().push(operation, fault, times);
    }

    pub fn clear_faults(&self) {
        self.app.faults.lock().clear();
    }

    /// Run one GraphQL request in-process (no HTTP, no auth): for tests of the sandbox itself.
    pub fn execute(&self, query: &str, variables: Value) -> Value {
        let r = self.app.execute(query, &variables, None);
        self.app.flush_events();
        r
    }

    // ---- webhooks

    /// Deliver every webhook the shop emits from now on to `url` (`None`: stop).
    pub fn set_webhook_url(&self, url: Option<String>) {
        *self.app.webhook_url.lock() = url;
    }

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.app.deliveries.lock().clone()
    }

    /// Every webhook the shop emitted, in order.
    pub fn events(&self) -> Vec<Event> {
        self.app.state.lock().events.clone()
    }

    /// A correctly signed webhook request for `topic` with this body (to send or tamper with).
    pub fn webhook_request(&self, topic: &str, body: Value) -> WebhookRequest {
        delivery::build(
            &self.app,
            &Event {
                topic: topic.to_string(),
                body,
                triggered_at: jiff::Timestamp::now(),
            },
        )
    }

    /// The webhook for the last event emitted on `topic`, signed, as it would be delivered.
    pub fn last_webhook(&self, topic: &str) -> Option<WebhookRequest> {
        let ev = self
            .app
            .state
            .lock()
            .events
            .iter()
            .rev()
            .find(|e| e.topic == topic)
            .cloned()?;
        Some(delivery::build(&self.app, &ev))
    }

    /// POSTs a webhook request to `url`; returns the HTTP status.
    pub async fn send_webhook(&self, url: &str, req: &WebhookRequest) -> Option<u16> {
        let client = reqwest::Client::new();
        let s = delivery::send(&client, url, req).await;
        self.app.state.lock().counters.webhooks_sent += 1;
        s
    }

    /// The merchant removes the app: `app/uninstalled` is sent and the token stops working.
    pub fn uninstall(&self) {
        let domain = self.app.domain.clone();
        let name = self.app.state.lock().shop_name.clone();
        let ev = Event {
            topic: "app/uninstalled".into(),
            body: json!({"id": 1, "name": name, "domain": domain, "myshopify_domain": domain}),
            triggered_at: jiff::Timestamp::now(),
        };
        {
            let mut st = self.app.state.lock();
            st.events.push(ev.clone());
            st.pending_events.push(ev);
        }
        self.app.flush_events();
        self.rotate_token(&format!("revoked_{}", random_hex(8)));
    }
}

impl Drop for ShopifySandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}
