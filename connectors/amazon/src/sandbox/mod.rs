//! An SP-API emulator: one HTTP server with the Login-with-Amazon token endpoint and the
//! operations the connector uses, at the models' own paths, with the models' query parameters,
//! headers and JSON bodies, and with state rather than canned answers.
//!
//! ```text
//! POST  /auth/o2/token                                   LWA refresh-token grant (expiring tokens)
//! POST  /tokens/2021-03-01/restrictedDataToken           RDT for buyer/address PII
//! GET   /orders/v0/orders?MarketplaceIds&LastUpdatedAfter&MaxResultsPerPage&NextToken
//! GET   /orders/v0/orders/{orderId}   …/orderItems?NextToken
//! POST  /orders/v0/orders/{orderId}/shipmentConfirmation  204
//! GET|PUT|PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds
//! GET   /listings/2021-08-01/items/{sellerId}?identifiers&identifiersType=SKU
//! POST  /feeds/2021-06-30/documents → pre-signed /_s3/documents/{id} (PUT the document)
//! POST  /feeds/2021-06-30/feeds (202)   GET …/feeds/{feedId}   GET …/documents/{id}
//! POST  /reports/2021-06-30/reports (202)   GET …/reports/{reportId}   GET …/documents/{id}
//!       (the flat-file returns report only: see `returns.rs`)
//! GET   /fba/inventory/v1/summaries
//! GET   /finances/v0/financialEventGroups   …/{eventGroupId}/financialEvents
//! ```
//!
//! Every operation has its usage plan (token bucket) from the published table times
//! `rate_scale`, refuses with 429 `QuotaExceeded` and says `x-amzn-RateLimit-Limit`; every
//! request, write and violation is counted. Tokens expire; a revoked or unknown token gets 401
//! `Unauthorized`, an expired one 403 `Unauthorized` ("The access token you provided has
//! expired."), as SP-API answers (403 where the operation's model declares no 401). Errors are `{"errors": [{code, message, details}]}`.
//! The test's hand: [`AmazonSandbox`]'s methods, and a small `/_sandbox` HTTP control API.

mod acknowledgements;
mod limits;
mod returns;
mod routes;
mod state;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use limits::{Fault, OpLimit, published};
pub use returns::{COLUMNS as RETURNS_REPORT_COLUMNS, NewReturn};
pub use state::{Counters, FbaRow, NewItem, NewOrder, SbAddress, SbListing};
pub use wire::ApiError;

use limits::{Faults, Limits};
use state::State;

/// How to start the sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Default `127.0.0.1:0` (a free port).
    pub bind: SocketAddr,
    pub seller_id: String,
    pub marketplace_id: String,
    pub currency: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// Lifetime of access tokens and RDTs (Amazon: one hour).
    pub token_lifetime: Duration,
    /// Multiplies every published rate (not the burst): a seller with a higher usage plan.
    /// `x-amzn-RateLimit-Limit` reports the scaled rate.
    pub rate_scale: f64,
    /// Time from createFeed (and createReport) to DONE.
    pub feed_delay: Duration,
    /// Items per getOrderItems page.
    pub items_per_page: usize,
    /// Serve processing reports gzip-compressed (`compressionAlgorithm: GZIP`).
    pub gzip_reports: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seller_id: "A1SBXSELLER".into(),
            marketplace_id: "ATVPDKIKX0DER".into(),
            currency: "USD".into(),
            client_id: "amzn1.application-oa2-client.sandbox".into(),
            client_secret: "sbx-client-secret".into(),
            refresh_token: "Atzr|sbx-refresh-token".into(),
            token_lifetime: Duration::from_secs(3600),
            rate_scale: 1.0,
            feed_delay: Duration::from_millis(300),
            items_per_page: 20,
            gzip_reports: false,
        }
    }
}

pub(crate) struct Creds {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: Mutex<String>,
}

#[derive(Default)]
pub(crate) struct Tokens {
    pub access: HashMap<String, Instant>,
    pub rdt: HashMap<String, (Instant, Vec<String>)>,
}

/// One SP-API exchange, recorded for the contract test.
#[derive(Clone, Debug)]
pub struct JournalEntry {
    pub op: String,
    pub status: u16,
    pub request: Option<Value>,
    pub response: Option<Value>,
}

pub(crate) struct App {
    pub journal: Mutex<Option<Vec<JournalEntry>>>,
    pub state: Mutex<State>,
    pub limits: Mutex<Limits>,
    pub faults: Mutex<Faults>,
    pub tokens: Mutex<Tokens>,
    pub creds: Creds,
    pub token_lifetime: Mutex<Duration>,
    pub feed_delay: Mutex<Duration>,
    pub request_ids: AtomicU64,
    pub base_url: String,
    secret: String,
}

impl App {
    /// The pre-signed URL's signature for a document (stands in for S3's).
    pub fn signature(&self, id: &str) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.secret.bytes().chain(id.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// A running SP-API sandbox. Dropping it stops the server.
pub struct AmazonSandbox {
    app: Arc<App>,
    addr: SocketAddr,
    config: SandboxConfig,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl AmazonSandbox {
    pub async fn start(config: SandboxConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let plans: BTreeMap<String, OpLimit> = published()
            .into_iter()
            .map(|(k, l)| {
                (
                    k,
                    OpLimit {
                        rate: l.rate * config.rate_scale,
                        burst: l.burst,
                    },
                )
            })
            .collect();
        let mut st = State::new(&config.seller_id, &config.marketplace_id, &config.currency);
        st.items_per_page = config.items_per_page;
        st.gzip_reports = config.gzip_reports;
        let app = Arc::new(App {
            journal: Mutex::new(None),
            state: Mutex::new(st),
            limits: Mutex::new(Limits::new(&plans)),
            faults: Mutex::new(Faults::default()),
            tokens: Mutex::new(Tokens::default()),
            creds: Creds {
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                refresh_token: Mutex::new(config.refresh_token.clone()),
            },
            token_lifetime: Mutex::new(config.token_lifetime),
            feed_delay: Mutex::new(config.feed_delay),
            request_ids: AtomicU64::new(1),
            base_url: format!("http://{addr}"),
            secret: format!("{:x}", addr.port() as u64 * 2_654_435_761),
        });
        let router = routes::router(app.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let r = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "amazon sandbox stopped");
            }
        });
        Ok(Self {
            app,
            addr,
            config,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` (the SP-API endpoint).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The LWA token endpoint.
    pub fn lwa_url(&self) -> String {
        format!("{}/auth/o2/token", self.url())
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// A connection table pointing at this sandbox, with its credentials.
    pub fn connection(&self) -> crate::config::Connection {
        crate::config::Connection {
            endpoint: self.url(),
            lwa_endpoint: self.lwa_url(),
            client_id: self.config.client_id.clone(),
            seller_id: self.config.seller_id.clone(),
            marketplace_id: self.config.marketplace_id.clone(),
            ..Default::default()
        }
    }

    /// A full connector configuration for this sandbox.
    pub fn amazon_config(&self) -> crate::AmazonConfig {
        crate::AmazonConfig {
            connection: self.connection(),
            refresh_token: SecretString::from(self.app.creds.refresh_token.lock().clone()),
            client_secret: SecretString::from(self.config.client_secret.clone()),
        }
    }

    // ---- orders

    pub fn create_order(&self, spec: NewOrder) -> Result<String, ApiError> {
        self.app.state.lock().create_order(spec)
    }

    pub fn set_order_status(&self, id: &str, status: &str) -> Result<(), ApiError> {
        self.app.state.lock().set_order_status(id, status)
    }

    /// The buyer asks to cancel an unshipped order: every item shows `BuyerRequestedCancel`
    /// (and the order a new `LastUpdateDate`). Amazon leaves the decision to the seller.
    pub fn buyer_requests_cancel(&self, id: &str, reason: &str) -> Result<(), ApiError> {
        let mut st = self.app.state.lock();
        let o = st
            .orders
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
        for it in &mut o.items {
            it["BuyerRequestedCancel"] =
                serde_json::json!({"IsBuyerRequestedCancel": "true", "BuyerCancelReason": reason});
        }
        st.touch(id);
        Ok(())
    }

    /// The order as getOrder shows it with PII, and its items.
    pub fn order(&self, id: &str) -> Option<(Value, Vec<Value>)> {
        let st = self.app.state.lock();
        st.orders
            .get(id)
            .map(|o| (st.order_view(o, true), o.items.clone()))
    }

    pub fn set_items_per_page(&self, n: usize) {
        self.app.state.lock().items_per_page = n.max(1);
    }

    /// An ORDER_CHANGE notification body as SQS delivers it.
    pub fn order_change_notification(&self, id: &str) -> Result<Value, ApiError> {
        self.app.state.lock().order_change_notification(id)
    }

    // ---- listings

    pub fn add_listing(&self, sku: &str, quantity: i64, price: Decimal) {
        self.app
            .state
            .lock()
            .upsert_listing_seed(sku, quantity, price);
    }

    pub fn listing(&self, sku: &str) -> Option<SbListing> {
        self.app.state.lock().listings.get(sku).cloned()
    }

    pub fn quantity(&self, sku: &str) -> Option<i64> {
        self.app
            .state
            .lock()
            .listings
            .get(sku)
            .and_then(|l| l.quantity)
    }

    pub fn price(&self, sku: &str) -> Option<Decimal> {
        self.app
            .state
            .lock()
            .listings
            .get(sku)
            .and_then(|l| l.price)
    }

    /// Every later PATCH (direct or in a feed) of this SKU is refused with this issue.
    pub fn reject_sku(&self, sku: &str, code: &str, message: &str) {
        self.app
            .state
            .lock()
            .bad_skus
            .insert(sku.to_string(), (code.to_string(), message.to_string()));
    }

    pub fn set_feed_delay(&self, d: Duration) {
        *self.app.feed_delay.lock() = d;
    }

    pub fn set_gzip_reports(&self, on: bool) {
        self.app.state.lock().gzip_reports = on;
    }

    /// The last feed document uploaded, parsed (for contract checks).
    pub fn feed_documents(&self) -> Vec<Value> {
        let st = self.app.state.lock();
        st.feeds
            .values()
            .filter_map(|f| st.docs.get(&f.input_doc))
            .filter_map(|d| d.content.as_ref())
            .filter_map(|c| serde_json::from_slice(c).ok())
            .collect()
    }

    /// The order-acknowledgement (XML) feed documents uploaded so far, in feed order.
    pub fn acknowledgement_documents(&self) -> Vec<String> {
        let st = self.app.state.lock();
        st.feeds
            .values()
            .filter(|f| f.feed_type == crate::cancel::FEED_TYPE)
            .filter_map(|f| st.docs.get(&f.input_doc))
            .filter_map(|d| d.content.as_ref())
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    /// Processing reports produced so far, parsed.
    pub fn processing_reports(&self) -> Vec<Value> {
        let st = self.app.state.lock();
        st.feeds
            .values()
            .filter_map(|f| f.result_doc.as_ref())
            .filter_map(|id| st.docs.get(id))
            .filter_map(|d| {
                let c = d.content.as_ref()?;
                if d.gzip {
                    use std::io::Read as _;
                    let mut out = Vec::new();
                    flate2::read::GzDecoder::new(c.as_slice())
                        .read_to_end(&mut out)
                        .ok()?;
                    serde_json::from_slice(&out).ok()
                } else {
                    serde_json::from_slice(c).ok()
                }
            })
            .collect()
    }

    // ---- returns

    /// A return request in Seller Central's list (and so in every later returns report).
    pub fn add_return(&self, r: NewReturn) {
        self.app.state.lock().returns.push(r);
    }

    /// The parcel of return `rma` (item `sku`) reached the seller; `refunded` when the buyer
    /// was refunded too.
    pub fn deliver_return(
        &self,
        rma: &str,
        sku: &str,
        at: jiff::Timestamp,
        refunded: Option<Decimal>,
    ) -> Result<(), ApiError> {
        let mut st = self.app.state.lock();
        let r = st
            .returns
            .iter_mut()
            .find(|r| r.rma == rma && r.sku == sku)
            .ok_or_else(|| ApiError::not_found(format!("return {rma}/{sku}")))?;
        r.delivered = Some(at);
        r.refunded = refunded;
        if refunded.is_some() {
            r.status = "Closed".into();
        }
        Ok(())
    }

    // ---- FBA and finances

    pub fn set_fba(&self, row: FbaRow) {
        self.app.state.lock().fba.insert(row.sku.clone(), row);
    }

    /// Closes a settlement period over these orders (see `State::settle`).
    pub fn settle(
        &self,
        order_ids: &[String],
        refund_order: Option<&str>,
        adjustment: Option<Decimal>,
    ) -> Result<String, ApiError> {
        self.app
            .state
            .lock()
            .settle(order_ids, refund_order, adjustment)
    }

    pub fn open_settlement_group(&self) -> String {
        self.app.state.lock().open_group()
    }

    // ---- tokens, counters, faults, limits

    /// Revokes every access token and RDT issued so far: the next call gets 401.
    pub fn revoke_access_tokens(&self) {
        let mut t = self.app.tokens.lock();
        t.access.clear();
        t.rdt.clear();
    }

    pub fn set_token_lifetime(&self, d: Duration) {
        *self.app.token_lifetime.lock() = d;
    }

    /// The seller revoked the app: the refresh token no longer works.
    pub fn revoke_refresh_token(&self) {
        *self.app.creds.refresh_token.lock() = format!("revoked-{}", self.addr.port());
    }

    pub fn counters(&self) -> Counters {
        self.app.state.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.app.state.lock().counters = Counters::default();
    }

    /// Inject `fault` into the next `times` requests of operation `op` (`"*"` for any; the
    /// pseudo-operation `processFeed` with `Fault::FeedFatal` makes the next feed FATAL).
    pub fn inject_fault(&self, op: &str, fault: Fault, times: u32) {
        self.app.faults.lock().push(op, fault, times);
    }

    pub fn clear_faults(&self) {
        self.app.faults.lock().clear();
    }

    /// Start recording every SP-API exchange (operation, status, request and response bodies).
    pub fn record(&self) {
        *self.app.journal.lock() = Some(Vec::new());
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        self.app.journal.lock().clone().unwrap_or_default()
    }

    pub fn set_rate_limit(&self, op: &str, limit: OpLimit) {
        self.app.limits.lock().set(op, limit);
    }
}

impl Drop for AmazonSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
