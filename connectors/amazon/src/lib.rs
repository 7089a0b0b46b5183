//! Amazon Selling Partner API connector ([`AmazonChannel`]) and an SP-API emulator
//! ([`sandbox`]) that honours the official models in `../shared/marketplace-specs/amazon-sp-api`.
//!
//! ```text
//! lib.rs        AmazonChannel: impl Channel (orchestration: paging, PATCH vs feed, outcomes,
//!               re-check after an ambiguous shipment confirmation)
//! config.rs     the [channels.connection] table + secrets; the embedded usage-plan table
//! client.rs     HTTP: LWA + RDT tokens, per-operation buckets, 429 handling, classification
//! mapping.rs    SP-API JSON ↔ normalised types; feed documents and processing reports (pure)
//! cancel.rs     cancelling an order: the XML order-acknowledgement feed and its XML
//!               processing report (read into the listings report's shape)
//! xml.rs        the small XML tree both of those need
//! returns.rs    merchant-fulfilled returns from the flat-file returns report (report life
//!               cycle without waiting; the tab-separated rows → normalised returns)
//! webhooks.rs   ORDER_CHANGE notifications (SQS/EventBridge bodies), deduped
//! sandbox/      the SP-API emulator (LWA, orders, listings, feeds, FBA, finances, limits)
//! tests.rs      unit tests (mapping, proptest, report attribution, config)
//! tests/        integration (connector ↔ sandbox over HTTP) and contract (models/schemas)
//! ```
//!
//! Stock and price: up to `feed_threshold` updates (default 20) go as one `patchListingsItem`
//! each and come back `Applied`/`Rejected` at once; more go as a `JSON_LISTINGS_FEED`
//! (createFeedDocument → upload → createFeed: three calls, whatever the size) and come back
//! `Pending`; `poll_pending` resolves them from the processing report, message by message.
//! A cancellation takes the same feed path (see [`cancel`]) and the same `poll_pending`.

pub mod cancel;
pub mod client;
pub mod config;
pub mod mapping;
pub mod returns;
pub mod sandbox;
pub mod webhooks;
pub mod xml;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read as _;
use std::sync::Arc;

use async_trait::async_trait;
use channels_core::webhook::DedupeSet;
use channels_core::{
    CancelAck, Cancellation, Capabilities, Channel, ChannelError, ChannelId, ChannelKind,
    ChannelValue, ConnectorFactory, ConnectorSecrets, Currency, Listing, MappingError, Money,
    Operation, Order, OrderPage, OrderQuery, OrderStatus, Page, PageQuery, PageToken,
    PendingHandle, PriceUpdate, Pulled, PushOutcome, RateLimiter, Return, Settlement, Shipment,
    ShipmentAck, StockLevel, StockUpdate, WebhookError, WebhookEvent,
};
use http::{HeaderMap, Method};
use parking_lot::Mutex;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

pub use config::AmazonConfig;
pub use mapping::FbaInventory;

use client::{Auth, Client, Request, path_segment};
use mapping::{FeedHandle, FeedMessage, MessageResult};

/// For the daemon's registry: `registry.register(channel_amazon::factory())`.
pub fn factory() -> ConnectorFactory {
    ConnectorFactory {
        kind: ChannelKind::Amazon,
        required_secrets: &["refresh_token", "client_secret"],
        optional_secrets: &[],
        build,
    }
}

fn build(
    id: ChannelId,
    connection: &Value,
    secrets: &ConnectorSecrets,
) -> Result<Arc<dyn Channel>, ChannelError> {
    Ok(Arc::new(AmazonChannel::new(
        id,
        AmazonConfig::from_parts(connection, secrets)?,
    )?))
}

/// How many processing reports to keep (a 10,000-SKU push is polled in slices; the report is
/// downloaded once, getFeedDocument allows 0.0222 req/s).
const REPORT_CACHE: usize = 8;

/// Carriers SP-API knows by `carrierCode`; anything else is sent as `Other` + `carrierName`.
const CARRIER_CODES: &[&str] = &[
    "USPS",
    "UPS",
    "FedEx",
    "DHL",
    "DHL eCommerce",
    "Amazon Shipping",
    "OnTrac",
    "Royal Mail",
    "Parcelforce",
    "DPD",
    "Hermes",
    "Evri",
    "GLS",
    "La Poste",
    "Colissimo",
    "Chronopost",
    "Deutsche Post",
    "Canada Post",
    "Japan Post",
    "Yamato Transport",
    "Australia Post",
    "China Post",
    "SF Express",
    "TNT",
];

/// A channel on Amazon (one seller, one marketplace).
pub struct AmazonChannel {
    id: ChannelId,
    config: AmazonConfig,
    client: Client,
    seen: DedupeSet,
    reports: Mutex<VecDeque<(String, Arc<Value>)>>,
    returns: Mutex<returns::ReportState>,
}

impl AmazonChannel {
    pub fn new(id: ChannelId, config: AmazonConfig) -> Result<Self, ChannelError> {
        Self::with_limiter(id, config, RateLimiter::new())
    }

    /// With a shared limiter (the daemon may hold one for all channels to report on).
    pub fn with_limiter(
        id: ChannelId,
        config: AmazonConfig,
        limiter: RateLimiter,
    ) -> Result<Self, ChannelError> {
        config.validate()?;
        let client = Client::new(&id, &config, limiter)?;
        Ok(Self {
            id,
            config,
            client,
            seen: DedupeSet::new(10_000),
            reports: Mutex::new(VecDeque::new()),
            returns: Mutex::new(returns::ReportState::default()),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn conn(&self) -> &config::Connection {
        &self.config.connection
    }

    fn orders_auth(&self) -> Auth {
        if self.conn().restricted_data {
            Auth::OrdersRdt
        } else {
            Auth::Lwa
        }
    }

    fn listing_path(&self, sku: &str) -> String {
        format!(
            "/listings/2021-08-01/items/{}/{}",
            path_segment(&self.conn().seller_id),
            path_segment(sku)
        )
    }

    // ------------------------------------------------------------ orders

    /// Every item of an order, through every NextToken page.
    async fn order_items(&self, order_id: &str) -> Result<Vec<Value>, ChannelError> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        let path = format!("/orders/v0/orders/{}/orderItems", path_segment(order_id));
        loop {
            let mut req = Request::get("getOrderItems", path.clone()).auth(Auth::Lwa);
            if let Some(t) = &next {
                req = req.query("NextToken", t.clone());
            }
            let resp = self.client.read(req).await?;
            let payload = resp
                .body
                .get("payload")
                .ok_or_else(|| decode_error("getOrderItems", "payload", "missing"))?;
            let page = payload
                .get("OrderItems")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    decode_error("getOrderItems", "payload.OrderItems", "expected an array")
                })?;
            items.extend(page.iter().cloned());
            match payload.get("NextToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(items),
            }
        }
    }

    /// Maps an order after fetching its items. Items that cannot be fetched for a reason that
    /// will not go away (404, 400) make the order `Malformed` (kept whole, quarantined);
    /// anything retryable fails the page so that the job re-reads the same page later.
    async fn complete_order(&self, order: &Value) -> Result<Pulled<Order>, ChannelError> {
        let Some(id) = mapping::amazon_order_id(order) else {
            return Ok(mapping::map_order(
                &self.id,
                &self.conn().marketplace_id,
                order,
                &[],
            ));
        };
        match self.order_items(&id).await {
            Ok(items) => Ok(mapping::map_order(
                &self.id,
                &self.conn().marketplace_id,
                order,
                &items,
            )),
            Err(
                e @ (ChannelError::NotFound { .. }
                | ChannelError::Rejected { .. }
                | ChannelError::Decode(_)),
            ) => Ok(Pulled::Malformed {
                external_id: Some(id.clone()),
                raw: order.clone(),
                error: MappingError::new(format!("order {id}"), "OrderItems", e.to_string()),
            }),
            Err(e) => Err(e),
        }
    }

    // ------------------------------------------------------------ listings: PATCH and feeds

    async fn patch_one(
        &self,
        sku: &str,
        version: u64,
        patches: Vec<Value>,
        applied: ChannelValue,
    ) -> PushOutcome {
        let body = json!({"productType": self.conn().product_type, "patches": patches});
        let req = Request::with_body(
            "patchListingsItem",
            Method::PATCH,
            self.listing_path(sku),
            &body,
        )
        .query("marketplaceIds", self.conn().marketplace_id.clone());
        match self.client.write(req).await {
            Ok(resp) => submission_outcome(sku, version, &resp.body, applied),
            Err(e) => failure_outcome(sku.to_string(), version, &e),
        }
    }

    /// Submits one feed of PATCH messages; every item gets `Pending` (or the failure).
    async fn submit_feed(&self, items: &[Item]) -> Result<Vec<PushOutcome>, ChannelError> {
        let messages: Vec<FeedMessage> = items
            .iter()
            .enumerate()
            .map(|(i, (sku, _, patches, _, _))| FeedMessage {
                message_id: i as u32 + 1,
                sku: sku.clone(),
                patches: patches.clone(),
            })
            .collect();
        let doc =
            mapping::feed_document(&self.conn().seller_id, &self.conn().product_type, &messages);
        let fail = |e: &ChannelError| -> Vec<PushOutcome> {
            items
                .iter()
                .map(|(sku, v, ..)| failure_outcome(sku.clone(), *v, e))
                .collect()
        };
        let bytes = serde_json::to_vec(&doc).map_err(|e| ChannelError::Config(e.to_string()))?;
        let feed = match self
            .send_feed(
                "JSON_LISTINGS_FEED",
                "application/json; charset=UTF-8",
                bytes,
            )
            .await
        {
            Ok(f) => f,
            Err(e) => return Ok(fail(&e)),
        };
        let feed_id = feed.as_str();
        tracing::info!(
            feed_id,
            messages = items.len(),
            "submitted JSON_LISTINGS_FEED"
        );
        let n = items.len() as u32;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, (sku, version, _, q, p))| {
                let h = FeedHandle {
                    f: feed_id.to_string(),
                    m: i as u32 + 1,
                    n,
                    s: sku.clone(),
                    v: *version,
                    q: *q,
                    p: p.clone(),
                };
                PushOutcome::Pending {
                    sku: sku.clone(),
                    version: *version,
                    handle: PendingHandle(serde_json::to_string(&h).unwrap_or_default()),
                }
            })
            .collect())
    }

    /// createFeedDocument → upload → createFeed: the feed's id. Whatever fails before
    /// createFeed is `Transient` (nothing can have been applied); createFeed's own failure
    /// keeps its class (a timeout there is `Ambiguous`), and an answer without a feedId is
    /// `Ambiguous` too.
    async fn send_feed(
        &self,
        feed_type: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, ChannelError> {
        let not_sent = |e: ChannelError| -> ChannelError {
            match e {
                ChannelError::Ambiguous { message } => ChannelError::Transient { message },
                other => other,
            }
        };
        let spec = json!({"contentType": content_type});
        let created = self
            .client
            .write(Request::with_body(
                "createFeedDocument",
                Method::POST,
                "/feeds/2021-06-30/documents",
                &spec,
            ))
            .await
            .map_err(not_sent)?
            .body;
        let (Some(doc_id), Some(url)) = (
            created.get("feedDocumentId").and_then(Value::as_str),
            created.get("url").and_then(Value::as_str),
        ) else {
            return Err(ChannelError::Transient {
                message: "createFeedDocument: no feedDocumentId/url in the answer".into(),
            });
        };
        self.client
            .upload(url, content_type, bytes)
            .await
            .map_err(not_sent)?;
        let spec = json!({
            "feedType": feed_type,
            "marketplaceIds": [self.conn().marketplace_id],
            "inputFeedDocumentId": doc_id,
        });
        let feed = self
            .client
            .write(Request::with_body(
                "createFeed",
                Method::POST,
                "/feeds/2021-06-30/feeds",
                &spec,
            ))
            .await?
            .body;
        feed.get("feedId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ChannelError::Ambiguous {
                message: "createFeed answered without a feedId".into(),
            })
    }

    /// PATCH one by one up to the threshold, else feeds of `feed_max_messages`.
    async fn push_listings(
        &self,
        items: Vec<Item>,
        mut early: BTreeMap<usize, PushOutcome>,
        total: usize,
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        let mut sent: Vec<PushOutcome> = Vec::with_capacity(items.len());
        if items.len() <= self.conn().feed_threshold {
            for (i, (sku, version, patches, q, p)) in items.iter().enumerate() {
                let applied = applied_value(*q, p);
                let o = self
                    .patch_one(sku, *version, patches.clone(), applied)
                    .await;
                if i == 0
                    && let PushOutcome::Rejected {
                        reason,
                        retryable: true,
                        ..
                    } = &o
                    && reason.starts_with("authentication failed")
                {
                    return Err(ChannelError::Auth {
                        message: reason.clone(),
                    });
                }
                sent.push(o);
            }
        } else {
            for chunk in items.chunks(self.conn().feed_max_messages) {
                sent.extend(self.submit_feed(chunk).await?);
            }
        }
        // Put the early outcomes (superseded duplicates, refused locations) back in place.
        let mut it = sent.into_iter();
        Ok((0..total)
            .filter_map(|i| early.remove(&i).or_else(|| it.next()))
            .collect())
    }

    async fn feed_report(&self, feed_id: &str, doc_id: &str) -> Result<Arc<Value>, ChannelError> {
        if let Some((_, r)) = self.reports.lock().iter().find(|(f, _)| f == feed_id) {
            return Ok(r.clone());
        }
        let bytes = self
            .document(
                "getFeedDocument",
                &format!("/feeds/2021-06-30/documents/{}", path_segment(doc_id)),
            )
            .await?;
        // The listings feed answers in JSON, the order-acknowledgement feed in XML.
        let report: Value = if cancel::is_xml(&bytes) {
            cancel::report_as_json(&bytes)
                .map_err(|e| decode_error("processing report", "$", &format!("XML: {e}")))?
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| decode_error("processing report", "$", &format!("not JSON: {e}")))?
        };
        let report = Arc::new(report);
        let mut cache = self.reports.lock();
        cache.push_back((feed_id.to_string(), report.clone()));
        while cache.len() > REPORT_CACHE {
            cache.pop_front();
        }
        Ok(report)
    }

    /// A feed's or report's record (getFeed / getReport) and its `processingStatus` (empty
    /// when absent: treated as still processing).
    async fn processing(
        &self,
        op: &'static str,
        path: String,
    ) -> Result<(Value, String), ChannelError> {
        let body = self.client.read(Request::get(op, path)).await?.body;
        let status = body
            .get("processingStatus")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Ok((body, status))
    }

    /// A feed's or report's document: its pre-signed URL from `op`, downloaded, and
    /// gunzipped when Amazon says so.
    async fn document(&self, op: &'static str, path: &str) -> Result<Vec<u8>, ChannelError> {
        let d = self
            .client
            .read(Request::get(op, path.to_string()))
            .await?
            .body;
        let url = d
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| decode_error(op, "url", "missing"))?;
        let bytes = self.client.download(url).await?.to_vec();
        if d.get("compressionAlgorithm").and_then(Value::as_str) != Some("GZIP") {
            return Ok(bytes);
        }
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| decode_error(op, "document", &format!("not gzip: {e}")))?;
        Ok(out)
    }

    // ------------------------------------------------------------ FBA

    /// Amazon's own stock in its fulfilment network (FBA). It is **not** the daemon's to
    /// allocate: the daemon shows it beside Odoo's stock (per SKU: fulfillable, inbound,
    /// reserved, unfulfillable) and never pushes or decrements it. Empty `skus` reads every
    /// SKU of the marketplace, page by page.
    pub async fn read_fba_inventory(
        &self,
        skus: &[String],
    ) -> Result<Vec<FbaInventory>, ChannelError> {
        let mut out = Vec::new();
        let chunks: Vec<Option<&[String]>> = if skus.is_empty() {
            vec![None]
        } else {
            skus.chunks(50).map(Some).collect()
        };
        for chunk in chunks {
            let mut next: Option<String> = None;
            loop {
                let mut req = Request::get("getInventorySummaries", "/fba/inventory/v1/summaries")
                    .query("details", "true")
                    .query("granularityType", "Marketplace")
                    .query("granularityId", self.conn().marketplace_id.clone())
                    .query("marketplaceIds", self.conn().marketplace_id.clone());
                if let Some(c) = chunk {
                    req = req.query("sellerSkus", c.join(","));
                }
                if let Some(t) = &next {
                    req = req.query("nextToken", t.clone());
                }
                let body = self.client.read(req).await?.body;
                let list = body
                    .get("payload")
                    .and_then(|p| p.get("inventorySummaries"))
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        decode_error(
                            "getInventorySummaries",
                            "payload.inventorySummaries",
                            "expected an array",
                        )
                    })?;
                for (i, s) in list.iter().enumerate() {
                    out.push(mapping::map_inventory_summary(s).map_err(|mut e| {
                        e.field = format!("payload.inventorySummaries[{i}].{}", e.field);
                        ChannelError::Decode(e)
                    })?);
                }
                match body
                    .get("pagination")
                    .and_then(|p| p.get("nextToken"))
                    .and_then(Value::as_str)
                {
                    Some(t) if !t.is_empty() => next = Some(t.to_string()),
                    _ => break,
                }
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------ shipments

    /// Re-read the order after an ambiguous or refused confirmation: were these items shipped?
    async fn shipment_applied(
        &self,
        order_id: &str,
        lines: &[(String, i64)],
    ) -> Result<(bool, Option<OrderStatus>), ChannelError> {
        let order = self
            .client
            .read(Request::get(
                "getOrder",
                format!("/orders/v0/orders/{}", path_segment(order_id)),
            ))
            .await?
            .body;
        let status = order
            .get("payload")
            .and_then(|p| p.get("OrderStatus"))
            .and_then(Value::as_str)
            .map(mapping::order_status);
        if status == Some(OrderStatus::Shipped) {
            return Ok((true, status));
        }
        let items = self.order_items(order_id).await?;
        let shipped = |id: &str| {
            items
                .iter()
                .find(|i| i.get("OrderItemId").and_then(Value::as_str) == Some(id))
                .and_then(|i| i.get("QuantityShipped").and_then(Value::as_i64))
                .unwrap_or(0)
        };
        let all = !lines.is_empty() && lines.iter().all(|(id, q)| shipped(id) >= *q);
        Ok((all, status))
    }
}

/// What was sent for a price: amount, currency code, compare-at amount.
type PriceSent = (Decimal, String, Option<Decimal>);
/// One listing update: SKU, version, JSON Patch operations, and the quantity or price it sets.
type Item = (String, u64, Vec<Value>, Option<u32>, Option<PriceSent>);

fn applied_value(q: Option<u32>, p: &Option<PriceSent>) -> ChannelValue {
    match (q, p) {
        (Some(q), _) => ChannelValue::Quantity {
            quantity: i64::from(q),
        },
        (None, Some((amount, cur, compare))) => {
            let c = Currency::new(cur).unwrap_or(Currency::USD);
            ChannelValue::Price {
                price: Money::new(*amount, c),
                compare_at: compare.map(|a| Money::new(a, c)),
            }
        }
        (None, None) => ChannelValue::Listing { listing_ref: None },
    }
}

/// Keeps the last update of each SKU; earlier ones are answered at once as superseded (two
/// messages for one SKU in a feed are applied in no guaranteed order).
fn dedupe_last<U>(
    updates: &[U],
    key: impl Fn(&U) -> (&str, u64),
) -> (Vec<usize>, BTreeMap<usize, PushOutcome>) {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, u) in updates.iter().enumerate() {
        last.insert(key(u).0, i);
    }
    let mut keep = Vec::new();
    let mut early = BTreeMap::new();
    for (i, u) in updates.iter().enumerate() {
        let (sku, version) = key(u);
        if last.get(sku) == Some(&i) {
            keep.push(i);
        } else {
            early.insert(
                i,
                PushOutcome::Rejected {
                    sku: sku.to_string(),
                    version,
                    reason: "superseded by a later update of the same SKU in this push".into(),
                    code: Some("SUPERSEDED".into()),
                    retryable: false,
                },
            );
        }
    }
    (keep, early)
}

/// `ListingsItemSubmissionResponse` → outcome.
fn submission_outcome(sku: &str, version: u64, body: &Value, applied: ChannelValue) -> PushOutcome {
    let errors: Vec<(Option<String>, String)> = body
        .get("issues")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|i| i.get("severity").and_then(Value::as_str) == Some("ERROR"))
                .map(|i| {
                    (
                        i.get("code").and_then(Value::as_str).map(str::to_string),
                        i.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("error")
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    match body.get("status").and_then(Value::as_str) {
        Some("ACCEPTED") if errors.is_empty() => PushOutcome::Applied {
            sku: sku.to_string(),
            version,
            channel_value: applied,
        },
        Some("INVALID") | Some("ACCEPTED") => PushOutcome::Rejected {
            sku: sku.to_string(),
            version,
            reason: if errors.is_empty() {
                "INVALID without issues".into()
            } else {
                errors
                    .iter()
                    .map(|(c, m)| format!("{}: {m}", c.as_deref().unwrap_or("-")))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            code: errors.first().and_then(|e| e.0.clone()),
            retryable: false,
        },
        other => PushOutcome::Unknown {
            sku: sku.to_string(),
            version,
            reason: format!("unexpected submission status {other:?}"),
        },
    }
}

fn failure_outcome(sku: String, version: u64, e: &ChannelError) -> PushOutcome {
    match e {
        ChannelError::Ambiguous { message } => PushOutcome::Unknown {
            sku,
            version,
            reason: message.clone(),
        },
        ChannelError::Rejected { message, code } => PushOutcome::Rejected {
            sku,
            version,
            reason: message.clone(),
            code: code.clone(),
            retryable: false,
        },
        ChannelError::NotFound { what } => PushOutcome::Rejected {
            sku,
            version,
            reason: what.clone(),
            code: Some("NOT_FOUND".into()),
            retryable: false,
        },
        other => PushOutcome::Rejected {
            sku,
            version,
            reason: other.to_string(),
            code: None,
            retryable: other.is_retryable() || matches!(other, ChannelError::Auth { .. }),
        },
    }
}

fn decode_error(op: &str, field: &str, message: &str) -> ChannelError {
    ChannelError::Decode(MappingError::new(
        format!("response to {op}"),
        field,
        message,
    ))
}

/// Our page token: Amazon's NextToken plus the filters of the first request, which must not
/// change while paging.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    n: String,
    a: String,
}

fn encode_cursor(next: &str, after: &str) -> PageToken {
    PageToken(
        serde_json::to_string(&Cursor {
            n: next.to_string(),
            a: after.to_string(),
        })
        .unwrap_or_default(),
    )
}

fn amazon_time(t: jiff::Timestamp) -> String {
    // ISO 8601 in UTC, whole seconds.
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn default_after(days: i64) -> String {
    amazon_time(
        jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * days))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

/// The filters of a pull: from our cursor when continuing, else from the query.
fn page_filters(
    q: &PageQuery,
    default_days: i64,
) -> Result<(String, Option<String>), ChannelError> {
    match &q.page {
        Some(t) => match serde_json::from_str::<Cursor>(&t.0) {
            Ok(c) => Ok((c.a, Some(c.n))),
            Err(_) => Err(ChannelError::Config(
                "page token was not issued by this connector".into(),
            )),
        },
        None => Ok((
            q.updated_after
                .map(amazon_time)
                .unwrap_or_else(|| default_after(default_days)),
            None,
        )),
    }
}

fn price_item(u: &PriceUpdate, marketplace_id: &str) -> Item {
    (
        u.sku.clone(),
        u.version,
        mapping::price_patches(marketplace_id, &u.price, u.compare_at.as_ref()),
        None,
        Some((
            u.price.amount,
            u.price.currency.code().to_string(),
            u.compare_at.map(|c| c.amount),
        )),
    )
}

#[async_trait]
impl Channel for AmazonChannel {
    fn id(&self) -> &ChannelId {
        &self.id
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::Amazon
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            operations: vec![
                Operation::PullOrders,
                Operation::GetOrder,
                Operation::PushStock,
                Operation::PollPending,
                Operation::ReadStock,
                Operation::PushPrices,
                Operation::UpsertListing,
                Operation::ConfirmShipment,
                Operation::CancelOrder,
                Operation::PullSettlements,
            ]
            .into_iter()
            .chain((self.conn().returns_lookback_days > 0).then_some(Operation::PullReturns))
            .collect(),
            // Notifications come through SQS/EventBridge, not HTTP: `parse_webhook` only.
            realtime_webhooks: false,
            max_stock_batch: self.conn().feed_max_messages,
            max_price_batch: self.conn().feed_max_messages,
            max_page_size: 100,
            stock_cas: false,
            async_bulk: true,
            partial_shipments: true,
            partial_cancellation: false,
            marketplace_fulfilment: true,
        }
    }

    /// One getOrders page (`MarketplaceIds`, `LastUpdatedAfter`, `NextToken`), each order
    /// completed with all its getOrderItems pages. A 429 is waited out and the *same* page is
    /// requested again; if the wait exceeds the policy, the error goes back and the job
    /// resumes with the same page token.
    async fn pull_orders(&self, query: &OrderQuery) -> Result<OrderPage, ChannelError> {
        let (after, next) = page_filters(query, 30)?;
        let size = query
            .page_size
            .unwrap_or(self.conn().page_size)
            .clamp(1, 100);
        let mut req = Request::get("getOrders", "/orders/v0/orders")
            .auth(self.orders_auth())
            .query("MarketplaceIds", self.conn().marketplace_id.clone())
            .query("LastUpdatedAfter", after.clone())
            .query("MaxResultsPerPage", size.to_string());
        if let Some(t) = &next {
            req = req.query("NextToken", t.clone());
        }
        let body = self.client.read(req).await?.body;
        let payload = body
            .get("payload")
            .ok_or_else(|| decode_error("getOrders", "payload", "missing"))?;
        let orders = payload
            .get("Orders")
            .and_then(Value::as_array)
            .ok_or_else(|| decode_error("getOrders", "payload.Orders", "expected an array"))?;
        let mut items = Vec::with_capacity(orders.len());
        for o in orders {
            items.push(self.complete_order(o).await?);
        }
        let next = match payload.get("NextToken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => Some(encode_cursor(t, &after)),
            _ => None,
        };
        Ok(Page {
            high_water_mark: mapping::high_water_mark(&items, |o: &Order| o.updated_at),
            items,
            next,
        })
    }

    async fn get_order(&self, external_id: &str) -> Result<Pulled<Order>, ChannelError> {
        let body = self
            .client
            .read(
                Request::get(
                    "getOrder",
                    format!("/orders/v0/orders/{}", path_segment(external_id)),
                )
                .auth(self.orders_auth()),
            )
            .await?
            .body;
        let order = body
            .get("payload")
            .ok_or_else(|| decode_error("getOrder", "payload", "missing"))?;
        self.complete_order(order).await
    }

    async fn push_stock(&self, updates: &[StockUpdate]) -> Result<Vec<PushOutcome>, ChannelError> {
        let (keep, mut early) = dedupe_last(updates, |u| (u.sku.as_str(), u.version));
        let mut items = Vec::with_capacity(keep.len());
        for i in keep {
            let u = &updates[i];
            let code = u.location.as_deref().unwrap_or("DEFAULT");
            if code.starts_with("AMAZON") || code == "AFN" {
                early.insert(
                    i,
                    PushOutcome::Rejected {
                        sku: u.sku.clone(),
                        version: u.version,
                        reason: format!(
                            "{code} is Amazon's own (FBA) stock: it is read with read_fba_inventory, never pushed"
                        ),
                        code: Some("FBA_NOT_PUSHABLE".into()),
                        retryable: false,
                    },
                );
                continue;
            }
            items.push((
                u.sku.clone(),
                u.version,
                vec![mapping::quantity_patch(u.quantity, code)],
                Some(u.quantity),
                None,
            ));
        }
        self.push_listings(items, early, updates.len()).await
    }

    /// Resolves feed items: one getFeed per feed; when `DONE`, one getFeedDocument and one
    /// download of the processing report (cached), then each message's own result.
    async fn poll_pending(
        &self,
        handles: &[PendingHandle],
    ) -> Result<Vec<PushOutcome>, ChannelError> {
        let mut decoded = Vec::with_capacity(handles.len());
        for h in handles {
            let fh: FeedHandle = serde_json::from_str(&h.0).map_err(|e| {
                ChannelError::Decode(MappingError::new(
                    "pending handle",
                    "$",
                    format!(
                        "not a handle of this connector ({e}): {:?}",
                        h.0.chars().take(80).collect::<String>()
                    ),
                ))
            })?;
            decoded.push((h.clone(), fh));
        }
        let mut feeds: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (_, fh)) in decoded.iter().enumerate() {
            feeds.entry(fh.f.clone()).or_default().push(i);
        }
        let mut out: Vec<Option<PushOutcome>> = vec![None; decoded.len()];
        for (feed_id, idx) in feeds {
            let (feed, status) = self
                .processing(
                    "getFeed",
                    format!("/feeds/2021-06-30/feeds/{}", path_segment(&feed_id)),
                )
                .await?;
            let status = status.as_str();
            let each = |f: &dyn Fn(&FeedHandle, &PendingHandle) -> PushOutcome| -> Vec<(usize, PushOutcome)> {
                idx.iter().map(|&i| (i, f(&decoded[i].1, &decoded[i].0))).collect()
            };
            let resolved = match status {
                "IN_QUEUE" | "IN_PROGRESS" => each(&|fh, h| PushOutcome::Pending {
                    sku: fh.s.clone(),
                    version: fh.v,
                    handle: h.clone(),
                }),
                "CANCELLED" => each(&|fh, _| PushOutcome::Rejected {
                    sku: fh.s.clone(),
                    version: fh.v,
                    reason: format!("feed {feed_id} was cancelled before processing"),
                    code: Some("CANCELLED".into()),
                    retryable: true,
                }),
                "FATAL" => each(&|fh, _| PushOutcome::Unknown {
                    sku: fh.s.clone(),
                    version: fh.v,
                    reason: format!(
                        "feed {feed_id} ended FATAL: some, none or all of it may have been applied; read back"
                    ),
                }),
                "DONE" => {
                    let doc = feed
                        .get("resultFeedDocumentId")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            decode_error(
                                "getFeed",
                                "resultFeedDocumentId",
                                "missing on a DONE feed",
                            )
                        })?;
                    let report = self.feed_report(&feed_id, doc).await?;
                    let total = idx.iter().map(|&i| decoded[i].1.n).max().unwrap_or(0);
                    let requested: Vec<(u32, String)> = idx
                        .iter()
                        .map(|&i| (decoded[i].1.m, decoded[i].1.s.clone()))
                        .collect();
                    let results = mapping::feed_results(&report, total, &requested);
                    each(&|fh, _| match results.get(&fh.m) {
                        Some(MessageResult::Accepted) => PushOutcome::Applied {
                            sku: fh.s.clone(),
                            version: fh.v,
                            channel_value: applied_value(fh.q, &fh.p),
                        },
                        Some(MessageResult::Rejected { code, message }) => PushOutcome::Rejected {
                            sku: fh.s.clone(),
                            version: fh.v,
                            reason: message.clone(),
                            code: code.clone(),
                            retryable: false,
                        },
                        Some(MessageResult::Unknown { reason }) => PushOutcome::Unknown {
                            sku: fh.s.clone(),
                            version: fh.v,
                            reason: reason.clone(),
                        },
                        None => PushOutcome::Unknown {
                            sku: fh.s.clone(),
                            version: fh.v,
                            reason: "message not covered by the report".into(),
                        },
                    })
                }
                other => {
                    return Err(decode_error(
                        "getFeed",
                        "processingStatus",
                        &format!("unknown status {other:?}"),
                    ));
                }
            };
            for (i, o) in resolved {
                out[i] = Some(o);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// The merchant-fulfilled (`DEFAULT`) quantity of each SKU, 20 SKUs per
    /// searchListingsItems call. FBA stock: [`AmazonChannel::read_fba_inventory`].
    async fn read_stock(&self, skus: &[String]) -> Result<Vec<StockLevel>, ChannelError> {
        let mut out = Vec::new();
        let (plain, odd): (Vec<&String>, Vec<&String>) =
            skus.iter().partition(|s| !s.contains(','));
        for chunk in plain.chunks(20) {
            let req = Request::get(
                "searchListingsItems",
                format!(
                    "/listings/2021-08-01/items/{}",
                    path_segment(&self.conn().seller_id)
                ),
            )
            .query("marketplaceIds", self.conn().marketplace_id.clone())
            .query(
                "identifiers",
                chunk
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .query("identifiersType", "SKU")
            .query("includedData", "summaries,fulfillmentAvailability")
            .query("pageSize", "20");
            let body = self.client.read(req).await?.body;
            let items = body
                .get("items")
                .and_then(Value::as_array)
                .ok_or_else(|| decode_error("searchListingsItems", "items", "expected an array"))?;
            out.extend(items.iter().filter_map(mapping::stock_level));
        }
        // A SKU with a comma cannot go in the comma-separated identifiers list.
        for sku in odd {
            let req = Request::get("getListingsItem", self.listing_path(sku))
                .query("marketplaceIds", self.conn().marketplace_id.clone())
                .query("includedData", "summaries,fulfillmentAvailability");
            match self.client.read(req).await {
                Ok(r) => out.extend(mapping::stock_level(&r.body)),
                Err(ChannelError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn push_prices(&self, updates: &[PriceUpdate]) -> Result<Vec<PushOutcome>, ChannelError> {
        let (keep, early) = dedupe_last(updates, |u| (u.sku.as_str(), u.version));
        let items = keep
            .into_iter()
            .map(|i| price_item(&updates[i], &self.conn().marketplace_id))
            .collect();
        self.push_listings(items, early, updates.len()).await
    }

    /// Creates (putListingsItem) or updates (patchListingsItem, `replace` of the attributes we
    /// own) a listing. Odoo's binding fields arrive in `attributes`: `amazon_asin` →
    /// `merchant_suggested_asin` (an offer on an existing ASIN, `LISTING_OFFER_ONLY` when there
    /// is no title), `amazon_bullet_1..5` → `bullet_point`, `product_type` → productType.
    /// `amazon_aplus_ref` cannot be applied through Listings: A+ content is published with the
    /// A+ Content API and attached to ASINs there; it is logged and left out (see
    /// ARCHITECTURE.md). Quantity is never set here (stock sync owns it).
    async fn upsert_listing(&self, l: &Listing) -> Result<PushOutcome, ChannelError> {
        let c = self.conn();
        let product_type =
            mapping::attr_str(&l.attributes, &["product_type", "amazon_product_type"])
                .unwrap_or_else(|| c.product_type.clone());
        let attrs = mapping::listing_attributes(l, &c.marketplace_id, "en_US");
        if let Some(aplus) = mapping::attr_str(&l.attributes, &["amazon_aplus_ref", "aplus_ref"]) {
            tracing::info!(sku = %l.sku, aplus_ref = %aplus, "A+ content is not settable through the Listings API; not sent");
        }
        let exists = match self
            .client
            .read(
                Request::get("getListingsItem", self.listing_path(&l.sku))
                    .query("marketplaceIds", c.marketplace_id.clone())
                    .query("includedData", "summaries"),
            )
            .await
        {
            Ok(_) => true,
            Err(ChannelError::NotFound { .. }) => false,
            Err(e) => return Err(e),
        };
        let (op, method, body) = if exists {
            let patches: Vec<Value> = attrs
                .iter()
                .filter(|(k, _)| k.as_str() != "condition_type" && k.as_str() != "merchant_suggested_asin")
                .map(|(k, v)| json!({"op": "replace", "path": format!("/attributes/{k}"), "value": v}))
                .collect();
            (
                "patchListingsItem",
                Method::PATCH,
                json!({"productType": product_type, "patches": patches}),
            )
        } else {
            let offer_only =
                l.title.trim().is_empty() && attrs.contains_key("merchant_suggested_asin");
            (
                "putListingsItem",
                Method::PUT,
                json!({
                    "productType": product_type,
                    "requirements": if offer_only { "LISTING_OFFER_ONLY" } else { "LISTING" },
                    "attributes": attrs,
                }),
            )
        };
        let req = Request::with_body(op, method, self.listing_path(&l.sku), &body)
            .query("marketplaceIds", c.marketplace_id.clone())
            .query("includedData", "identifiers,issues");
        match self.client.write(req).await {
            Ok(resp) => {
                let asin = resp
                    .body
                    .get("identifiers")
                    .and_then(|i| i.get(0))
                    .and_then(|i| i.get("asin"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Ok(submission_outcome(
                    &l.sku,
                    l.version,
                    &resp.body,
                    ChannelValue::Listing {
                        listing_ref: asin.or_else(|| Some(l.sku.clone())),
                    },
                ))
            }
            Err(e @ (ChannelError::Auth { .. } | ChannelError::Config(_))) => Err(e),
            Err(e) => Ok(failure_outcome(l.sku.clone(), l.version, &e)),
        }
    }

    /// `confirmShipment`, exactly once: the package reference is derived from the tracking
    /// number (same on every attempt); after an ambiguous answer, or a refusal, the order is
    /// re-read and the items' shipped quantities decide — never a blind second POST.
    async fn confirm_shipment(&self, s: &Shipment) -> Result<ShipmentAck, ChannelError> {
        let order_id = &s.order_external_id;
        let mut lines: Vec<(String, i64)> = Vec::new();
        if s.lines.is_empty() {
            for it in self.order_items(order_id).await? {
                let id = it
                    .get("OrderItemId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let ordered = it
                    .get("QuantityOrdered")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let shipped = it
                    .get("QuantityShipped")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                if !id.is_empty() && ordered > shipped {
                    lines.push((id.to_string(), ordered - shipped));
                }
            }
        } else {
            for l in &s.lines {
                let q = Some(l.quantity)
                    .filter(|q| q.fract().is_zero() && *q > Decimal::ZERO)
                    .and_then(|q| q.to_i64())
                    .ok_or_else(|| {
                        ChannelError::rejected(format!(
                            "line {}: quantity {} is not a positive whole number",
                            l.external_line_id, l.quantity
                        ))
                    })?;
                lines.push((l.external_line_id.clone(), q));
            }
        }
        if lines.is_empty() {
            let (_, status) = self.shipment_applied(order_id, &lines).await?;
            return Ok(ShipmentAck {
                external_id: None,
                already_existed: true,
                order_status: status,
            });
        }
        let package_ref = package_reference(&s.tracking_number);
        let known = CARRIER_CODES
            .iter()
            .find(|c| c.eq_ignore_ascii_case(s.carrier.code.trim()));
        let mut package = json!({
            "packageReferenceId": package_ref,
            "carrierCode": known.copied().unwrap_or("Other"),
            "trackingNumber": s.tracking_number,
            "shipDate": amazon_time(s.shipped_at),
            "orderItems": lines.iter().map(|(id, q)| json!({"orderItemId": id, "quantity": q})).collect::<Vec<_>>(),
        });
        if known.is_none() {
            package["carrierName"] = json!(
                s.carrier
                    .name
                    .clone()
                    .unwrap_or_else(|| s.carrier.code.clone())
            );
        }
        if let Some(m) = &s.service {
            package["shippingMethod"] = json!(m);
        }
        let body = json!({"marketplaceId": self.conn().marketplace_id, "packageDetail": package});
        let req = Request::with_body(
            "confirmShipment",
            Method::POST,
            format!(
                "/orders/v0/orders/{}/shipmentConfirmation",
                path_segment(order_id)
            ),
            &body,
        );
        match self.client.write(req).await {
            Ok(_) => Ok(ShipmentAck {
                external_id: Some(package_ref),
                already_existed: false,
                order_status: None,
            }),
            Err(ChannelError::Ambiguous { message }) => {
                match self.shipment_applied(order_id, &lines).await? {
                    (true, status) => Ok(ShipmentAck {
                        external_id: Some(package_ref),
                        already_existed: false,
                        order_status: status,
                    }),
                    // Checked: not applied, so sending it again is safe.
                    (false, _) => Err(ChannelError::Transient {
                        message: format!("{message}; re-checked: not applied"),
                    }),
                }
            }
            Err(ChannelError::Rejected { message, code }) => {
                match self.shipment_applied(order_id, &lines).await? {
                    (true, status) => Ok(ShipmentAck {
                        external_id: Some(package_ref),
                        already_existed: true,
                        order_status: status,
                    }),
                    (false, _) => Err(ChannelError::Rejected { message, code }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Merchant-fulfilled returns of the last `returns_lookback_days`, from the returns
    /// report: one step of its life per call, never waiting (see [`returns`]). The page is
    /// empty while a report is being prepared; `updated_after` is not used, because a
    /// return's row changes long after the date the report selects it by.
    /// A whole-order cancellation as a one-message `POST_ORDER_ACKNOWLEDGEMENT_DATA` feed
    /// (see [`cancel`]); every item of the order is named with the mapped reason. The answer is
    /// pending: the caller polls the handle with `poll_pending` and re-reads the order.
    async fn cancel_order(&self, c: &Cancellation) -> Result<CancelAck, ChannelError> {
        if !c.lines.is_empty() {
            return Err(ChannelError::rejected(
                "Amazon cancels whole orders only (an acknowledgement with StatusCode Failure); \
                 cancel single items in Seller Central",
            ));
        }
        let order_id = c.order_external_id.as_str();
        let codes: Vec<String> = self
            .order_items(order_id)
            .await?
            .iter()
            .filter_map(|it| it.get("OrderItemId").and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if codes.is_empty() {
            return Err(decode_error(
                "getOrderItems",
                "payload.OrderItems[].OrderItemId",
                &format!("order {order_id} has no item to cancel"),
            ));
        }
        let doc = cancel::acknowledgement_feed(
            &self.conn().seller_id,
            order_id,
            &codes,
            cancel::reason_code(c.reason),
        );
        let feed_id = self
            .send_feed(cancel::FEED_TYPE, cancel::CONTENT_TYPE, doc.into_bytes())
            .await?;
        tracing::info!(feed_id, order_id, "submitted {}", cancel::FEED_TYPE);
        let handle = FeedHandle {
            f: feed_id,
            m: 1,
            n: 1,
            s: order_id.to_string(),
            v: 0,
            q: None,
            p: None,
        };
        Ok(CancelAck {
            already_cancelled: false,
            order_status: None,
            pending: Some(PendingHandle(
                serde_json::to_string(&handle).unwrap_or_default(),
            )),
        })
    }

    async fn pull_returns(&self, _query: &PageQuery) -> Result<Page<Return>, ChannelError> {
        if self.conn().returns_lookback_days == 0 {
            return Err(ChannelError::Unsupported(Operation::PullReturns.as_str()));
        }
        self.pull_returns_report().await
    }

    /// Closed financial event groups (settlement periods) started after `updated_after`, one
    /// listFinancialEventGroups page, each group with every page of its events. Open groups
    /// are left for a later pull (their events still change).
    async fn pull_settlements(&self, query: &PageQuery) -> Result<Page<Settlement>, ChannelError> {
        let (after, next) = page_filters(query, 90)?;
        let size = query.page_size.unwrap_or(20).clamp(1, 100);
        let mut req = Request::get(
            "listFinancialEventGroups",
            "/finances/v0/financialEventGroups",
        )
        .query("MaxResultsPerPage", size.to_string())
        .query("FinancialEventGroupStartedAfter", after.clone());
        if let Some(t) = &next {
            req = req.query("NextToken", t.clone());
        }
        let body = self.client.read(req).await?.body;
        let payload = body
            .get("payload")
            .ok_or_else(|| decode_error("listFinancialEventGroups", "payload", "missing"))?;
        let groups = payload
            .get("FinancialEventGroupList")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut items = Vec::new();
        for g in groups {
            if g.get("ProcessingStatus").and_then(Value::as_str) != Some("Closed") {
                continue;
            }
            let Some(gid) = g.get("FinancialEventGroupId").and_then(Value::as_str) else {
                items.push(mapping::map_settlement(g, &[]));
                continue;
            };
            let mut pages = Vec::new();
            let mut tok: Option<String> = None;
            loop {
                let mut req = Request::get(
                    "listFinancialEventsByGroupId",
                    format!(
                        "/finances/v0/financialEventGroups/{}/financialEvents",
                        path_segment(gid)
                    ),
                )
                .query("MaxResultsPerPage", "100");
                if let Some(t) = &tok {
                    req = req.query("NextToken", t.clone());
                }
                let b = self.client.read(req).await?.body;
                let p = b.get("payload").cloned().unwrap_or(Value::Null);
                pages.push(p.get("FinancialEvents").cloned().unwrap_or(json!({})));
                match p.get("NextToken").and_then(Value::as_str) {
                    Some(t) if !t.is_empty() => tok = Some(t.to_string()),
                    _ => break,
                }
            }
            items.push(mapping::map_settlement(g, &pages));
        }
        let next = match payload.get("NextToken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => Some(encode_cursor(t, &after)),
            _ => None,
        };
        Ok(Page {
            high_water_mark: mapping::high_water_mark(&items, |s: &Settlement| s.updated_at),
            items,
            next,
        })
    }

    /// Amazon notifications are not HTTP deliveries and carry no signature.
    fn verify_webhook(&self, _headers: &HeaderMap, _body: &[u8]) -> Result<(), WebhookError> {
        Err(WebhookError::Unsupported)
    }

    /// Parses an SQS/EventBridge message body holding an SP-API notification.
    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<WebhookEvent>, WebhookError> {
        webhooks::parse(body, &self.seen, jiff::Timestamp::now())
    }
}

/// A positive number, stable per tracking number, as `packageReferenceId` must be.
pub fn package_reference(tracking: &str) -> String {
    // FNV-1a: stable across runs and builds (unlike the std hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tracking.trim().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % 999_999_999 + 1).to_string()
}
