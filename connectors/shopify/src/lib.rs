//! Shopify connector (GraphQL Admin API 2025-01) and a schema-driven Shopify sandbox.
//!
//! ```text
//! lib.rs        ShopifyChannel: impl Channel (orchestration: batching, per-item outcomes,
//!               re-check before acting), refunds and returns, factory()
//! config.rs     the [channels.connection] table + secrets, validated at once
//! client.rs     GraphQL over HTTP: token, cost-based leaky bucket, THROTTLED, retries,
//!               outcome → ChannelError
//! documents.rs  every GraphQL document the connector sends (the contract)
//! mapping.rs    Shopify JSON → normalised types (pure, hostile-input safe)
//! webhooks.rs   HMAC verification and event parsing
//! sandbox/      the Shopify emulator, driven by the official schema
//! tests.rs      unit tests (mapping, signatures, config)
//! tests/integration.rs   connector ↔ sandbox over real HTTP; tests/contract.rs   vs ../shared
//! ```
//!
//! Registration: `registry.register(channel_shopify::factory())`.

// `json!` literals of whole Shopify orders nest deeply.
#![recursion_limit = "256"]

pub mod client;
pub mod config;
pub mod documents;
pub mod mapping;
pub mod sandbox;
pub mod webhooks;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use channels_core::webhook::DedupeSet;
use channels_core::{
    CancelAck, CancelReason, Cancellation, Capabilities, Channel, ChannelError, ChannelId,
    ChannelKind, ChannelValue, ConnectorFactory, ConnectorSecrets, Currency, ItemQuantity, Listing,
    Money, Operation, Order, OrderPage, OrderQuery, OrderStatus, Page, PageQuery, PageToken,
    PriceUpdate, Pulled, PushOutcome, Return, ReturnStatus, Settlement, Shipment, ShipmentAck,
    StockLevel, StockUpdate, WebhookError, WebhookEvent,
};
use http::HeaderMap;
use jiff::Timestamp;
use parking_lot::Mutex;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use client::Client;
pub use config::ShopifyConfig;

use client::user_errors;
use documents as docs;
use mapping::{gid_number, to_gid};

/// For the daemon's registry: `registry.register(channel_shopify::factory())`.
pub fn factory() -> ConnectorFactory {
    ConnectorFactory {
        kind: ChannelKind::Shopify,
        required_secrets: &["access_token"],
        optional_secrets: &["client_secret"],
        build,
    }
}

fn build(
    id: ChannelId,
    connection: &Value,
    secrets: &ConnectorSecrets,
) -> Result<Arc<dyn Channel>, ChannelError> {
    Ok(Arc::new(ShopifyChannel::new(
        id,
        ShopifyConfig::from_parts(connection, secrets)?,
    )?))
}

/// Ids of the variant holding a SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Resolved {
    variant: String,
    product: String,
    item: String,
}

/// What a SKU look-up found.
#[derive(Clone, Debug)]
enum Lookup {
    Found {
        ids: Resolved,
        tracked: bool,
        /// `available` at the asked location and when it changed; `None`: not stocked there.
        level: Option<(i64, Option<Timestamp>)>,
    },
    /// Several variants carry the SKU: we refuse to guess.
    Duplicate(usize),
}

#[derive(Clone, Debug)]
struct ShopInfo {
    currency: Currency,
    location: String,
}

/// A page token: Shopify cursors are only valid with the same query string.
#[derive(Serialize, Deserialize)]
struct Token {
    after: String,
    query: Option<String>,
}

fn encode_token(after: &str, query: &Option<String>) -> PageToken {
    PageToken(json!({"after": after, "query": query}).to_string())
}

fn decode_token(t: &PageToken) -> Result<Token, ChannelError> {
    serde_json::from_str(&t.0)
        .map_err(|_| ChannelError::rejected("not a page token of this channel"))
}

/// Where a paged pull starts: our token's cursor and query when continuing (a Shopify cursor
/// is only valid with the query it came from), else no cursor and `filter` (search terms, may
/// be empty) narrowed to records whose `field` is at or after `updated_after`.
fn page_start(
    q: &PageQuery,
    field: &str,
    filter: &str,
) -> Result<(Option<String>, Option<String>), ChannelError> {
    if let Some(t) = &q.page {
        let t = decode_token(t)?;
        return Ok((Some(t.after), t.query));
    }
    let parts: Vec<String> = since(field, q.updated_after)
        .into_iter()
        .chain((!filter.is_empty()).then(|| filter.to_string()))
        .collect();
    Ok((None, (!parts.is_empty()).then(|| parts.join(" "))))
}

/// Our token for the page after `connection` (a GraphQL connection with `pageInfo`), if any.
fn next_page(connection: &Value, query: &Option<String>) -> Option<PageToken> {
    match (
        connection["pageInfo"]["hasNextPage"].as_bool(),
        connection["pageInfo"]["endCursor"].as_str(),
    ) {
        (Some(true), Some(c)) => Some(encode_token(c, query)),
        _ => None,
    }
}

/// `updated_at:>='…'` (whole seconds, inclusive: the daemon re-queries with an overlap and
/// imports idempotently).
fn since(field: &str, t: Option<Timestamp>) -> Option<String> {
    t.map(|t| {
        let s = Timestamp::from_second(t.as_second()).unwrap_or(t);
        format!("{field}:>='{s}'")
    })
}

/// A value for Shopify's search syntax, quoted.
pub fn search_value(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn decode_error(op: &str, field: &str, message: &str) -> ChannelError {
    ChannelError::Decode(channels_core::MappingError::new(
        format!("response to {op}"),
        field,
        message,
    ))
}

fn whole(q: Decimal, what: &str) -> Result<i64, ChannelError> {
    Some(q)
        .filter(|q| q.fract().is_zero() && *q > Decimal::ZERO)
        .and_then(|q| q.to_i64())
        .ok_or_else(|| {
            ChannelError::rejected(format!(
                "{what}: quantity {q} is not a positive whole number"
            ))
        })
}

fn chunk_failure(sku: String, version: u64, e: &ChannelError) -> PushOutcome {
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
        other => PushOutcome::Rejected {
            sku,
            version,
            reason: other.to_string(),
            code: None,
            retryable: other.is_retryable(),
        },
    }
}

fn rejected(sku: &str, version: u64, code: &str, reason: impl Into<String>) -> PushOutcome {
    PushOutcome::Rejected {
        sku: sku.to_string(),
        version,
        reason: reason.into(),
        code: Some(code.to_string()),
        retryable: false,
    }
}

/// The index a user error's `field` names under `prefix` (`["input","quantities","3",…]`).
fn error_index(field: &[String], prefix: &[&str]) -> Option<usize> {
    if field.len() > prefix.len() && field.iter().zip(prefix).all(|(a, b)| a == b) {
        field[prefix.len()].parse().ok()
    } else {
        None
    }
}

/// A refund to create on an order (inherent: the `Channel` trait has no refund operation yet).
#[derive(Clone, Debug, PartialEq)]
pub struct RefundRequest {
    pub order_external_id: String,
    /// Lines and quantities refunded (may be empty for an amount-only refund).
    pub lines: Vec<ItemQuantity>,
    /// Put the refunded units back in stock (at the channel's location).
    pub restock: bool,
    /// Shipping refunded.
    pub shipping: Option<Money>,
    /// Money sent back to the buyer (to the original payment); `None`: no money moves.
    pub amount: Option<Money>,
    /// Also the idempotency key: a refund whose note is this is not created twice (e.g. the
    /// Odoo credit note's name).
    pub note: String,
    pub notify: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundAck {
    pub external_id: String,
    pub already_existed: bool,
}

/// Why a line is returned (`ReturnReason` of the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnReason {
    SizeTooSmall,
    SizeTooLarge,
    Unwanted,
    NotAsDescribed,
    WrongItem,
    Defective,
    Style,
    Color,
    Other,
    Unknown,
}

impl ReturnReason {
    fn as_str(&self) -> &'static str {
        match self {
            ReturnReason::SizeTooSmall => "SIZE_TOO_SMALL",
            ReturnReason::SizeTooLarge => "SIZE_TOO_LARGE",
            ReturnReason::Unwanted => "UNWANTED",
            ReturnReason::NotAsDescribed => "NOT_AS_DESCRIBED",
            ReturnReason::WrongItem => "WRONG_ITEM",
            ReturnReason::Defective => "DEFECTIVE",
            ReturnReason::Style => "STYLE",
            ReturnReason::Color => "COLOR",
            ReturnReason::Other => "OTHER",
            ReturnReason::Unknown => "UNKNOWN",
        }
    }
}

/// A return to open on an order (inherent, like refunds).
#[derive(Clone, Debug, PartialEq)]
pub struct ReturnRequest {
    pub order_external_id: String,
    /// (line, quantity, reason); lines must have been fulfilled.
    pub lines: Vec<(ItemQuantity, ReturnReason)>,
    /// Idempotency key, kept in each line's `returnReasonNote` (e.g. the Odoo RMA name).
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnAck {
    pub external_id: String,
    pub already_existed: bool,
    pub status: ReturnStatus,
}

/// A Shopify shop.
pub struct ShopifyChannel {
    id: ChannelId,
    config: ShopifyConfig,
    client: Client,
    shop: tokio::sync::OnceCell<ShopInfo>,
    /// SKU → variant/product/inventory item (never the quantity: that is read fresh).
    skus: Mutex<HashMap<String, Resolved>>,
    /// Inventory item number → SKU, for `inventory_levels/update` webhooks.
    items: Mutex<HashMap<String, String>>,
    seen_webhooks: DedupeSet,
    /// Largest order page the shop accepted (halved after `MAX_COST_EXCEEDED`).
    order_page_cap: std::sync::atomic::AtomicU32,
}

impl ShopifyChannel {
    /// The `order` of a read by order id (`doc` takes `$id`); an order the shop does not have
    /// is `NotFound`, so a caller re-checking after a write never mistakes it for "not done".
    async fn read_order(
        &self,
        doc: &docs::Document,
        external_id: &str,
    ) -> Result<Value, ChannelError> {
        let d = self
            .client
            .query(doc, json!({"id": to_gid("Order", external_id)}))
            .await?;
        if d["order"].is_null() {
            return Err(ChannelError::NotFound {
                what: format!("order {external_id}"),
            });
        }
        Ok(d["order"].clone())
    }

    pub fn new(id: ChannelId, config: ShopifyConfig) -> Result<Self, ChannelError> {
        config.validate()?;
        let client = Client::new(&id, &config)?;
        let cap = config.connection.webhook_dedupe_capacity.max(1);
        Ok(Self {
            id,
            config,
            client,
            shop: tokio::sync::OnceCell::new(),
            skus: Mutex::new(HashMap::new()),
            items: Mutex::new(HashMap::new()),
            seen_webhooks: DedupeSet::new(cap),
            order_page_cap: std::sync::atomic::AtomicU32::new(50),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn batch(&self) -> usize {
        self.config.connection.max_batch.clamp(1, 250)
    }

    async fn shop(&self) -> Result<&ShopInfo, ChannelError> {
        self.shop
            .get_or_try_init(|| async {
                let d = self.client.query(&docs::SHOP_INFO, json!({})).await?;
                let code = d["shop"]["currencyCode"]
                    .as_str()
                    .ok_or_else(|| decode_error("ShopInfo", "shop.currencyCode", "missing"))?;
                let currency = Currency::new(code)
                    .map_err(|_| decode_error("ShopInfo", "shop.currencyCode", "not a currency"))?;
                let location = match &self.config.connection.location_id {
                    Some(l) => to_gid("Location", l),
                    None => d["location"]["id"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| {
                            ChannelError::Config(
                                "the shop has no primary location; set location_id".into(),
                            )
                        })?,
                };
                Ok(ShopInfo { currency, location })
            })
            .await
    }

    fn location_of(&self, shop: &ShopInfo, requested: Option<&str>) -> String {
        requested
            .map(|l| to_gid("Location", l))
            .unwrap_or_else(|| shop.location.clone())
    }

    /// Looks SKUs up (exact match; Shopify's `sku:` search is not), with `available` at
    /// `location`, and refreshes the id caches.
    async fn lookup(
        &self,
        skus: &[String],
        location: &str,
    ) -> Result<HashMap<String, Lookup>, ChannelError> {
        let mut out: HashMap<String, Lookup> = HashMap::new();
        let mut uniq: Vec<&String> = skus.iter().collect();
        uniq.sort();
        uniq.dedup();
        for chunk in uniq.chunks(50) {
            let query = chunk
                .iter()
                .map(|s| format!("sku:{}", search_value(s)))
                .collect::<Vec<_>>()
                .join(" OR ");
            let first = (chunk.len() * 2).min(250);
            let d = self
                .client
                .query(
                    &docs::VARIANTS_BY_SKU,
                    json!({"query": query, "first": first, "locationId": location}),
                )
                .await?;
            let nodes = d["productVariants"]["nodes"].as_array().ok_or_else(|| {
                decode_error("VariantsBySku", "productVariants.nodes", "expected a list")
            })?;
            let mut found: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
            for n in nodes {
                if let Some(sku) = n["sku"].as_str()
                    && chunk.iter().any(|s| s.as_str() == sku)
                {
                    found.entry(sku.to_string()).or_default().push(n);
                }
            }
            for (sku, ns) in found {
                if ns.len() > 1 {
                    self.skus.lock().remove(&sku);
                    out.insert(sku, Lookup::Duplicate(ns.len()));
                    continue;
                }
                let n = ns[0];
                let (Some(variant), Some(product), Some(item)) = (
                    n["id"].as_str(),
                    n["product"]["id"].as_str(),
                    n["inventoryItem"]["id"].as_str(),
                ) else {
                    return Err(decode_error(
                        "VariantsBySku",
                        "productVariants.nodes",
                        "ids missing",
                    ));
                };
                let ids = Resolved {
                    variant: variant.to_string(),
                    product: product.to_string(),
                    item: item.to_string(),
                };
                self.skus.lock().insert(sku.clone(), ids.clone());
                if let Some(num) = gid_number(item, "InventoryItem") {
                    self.items.lock().insert(num, sku.clone());
                }
                let level = n["inventoryItem"]["inventoryLevel"].as_object().map(|l| {
                    let q = l
                        .get("quantities")
                        .and_then(Value::as_array)
                        .and_then(|a| a.iter().find(|q| q["name"] == "available"))
                        .and_then(|q| q["quantity"].as_i64())
                        .unwrap_or(0);
                    let at = l
                        .get("updatedAt")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok());
                    (q, at)
                });
                out.insert(
                    sku,
                    Lookup::Found {
                        ids,
                        tracked: n["inventoryItem"]["tracked"].as_bool().unwrap_or(true),
                        level,
                    },
                );
            }
        }
        for s in skus {
            if !out.contains_key(s) {
                self.skus.lock().remove(s);
            }
        }
        Ok(out)
    }

    /// Cached ids, looking up the SKUs not cached.
    async fn resolve(
        &self,
        skus: &[String],
        location: &str,
    ) -> Result<HashMap<String, Result<Resolved, Lookup>>, ChannelError> {
        let mut out = HashMap::new();
        let missing: Vec<String> = {
            let cache = self.skus.lock();
            skus.iter()
                .filter(|s| match cache.get(*s) {
                    Some(r) => {
                        out.insert((*s).clone(), Ok(r.clone()));
                        false
                    }
                    None => true,
                })
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            for (sku, l) in self.lookup(&missing, location).await? {
                match l {
                    Lookup::Found { ids, .. } => out.insert(sku, Ok(ids)),
                    d => out.insert(sku, Err(d)),
                };
            }
        }
        Ok(out)
    }

    async fn page_orders(&self, vars: Value) -> Result<Value, ChannelError> {
        let mut vars = vars;
        loop {
            match self.client.query(&docs::ORDERS_PAGE, vars.clone()).await {
                Err(ChannelError::Rejected { code: Some(c), .. })
                    if c == "MAX_COST_EXCEEDED" && vars["first"].as_i64().unwrap_or(1) > 1 =>
                {
                    let half = (vars["first"].as_i64().unwrap_or(2) / 2).max(1);
                    tracing::warn!(channel = %self.id, page = half, "order page too costly for Shopify; halving it");
                    vars["first"] = json!(half);
                    self.order_page_cap
                        .fetch_min(half as u32, std::sync::atomic::Ordering::Relaxed);
                }
                other => return other,
            }
        }
    }

    /// Fetches the line items beyond the first page into the order node.
    async fn complete_line_items(&self, node: &mut Value) -> Result<(), ChannelError> {
        let mut guard = 0;
        while node["lineItems"]["pageInfo"]["hasNextPage"].as_bool() == Some(true) && guard < 100 {
            guard += 1;
            let (Some(id), Some(after)) = (
                node["id"].as_str().map(str::to_string),
                node["lineItems"]["pageInfo"]["endCursor"]
                    .as_str()
                    .map(str::to_string),
            ) else {
                break;
            };
            let d = self
                .client
                .query(
                    &docs::ORDER_LINE_ITEMS,
                    json!({"id": id, "first": 50, "after": after}),
                )
                .await?;
            let more = &d["order"]["lineItems"];
            let extra = more["nodes"].as_array().cloned().unwrap_or_default();
            if let Some(nodes) = node["lineItems"]["nodes"].as_array_mut() {
                nodes.extend(extra);
            }
            node["lineItems"]["pageInfo"] = more["pageInfo"].clone();
            if more.is_null() {
                break;
            }
        }
        Ok(())
    }

    /// When units left a line (`currentQuantity` below `quantity`), the order's refunds, so
    /// the mapping can tell a cancellation (an order edit, a `CANCEL` refund) from a refund
    /// of shipped units (a return): the order page cannot carry them (Shopify would price a
    /// page of orders × refunds × refund lines far above its query cost limit), and few
    /// orders need them.
    async fn complete_refunds(&self, node: &mut Value) -> Result<(), ChannelError> {
        let removed = node["lineItems"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(
                |l| match (l["quantity"].as_i64(), l["currentQuantity"].as_i64()) {
                    (Some(q), Some(c)) => c < q,
                    _ => false,
                },
            );
        let Some(id) = node["id"].as_str().map(str::to_string) else {
            return Ok(());
        };
        if !removed {
            return Ok(());
        }
        let d = self
            .client
            .query(&docs::ORDER_REFUND_LINES, json!({"id": id}))
            .await?;
        node["refunds"] = d["order"]["refunds"].clone();
        Ok(())
    }

    /// One stock chunk (a batch at one location): see `push_stock`.
    async fn push_stock_chunk(
        &self,
        shop: &ShopInfo,
        location: &str,
        chunk: &[(usize, &StockUpdate)],
        out: &mut [Option<PushOutcome>],
        sent_any: &mut bool,
    ) -> Result<(), ChannelError> {
        let skus: Vec<String> = chunk.iter().map(|(_, u)| u.sku.clone()).collect();
        // A fresh read is needed for items without an expected quantity (their compare value)
        // and for SKUs not cached; with every SKU cached and expected, none.
        let need_read = chunk.iter().any(|(_, u)| u.expected.is_none())
            || skus.iter().any(|s| !self.skus.lock().contains_key(s));
        let looked = if need_read {
            Some(self.lookup(&skus, location).await?)
        } else {
            None
        };
        let _ = shop;
        struct Item<'a> {
            idx: usize,
            u: &'a StockUpdate,
            item: String,
            compare: i64,
        }
        let mut pending: Vec<Item<'_>> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (idx, u) in chunk.iter().copied() {
            if u.quantity > 1_000_000_000 {
                out[idx] = Some(rejected(
                    &u.sku,
                    u.version,
                    "INVALID_QUANTITY_TOO_HIGH",
                    "quantity above Shopify's 1,000,000,000",
                ));
                continue;
            }
            let (item, current) = match looked.as_ref().map(|l| l.get(&u.sku)) {
                Some(None) => {
                    out[idx] = Some(rejected(
                        &u.sku,
                        u.version,
                        "UNKNOWN_SKU",
                        "no variant on the shop has this SKU",
                    ));
                    continue;
                }
                Some(Some(Lookup::Duplicate(n))) => {
                    out[idx] = Some(rejected(
                        &u.sku,
                        u.version,
                        "DUPLICATE_SKU",
                        format!("{n} variants on the shop share this SKU; fix the catalog"),
                    ));
                    continue;
                }
                Some(Some(Lookup::Found {
                    ids,
                    tracked,
                    level,
                })) => {
                    if !tracked {
                        out[idx] = Some(rejected(
                            &u.sku,
                            u.version,
                            "NOT_TRACKED",
                            "Shopify does not track inventory for this variant",
                        ));
                        continue;
                    }
                    let Some((q, _)) = level else {
                        out[idx] = Some(rejected(
                            &u.sku,
                            u.version,
                            "ITEM_NOT_STOCKED_AT_LOCATION",
                            format!("not stocked at {location}"),
                        ));
                        continue;
                    };
                    (ids.item.clone(), Some(*q))
                }
                None => match self.skus.lock().get(&u.sku) {
                    Some(r) => (r.item.clone(), None),
                    None => {
                        out[idx] = Some(rejected(
                            &u.sku,
                            u.version,
                            "UNKNOWN_SKU",
                            "no variant on the shop has this SKU",
                        ));
                        continue;
                    }
                },
            };
            // Compare-and-set: against what the daemon last saw, else against what we just read.
            let compare = match (u.expected, current) {
                (Some(e), _) => e,
                (None, Some(c)) => c,
                (None, None) => {
                    out[idx] = Some(rejected(
                        &u.sku,
                        u.version,
                        "NO_COMPARE_QUANTITY",
                        "current quantity unknown",
                    ));
                    continue;
                }
            };
            if let Some(prev) = seen.insert(u.sku.as_str(), idx) {
                // Two updates of one SKU in a batch: the later one wins, the earlier is not sent.
                pending.retain(|p| p.idx != prev);
                out[prev] = Some(rejected(
                    &u.sku,
                    chunk
                        .iter()
                        .find(|(i, _)| *i == prev)
                        .map(|(_, x)| x.version)
                        .unwrap_or(0),
                    "SUPERSEDED",
                    "a later update of this SKU was in the same batch",
                ));
            }
            pending.push(Item {
                idx,
                u,
                item,
                compare,
            });
        }
        let mut conflicts: Vec<(usize, &StockUpdate)> = Vec::new();
        // inventorySetQuantities is all-or-nothing: items named by user errors get their
        // outcome, the others were not applied and go again (at most three rounds).
        for _round in 0..3 {
            if pending.is_empty() {
                break;
            }
            let quantities: Vec<Value> = pending
                .iter()
                .map(|p| {
                    json!({"inventoryItemId": p.item, "locationId": location,
                           "quantity": p.u.quantity, "compareQuantity": p.compare})
                })
                .collect();
            let input = json!({
                "name": "available",
                "reason": self.config.connection.inventory_reason,
                "referenceDocumentUri": format!("odoo-channels://{}/stock", self.id),
                "quantities": quantities,
            });
            let res = self
                .client
                .mutate(&docs::SET_AVAILABLE, json!({"input": input}))
                .await;
            let payload = match res {
                Ok(d) => {
                    *sent_any = true;
                    d["inventorySetQuantities"].clone()
                }
                Err(e) => {
                    if !*sent_any
                        && matches!(e, ChannelError::Auth { .. } | ChannelError::Config(_))
                    {
                        return Err(e);
                    }
                    for p in pending.drain(..) {
                        out[p.idx] = Some(chunk_failure(p.u.sku.clone(), p.u.version, &e));
                    }
                    break;
                }
            };
            let errors = user_errors(&payload, "userErrors");
            if errors.is_empty() {
                if payload["inventoryAdjustmentGroup"].is_null() {
                    for p in pending.drain(..) {
                        out[p.idx] = Some(PushOutcome::Unknown {
                            sku: p.u.sku.clone(),
                            version: p.u.version,
                            reason: "Shopify returned neither an adjustment nor an error".into(),
                        });
                    }
                } else {
                    for p in pending.drain(..) {
                        out[p.idx] = Some(PushOutcome::Applied {
                            sku: p.u.sku.clone(),
                            version: p.u.version,
                            channel_value: ChannelValue::Quantity {
                                quantity: i64::from(p.u.quantity),
                            },
                        });
                    }
                }
                break;
            }
            let mut named: HashMap<usize, (Option<String>, String)> = HashMap::new();
            let mut general = Vec::new();
            for (code, field, message) in errors {
                match error_index(&field, &["input", "quantities"]) {
                    Some(i) if i < pending.len() => {
                        named.entry(i).or_insert((code, message));
                    }
                    _ => general.push((code, message)),
                }
            }
            if !general.is_empty() {
                let (code, message) = general.remove(0);
                for p in pending.drain(..) {
                    out[p.idx] = Some(PushOutcome::Rejected {
                        sku: p.u.sku.clone(),
                        version: p.u.version,
                        reason: message.clone(),
                        code: code.clone(),
                        retryable: false,
                    });
                }
                break;
            }
            let mut next = Vec::new();
            for (i, p) in pending.into_iter().enumerate() {
                match named.remove(&i) {
                    None => next.push(p),
                    Some((code, _)) if code.as_deref() == Some("COMPARE_QUANTITY_STALE") => {
                        conflicts.push((p.idx, p.u))
                    }
                    Some((code, message)) => {
                        if matches!(code.as_deref(), Some("INVALID_INVENTORY_ITEM")) {
                            self.skus.lock().remove(&p.u.sku);
                        }
                        out[p.idx] = Some(PushOutcome::Rejected {
                            sku: p.u.sku.clone(),
                            version: p.u.version,
                            reason: message,
                            code,
                            retryable: false,
                        });
                    }
                }
            }
            pending = next;
        }
        for p in pending {
            out[p.idx] = Some(PushOutcome::Rejected {
                sku: p.u.sku.clone(),
                version: p.u.version,
                reason: "not applied: other items of its batch kept failing".into(),
                code: None,
                retryable: true,
            });
        }
        if !conflicts.is_empty() {
            // Someone changed the quantity on the shop: read it back so the daemon recomputes
            // from the truth. Never overwrite.
            let skus: Vec<String> = conflicts.iter().map(|(_, u)| u.sku.clone()).collect();
            let now = self.lookup(&skus, location).await.ok();
            for (idx, u) in conflicts {
                let current = now.as_ref().and_then(|m| match m.get(&u.sku) {
                    Some(Lookup::Found {
                        level: Some((q, _)),
                        ..
                    }) => Some(ChannelValue::Quantity { quantity: *q }),
                    _ => None,
                });
                out[idx] = Some(PushOutcome::Conflict {
                    sku: u.sku.clone(),
                    version: u.version,
                    current,
                });
            }
        }
        Ok(())
    }

    /// Creates a refund, at most once per `note` (re-checked before acting and after an
    /// ambiguous answer).
    pub async fn refund(&self, r: &RefundRequest) -> Result<RefundAck, ChannelError> {
        let shop = self.shop().await?;
        let order_gid = to_gid("Order", &r.order_external_id);
        let find = |d: &Value| -> Option<String> {
            d["order"]["refunds"].as_array().and_then(|a| {
                a.iter()
                    .find(|x| x["note"].as_str() == Some(r.note.as_str()))
                    .and_then(|x| x["id"].as_str())
                    .and_then(|g| gid_number(g, "Refund"))
            })
        };
        let ctx = self
            .client
            .query(&docs::REFUND_CONTEXT, json!({"id": order_gid}))
            .await?;
        if ctx["order"].is_null() {
            return Err(ChannelError::NotFound {
                what: format!("order {}", r.order_external_id),
            });
        }
        if let Some(id) = find(&ctx) {
            return Ok(RefundAck {
                external_id: id,
                already_existed: true,
            });
        }
        if r.note.trim().is_empty() {
            return Err(ChannelError::rejected(
                "a refund needs a note (its idempotency key)",
            ));
        }
        for m in r.amount.iter().chain(r.shipping.iter()) {
            if m.currency != shop.currency {
                return Err(ChannelError::Rejected {
                    message: format!(
                        "refund in {} but the shop's currency is {}",
                        m.currency, shop.currency
                    ),
                    code: Some("CURRENCY_MISMATCH".into()),
                });
            }
        }
        let mut lines = Vec::new();
        for l in &r.lines {
            lines.push(json!({
                "lineItemId": to_gid("LineItem", &l.external_line_id),
                "quantity": whole(l.quantity, &format!("line {}", l.external_line_id))?,
                "restockType": if r.restock { "RETURN" } else { "NO_RESTOCK" },
                "locationId": if r.restock { Some(shop.location.clone()) } else { None },
            }));
        }
        let mut input = json!({
            "orderId": order_gid,
            "note": r.note,
            "notify": r.notify,
            "refundLineItems": lines,
        });
        if let Some(s) = r.shipping {
            input["shipping"] = json!({"amount": s.amount.to_string()});
        }
        if let Some(a) = r.amount {
            let parent = ctx["order"]["transactions"].as_array().and_then(|ts| {
                ts.iter().find(|t| {
                    matches!(t["kind"].as_str(), Some("SALE" | "CAPTURE"))
                        && t["status"].as_str() == Some("SUCCESS")
                })
            });
            let Some(parent) = parent else {
                return Err(ChannelError::Rejected {
                    message: "the order has no successful payment to refund".into(),
                    code: Some("NO_PAYMENT".into()),
                });
            };
            input["transactions"] = json!([{
                "orderId": order_gid,
                "parentId": parent["id"],
                "amount": a.amount.to_string(),
                "gateway": parent["gateway"],
                "kind": "REFUND",
            }]);
        }
        match self
            .client
            .mutate(&docs::CREATE_REFUND, json!({"input": input}))
            .await
        {
            Ok(d) => {
                let p = &d["refundCreate"];
                if let Some((_, _, m)) = user_errors(p, "userErrors").into_iter().next() {
                    return Err(ChannelError::rejected(format!("refundCreate: {m}")));
                }
                let id = p["refund"]["id"]
                    .as_str()
                    .and_then(|g| gid_number(g, "Refund"))
                    .ok_or_else(|| decode_error("CreateRefund", "refund.id", "missing"))?;
                Ok(RefundAck {
                    external_id: id,
                    already_existed: false,
                })
            }
            Err(ChannelError::Ambiguous { message }) => {
                let ctx = self
                    .client
                    .query(&docs::REFUND_CONTEXT, json!({"id": order_gid}))
                    .await?;
                match find(&ctx) {
                    Some(id) => Ok(RefundAck {
                        external_id: id,
                        already_existed: false,
                    }),
                    None => Err(ChannelError::Transient {
                        message: format!("{message}; re-checked: not applied"),
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Opens a return, at most once per `key` (kept in the lines' `returnReasonNote`).
    pub async fn create_return(&self, r: &ReturnRequest) -> Result<ReturnAck, ChannelError> {
        let order_gid = to_gid("Order", &r.order_external_id);
        let tag = format!("odoo-channels:{}", r.key);
        let find = |d: &Value| -> Option<(String, String)> {
            d["order"]["returns"]["nodes"].as_array().and_then(|a| {
                a.iter().find_map(|ret| {
                    let hit = ret["returnLineItems"]["nodes"]
                        .as_array()
                        .is_some_and(|ls| {
                            ls.iter()
                                .any(|l| l["returnReasonNote"].as_str() == Some(tag.as_str()))
                        });
                    hit.then(|| {
                        (
                            ret["id"]
                                .as_str()
                                .and_then(|g| gid_number(g, "Return"))
                                .unwrap_or_default(),
                            ret["status"].as_str().unwrap_or("").to_string(),
                        )
                    })
                })
            })
        };
        let ctx = self
            .client
            .query(&docs::RETURN_CONTEXT, json!({"id": order_gid}))
            .await?;
        if ctx["order"].is_null() {
            return Err(ChannelError::NotFound {
                what: format!("order {}", r.order_external_id),
            });
        }
        if let Some((id, status)) = find(&ctx) {
            return Ok(ReturnAck {
                external_id: id,
                already_existed: true,
                status: mapping::return_status(&status),
            });
        }
        if r.key.trim().is_empty() || r.lines.is_empty() {
            return Err(ChannelError::rejected(
                "a return needs a key and at least one line",
            ));
        }
        // Fulfilled units per line item, by fulfillment line.
        let mut flines: Vec<(String, String, i64)> = Vec::new();
        for f in ctx["order"]["fulfillments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for fl in f["fulfillmentLineItems"]["nodes"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let (Some(id), Some(li)) = (fl["id"].as_str(), fl["lineItem"]["id"].as_str()) {
                    flines.push((
                        id.to_string(),
                        gid_number(li, "LineItem").unwrap_or_default(),
                        fl["quantity"].as_i64().unwrap_or(0),
                    ));
                }
            }
        }
        let mut items = Vec::new();
        for (l, reason) in &r.lines {
            let mut want = whole(l.quantity, &format!("line {}", l.external_line_id))?;
            let line = gid_number(&l.external_line_id, "LineItem").unwrap_or_default();
            for (fid, li, q) in flines.iter_mut() {
                if *li != line || *q <= 0 || want == 0 {
                    continue;
                }
                let take = want.min(*q);
                *q -= take;
                want -= take;
                items.push(json!({
                    "fulfillmentLineItemId": fid,
                    "quantity": take,
                    "returnReason": reason.as_str(),
                    "returnReasonNote": tag,
                }));
            }
            if want > 0 {
                return Err(ChannelError::Rejected {
                    message: format!(
                        "line {}: {} more units than were fulfilled",
                        l.external_line_id, want
                    ),
                    code: Some("NOT_FULFILLED".into()),
                });
            }
        }
        let input = json!({"orderId": order_gid, "returnLineItems": items});
        match self
            .client
            .mutate(&docs::CREATE_RETURN, json!({"input": input}))
            .await
        {
            Ok(d) => {
                let p = &d["returnCreate"];
                if let Some((code, _, m)) = user_errors(p, "userErrors").into_iter().next() {
                    return Err(ChannelError::Rejected {
                        message: format!("returnCreate: {m}"),
                        code,
                    });
                }
                Ok(ReturnAck {
                    external_id: p["return"]["id"]
                        .as_str()
                        .and_then(|g| gid_number(g, "Return"))
                        .ok_or_else(|| decode_error("CreateReturn", "return.id", "missing"))?,
                    already_existed: false,
                    status: mapping::return_status(p["return"]["status"].as_str().unwrap_or("")),
                })
            }
            Err(ChannelError::Ambiguous { message }) => {
                let ctx = self
                    .client
                    .query(&docs::RETURN_CONTEXT, json!({"id": order_gid}))
                    .await?;
                match find(&ctx) {
                    Some((id, status)) => Ok(ReturnAck {
                        external_id: id,
                        already_existed: false,
                        status: mapping::return_status(&status),
                    }),
                    None => Err(ChannelError::Transient {
                        message: format!("{message}; re-checked: not applied"),
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Collection ids for handles (or GIDs given as they are); an unknown handle is an error,
    /// never silently dropped.
    async fn collection_ids(&self, wanted: &[String]) -> Result<Vec<String>, ChannelError> {
        let mut out = Vec::new();
        let mut handles = Vec::new();
        for w in wanted {
            if gid_number(w, "Collection").is_some() && w.starts_with("gid://") {
                out.push(w.clone());
            } else {
                handles.push(w.clone());
            }
        }
        for chunk in handles.chunks(50) {
            let query = chunk
                .iter()
                .map(|h| format!("handle:{}", search_value(h)))
                .collect::<Vec<_>>()
                .join(" OR ");
            let d = self
                .client
                .query(
                    &docs::COLLECTIONS_BY_HANDLE,
                    json!({"query": query, "first": (chunk.len() * 2).min(250)}),
                )
                .await?;
            let nodes = d["collections"]["nodes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for h in chunk {
                match nodes
                    .iter()
                    .find(|n| n["handle"].as_str() == Some(h.as_str()))
                {
                    Some(n) => out.push(n["id"].as_str().unwrap_or_default().to_string()),
                    None => {
                        return Err(ChannelError::Rejected {
                            message: format!("no collection with handle {h:?} on the shop"),
                            code: Some("UNKNOWN_COLLECTION".into()),
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Odoo binding fields (`shopify_*`) or the short names channels-core documents.
fn attr<'a>(l: &'a Listing, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| l.attributes.get(*n))
        .filter(|v| !v.is_null())
}

fn attr_text(l: &Listing, names: &[&str]) -> Option<String> {
    match attr(l, names)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

/// `shopify_collections`: comma-separated handles (the Odoo field), or a list.
pub fn listing_collections(l: &Listing) -> Option<Vec<String>> {
    let v = attr(l, &["shopify_collections", "collections"])?;
    let list: Vec<String> = match v {
        Value::String(s) => s.split(',').map(|x| x.trim().to_string()).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(|s| s.trim().to_string()))
            .collect(),
        _ => return Some(vec![]),
    };
    Some(list.into_iter().filter(|s| !s.is_empty()).collect())
}

/// `shopify_metafields_json`: a JSON array of `{namespace, key, value, type?}` (text in the
/// Odoo field, or already a list). A missing `type` is inferred from the value.
pub fn listing_metafields(l: &Listing) -> Result<Vec<Value>, String> {
    let Some(v) = attr(l, &["shopify_metafields_json", "metafields"]) else {
        return Ok(vec![]);
    };
    let parsed;
    let list = match v {
        Value::String(s) if s.trim().is_empty() => return Ok(vec![]),
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|e| format!("not JSON: {e}"))?;
            &parsed
        }
        other => other,
    };
    let Some(items) = list.as_array() else {
        return Err("expected a JSON array of metafields".into());
    };
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(namespace), Some(key)) = (s("namespace"), s("key")) else {
            return Err(format!(
                "metafield #{}: namespace and key are required",
                i + 1
            ));
        };
        let value = m.get("value").cloned().unwrap_or(Value::Null);
        let (kind, text) = match (&value, s("type")) {
            (Value::Null, _) => {
                return Err(format!("metafield {namespace}.{key}: value is required"));
            }
            (Value::String(t), Some(k)) => (k, t.clone()),
            (other, Some(k)) => (k, other.to_string()),
            (Value::String(t), None) if t.contains('\n') => {
                ("multi_line_text_field".into(), t.clone())
            }
            (Value::String(t), None) => ("single_line_text_field".into(), t.clone()),
            (Value::Bool(b), None) => ("boolean".into(), b.to_string()),
            (Value::Number(n), None) if n.is_i64() || n.is_u64() => {
                ("number_integer".into(), n.to_string())
            }
            (Value::Number(n), None) => ("number_decimal".into(), n.to_string()),
            (other, None) => ("json".into(), other.to_string()),
        };
        out.push(json!({"namespace": namespace, "key": key, "type": kind, "value": text}));
    }
    Ok(out)
}

fn cancel_reason(r: CancelReason) -> &'static str {
    match r {
        CancelReason::BuyerRequest => "CUSTOMER",
        CancelReason::Fraud => "FRAUD",
        CancelReason::OutOfStock => "INVENTORY",
        CancelReason::PricingError
        | CancelReason::AddressUndeliverable
        | CancelReason::ShippingDelay
        | CancelReason::Other => "OTHER",
    }
}

fn status_of(order: &Value) -> OrderStatus {
    mapping::order_status(
        !order["cancelledAt"].is_null(),
        order["displayFinancialStatus"].as_str(),
        order["displayFulfillmentStatus"].as_str().unwrap_or(""),
        None,
    )
}

#[async_trait]
impl Channel for ShopifyChannel {
    fn id(&self) -> &ChannelId {
        &self.id
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::Shopify
    }

    fn capabilities(&self) -> Capabilities {
        let hooks = self.config.client_secret.is_some();
        Capabilities {
            operations: Operation::ALL
                .into_iter()
                .filter(|op| *op != Operation::PollPending)
                .filter(|op| *op != Operation::Webhooks || hooks)
                .collect(),
            realtime_webhooks: hooks,
            max_stock_batch: self.batch(),
            max_price_batch: 250,
            max_page_size: 50,
            stock_cas: true,
            async_bulk: false,
            partial_shipments: true,
            partial_cancellation: false,
            marketplace_fulfilment: false,
        }
    }

    async fn pull_orders(&self, q: &OrderQuery) -> Result<OrderPage, ChannelError> {
        let (after, query) = page_start(q, "updated_at", "")?;
        let size = q
            .page_size
            .unwrap_or(self.config.connection.page_size)
            .clamp(1, 50)
            .min(
                self.order_page_cap
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .max(1),
            );
        let d = self
            .page_orders(json!({
                "first": size, "after": after, "query": query,
                "lineItems": self.config.connection.line_items_per_order,
            }))
            .await?;
        let conn = &d["orders"];
        let mut nodes = conn["nodes"]
            .as_array()
            .cloned()
            .ok_or_else(|| decode_error("OrdersPage", "orders.nodes", "expected a list"))?;
        for n in nodes.iter_mut() {
            self.complete_line_items(n).await?;
            self.complete_refunds(n).await?;
        }
        let items: Vec<Pulled<Order>> = nodes
            .iter()
            .map(|n| mapping::map_order(&self.id, n))
            .collect();
        let next = next_page(conn, &query);
        Ok(Page {
            high_water_mark: mapping::high_water_mark(&items, |o: &Order| o.updated_at),
            items,
            next,
        })
    }

    async fn get_order(&self, external_id: &str) -> Result<Pulled<Order>, ChannelError> {
        let d = self
            .client
            .query(
                &docs::ORDER_BY_ID,
                json!({"id": to_gid("Order", external_id),
                       "lineItems": self.config.connection.line_items_per_order}),
            )
            .await?;
        let mut node = d["order"].clone();
        if node.is_null() {
            return Err(ChannelError::NotFound {
                what: format!("order {external_id}"),
            });
        }
        self.complete_line_items(&mut node).await?;
        self.complete_refunds(&mut node).await?;
        Ok(mapping::map_order(&self.id, &node))
    }

    /// `inventorySetQuantities` with `compareQuantity` on every item: against
    /// `StockUpdate::expected` (what the daemon last acknowledged), or, when the daemon gives
    /// none, against the quantity read just before. A concurrent change on the shop makes
    /// Shopify refuse (`COMPARE_QUANTITY_STALE`); we re-read and answer `Conflict{current}`,
    /// never overwriting it.
    async fn push_stock(&self, updates: &[StockUpdate]) -> Result<Vec<PushOutcome>, ChannelError> {
        if updates.is_empty() {
            return Ok(vec![]);
        }
        let shop = self.shop().await?;
        let mut out: Vec<Option<PushOutcome>> = vec![None; updates.len()];
        let mut by_location: BTreeMap<String, Vec<(usize, &StockUpdate)>> = BTreeMap::new();
        for (i, u) in updates.iter().enumerate() {
            by_location
                .entry(self.location_of(shop, u.location.as_deref()))
                .or_default()
                .push((i, u));
        }
        let mut sent_any = false;
        let mut failed: Option<ChannelError> = None;
        for (location, items) in &by_location {
            for chunk in items.chunks(self.batch()) {
                if let Some(e) = &failed {
                    for (i, u) in chunk {
                        out[*i] = Some(PushOutcome::Rejected {
                            sku: u.sku.clone(),
                            version: u.version,
                            reason: format!("not sent: an earlier batch failed ({e})"),
                            code: None,
                            retryable: true,
                        });
                    }
                    continue;
                }
                if let Err(e) = self
                    .push_stock_chunk(shop, location, chunk, &mut out, &mut sent_any)
                    .await
                {
                    if !sent_any && matches!(e, ChannelError::Auth { .. } | ChannelError::Config(_))
                    {
                        return Err(e);
                    }
                    for (i, u) in chunk {
                        if out[*i].is_none() {
                            out[*i] = Some(chunk_failure(u.sku.clone(), u.version, &e));
                        }
                    }
                    failed = Some(e);
                }
            }
        }
        Ok(out
            .into_iter()
            .zip(updates)
            .map(|(o, u)| {
                o.unwrap_or_else(|| PushOutcome::Unknown {
                    sku: u.sku.clone(),
                    version: u.version,
                    reason: "no outcome recorded".into(),
                })
            })
            .collect())
    }

    async fn read_stock(&self, skus: &[String]) -> Result<Vec<StockLevel>, ChannelError> {
        let shop = self.shop().await?;
        let found = self.lookup(skus, &shop.location).await?;
        let mut out = Vec::new();
        for s in skus {
            if let Some(Lookup::Found {
                level: Some((q, at)),
                ..
            }) = found.get(s)
            {
                out.push(StockLevel {
                    sku: s.clone(),
                    quantity: *q,
                    location: Some(shop.location.clone()),
                    updated_at: *at,
                });
            }
        }
        Ok(out)
    }

    /// `productVariantsBulkUpdate` per product with partial updates allowed: an invalid
    /// variant does not stop the others; each item gets the price Shopify echoes back.
    async fn push_prices(&self, updates: &[PriceUpdate]) -> Result<Vec<PushOutcome>, ChannelError> {
        if updates.is_empty() {
            return Ok(vec![]);
        }
        let shop = self.shop().await?;
        let mut out: Vec<Option<PushOutcome>> = vec![None; updates.len()];
        for (i, u) in updates.iter().enumerate() {
            if u.price.currency != shop.currency
                || u.compare_at.is_some_and(|c| c.currency != shop.currency)
            {
                out[i] = Some(rejected(
                    &u.sku,
                    u.version,
                    "CURRENCY_MISMATCH",
                    format!(
                        "price in {} but the shop sells in {}",
                        u.price.currency, shop.currency
                    ),
                ));
            } else if u.price.amount.is_sign_negative() && !u.price.amount.is_zero() {
                out[i] = Some(rejected(
                    &u.sku,
                    u.version,
                    "NEGATIVE_PRICE_VALUE",
                    "negative price",
                ));
            }
        }
        let skus: Vec<String> = updates
            .iter()
            .enumerate()
            .filter(|(i, _)| out[*i].is_none())
            .map(|(_, u)| u.sku.clone())
            .collect();
        let resolved = self.resolve(&skus, &shop.location).await?;
        let mut by_product: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        for (i, u) in updates.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            match resolved.get(&u.sku) {
                Some(Ok(r)) => by_product
                    .entry(r.product.clone())
                    .or_default()
                    .push((i, r.variant.clone())),
                Some(Err(Lookup::Duplicate(n))) => {
                    out[i] = Some(rejected(
                        &u.sku,
                        u.version,
                        "DUPLICATE_SKU",
                        format!("{n} variants share this SKU"),
                    ))
                }
                _ => {
                    out[i] = Some(rejected(
                        &u.sku,
                        u.version,
                        "UNKNOWN_SKU",
                        "no variant on the shop has this SKU",
                    ))
                }
            }
        }
        let mut sent_any = false;
        for (product, items) in by_product {
            for chunk in items.chunks(250) {
                let variants: Vec<Value> = chunk
                    .iter()
                    .map(|(i, v)| {
                        let u = &updates[*i];
                        json!({"id": v, "price": u.price.amount.to_string(),
                               "compareAtPrice": u.compare_at.map(|c| c.amount.to_string())})
                    })
                    .collect();
                let res = self
                    .client
                    .mutate(
                        &docs::UPDATE_PRICES,
                        json!({"productId": product, "variants": variants}),
                    )
                    .await;
                let payload = match res {
                    Ok(d) => {
                        sent_any = true;
                        d["productVariantsBulkUpdate"].clone()
                    }
                    Err(e) => {
                        if !sent_any
                            && matches!(e, ChannelError::Auth { .. } | ChannelError::Config(_))
                        {
                            return Err(e);
                        }
                        for (i, _) in chunk {
                            out[*i] = Some(chunk_failure(
                                updates[*i].sku.clone(),
                                updates[*i].version,
                                &e,
                            ));
                        }
                        continue;
                    }
                };
                let mut named: HashMap<usize, (Option<String>, String)> = HashMap::new();
                let mut general: Option<(Option<String>, String)> = None;
                for (code, field, message) in user_errors(&payload, "userErrors") {
                    match error_index(&field, &["variants"]) {
                        Some(k) if k < chunk.len() => {
                            named.entry(k).or_insert((code, message));
                        }
                        _ => {
                            general.get_or_insert((code, message));
                        }
                    }
                }
                let echoed = payload["productVariants"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for (k, (i, vid)) in chunk.iter().enumerate() {
                    let u = &updates[*i];
                    if let Some((code, message)) = named.remove(&k).or_else(|| general.clone()) {
                        if matches!(
                            code.as_deref(),
                            Some("PRODUCT_DOES_NOT_EXIST" | "PRODUCT_VARIANT_DOES_NOT_EXIST")
                        ) {
                            self.skus.lock().remove(&u.sku);
                        }
                        out[*i] = Some(PushOutcome::Rejected {
                            sku: u.sku.clone(),
                            version: u.version,
                            reason: message,
                            code,
                            retryable: false,
                        });
                        continue;
                    }
                    let echo = echoed
                        .iter()
                        .find(|v| v["id"].as_str() == Some(vid.as_str()));
                    let price = echo
                        .and_then(|v| v["price"].as_str())
                        .and_then(|p| p.parse::<Decimal>().ok());
                    out[*i] = Some(match price {
                        Some(p) => PushOutcome::Applied {
                            sku: u.sku.clone(),
                            version: u.version,
                            channel_value: ChannelValue::Price {
                                price: Money::new(p, shop.currency),
                                compare_at: echo
                                    .and_then(|v| v["compareAtPrice"].as_str())
                                    .and_then(|p| p.parse::<Decimal>().ok())
                                    .map(|c| Money::new(c, shop.currency)),
                            },
                        },
                        None => PushOutcome::Unknown {
                            sku: u.sku.clone(),
                            version: u.version,
                            reason: "Shopify did not echo the variant back".into(),
                        },
                    });
                }
            }
        }
        Ok(out
            .into_iter()
            .zip(updates)
            .map(|(o, u)| {
                o.unwrap_or_else(|| PushOutcome::Unknown {
                    sku: u.sku.clone(),
                    version: u.version,
                    reason: "no outcome recorded".into(),
                })
            })
            .collect())
    }

    /// `productSet` (synchronous). A new SKU creates a one-variant product; an existing one
    /// updates the product's fields (title, description, vendor, SEO, metafields,
    /// collections, images) without touching its variants (a declarative `variants` list
    /// would delete the siblings of a multi-variant product), and its price and barcode go
    /// through `productVariantsBulkUpdate`. Channel fields come from the Odoo binding:
    /// `shopify_seo_title`, `shopify_seo_description`, `shopify_metafields_json`,
    /// `shopify_collections` (or `seo_title`, `seo_description`, `metafields`, `collections`).
    async fn upsert_listing(&self, l: &Listing) -> Result<PushOutcome, ChannelError> {
        let shop = self.shop().await?;
        let reject = |code: &str, reason: String| -> Result<PushOutcome, ChannelError> {
            Ok(rejected(&l.sku, l.version, code, reason))
        };
        for m in l.price.iter().chain(l.compare_at.iter()) {
            if m.currency != shop.currency {
                return reject(
                    "CURRENCY_MISMATCH",
                    format!(
                        "price in {} but the shop sells in {}",
                        m.currency, shop.currency
                    ),
                );
            }
        }
        let metafields = match listing_metafields(l) {
            Ok(m) => m,
            Err(e) => {
                return reject(
                    "INVALID_METAFIELDS",
                    format!("shopify_metafields_json: {e}"),
                );
            }
        };
        let collections = match listing_collections(l) {
            None => None,
            Some(handles) => match self.collection_ids(&handles).await {
                Ok(ids) => Some(ids),
                Err(ChannelError::Rejected { message, code }) => {
                    return reject(code.as_deref().unwrap_or("UNKNOWN_COLLECTION"), message);
                }
                Err(e) => return Err(e),
            },
        };
        let found = self
            .lookup(std::slice::from_ref(&l.sku), &shop.location)
            .await?;
        let existing = match found.get(&l.sku) {
            Some(Lookup::Found { ids, .. }) => Some(ids.clone()),
            Some(Lookup::Duplicate(n)) => {
                return reject("DUPLICATE_SKU", format!("{n} variants share this SKU"));
            }
            None => None,
        };
        let mut input = json!({"title": l.title});
        if let Some(d) = &l.description {
            input["descriptionHtml"] = json!(d);
        }
        if let Some(b) = &l.brand {
            input["vendor"] = json!(b);
        }
        let seo_title = attr_text(l, &["shopify_seo_title", "seo_title"]);
        let seo_description = attr_text(l, &["shopify_seo_description", "seo_description"]);
        if seo_title.is_some() || seo_description.is_some() {
            input["seo"] = json!({"title": seo_title, "description": seo_description});
        }
        if !metafields.is_empty() {
            input["metafields"] = json!(metafields);
        }
        if let Some(c) = &collections {
            input["collections"] = json!(c);
        }
        if !l.images.is_empty() {
            input["files"] = Value::Array(
                l.images
                    .iter()
                    .map(|u| json!({"originalSource": u, "contentType": "IMAGE"}))
                    .collect(),
            );
        }
        let weight = l.weight.as_ref().map(|w| {
            json!({"weight": {
                "value": w.value.to_f64().unwrap_or(0.0),
                "unit": match w.unit {
                    channels_core::WeightUnit::G => "GRAMS",
                    channels_core::WeightUnit::Kg => "KILOGRAMS",
                    channels_core::WeightUnit::Oz => "OUNCES",
                    channels_core::WeightUnit::Lb => "POUNDS",
                },
            }})
        });
        match &existing {
            Some(ids) => input["id"] = json!(ids.product),
            None => {
                input["productOptions"] =
                    json!([{"name": "Title", "values": [{"name": "Default Title"}]}]);
                let mut v = json!({
                    "optionValues": [{"optionName": "Title", "name": "Default Title"}],
                    "sku": l.sku,
                    "price": l.price.map(|p| p.amount.to_string()),
                    "compareAtPrice": l.compare_at.map(|p| p.amount.to_string()),
                    "barcode": l.barcode,
                    "inventoryItem": {"tracked": true},
                });
                if let Some(w) = &weight {
                    v["inventoryItem"]["measurement"] = w.clone();
                }
                input["variants"] = json!([v]);
            }
        }
        let res = self
            .client
            .mutate(&docs::PRODUCT_SET, json!({"input": input}))
            .await;
        let payload = match res {
            Ok(d) => d["productSet"].clone(),
            Err(ChannelError::Ambiguous { message }) => {
                return Ok(PushOutcome::Unknown {
                    sku: l.sku.clone(),
                    version: l.version,
                    reason: message,
                });
            }
            Err(ChannelError::Rejected { message, code }) => {
                return Ok(PushOutcome::Rejected {
                    sku: l.sku.clone(),
                    version: l.version,
                    reason: message,
                    code,
                    retryable: false,
                });
            }
            Err(e) => return Err(e),
        };
        if let Some((code, field, message)) = user_errors(&payload, "userErrors").into_iter().next()
        {
            return Ok(PushOutcome::Rejected {
                sku: l.sku.clone(),
                version: l.version,
                reason: format!("productSet {}: {message}", field.join(".")),
                code,
                retryable: false,
            });
        }
        let Some(product) = payload["product"]["id"].as_str().map(str::to_string) else {
            return Ok(PushOutcome::Unknown {
                sku: l.sku.clone(),
                version: l.version,
                reason: "productSet returned no product".into(),
            });
        };
        if let Some(ids) = &existing
            && (l.price.is_some()
                || l.compare_at.is_some()
                || l.barcode.is_some()
                || weight.is_some())
        {
            let mut v = json!({"id": ids.variant});
            if let Some(p) = l.price {
                v["price"] = json!(p.amount.to_string());
                v["compareAtPrice"] = json!(l.compare_at.map(|c| c.amount.to_string()));
            }
            if let Some(b) = &l.barcode {
                v["barcode"] = json!(b);
            }
            if let Some(w) = &weight {
                v["inventoryItem"] = json!({"measurement": w});
            }
            match self
                .client
                .mutate(
                    &docs::UPDATE_PRICES,
                    json!({"productId": product, "variants": [v]}),
                )
                .await
            {
                Ok(d) => {
                    if let Some((code, _, message)) =
                        user_errors(&d["productVariantsBulkUpdate"], "userErrors")
                            .into_iter()
                            .next()
                    {
                        return Ok(PushOutcome::Rejected {
                            sku: l.sku.clone(),
                            version: l.version,
                            reason: format!("product updated, variant refused: {message}"),
                            code,
                            retryable: false,
                        });
                    }
                }
                Err(ChannelError::Ambiguous { message }) => {
                    return Ok(PushOutcome::Unknown {
                        sku: l.sku.clone(),
                        version: l.version,
                        reason: message,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        if existing.is_none() {
            // Learn the new ids now (the next stock push needs them).
            let _ = self
                .lookup(std::slice::from_ref(&l.sku), &shop.location)
                .await;
        }
        Ok(PushOutcome::Applied {
            sku: l.sku.clone(),
            version: l.version,
            channel_value: ChannelValue::Listing {
                listing_ref: Some(product),
            },
        })
    }

    /// Fulfils against the order's fulfillment orders. Exactly once per tracking number: the
    /// order's fulfillments are read first (and again after an ambiguous answer), and a
    /// fulfillment that already carries the number is acknowledged, not created again.
    async fn confirm_shipment(&self, s: &Shipment) -> Result<ShipmentAck, ChannelError> {
        let state = || self.read_order(&docs::FULFILLMENT_STATE, &s.order_external_id);
        let existing = |o: &Value| -> Option<String> {
            o["fulfillments"].as_array().and_then(|fs| {
                fs.iter()
                    .filter(|f| {
                        !matches!(
                            f["status"].as_str(),
                            Some("CANCELLED" | "ERROR" | "FAILURE")
                        )
                    })
                    .find(|f| {
                        f["trackingInfo"].as_array().is_some_and(|ts| {
                            ts.iter()
                                .any(|t| t["number"].as_str() == Some(s.tracking_number.as_str()))
                        })
                    })
                    .and_then(|f| f["id"].as_str())
                    .and_then(|g| gid_number(g, "Fulfillment"))
            })
        };
        let order = state().await?;
        if let Some(id) = existing(&order) {
            return Ok(ShipmentAck {
                external_id: Some(id),
                already_existed: true,
                order_status: Some(status_of(&order)),
            });
        }
        if !order["cancelledAt"].is_null() {
            return Err(ChannelError::Rejected {
                message: format!("order {} is cancelled", s.order_external_id),
                code: Some("ORDER_CANCELLED".into()),
            });
        }
        // (fulfillment order, line item number, FO line id, remaining)
        let mut open: Vec<(String, String, String, i64)> = Vec::new();
        for fo in order["fulfillmentOrders"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if !matches!(fo["status"].as_str(), Some("OPEN" | "IN_PROGRESS")) {
                continue;
            }
            if fo["lineItems"]["pageInfo"]["hasNextPage"].as_bool() == Some(true) {
                return Err(ChannelError::Rejected {
                    message: "a fulfillment order with more than 50 lines is not supported".into(),
                    code: Some("TOO_MANY_LINES".into()),
                });
            }
            for l in fo["lineItems"]["nodes"].as_array().into_iter().flatten() {
                let rem = l["remainingQuantity"].as_i64().unwrap_or(0);
                if rem > 0
                    && let (Some(foid), Some(lid), Some(li)) = (
                        fo["id"].as_str(),
                        l["id"].as_str(),
                        l["lineItem"]["id"]
                            .as_str()
                            .and_then(|g| gid_number(g, "LineItem")),
                    )
                {
                    open.push((foid.to_string(), li, lid.to_string(), rem));
                }
            }
        }
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        if s.lines.is_empty() {
            for (fo, _, lid, rem) in &open {
                groups
                    .entry(fo.clone())
                    .or_default()
                    .push(json!({"id": lid, "quantity": rem}));
            }
        } else {
            for l in &s.lines {
                let mut want = whole(l.quantity, &format!("line {}", l.external_line_id))?;
                let line = gid_number(&l.external_line_id, "LineItem").unwrap_or_default();
                for (fo, li, lid, rem) in open.iter_mut() {
                    if *li != line || *rem == 0 || want == 0 {
                        continue;
                    }
                    let take = want.min(*rem);
                    *rem -= take;
                    want -= take;
                    groups
                        .entry(fo.clone())
                        .or_default()
                        .push(json!({"id": lid, "quantity": take}));
                }
                if want > 0 {
                    return Err(ChannelError::Rejected {
                        message: format!(
                            "line {}: {want} more units than remain to fulfil",
                            l.external_line_id
                        ),
                        code: Some("QUANTITY_EXCEEDS_REMAINING".into()),
                    });
                }
            }
        }
        if groups.is_empty() {
            return Err(ChannelError::Rejected {
                message: format!("order {}: nothing left to fulfil", s.order_external_id),
                code: Some("NOTHING_TO_FULFIL".into()),
            });
        }
        let company = s
            .carrier
            .name
            .clone()
            .unwrap_or_else(|| s.carrier.code.clone());
        let fulfillment = json!({
            "notifyCustomer": self.config.connection.notify_customer,
            "trackingInfo": {"number": s.tracking_number, "company": company, "url": s.tracking_url},
            "lineItemsByFulfillmentOrder": groups.into_iter().map(|(fo, lines)| json!({
                "fulfillmentOrderId": fo, "fulfillmentOrderLineItems": lines,
            })).collect::<Vec<_>>(),
        });
        match self
            .client
            .mutate(
                &docs::CREATE_FULFILLMENT,
                json!({"fulfillment": fulfillment}),
            )
            .await
        {
            Ok(d) => {
                let p = &d["fulfillmentCreate"];
                if let Some((code, _, message)) = user_errors(p, "userErrors").into_iter().next() {
                    return Err(ChannelError::Rejected {
                        message: format!("fulfillmentCreate: {message}"),
                        code,
                    });
                }
                let id = p["fulfillment"]["id"]
                    .as_str()
                    .and_then(|g| gid_number(g, "Fulfillment"));
                let status = self
                    .read_order(&docs::ORDER_STATUS, &s.order_external_id)
                    .await
                    .ok()
                    .map(|o| status_of(&o));
                Ok(ShipmentAck {
                    external_id: id,
                    already_existed: false,
                    order_status: status,
                })
            }
            Err(ChannelError::Ambiguous { message }) => {
                let order = state().await?;
                match existing(&order) {
                    Some(id) => Ok(ShipmentAck {
                        external_id: Some(id),
                        already_existed: false,
                        order_status: Some(status_of(&order)),
                    }),
                    None => Err(ChannelError::Transient {
                        message: format!("{message}; re-checked: not applied"),
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `orderCancel` for whole orders (Shopify cancels line by line only through order
    /// editing, which this connector does not do: `partial_cancellation` is false). The
    /// order's state is read first: an order already cancelled is acknowledged, not sent.
    async fn cancel_order(&self, c: &Cancellation) -> Result<CancelAck, ChannelError> {
        if !c.lines.is_empty() {
            return Err(ChannelError::Rejected {
                message: "Shopify cancels whole orders; cancelling lines needs an order edit"
                    .into(),
                code: Some("PARTIAL_CANCELLATION_UNSUPPORTED".into()),
            });
        }
        let order_gid = to_gid("Order", &c.order_external_id);
        let read = || self.read_order(&docs::ORDER_STATUS, &c.order_external_id);
        let before = read().await?;
        if !before["cancelledAt"].is_null() {
            return Ok(CancelAck {
                already_cancelled: true,
                order_status: Some(OrderStatus::Cancelled),
                pending: None,
            });
        }
        let note: Option<String> = c
            .reason_text
            .as_ref()
            .map(|t| t.chars().take(255).collect());
        let cc = &self.config.connection;
        match self
            .client
            .mutate(
                &docs::CANCEL_ORDER,
                json!({
                    "orderId": order_gid, "reason": cancel_reason(c.reason),
                    "refund": cc.cancel_refund, "restock": cc.cancel_restock,
                    "notifyCustomer": cc.notify_customer, "staffNote": note,
                }),
            )
            .await
        {
            Ok(d) => {
                let p = &d["orderCancel"];
                if let Some((code, _, message)) =
                    user_errors(p, "orderCancelUserErrors").into_iter().next()
                {
                    return Err(ChannelError::Rejected {
                        message: format!("orderCancel: {message}"),
                        code,
                    });
                }
                // The cancellation is a job; read what the order says now.
                let after = read().await?;
                Ok(CancelAck {
                    already_cancelled: false,
                    order_status: Some(status_of(&after)),
                    pending: None,
                })
            }
            Err(ChannelError::Ambiguous { message }) => {
                let after = read().await?;
                if after["cancelledAt"].is_null() {
                    Err(ChannelError::Transient {
                        message: format!("{message}; re-checked: not cancelled"),
                    })
                } else {
                    Ok(CancelAck {
                        already_cancelled: false,
                        order_status: Some(OrderStatus::Cancelled),
                        pending: None,
                    })
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Returns of orders updated since the cursor (a return updates its order): orders
    /// without returns are filtered out by Shopify's `return_status` search term. At most 3
    /// returns of 10 lines per order are read per page (query cost); more are a known gap.
    async fn pull_returns(&self, q: &PageQuery) -> Result<Page<Return>, ChannelError> {
        let (after, query) = page_start(q, "updated_at", "-return_status:no_return")?;
        let size = q.page_size.unwrap_or(5).clamp(1, 5);
        let d = self
            .client
            .query(
                &docs::RETURNS_PAGE,
                json!({"first": size, "after": after, "query": query}),
            )
            .await?;
        let conn = &d["orders"];
        let mut items = Vec::new();
        let mut hwm: Option<Timestamp> = None;
        for o in conn["nodes"].as_array().into_iter().flatten() {
            if let Some(t) = o["updatedAt"]
                .as_str()
                .and_then(|s| s.parse::<Timestamp>().ok())
            {
                hwm = Some(hwm.map_or(t, |h| h.max(t)));
            }
            for r in o["returns"]["nodes"].as_array().into_iter().flatten() {
                items.push(mapping::map_return(o, r));
            }
        }
        let next = next_page(conn, &query);
        Ok(Page {
            items,
            next,
            high_water_mark: hwm,
        })
    }

    /// Paid Shopify Payments payouts issued since the cursor, each with all its balance
    /// transactions (fetched page by page), as settlements. A shop without Shopify Payments
    /// has none.
    async fn pull_settlements(&self, q: &PageQuery) -> Result<Page<Settlement>, ChannelError> {
        let (after, query) = page_start(q, "issued_at", "status:paid")?;
        let size = q.page_size.unwrap_or(10).clamp(1, 50);
        let d = self
            .client
            .query(
                &docs::PAYOUTS_PAGE,
                json!({"first": size, "after": after, "query": query}),
            )
            .await?;
        let account = &d["shopifyPaymentsAccount"];
        if account.is_null() {
            return Ok(Page {
                items: vec![],
                next: None,
                high_water_mark: None,
            });
        }
        let conn = &account["payouts"];
        let mut items = Vec::new();
        for p in conn["nodes"].as_array().into_iter().flatten() {
            let Some(num) = p["legacyResourceId"]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    p["id"]
                        .as_str()
                        .and_then(|g| gid_number(g, "ShopifyPaymentsPayout"))
                })
            else {
                items.push(mapping::map_settlement(p, &[]));
                continue;
            };
            let mut txns = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..1000 {
                let d = self
                    .client
                    .query(
                        &docs::PAYOUT_TRANSACTIONS,
                        json!({"first": 100, "after": cursor,
                               "query": format!("payments_transfer_id:{num}")}),
                    )
                    .await?;
                let c = &d["shopifyPaymentsAccount"]["balanceTransactions"];
                txns.extend(c["nodes"].as_array().cloned().unwrap_or_default());
                match (
                    c["pageInfo"]["hasNextPage"].as_bool(),
                    c["pageInfo"]["endCursor"].as_str(),
                ) {
                    (Some(true), Some(e)) => cursor = Some(e.to_string()),
                    _ => break,
                }
            }
            items.push(mapping::map_settlement(p, &txns));
        }
        let next = next_page(conn, &query);
        Ok(Page {
            high_water_mark: mapping::high_water_mark(&items, |s: &Settlement| s.updated_at),
            items,
            next,
        })
    }

    /// Size, HMAC over the raw body, shop domain, triggered-at window, then the webhook id
    /// must be new (a replay of a delivery we already accepted is refused). Every refusal is
    /// logged with topic, shop, webhook id and reason — never the body or the signature.
    fn verify_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), WebhookError> {
        let Some(secret) = &self.config.client_secret else {
            return Err(WebhookError::Unsupported);
        };
        let c = &self.config.connection;
        let expected = self.expected_shop_domain();
        let r = webhooks::verify(
            headers,
            body,
            secret,
            expected.as_deref(),
            Timestamp::now(),
            Duration::from_secs(c.webhook_window_secs),
            c.webhook_max_body,
        )
        .and_then(|()| {
            let id = channels_core::webhook::header_str(headers, webhooks::WEBHOOK_ID)?;
            if self.seen_webhooks.insert_new(id) {
                Ok(())
            } else {
                Err(WebhookError::Duplicate(id.to_owned()))
            }
        });
        if let Err(e) = &r {
            // A duplicate is refused like the rest (nothing is done with it) but reported as
            // `Duplicate`, so the daemon answers 200 and Shopify stops retrying it.
            let reason = match e {
                WebhookError::Duplicate(_) => "replayed webhook id".to_string(),
                other => other.to_string(),
            };
            tracing::warn!(
                channel = %self.id,
                topic = %webhooks::loggable(headers, webhooks::TOPIC),
                shop_domain = %webhooks::loggable(headers, webhooks::SHOP_DOMAIN),
                webhook_id = %webhooks::loggable(headers, webhooks::WEBHOOK_ID),
                body_bytes = body.len(),
                reason = %reason,
                "shopify webhook rejected"
            );
        }
        r
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<WebhookEvent>, WebhookError> {
        let items = self.items.lock().clone();
        let events = webhooks::parse(headers, body, Timestamp::now(), |item| {
            items.get(item).cloned()
        })?;
        if events
            .iter()
            .any(|e| e.kind == channels_core::WebhookEventKind::Uninstalled)
        {
            tracing::error!(
                channel = %self.id,
                "Shopify says the app was uninstalled: the access token no longer works; \
                 a person must reinstall the app"
            );
        }
        Ok(events)
    }
}

impl ShopifyChannel {
    /// The `X-Shopify-Shop-Domain` webhooks must carry.
    fn expected_shop_domain(&self) -> Option<String> {
        let shop = self.config.connection.shop.trim().to_ascii_lowercase();
        if shop.is_empty() {
            None
        } else if shop.ends_with(".myshopify.com") {
            Some(shop)
        } else {
            Some(format!("{shop}.myshopify.com"))
        }
    }
}
