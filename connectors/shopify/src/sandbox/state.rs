//! The shop's data and the rules of every mutation the sandbox implements: products, variants,
//! inventory items and levels, locations, collections, orders with fulfillment orders,
//! fulfillments, refunds, returns and transactions, Shopify Payments balance transactions and
//! payouts. Pure state: no HTTP, no GraphQL (that is `exec.rs`); both the GraphQL endpoint and
//! the control handle call these methods.
//!
//! User errors are returned the way the schema types them for each mutation (`code`, `field`,
//! `message`), so `exec.rs` can put them in the payload as they are.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Reasons `inventorySetQuantities` accepts (Shopify's documented list).
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

/// One user error, as the payload's `userErrors` item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserError {
    pub code: Option<String>,
    pub field: Option<Vec<String>>,
    pub message: String,
}

impl UserError {
    pub fn new(code: Option<&str>, field: &[&str], message: impl Into<String>) -> Self {
        Self {
            code: code.map(str::to_string),
            field: if field.is_empty() {
                None
            } else {
                Some(field.iter().map(|s| s.to_string()).collect())
            },
            message: message.into(),
        }
    }
    pub fn json(&self, with_code: bool) -> Value {
        if with_code {
            json!({"code": self.code, "field": self.field, "message": self.message})
        } else {
            json!({"field": self.field, "message": self.message})
        }
    }
}

/// Counters a test reads to assert what happened (or that nothing did).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Every GraphQL request received (including refused ones).
    pub requests: u64,
    pub queries: u64,
    /// Executed mutations by root field name (`inventorySetQuantities`, …), whatever their
    /// user errors.
    pub mutations: BTreeMap<String, u64>,
    /// Mutations that changed state.
    pub writes: BTreeMap<String, u64>,
    /// Requests refused with `THROTTLED` (a connector that respects the bucket causes none).
    pub throttled: u64,
    pub max_cost_exceeded: u64,
    pub unauthorized: u64,
    /// Documents refused by validation against the schema.
    pub invalid_documents: u64,
    pub webhooks_sent: u64,
}

impl Counters {
    pub fn mutation(&self, name: &str) -> u64 {
        self.mutations.get(name).copied().unwrap_or(0)
    }
    pub fn write(&self, name: &str) -> u64 {
        self.writes.get(name).copied().unwrap_or(0)
    }
    pub fn total_writes(&self) -> u64 {
        self.writes.values().sum()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub id: u64,
    pub name: String,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metafield {
    pub namespace: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub description_html: String,
    pub vendor: String,
    pub product_type: String,
    pub status: String,
    pub tags: Vec<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub metafields: Vec<Metafield>,
    pub collections: Vec<u64>,
    pub variants: Vec<u64>,
    pub options: Vec<(String, Vec<String>)>,
    pub files: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub id: u64,
    pub product_id: u64,
    pub sku: Option<String>,
    pub title: String,
    pub price: Decimal,
    pub compare_at_price: Option<Decimal>,
    pub barcode: Option<String>,
    pub inventory_item_id: u64,
    pub option_values: Vec<(String, String)>,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub id: u64,
    pub available: i64,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InventoryItem {
    pub id: u64,
    pub variant_id: u64,
    pub tracked: bool,
    pub weight: Option<(Decimal, String)>,
    /// By location id.
    pub levels: BTreeMap<u64, Level>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    pub id: u64,
    pub handle: String,
    pub title: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: u64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DiscountKind {
    Code(String),
    Manual(String),
    Automatic(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tax {
    pub title: String,
    pub rate: Decimal,
    pub amount: Decimal,
    /// Collected by the channel (marketplace facilitator), not the merchant.
    pub channel_liable: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub id: u64,
    pub variant_id: Option<u64>,
    pub sku: Option<String>,
    pub title: String,
    pub variant_title: Option<String>,
    pub quantity: i64,
    /// Units no longer on the order (refunded/removed).
    pub removed: i64,
    pub unit_price: Decimal,
    pub discount: Option<(Decimal, DiscountKind)>,
    pub taxes: Vec<Tax>,
}

impl Line {
    pub fn current_quantity(&self) -> i64 {
        self.quantity - self.removed
    }
    pub fn discount_amount(&self) -> Decimal {
        self.discount.as_ref().map(|d| d.0).unwrap_or_default()
    }
    pub fn discounted_total(&self) -> Decimal {
        self.unit_price * Decimal::from(self.quantity) - self.discount_amount()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShippingLine {
    pub title: String,
    pub code: Option<String>,
    pub price: Decimal,
    pub taxes: Vec<Tax>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoLine {
    pub id: u64,
    pub line_id: u64,
    pub total: i64,
    pub remaining: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FulfillmentOrder {
    pub id: u64,
    /// `OPEN`, `IN_PROGRESS`, `CLOSED`, `CANCELLED`.
    pub status: String,
    pub location_id: u64,
    pub lines: Vec<FoLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tracking {
    pub number: Option<String>,
    pub company: Option<String>,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FLine {
    pub id: u64,
    pub line_id: u64,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fulfillment {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub created_at: Timestamp,
    pub tracking: Vec<Tracking>,
    pub lines: Vec<FLine>,
    pub fulfillment_order_ids: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub id: u64,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub amount: Decimal,
    /// (line id, quantity, restock type)
    pub lines: Vec<(u64, i64, String)>,
    pub shipping: Decimal,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub id: u64,
    pub fulfillment_line_id: u64,
    pub quantity: i64,
    pub reason: String,
    pub note: String,
    pub customer_note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Return {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub lines: Vec<ReturnLine>,
    pub refund_ids: Vec<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    pub id: u64,
    pub kind: String,
    pub status: String,
    pub gateway: String,
    pub amount: Decimal,
    pub parent: Option<u64>,
    pub created_at: Timestamp,
}

/// Ways to make an order unreadable for the connector while staying valid for the schema
/// (custom scalars are passed through as they are, like a buggy upstream would).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corruption {
    /// `lineItems[0].originalUnitPriceSet.shopMoney.amount` is not a number.
    BadPrice,
    /// `updatedAt` is not a timestamp.
    BadTimestamp,
    /// `lineItems[0].quantity` is negative.
    NegativeQuantity,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub number: u64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
    pub test: bool,
    pub customer: Option<Customer>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub currency: String,
    pub presentment_currency: String,
    /// presentment = shop × rate
    pub presentment_rate: Decimal,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub processed_at: Timestamp,
    pub cancelled_at: Option<Timestamp>,
    pub cancel_reason: Option<String>,
    pub closed_at: Option<Timestamp>,
    pub taxes_included: bool,
    pub discount_codes: Vec<String>,
    pub lines: Vec<Line>,
    pub shipping_lines: Vec<ShippingLine>,
    pub financial_status: String,
    pub fulfillment_orders: Vec<FulfillmentOrder>,
    pub fulfillments: Vec<Fulfillment>,
    pub refunds: Vec<Refund>,
    pub returns: Vec<Return>,
    pub transactions: Vec<Transaction>,
    pub corruptions: Vec<Corruption>,
}

impl Order {
    pub fn subtotal(&self) -> Decimal {
        self.lines.iter().map(Line::discounted_total).sum()
    }
    pub fn total_discounts(&self) -> Decimal {
        self.lines.iter().map(Line::discount_amount).sum()
    }
    pub fn shipping_total(&self) -> Decimal {
        self.shipping_lines.iter().map(|s| s.price).sum()
    }
    pub fn total_tax(&self) -> Decimal {
        self.lines
            .iter()
            .flat_map(|l| l.taxes.iter())
            .chain(self.shipping_lines.iter().flat_map(|s| s.taxes.iter()))
            .map(|t| t.amount)
            .sum()
    }
    pub fn total(&self) -> Decimal {
        let t = self.subtotal() + self.shipping_total();
        if self.taxes_included {
            t
        } else {
            t + self.total_tax()
        }
    }
    pub fn refunded(&self) -> Decimal {
        self.refunds.iter().map(|r| r.amount).sum()
    }
    pub fn fulfilled_quantity(&self, line_id: u64) -> i64 {
        self.fulfillments
            .iter()
            .filter(|f| f.status == "SUCCESS")
            .flat_map(|f| f.lines.iter())
            .filter(|l| l.line_id == line_id)
            .map(|l| l.quantity)
            .sum()
    }
    /// `OrderDisplayFulfillmentStatus`.
    pub fn display_fulfillment_status(&self) -> &'static str {
        let total: i64 = self.lines.iter().map(|l| l.current_quantity()).sum();
        let done: i64 = self
            .lines
            .iter()
            .map(|l| self.fulfilled_quantity(l.id).min(l.current_quantity()))
            .sum();
        if total > 0 && done >= total {
            "FULFILLED"
        } else if done > 0 {
            "PARTIALLY_FULFILLED"
        } else {
            "UNFULFILLED"
        }
    }
    pub fn return_status(&self) -> &'static str {
        if self.returns.is_empty() {
            "NO_RETURN"
        } else if self
            .returns
            .iter()
            .any(|r| matches!(r.status.as_str(), "OPEN" | "REQUESTED"))
        {
            "IN_PROGRESS"
        } else {
            "RETURNED"
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalanceTransaction {
    pub id: u64,
    /// `ShopifyPaymentsTransactionType`: CHARGE, REFUND, ADJUSTMENT, …
    pub kind: String,
    pub source_type: Option<String>,
    pub amount: Decimal,
    pub fee: Decimal,
    pub currency: String,
    pub date: Timestamp,
    pub order_id: Option<u64>,
    pub source_id: Option<u64>,
    pub payout_id: Option<u64>,
    pub adjustment_reason: Option<String>,
    pub test: bool,
}

impl BalanceTransaction {
    pub fn net(&self) -> Decimal {
        self.amount - self.fee
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Payout {
    pub id: u64,
    pub issued_at: Timestamp,
    /// `SCHEDULED`, `PAID`, `FAILED`, `CANCELED`.
    pub status: String,
    pub net: Decimal,
    pub currency: String,
}

/// A webhook to send: topic and REST-shaped body (built by `delivery.rs` when sent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub topic: String,
    pub body: Value,
    pub triggered_at: Timestamp,
}

// ---- control-API inputs

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewLine {
    /// A SKU of the catalog, or any text for a custom line (no variant).
    pub sku: Option<String>,
    pub quantity: i64,
    /// Defaults to the variant's price.
    pub price: Option<Decimal>,
    /// Discount amount on the line and its code.
    pub discount: Option<(Decimal, String)>,
    /// Tax rate applied to the discounted line total.
    pub tax_rate: Option<Decimal>,
    /// The tax is collected by the channel (marketplace facilitator).
    #[serde(default)]
    pub channel_liable: bool,
    pub title: Option<String>,
}

impl NewLine {
    pub fn sku(sku: &str, quantity: i64) -> Self {
        Self {
            sku: Some(sku.to_string()),
            quantity,
            price: None,
            discount: None,
            tax_rate: None,
            channel_liable: false,
            title: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    pub lines: Vec<NewLine>,
    pub email: Option<String>,
    pub customer: Option<Customer>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    /// (title, price, tax rate)
    pub shipping: Option<(String, Decimal, Option<Decimal>)>,
    /// (currency, rate): presentment = shop × rate. Default: shop currency.
    pub presentment: Option<(String, Decimal)>,
    pub taxes_included: bool,
    pub test: bool,
    pub note: Option<String>,
    pub corruptions: Vec<Corruption>,
}

/// Catalog seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub sku: String,
    pub title: String,
    pub price: Decimal,
    pub available: i64,
}

pub struct State {
    pub shop_name: String,
    pub domain: String,
    pub currency: String,
    next_id: u64,
    last_ts: Timestamp,
    pub locations: Vec<Location>,
    pub products: BTreeMap<u64, Product>,
    pub variants: BTreeMap<u64, Variant>,
    pub items: BTreeMap<u64, InventoryItem>,
    pub collections: BTreeMap<u64, Collection>,
    pub orders: BTreeMap<u64, Order>,
    pub payouts: BTreeMap<u64, Payout>,
    pub balance: BTreeMap<u64, BalanceTransaction>,
    pub counters: Counters,
    /// Every webhook the shop emitted, in order.
    pub events: Vec<Event>,
    /// Emitted but not yet handed to the deliverer.
    pub pending_events: Vec<Event>,
    next_order_number: u64,
}

fn money_str(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn parse_money(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// The numeric id of a GID of `kind` (`gid://shopify/Order/123` → 123).
pub fn gid_id(gid: &str, kind: &str) -> Option<u64> {
    gid.strip_prefix("gid://shopify/")?
        .strip_prefix(kind)?
        .strip_prefix('/')?
        .split('?')
        .next()?
        .parse()
        .ok()
}

pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

impl State {
    pub fn new(shop_name: &str, currency: &str, catalog: &[CatalogItem]) -> Self {
        let mut s = Self {
            shop_name: shop_name.to_string(),
            domain: format!("{}.myshopify.com", slug(shop_name)),
            currency: currency.to_string(),
            next_id: 1000,
            last_ts: Timestamp::now(),
            locations: Vec::new(),
            products: BTreeMap::new(),
            variants: BTreeMap::new(),
            items: BTreeMap::new(),
            collections: BTreeMap::new(),
            orders: BTreeMap::new(),
            payouts: BTreeMap::new(),
            balance: BTreeMap::new(),
            counters: Counters::default(),
            events: Vec::new(),
            pending_events: Vec::new(),
            next_order_number: 1001,
        };
        let primary = s.id();
        s.locations.push(Location {
            id: primary,
            name: "Main warehouse".into(),
            active: true,
        });
        for item in catalog {
            s.add_catalog_item(item);
        }
        s
    }

    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Strictly increasing: two changes never share an `updated_at`, so a keyset cursor on
    /// (updated_at, id) cannot hide an update.
    pub fn now(&mut self) -> Timestamp {
        let real = Timestamp::now();
        let next = self
            .last_ts
            .checked_add(jiff::SignedDuration::from_micros(1))
            .unwrap_or(real);
        self.last_ts = real.max(next);
        self.last_ts
    }

    pub fn primary_location(&self) -> u64 {
        self.locations.first().map(|l| l.id).unwrap_or_default()
    }

    pub fn add_location(&mut self, name: &str) -> u64 {
        let id = self.id();
        self.locations.push(Location {
            id,
            name: name.to_string(),
            active: true,
        });
        id
    }

    fn emit(&mut self, topic: &str, body: Value) {
        let e = Event {
            topic: topic.to_string(),
            body,
            triggered_at: Timestamp::now(),
        };
        self.events.push(e.clone());
        self.pending_events.push(e);
    }

    fn count_write(&mut self, mutation: &str) {
        *self
            .counters
            .writes
            .entry(mutation.to_string())
            .or_default() += 1;
    }

    // ---- catalog

    pub fn add_catalog_item(&mut self, item: &CatalogItem) -> u64 {
        let now = self.now();
        let pid = self.id();
        let vid = self.id();
        let iid = self.id();
        let lid = self.id();
        let loc = self.primary_location();
        let mut handle = slug(&item.title);
        if self.products.values().any(|p| p.handle == handle) {
            handle = format!("{handle}-{pid}");
        }
        self.products.insert(
            pid,
            Product {
                id: pid,
                title: item.title.clone(),
                handle,
                description_html: String::new(),
                vendor: self.shop_name.clone(),
                product_type: String::new(),
                status: "ACTIVE".into(),
                tags: vec![],
                seo_title: None,
                seo_description: None,
                metafields: vec![],
                collections: vec![],
                variants: vec![vid],
                options: vec![("Title".into(), vec!["Default Title".into()])],
                files: vec![],
                created_at: now,
                updated_at: now,
            },
        );
        self.variants.insert(
            vid,
            Variant {
                id: vid,
                product_id: pid,
                sku: Some(item.sku.clone()),
                title: "Default Title".into(),
                price: item.price,
                compare_at_price: None,
                barcode: None,
                inventory_item_id: iid,
                option_values: vec![("Title".into(), "Default Title".into())],
                updated_at: now,
            },
        );
        let mut levels = BTreeMap::new();
        levels.insert(
            loc,
            Level {
                id: lid,
                available: item.available,
                updated_at: now,
            },
        );
        self.items.insert(
            iid,
            InventoryItem {
                id: iid,
                variant_id: vid,
                tracked: true,
                weight: None,
                levels,
            },
        );
        pid
    }

    pub fn variant_by_sku(&self, sku: &str) -> Option<&Variant> {
        self.variants
            .values()
            .find(|v| v.sku.as_deref() == Some(sku))
    }

    pub fn add_collection(&mut self, handle: &str, title: &str) -> u64 {
        let id = self.id();
        self.collections.insert(
            id,
            Collection {
                id,
                handle: handle.to_string(),
                title: title.to_string(),
            },
        );
        id
    }

    /// A shop-side change of `available` (a sale on the POS, a stock count): what a CAS write
    /// must notice.
    pub fn set_available(&mut self, sku: &str, location: Option<u64>, qty: i64) -> Option<i64> {
        let loc = location.unwrap_or_else(|| self.primary_location());
        let iid = self.variant_by_sku(sku)?.inventory_item_id;
        let now = self.now();
        let item = self.items.get_mut(&iid)?;
        let lvl = item.levels.get_mut(&loc)?;
        let before = lvl.available;
        lvl.available = qty;
        lvl.updated_at = now;
        self.emit_level(iid, loc);
        Some(before)
    }

    pub fn available(&self, sku: &str, location: Option<u64>) -> Option<i64> {
        let loc = location.unwrap_or_else(|| self.primary_location());
        let v = self.variant_by_sku(sku)?;
        self.items
            .get(&v.inventory_item_id)?
            .levels
            .get(&loc)
            .map(|l| l.available)
    }

    /// Units back on hand: `(variant, location, quantity)` each, then one level event per
    /// level changed. A variant or location the shop no longer has is skipped.
    fn restock(
        &mut self,
        restocks: impl IntoIterator<Item = (Option<u64>, u64, i64)>,
        now: Timestamp,
    ) {
        let mut level_events = Vec::new();
        for (vid, loc, q) in restocks {
            if let Some(iid) = vid
                .and_then(|v| self.variants.get(&v))
                .map(|v| v.inventory_item_id)
                && let Some(l) = self
                    .items
                    .get_mut(&iid)
                    .and_then(|i| i.levels.get_mut(&loc))
            {
                l.available += q;
                l.updated_at = now;
                level_events.push((iid, loc));
            }
        }
        for (iid, loc) in level_events {
            self.emit_level(iid, loc);
        }
    }

    fn emit_level(&mut self, item_id: u64, location_id: u64) {
        let Some(l) = self
            .items
            .get(&item_id)
            .and_then(|i| i.levels.get(&location_id))
        else {
            return;
        };
        let body = json!({
            "inventory_item_id": item_id,
            "location_id": location_id,
            "available": l.available,
            "updated_at": l.updated_at.to_string(),
            "admin_graphql_api_id": format!("gid://shopify/InventoryLevel/{}?inventory_item_id={item_id}", l.id),
        });
        self.emit("inventory_levels/update", body);
    }

    // ---- orders (shop side)

    pub fn create_order(&mut self, spec: NewOrder) -> Result<u64, String> {
        if spec.lines.is_empty() {
            return Err("an order needs at least one line".into());
        }
        let now = self.now();
        let id = self.id();
        let number = self.next_order_number;
        self.next_order_number += 1;
        let loc = self.primary_location();
        let mut lines = Vec::new();
        for nl in &spec.lines {
            let variant = nl
                .sku
                .as_deref()
                .and_then(|s| self.variant_by_sku(s))
                .cloned();
            let product_title = variant
                .as_ref()
                .and_then(|v| self.products.get(&v.product_id))
                .map(|p| p.title.clone());
            let unit = nl
                .price
                .or(variant.as_ref().map(|v| v.price))
                .unwrap_or_default();
            let lid = self.id();
            let mut line = Line {
                id: lid,
                variant_id: variant.as_ref().map(|v| v.id),
                sku: nl.sku.clone(),
                title: nl
                    .title
                    .clone()
                    .or(product_title)
                    .unwrap_or_else(|| "Custom item".into()),
                variant_title: variant
                    .as_ref()
                    .map(|v| v.title.clone())
                    .filter(|t| t != "Default Title"),
                quantity: nl.quantity,
                removed: 0,
                unit_price: unit,
                discount: nl
                    .discount
                    .as_ref()
                    .map(|(a, c)| (*a, DiscountKind::Code(c.clone()))),
                taxes: vec![],
            };
            if let Some(rate) = nl.tax_rate {
                line.taxes.push(Tax {
                    title: if nl.channel_liable {
                        "State tax (marketplace facilitator)".into()
                    } else {
                        "VAT".into()
                    },
                    rate,
                    amount: (line.discounted_total() * rate).round_dp(2),
                    channel_liable: nl.channel_liable,
                });
            }
            // The sale takes stock at the fulfilling location.
            if let Some(v) = &variant
                && let Some(item) = self.items.get_mut(&v.inventory_item_id)
                && item.tracked
                && let Some(lvl) = item.levels.get_mut(&loc)
            {
                lvl.available -= nl.quantity;
                lvl.updated_at = now;
            }
            lines.push(line);
        }
        let shipping_lines = spec
            .shipping
            .iter()
            .map(|(title, price, rate)| ShippingLine {
                title: title.clone(),
                code: Some(slug(title)),
                price: *price,
                taxes: rate
                    .map(|r| Tax {
                        title: "VAT".into(),
                        rate: r,
                        amount: (*price * r).round_dp(2),
                        channel_liable: false,
                    })
                    .into_iter()
                    .collect(),
            })
            .collect();
        let fo_lines = lines
            .iter()
            .map(|l| FoLine {
                id: 0,
                line_id: l.id,
                total: l.quantity,
                remaining: l.quantity,
            })
            .collect::<Vec<_>>();
        let fo_lines = fo_lines
            .into_iter()
            .map(|mut f| {
                f.id = self.id();
                f
            })
            .collect();
        let fo_id = self.id();
        let (pc, rate) = spec
            .presentment
            .clone()
            .unwrap_or((self.currency.clone(), Decimal::ONE));
        let discount_codes = lines
            .iter()
            .filter_map(|l| match &l.discount {
                Some((_, DiscountKind::Code(c))) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let mut order = Order {
            id,
            number,
            name: format!("#{number}"),
            email: spec
                .email
                .clone()
                .or(spec.customer.as_ref().and_then(|c| c.email.clone())),
            phone: spec.customer.as_ref().and_then(|c| c.phone.clone()),
            note: spec.note.clone(),
            tags: vec![],
            test: spec.test,
            customer: spec.customer.clone().map(|mut c| {
                if c.id == 0 {
                    c.id = id + 500_000;
                }
                c
            }),
            shipping_address: spec.shipping_address.clone(),
            billing_address: spec.billing_address.clone(),
            currency: self.currency.clone(),
            presentment_currency: pc,
            presentment_rate: rate,
            created_at: now,
            updated_at: now,
            processed_at: now,
            cancelled_at: None,
            cancel_reason: None,
            closed_at: None,
            taxes_included: spec.taxes_included,
            discount_codes,
            lines,
            shipping_lines,
            financial_status: "PAID".into(),
            fulfillment_orders: vec![FulfillmentOrder {
                id: fo_id,
                status: "OPEN".into(),
                location_id: loc,
                lines: fo_lines,
            }],
            fulfillments: vec![],
            refunds: vec![],
            returns: vec![],
            transactions: vec![],
            corruptions: spec.corruptions.clone(),
        };
        let total = order.total();
        let txn = self.id();
        order.transactions.push(Transaction {
            id: txn,
            kind: "SALE".into(),
            status: "SUCCESS".into(),
            gateway: "shopify_payments".into(),
            amount: total,
            parent: None,
            created_at: now,
        });
        // Shopify Payments: 2.9 % + 0.30 per charge.
        let fee = (total * Decimal::new(29, 3) + Decimal::new(30, 2)).round_dp(2);
        let bt = self.id();
        self.balance.insert(
            bt,
            BalanceTransaction {
                id: bt,
                kind: "CHARGE".into(),
                source_type: Some("CHARGE".into()),
                amount: total,
                fee,
                currency: self.currency.clone(),
                date: now,
                order_id: Some(id),
                source_id: Some(txn),
                payout_id: None,
                adjustment_reason: None,
                test: spec.test,
            },
        );
        self.orders.insert(id, order);
        for l in spec.lines.iter().filter_map(|l| l.sku.as_deref()) {
            if let Some(v) = self.variant_by_sku(l) {
                let iid = v.inventory_item_id;
                self.emit_level(iid, loc);
            }
        }
        let body = self.order_webhook_body(id);
        self.emit("orders/create", body);
        Ok(id)
    }

    /// Any shop-side edit: bumps `updated_at` (and emits `orders/updated`).
    pub fn touch_order(&mut self, id: u64, tag: Option<&str>) -> bool {
        let now = self.now();
        let Some(o) = self.orders.get_mut(&id) else {
            return false;
        };
        o.updated_at = now;
        if let Some(t) = tag {
            o.tags.push(t.to_string());
        }
        let body = self.order_webhook_body(id);
        self.emit("orders/updated", body);
        true
    }

    pub fn order_webhook_body(&self, id: u64) -> Value {
        let Some(o) = self.orders.get(&id) else {
            return Value::Null;
        };
        let addr = |a: &Option<Address>| {
            a.as_ref().map(|a| {
                json!({
                    "first_name": a.first_name, "last_name": a.last_name, "company": a.company,
                    "address1": a.address1, "address2": a.address2, "city": a.city,
                    "province_code": a.province_code, "zip": a.zip, "country_code": a.country_code,
                    "phone": a.phone,
                })
            })
        };
        json!({
            "id": o.id,
            "admin_graphql_api_id": gid("Order", o.id),
            "name": o.name,
            "order_number": o.number,
            "email": o.email,
            "phone": o.phone,
            "created_at": o.created_at.to_string(),
            "updated_at": o.updated_at.to_string(),
            "cancelled_at": o.cancelled_at.map(|t| t.to_string()),
            "cancel_reason": o.cancel_reason.as_ref().map(|r| r.to_lowercase()),
            "currency": o.currency,
            "total_price": money_str(o.total()),
            "financial_status": o.financial_status.to_lowercase(),
            // What real order webhooks carry and a log must never show.
            "token": format!("tok_{:x}", o.id.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            "cart_token": format!("cart_{:x}", o.id.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)),
            "browser_ip": "203.0.113.7",
            "customer": o.customer.as_ref().map(|c| json!({
                "id": c.id, "email": c.email, "first_name": c.first_name,
                "last_name": c.last_name, "phone": c.phone,
            })),
            "shipping_address": addr(&o.shipping_address),
            "billing_address": addr(&o.billing_address),
            "line_items": o.lines.iter().map(|l| json!({
                "id": l.id,
                "admin_graphql_api_id": gid("LineItem", l.id),
                "sku": l.sku, "title": l.title, "quantity": l.quantity,
                "price": money_str(l.unit_price),
            })).collect::<Vec<_>>(),
        })
    }

    /// Cancelled on the shop side (by staff or the buyer): not counted as a client write.
    pub fn cancel_order_shop_side(&mut self, id: u64, reason: &str) -> Result<(), UserError> {
        self.do_cancel(id, reason, false, true, None)
    }

    // ---- mutations

    /// `inventorySetQuantities`: all-or-nothing, compare-and-set per quantity.
    pub fn inventory_set_quantities(&mut self, input: &Value) -> (Option<Value>, Vec<UserError>) {
        let mut errs = Vec::new();
        let name = input.get("name").and_then(Value::as_str).unwrap_or("");
        let reason = input.get("reason").and_then(Value::as_str).unwrap_or("");
        let ignore = input
            .get("ignoreCompareQuantity")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if name != "available" && name != "on_hand" {
            errs.push(UserError::new(
                Some("INVALID_NAME"),
                &["input", "name"],
                format!("The quantity name must be either 'available' or 'on_hand', got {name:?}."),
            ));
        }
        if !INVENTORY_REASONS.contains(&reason) {
            errs.push(UserError::new(
                Some("INVALID_REASON"),
                &["input", "reason"],
                "The specified reason is invalid.",
            ));
        }
        let empty = vec![];
        let quantities = input
            .get("quantities")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        if quantities.len() > 250 {
            errs.push(UserError::new(
                Some("INVALID_QUANTITY_TOO_HIGH"),
                &["input", "quantities"],
                "At most 250 quantities can be set at once.",
            ));
        }
        let mut plan: Vec<(u64, u64, i64)> = Vec::new();
        for (i, q) in quantities.iter().enumerate() {
            let idx = i.to_string();
            let f = |k: &'static str| -> Vec<&str> { vec!["input", "quantities", &idx, k] };
            let item = q
                .get("inventoryItemId")
                .and_then(Value::as_str)
                .and_then(|g| gid_id(g, "InventoryItem"))
                .filter(|id| self.items.contains_key(id));
            let loc = q
                .get("locationId")
                .and_then(Value::as_str)
                .and_then(|g| gid_id(g, "Location"))
                .filter(|id| self.locations.iter().any(|l| l.id == *id));
            let qty = q.get("quantity").and_then(Value::as_i64).unwrap_or(0);
            let (Some(item), Some(loc)) = (item, loc) else {
                if item.is_none() {
                    errs.push(UserError::new(
                        Some("INVALID_INVENTORY_ITEM"),
                        &f("inventoryItemId"),
                        "The specified inventory item could not be found.",
                    ));
                } else {
                    errs.push(UserError::new(
                        Some("INVALID_LOCATION"),
                        &f("locationId"),
                        "The specified location could not be found.",
                    ));
                }
                continue;
            };
            if plan.iter().any(|(a, b, _)| *a == item && *b == loc) {
                errs.push(UserError::new(
                    Some("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"),
                    &f("inventoryItemId"),
                    "The combination of inventoryItemId and locationId must be unique.",
                ));
                continue;
            }
            let Some(level) = self.items.get(&item).and_then(|it| it.levels.get(&loc)) else {
                errs.push(UserError::new(
                    Some("ITEM_NOT_STOCKED_AT_LOCATION"),
                    &f("locationId"),
                    "The specified inventory item is not stocked at the location.",
                ));
                continue;
            };
            if qty > 1_000_000_000 {
                errs.push(UserError::new(
                    Some("INVALID_QUANTITY_TOO_HIGH"),
                    &f("quantity"),
                    "The quantity can't be higher than 1,000,000,000.",
                ));
                continue;
            }
            if qty < -1_000_000_000 {
                errs.push(UserError::new(
                    Some("INVALID_QUANTITY_TOO_LOW"),
                    &f("quantity"),
                    "The quantity can't be lower than -1,000,000,000.",
                ));
                continue;
            }
            match q.get("compareQuantity").and_then(Value::as_i64) {
                None if !ignore => {
                    errs.push(UserError::new(
                        Some("COMPARE_QUANTITY_REQUIRED"),
                        &f("compareQuantity"),
                        "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.",
                    ));
                    continue;
                }
                Some(c) if !ignore && c != level.available => {
                    errs.push(UserError::new(
                        Some("COMPARE_QUANTITY_STALE"),
                        &f("compareQuantity"),
                        "The specified compare quantity does not match the current quantity.",
                    ));
                    continue;
                }
                _ => {}
            }
            plan.push((item, loc, qty));
        }
        if !errs.is_empty() {
            return (None, errs);
        }
        let now = self.now();
        let mut changes = Vec::new();
        for (item, loc, qty) in &plan {
            if let Some(l) = self
                .items
                .get_mut(item)
                .and_then(|it| it.levels.get_mut(loc))
            {
                let delta = qty - l.available;
                l.available = *qty;
                l.updated_at = now;
                changes.push(json!({
                    "name": "available", "delta": delta, "quantityAfterChange": qty,
                    "item": {"id": gid("InventoryItem", *item)},
                    "location": {"id": gid("Location", *loc)},
                }));
            }
        }
        for (item, loc, _) in &plan {
            self.emit_level(*item, *loc);
        }
        let gid_ = self.id();
        self.count_write("inventorySetQuantities");
        (
            Some(json!({
                "id": gid("InventoryAdjustmentGroup", gid_),
                "reason": reason,
                "createdAt": now.to_string(),
                "referenceDocumentUri": input.get("referenceDocumentUri"),
                "changes": changes,
            })),
            vec![],
        )
    }

    /// `productVariantsBulkUpdate`: (updated variant ids, user errors).
    pub fn variants_bulk_update(
        &mut self,
        product_gid: &str,
        variants: &[Value],
        allow_partial: bool,
    ) -> (Vec<u64>, Vec<UserError>) {
        let Some(pid) = gid_id(product_gid, "Product").filter(|p| self.products.contains_key(p))
        else {
            return (
                vec![],
                vec![UserError::new(
                    Some("PRODUCT_DOES_NOT_EXIST"),
                    &["productId"],
                    "Product does not exist",
                )],
            );
        };
        let mut errs = Vec::new();
        let mut plan = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            let idx = i.to_string();
            let Some(vg) = v.get("id").and_then(Value::as_str) else {
                errs.push(UserError::new(
                    Some("PRODUCT_VARIANT_ID_MISSING"),
                    &["variants", &idx, "id"],
                    "Product variant is missing ID attribute",
                ));
                continue;
            };
            let Some(vid) =
                gid_id(vg, "ProductVariant").filter(|id| self.variants.contains_key(id))
            else {
                errs.push(UserError::new(
                    Some("PRODUCT_VARIANT_DOES_NOT_EXIST"),
                    &["variants", &idx, "id"],
                    "Product variant does not exist",
                ));
                continue;
            };
            if self.variants.get(&vid).map(|x| x.product_id) != Some(pid) {
                errs.push(UserError::new(
                    Some("MUST_BE_FOR_THIS_PRODUCT"),
                    &["variants", &idx, "id"],
                    "Product variant does not belong to this product",
                ));
                continue;
            }
            let price = match v.get("price") {
                None | Some(Value::Null) => None,
                Some(p) => match parse_money(p) {
                    Some(d) if d.is_sign_negative() && !d.is_zero() => {
                        errs.push(UserError::new(
                            Some("NEGATIVE_PRICE_VALUE"),
                            &["variants", &idx, "price"],
                            "Price must be greater than or equal to 0",
                        ));
                        continue;
                    }
                    Some(d) => Some(d),
                    None => {
                        errs.push(UserError::new(
                            Some("INVALID_INPUT"),
                            &["variants", &idx, "price"],
                            "Price is not a valid amount",
                        ));
                        continue;
                    }
                },
            };
            let compare = match v.get("compareAtPrice") {
                None => None,
                Some(Value::Null) => Some(None),
                Some(p) => match parse_money(p) {
                    Some(d) => Some(Some(d)),
                    None => {
                        errs.push(UserError::new(
                            Some("INVALID_INPUT"),
                            &["variants", &idx, "compareAtPrice"],
                            "Compare-at price is not a valid amount",
                        ));
                        continue;
                    }
                },
            };
            plan.push((vid, price, compare));
        }
        if !errs.is_empty() && !allow_partial {
            return (vec![], errs);
        }
        let now = self.now();
        let mut done = Vec::new();
        for (vid, price, compare) in plan {
            if let Some(v) = self.variants.get_mut(&vid) {
                if let Some(p) = price {
                    v.price = p;
                }
                if let Some(c) = compare {
                    v.compare_at_price = c;
                }
                v.updated_at = now;
                done.push(vid);
            }
        }
        if !done.is_empty() {
            if let Some(p) = self.products.get_mut(&pid) {
                p.updated_at = now;
            }
            self.count_write("productVariantsBulkUpdate");
        }
        (done, errs)
    }

    /// `productSet` (synchronous): a declarative upsert. Returns the product id.
    pub fn product_set(&mut self, input: &Value) -> Result<u64, Vec<UserError>> {
        let existing = match input.get("id").and_then(Value::as_str) {
            Some(g) => match gid_id(g, "Product").filter(|p| self.products.contains_key(p)) {
                Some(p) => Some(p),
                None => {
                    return Err(vec![UserError::new(
                        Some("PRODUCT_DOES_NOT_EXIST"),
                        &["input", "id"],
                        "Product does not exist",
                    )]);
                }
            },
            None => None,
        };
        let mut errs = Vec::new();
        let title = input
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string);
        if existing.is_none() && title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            errs.push(UserError::new(
                Some("INVALID_PRODUCT"),
                &["input", "title"],
                "Title can't be blank",
            ));
        }
        // Options.
        let options: Option<Vec<(String, Vec<String>)>> = input
            .get("productOptions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|o| {
                        (
                            o.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            o.get("values")
                                .and_then(Value::as_array)
                                .map(|vs| {
                                    vs.iter()
                                        .filter_map(|v| v.get("name").and_then(Value::as_str))
                                        .map(str::to_string)
                                        .collect()
                                })
                                .unwrap_or_default(),
                        )
                    })
                    .collect()
            });
        let variants_in = input.get("variants").and_then(Value::as_array);
        if variants_in.is_some() && options.is_none() {
            errs.push(UserError::new(
                Some("PRODUCT_OPTIONS_INPUT_MISSING"),
                &["input", "productOptions"],
                "Options are required when variants are given.",
            ));
        }
        let opts = options.clone().unwrap_or_default();
        let mut planned_variants = Vec::new();
        if let Some(vs) = variants_in {
            if vs.len() > 2048 {
                errs.push(UserError::new(
                    Some("VARIANTS_OVER_LIMIT"),
                    &["input", "variants"],
                    "Too many variants.",
                ));
            }
            for (i, v) in vs.iter().enumerate() {
                let idx = i.to_string();
                let ovs: Vec<(String, String)> = v
                    .get("optionValues")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|x| {
                                (
                                    x.get("optionName")
                                        .and_then(Value::as_str)
                                        .unwrap_or("")
                                        .to_string(),
                                    x.get("name")
                                        .and_then(Value::as_str)
                                        .unwrap_or("")
                                        .to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if ovs.len() != opts.len()
                    || ovs.iter().any(|(on, val)| {
                        !opts.iter().any(|(n, vals)| n == on && vals.contains(val))
                    })
                {
                    errs.push(UserError::new(
                        Some("OPTION_VALUE_DOES_NOT_EXIST"),
                        &["input", "variants", &idx, "optionValues"],
                        "The variant's option values do not match the product's options.",
                    ));
                    continue;
                }
                let vid = match v.get("id").and_then(Value::as_str) {
                    None => None,
                    Some(g) => match gid_id(g, "ProductVariant").filter(|id| {
                        existing.is_some()
                            && self.variants.get(id).map(|x| x.product_id) == existing
                    }) {
                        Some(id) => Some(id),
                        None => {
                            errs.push(UserError::new(
                                Some("PRODUCT_VARIANT_DOES_NOT_EXIST"),
                                &["input", "variants", &idx, "id"],
                                "Product variant does not exist on this product.",
                            ));
                            continue;
                        }
                    },
                };
                let price = match v.get("price") {
                    None | Some(Value::Null) => None,
                    Some(p) => match parse_money(p) {
                        Some(d) if !d.is_sign_negative() || d.is_zero() => Some(d),
                        _ => {
                            errs.push(UserError::new(
                                Some("INVALID_VARIANT"),
                                &["input", "variants", &idx, "price"],
                                "Price must be a non-negative amount.",
                            ));
                            continue;
                        }
                    },
                };
                let compare = v.get("compareAtPrice").and_then(parse_money);
                let weight = v
                    .get("inventoryItem")
                    .and_then(|ii| ii.get("measurement"))
                    .and_then(|m| m.get("weight"))
                    .and_then(|w| {
                        Some((
                            parse_money(w.get("value")?)?,
                            w.get("unit")?.as_str()?.to_string(),
                        ))
                    });
                planned_variants.push((
                    vid,
                    v.get("sku").and_then(Value::as_str).map(str::to_string),
                    price,
                    compare,
                    v.get("barcode").and_then(Value::as_str).map(str::to_string),
                    ovs,
                    weight,
                ));
            }
        }
        // Metafields.
        let mut metafields = Vec::new();
        if let Some(ms) = input.get("metafields").and_then(Value::as_array) {
            for (i, m) in ms.iter().enumerate() {
                let idx = i.to_string();
                let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
                let (Some(ns), Some(key), Some(kind), Some(value)) =
                    (s("namespace"), s("key"), s("type"), s("value"))
                else {
                    errs.push(UserError::new(
                        Some("INVALID_METAFIELD"),
                        &["input", "metafields", &idx],
                        "A metafield needs namespace, key, type and value.",
                    ));
                    continue;
                };
                let ok = match kind.as_str() {
                    "number_integer" => value.trim().parse::<i64>().is_ok(),
                    "number_decimal" => value.trim().parse::<Decimal>().is_ok(),
                    "boolean" => value == "true" || value == "false",
                    "json" => serde_json::from_str::<Value>(&value).is_ok(),
                    "single_line_text_field" => !value.contains('\n'),
                    "multi_line_text_field"
                    | "rich_text_field"
                    | "url"
                    | "color"
                    | "date"
                    | "date_time"
                    | "weight"
                    | "dimension"
                    | "volume"
                    | "rating"
                    | "money"
                    | "product_reference"
                    | "collection_reference"
                    | "file_reference" => true,
                    t if t.starts_with("list.") => {
                        serde_json::from_str::<Value>(&value).is_ok_and(|v| v.is_array())
                    }
                    _ => false,
                };
                if !ok || ns.len() < 3 || key.len() < 2 {
                    errs.push(UserError::new(
                        Some("INVALID_METAFIELD"),
                        &["input", "metafields", &idx, "value"],
                        format!("Value is invalid for metafield type {kind}."),
                    ));
                    continue;
                }
                metafields.push(Metafield {
                    namespace: ns,
                    key,
                    kind,
                    value,
                });
            }
        }
        // Collections.
        let mut collections = None;
        if let Some(cs) = input.get("collections").and_then(Value::as_array) {
            let mut ids = Vec::new();
            for (i, c) in cs.iter().enumerate() {
                match c
                    .as_str()
                    .and_then(|g| gid_id(g, "Collection"))
                    .filter(|id| self.collections.contains_key(id))
                {
                    Some(id) => ids.push(id),
                    None => errs.push(UserError::new(
                        Some("INVALID_INPUT"),
                        &["input", "collections", &i.to_string()],
                        "Collection does not exist.",
                    )),
                }
            }
            collections = Some(ids);
        }
        let handle = input
            .get("handle")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(h) = &handle
            && self
                .products
                .values()
                .any(|p| &p.handle == h && Some(p.id) != existing)
        {
            errs.push(UserError::new(
                Some("HANDLE_NOT_UNIQUE"),
                &["input", "handle"],
                "Handle has already been taken.",
            ));
        }
        if !errs.is_empty() {
            return Err(errs);
        }

        // Apply.
        let now = self.now();
        let pid = match existing {
            Some(p) => p,
            None => {
                let pid = self.id();
                let t = title.clone().unwrap_or_default();
                let mut h = handle.clone().unwrap_or_else(|| slug(&t));
                if self.products.values().any(|p| p.handle == h) {
                    h = format!("{h}-{pid}");
                }
                self.products.insert(
                    pid,
                    Product {
                        id: pid,
                        title: t,
                        handle: h,
                        description_html: String::new(),
                        vendor: self.shop_name.clone(),
                        product_type: String::new(),
                        status: "ACTIVE".into(),
                        tags: vec![],
                        seo_title: None,
                        seo_description: None,
                        metafields: vec![],
                        collections: vec![],
                        variants: vec![],
                        options: vec![("Title".into(), vec!["Default Title".into()])],
                        files: vec![],
                        created_at: now,
                        updated_at: now,
                    },
                );
                pid
            }
        };
        // Variants (declarative: the ones not listed go).
        let mut new_variant_ids = None;
        if variants_in.is_some() {
            let mut ids = Vec::new();
            for (vid, sku, price, compare, barcode, ovs, weight) in planned_variants {
                let vid = match vid {
                    Some(v) => v,
                    None => {
                        let vid = self.id();
                        let iid = self.id();
                        let lid = self.id();
                        let loc = self.primary_location();
                        let mut levels = BTreeMap::new();
                        levels.insert(
                            loc,
                            Level {
                                id: lid,
                                available: 0,
                                updated_at: now,
                            },
                        );
                        self.items.insert(
                            iid,
                            InventoryItem {
                                id: iid,
                                variant_id: vid,
                                tracked: true,
                                weight: None,
                                levels,
                            },
                        );
                        self.variants.insert(
                            vid,
                            Variant {
                                id: vid,
                                product_id: pid,
                                sku: None,
                                title: String::new(),
                                price: Decimal::ZERO,
                                compare_at_price: None,
                                barcode: None,
                                inventory_item_id: iid,
                                option_values: vec![],
                                updated_at: now,
                            },
                        );
                        vid
                    }
                };
                if let Some(v) = self.variants.get_mut(&vid) {
                    if sku.is_some() {
                        v.sku = sku;
                    }
                    if let Some(p) = price {
                        v.price = p;
                    }
                    v.compare_at_price = compare;
                    if barcode.is_some() {
                        v.barcode = barcode;
                    }
                    v.title = ovs
                        .iter()
                        .map(|(_, val)| val.clone())
                        .collect::<Vec<_>>()
                        .join(" / ");
                    v.option_values = ovs;
                    v.updated_at = now;
                    let iid = v.inventory_item_id;
                    if let (Some(w), Some(item)) = (weight, self.items.get_mut(&iid)) {
                        item.weight = Some(w);
                    }
                }
                ids.push(vid);
            }
            new_variant_ids = Some(ids);
        }
        let Some(p) = self.products.get_mut(&pid) else {
            return Err(vec![UserError::new(
                Some("GENERIC_ERROR"),
                &[],
                "lost product",
            )]);
        };
        if let Some(t) = title {
            p.title = t;
        }
        if let Some(h) = handle {
            p.handle = h;
        }
        if let Some(d) = input.get("descriptionHtml").and_then(Value::as_str) {
            p.description_html = d.to_string();
        }
        if let Some(v) = input.get("vendor").and_then(Value::as_str) {
            p.vendor = v.to_string();
        }
        if let Some(v) = input.get("productType").and_then(Value::as_str) {
            p.product_type = v.to_string();
        }
        if let Some(v) = input.get("status").and_then(Value::as_str) {
            p.status = v.to_string();
        }
        if let Some(tags) = input.get("tags").and_then(Value::as_array) {
            p.tags = tags
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
        }
        if let Some(seo) = input.get("seo").filter(|s| s.is_object()) {
            if let Some(t) = seo.get("title") {
                p.seo_title = t.as_str().map(str::to_string);
            }
            if let Some(d) = seo.get("description") {
                p.seo_description = d.as_str().map(str::to_string);
            }
        }
        for m in metafields {
            match p
                .metafields
                .iter_mut()
                .find(|x| x.namespace == m.namespace && x.key == m.key)
            {
                Some(x) => *x = m,
                None => p.metafields.push(m),
            }
        }
        if let Some(c) = collections {
            p.collections = c;
        }
        if let Some(files) = input.get("files").and_then(Value::as_array) {
            p.files = files
                .iter()
                .filter_map(|f| f.get("originalSource").and_then(Value::as_str))
                .map(str::to_string)
                .collect();
        }
        if let Some(o) = options {
            p.options = o;
        }
        let mut removed = Vec::new();
        if let Some(ids) = new_variant_ids {
            removed = p
                .variants
                .iter()
                .copied()
                .filter(|v| !ids.contains(v))
                .collect();
            p.variants = ids;
        }
        p.updated_at = now;
        for v in removed {
            if let Some(var) = self.variants.remove(&v) {
                self.items.remove(&var.inventory_item_id);
            }
        }
        self.count_write("productSet");
        Ok(pid)
    }

    /// `fulfillmentCreate`.
    pub fn fulfillment_create(&mut self, input: &Value) -> Result<(u64, u64), Vec<UserError>> {
        let err = |m: String| vec![UserError::new(None, &["fulfillment"], m)];
        let empty = vec![];
        let groups = input
            .get("lineItemsByFulfillmentOrder")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        if groups.is_empty() {
            return Err(err("lineItemsByFulfillmentOrder can't be blank.".into()));
        }
        // Find the order of every fulfillment order.
        let mut order_id = None;
        let mut plan: Vec<(u64, Vec<(u64, i64)>)> = Vec::new();
        for g in groups {
            let Some(fo_id) = g
                .get("fulfillmentOrderId")
                .and_then(Value::as_str)
                .and_then(|x| gid_id(x, "FulfillmentOrder"))
            else {
                return Err(err("Invalid fulfillment order id.".into()));
            };
            let Some((oid, fo)) = self.orders.values().find_map(|o| {
                o.fulfillment_orders
                    .iter()
                    .find(|f| f.id == fo_id)
                    .map(|f| (o.id, f))
            }) else {
                return Err(err(format!("Fulfillment order {fo_id} does not exist.")));
            };
            if order_id.is_some_and(|x| x != oid) {
                return Err(err(
                    "All fulfillment orders must belong to the same order.".into()
                ));
            }
            order_id = Some(oid);
            if !matches!(fo.status.as_str(), "OPEN" | "IN_PROGRESS") {
                return Err(err(format!(
                    "Fulfillment order {fo_id} has an unfulfillable status= {}.",
                    fo.status.to_lowercase()
                )));
            }
            let mut lines = Vec::new();
            match g.get("fulfillmentOrderLineItems").and_then(Value::as_array) {
                None => {
                    for l in fo.lines.iter().filter(|l| l.remaining > 0) {
                        lines.push((l.id, l.remaining));
                    }
                }
                Some(items) => {
                    for it in items {
                        let lid = it
                            .get("id")
                            .and_then(Value::as_str)
                            .and_then(|x| gid_id(x, "FulfillmentOrderLineItem"));
                        let q = it.get("quantity").and_then(Value::as_i64).unwrap_or(0);
                        let Some(line) = lid.and_then(|lid| fo.lines.iter().find(|l| l.id == lid))
                        else {
                            return Err(err("Invalid fulfillment order line item id.".into()));
                        };
                        if q <= 0 || q > line.remaining {
                            return Err(err(format!(
                                "Invalid fulfillment order line item quantity requested: {q} (remaining {}).",
                                line.remaining
                            )));
                        }
                        lines.push((line.id, q));
                    }
                }
            }
            if lines.is_empty() {
                return Err(err("Nothing left to fulfill.".into()));
            }
            plan.push((fo_id, lines));
        }
        let Some(oid) = order_id else {
            return Err(err("No fulfillment order.".into()));
        };
        if self
            .orders
            .get(&oid)
            .is_some_and(|o| o.cancelled_at.is_some())
        {
            return Err(err("The order has been canceled.".into()));
        }
        let tracking_in = input.get("trackingInfo").cloned().unwrap_or(Value::Null);
        let mut tracking = Vec::new();
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let company = s(&tracking_in, "company");
        let mut numbers: Vec<String> = tracking_in
            .get("numbers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(n) = s(&tracking_in, "number") {
            numbers.insert(0, n);
        }
        let mut urls: Vec<String> = tracking_in
            .get("urls")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(u) = s(&tracking_in, "url") {
            urls.insert(0, u);
        }
        for (i, n) in numbers.iter().enumerate() {
            tracking.push(Tracking {
                number: Some(n.clone()),
                company: company.clone(),
                url: urls.get(i).cloned(),
            });
        }
        let now = self.now();
        let fid = self.id();
        let mut flines = Vec::new();
        let Some(order) = self.orders.get(&oid) else {
            return Err(err("lost order".into()));
        };
        let count = order.fulfillments.len() + 1;
        let name = format!("{}-F{count}", order.name);
        let mut fl_ids = Vec::new();
        for _ in plan.iter().flat_map(|(_, l)| l.iter()) {
            fl_ids.push(self.id());
        }
        let Some(order) = self.orders.get_mut(&oid) else {
            return Err(err("lost order".into()));
        };
        let mut k = 0;
        for (fo_id, lines) in &plan {
            if let Some(fo) = order.fulfillment_orders.iter_mut().find(|f| f.id == *fo_id) {
                for (lid, q) in lines {
                    if let Some(l) = fo.lines.iter_mut().find(|l| l.id == *lid) {
                        l.remaining -= q;
                        flines.push(FLine {
                            id: fl_ids[k],
                            line_id: l.line_id,
                            quantity: *q,
                        });
                        k += 1;
                    }
                }
                fo.status = if fo.lines.iter().all(|l| l.remaining == 0) {
                    "CLOSED".into()
                } else {
                    "IN_PROGRESS".into()
                };
            }
        }
        order.fulfillments.push(Fulfillment {
            id: fid,
            name,
            status: "SUCCESS".into(),
            created_at: now,
            tracking,
            lines: flines,
            fulfillment_order_ids: plan.iter().map(|(f, _)| *f).collect(),
        });
        order.updated_at = now;
        let body = self.order_webhook_body(oid);
        self.emit("orders/updated", body);
        self.count_write("fulfillmentCreate");
        Ok((oid, fid))
    }

    fn do_cancel(
        &mut self,
        id: u64,
        reason: &str,
        refund: bool,
        restock: bool,
        staff_note: Option<&str>,
    ) -> Result<(), UserError> {
        let now = self.now();
        let Some(o) = self.orders.get(&id) else {
            return Err(UserError::new(
                Some("NOT_FOUND"),
                &["orderId"],
                "Order does not exist.",
            ));
        };
        if o.cancelled_at.is_some() {
            return Err(UserError::new(
                Some("INVALID"),
                &["orderId"],
                "Order has already been cancelled.",
            ));
        }
        if o.fulfillments.iter().any(|f| f.status == "SUCCESS") {
            return Err(UserError::new(
                Some("INVALID"),
                &["orderId"],
                "Cannot cancel an order that has fulfillments. Cancel the fulfillments first.",
            ));
        }
        let restocks: Vec<(Option<u64>, u64, i64)> = if restock {
            o.fulfillment_orders
                .iter()
                .flat_map(|fo| {
                    fo.lines
                        .iter()
                        .map(move |l| (l.line_id, fo.location_id, l.remaining))
                })
                .map(|(line_id, loc, q)| {
                    (
                        o.lines
                            .iter()
                            .find(|l| l.id == line_id)
                            .and_then(|l| l.variant_id),
                        loc,
                        q,
                    )
                })
                .collect()
        } else {
            vec![]
        };
        let refund_amount = o.total() - o.refunded();
        let sale = o
            .transactions
            .iter()
            .find(|t| t.kind == "SALE")
            .map(|t| t.id);
        let Some(o) = self.orders.get_mut(&id) else {
            return Err(UserError::new(Some("NOT_FOUND"), &["orderId"], "lost"));
        };
        o.cancelled_at = Some(now);
        o.cancel_reason = Some(reason.to_string());
        o.closed_at = Some(now);
        o.updated_at = now;
        if let Some(n) = staff_note {
            o.note = Some(n.to_string());
        }
        for fo in o.fulfillment_orders.iter_mut() {
            fo.status = "CANCELLED".into();
            for l in fo.lines.iter_mut() {
                l.remaining = 0;
            }
        }
        for l in o.lines.iter_mut() {
            l.removed = l.quantity;
        }
        self.restock(restocks, now);
        if refund && refund_amount > Decimal::ZERO {
            let rid = self.id();
            let tid = self.id();
            if let Some(o) = self.orders.get_mut(&id) {
                o.transactions.push(Transaction {
                    id: tid,
                    kind: "REFUND".into(),
                    status: "SUCCESS".into(),
                    gateway: "shopify_payments".into(),
                    amount: refund_amount,
                    parent: sale,
                    created_at: now,
                });
                o.refunds.push(Refund {
                    id: rid,
                    note: Some("Order cancelled".into()),
                    created_at: now,
                    amount: refund_amount,
                    lines: vec![],
                    shipping: Decimal::ZERO,
                });
                o.financial_status = "REFUNDED".into();
            }
            self.add_refund_balance(id, tid, refund_amount, now);
        } else if let Some(o) = self.orders.get_mut(&id) {
            o.financial_status = if refund {
                "VOIDED".into()
            } else {
                o.financial_status.clone()
            };
        }
        let body = self.order_webhook_body(id);
        self.emit("orders/cancelled", body.clone());
        self.emit("orders/updated", body);
        Ok(())
    }

    fn add_refund_balance(&mut self, order_id: u64, txn: u64, amount: Decimal, now: Timestamp) {
        let bt = self.id();
        let test = self.orders.get(&order_id).is_some_and(|o| o.test);
        self.balance.insert(
            bt,
            BalanceTransaction {
                id: bt,
                kind: "REFUND".into(),
                source_type: Some("REFUND".into()),
                amount: -amount,
                fee: Decimal::ZERO,
                currency: self.currency.clone(),
                date: now,
                order_id: Some(order_id),
                source_id: Some(txn),
                payout_id: None,
                adjustment_reason: None,
                test,
            },
        );
    }

    /// `orderCancel` (the job runs synchronously here; the payload says `done: true`).
    pub fn order_cancel(&mut self, args: &Value) -> Result<(), UserError> {
        let Some(id) = args
            .get("orderId")
            .and_then(Value::as_str)
            .and_then(|g| gid_id(g, "Order"))
        else {
            return Err(UserError::new(
                Some("NOT_FOUND"),
                &["orderId"],
                "Order does not exist.",
            ));
        };
        let reason = args
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("OTHER");
        let refund = args.get("refund").and_then(Value::as_bool).unwrap_or(false);
        let restock = args
            .get("restock")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let note = args.get("staffNote").and_then(Value::as_str);
        self.do_cancel(id, reason, refund, restock, note)?;
        self.count_write("orderCancel");
        Ok(())
    }

    /// `refundCreate`: (order id, refund id).
    pub fn refund_create(&mut self, input: &Value) -> Result<(u64, u64), Vec<UserError>> {
        let e = |f: &[&str], m: &str| vec![UserError::new(None, f, m)];
        let Some(oid) = input
            .get("orderId")
            .and_then(Value::as_str)
            .and_then(|g| gid_id(g, "Order"))
            .filter(|id| self.orders.contains_key(id))
        else {
            return Err(e(&["orderId"], "Order does not exist"));
        };
        let Some(o) = self.orders.get(&oid) else {
            return Err(e(&["orderId"], "Order does not exist"));
        };
        let mut lines = Vec::new();
        for (i, rl) in input
            .get("refundLineItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let idx = i.to_string();
            let lid = rl
                .get("lineItemId")
                .and_then(Value::as_str)
                .and_then(|g| gid_id(g, "LineItem"));
            let Some(line) = lid.and_then(|l| o.lines.iter().find(|x| x.id == l)) else {
                return Err(e(
                    &["refundLineItems", &idx, "lineItemId"],
                    "Line item does not exist on this order",
                ));
            };
            let q = rl.get("quantity").and_then(Value::as_i64).unwrap_or(0);
            let refunded: i64 = o
                .refunds
                .iter()
                .flat_map(|r| r.lines.iter())
                .filter(|(l, _, _)| *l == line.id)
                .map(|(_, q, _)| *q)
                .sum();
            if q <= 0 || q > line.quantity - refunded {
                return Err(e(
                    &["refundLineItems", &idx, "quantity"],
                    "Quantity cannot refund more items than were purchased",
                ));
            }
            let restock = rl
                .get("restockType")
                .and_then(Value::as_str)
                .unwrap_or("NO_RESTOCK")
                .to_string();
            lines.push((line.id, q, restock));
        }
        let mut amount = Decimal::ZERO;
        let mut txns = Vec::new();
        for (i, t) in input
            .get("transactions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let idx = i.to_string();
            if t.get("kind").and_then(Value::as_str) != Some("REFUND") {
                return Err(e(&["transactions", &idx, "kind"], "Kind must be refund"));
            }
            let Some(a) = t
                .get("amount")
                .and_then(parse_money)
                .filter(|a| *a > Decimal::ZERO)
            else {
                return Err(e(
                    &["transactions", &idx, "amount"],
                    "Amount must be positive",
                ));
            };
            let parent = t
                .get("parentId")
                .and_then(Value::as_str)
                .and_then(|g| gid_id(g, "OrderTransaction"));
            if parent.is_some_and(|p| {
                !o.transactions
                    .iter()
                    .any(|x| x.id == p && matches!(x.kind.as_str(), "SALE" | "CAPTURE"))
            }) {
                return Err(e(
                    &["transactions", &idx, "parentId"],
                    "Parent transaction does not exist",
                ));
            }
            amount += a;
            txns.push((
                a,
                parent,
                t.get("gateway")
                    .and_then(Value::as_str)
                    .unwrap_or("shopify_payments")
                    .to_string(),
            ));
        }
        if amount > o.total() - o.refunded() {
            return Err(e(
                &["transactions"],
                "Refund amount exceeds the amount that can be refunded",
            ));
        }
        let shipping = input
            .get("shipping")
            .map(|s| {
                if s.get("fullRefund").and_then(Value::as_bool) == Some(true) {
                    o.shipping_total()
                } else {
                    s.get("amount").and_then(parse_money).unwrap_or_default()
                }
            })
            .unwrap_or_default();
        let loc = o
            .fulfillment_orders
            .first()
            .map(|f| f.location_id)
            .unwrap_or_else(|| self.primary_location());
        let restocks: Vec<(Option<u64>, i64)> = lines
            .iter()
            .filter(|(_, _, r)| r == "RETURN" || r == "CANCEL" || r == "LEGACY_RESTOCK")
            .map(|(l, q, _)| {
                (
                    o.lines
                        .iter()
                        .find(|x| x.id == *l)
                        .and_then(|x| x.variant_id),
                    *q,
                )
            })
            .collect();
        let total = o.total();
        let now = self.now();
        let rid = self.id();
        let mut tids = Vec::new();
        for _ in &txns {
            tids.push(self.id());
        }
        let Some(o) = self.orders.get_mut(&oid) else {
            return Err(e(&["orderId"], "lost"));
        };
        for (k, (a, parent, gateway)) in txns.iter().enumerate() {
            o.transactions.push(Transaction {
                id: tids[k],
                kind: "REFUND".into(),
                status: "SUCCESS".into(),
                gateway: gateway.clone(),
                amount: *a,
                parent: *parent,
                created_at: now,
            });
        }
        for (l, q, restock) in &lines {
            // `currentQuantity` excludes every refunded unit, returned ones included.
            if let Some(line) = o.lines.iter_mut().find(|x| x.id == *l) {
                line.removed = (line.removed + q).min(line.quantity);
            }
            if restock == "CANCEL" {
                for fo in o.fulfillment_orders.iter_mut() {
                    if let Some(fl) = fo.lines.iter_mut().find(|x| x.line_id == *l) {
                        fl.remaining = (fl.remaining - q).max(0);
                    }
                }
            }
        }
        o.refunds.push(Refund {
            id: rid,
            note: input
                .get("note")
                .and_then(Value::as_str)
                .map(str::to_string),
            created_at: now,
            amount,
            lines: lines.clone(),
            shipping,
        });
        let refunded = o.refunded();
        if amount > Decimal::ZERO {
            o.financial_status = if refunded >= total {
                "REFUNDED".into()
            } else {
                "PARTIALLY_REFUNDED".into()
            };
        }
        o.updated_at = now;
        self.restock(restocks.into_iter().map(|(vid, q)| (vid, loc, q)), now);
        for (k, (a, _, gateway)) in txns.iter().enumerate() {
            if gateway == "shopify_payments" {
                self.add_refund_balance(oid, tids[k], *a, now);
            }
        }
        let body = json!({
            "id": rid,
            "admin_graphql_api_id": gid("Refund", rid),
            "order_id": oid,
            "created_at": now.to_string(),
            "note": input.get("note"),
            "refund_line_items": lines.iter().map(|(l, q, r)| json!({"line_item_id": l, "quantity": q, "restock_type": r.to_lowercase()})).collect::<Vec<_>>(),
            "transactions": txns.iter().map(|(a, _, g)| json!({"amount": money_str(*a), "gateway": g, "kind": "refund"})).collect::<Vec<_>>(),
        });
        self.emit("refunds/create", body);
        let ob = self.order_webhook_body(oid);
        self.emit("orders/updated", ob);
        self.count_write("refundCreate");
        Ok((oid, rid))
    }

    /// `returnCreate`: (order id, return id).
    pub fn return_create(&mut self, input: &Value) -> Result<(u64, u64), Vec<UserError>> {
        let e = |code: &str, f: &[&str], m: &str| vec![UserError::new(Some(code), f, m)];
        let Some(oid) = input
            .get("orderId")
            .and_then(Value::as_str)
            .and_then(|g| gid_id(g, "Order"))
            .filter(|id| self.orders.contains_key(id))
        else {
            return Err(e(
                "NOT_FOUND",
                &["returnInput", "orderId"],
                "Order does not exist",
            ));
        };
        let Some(o) = self.orders.get(&oid) else {
            return Err(e(
                "NOT_FOUND",
                &["returnInput", "orderId"],
                "Order does not exist",
            ));
        };
        let items = input
            .get("returnLineItems")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if items.is_empty() {
            return Err(e(
                "BLANK",
                &["returnInput", "returnLineItems"],
                "Return line items can't be blank",
            ));
        }
        let mut plan = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let idx = i.to_string();
            let fl = it
                .get("fulfillmentLineItemId")
                .and_then(Value::as_str)
                .and_then(|g| gid_id(g, "FulfillmentLineItem"));
            let Some(fline) = fl.and_then(|fl| {
                o.fulfillments
                    .iter()
                    .flat_map(|f| f.lines.iter())
                    .find(|x| x.id == fl)
            }) else {
                return Err(e(
                    "NOT_FOUND",
                    &[
                        "returnInput",
                        "returnLineItems",
                        &idx,
                        "fulfillmentLineItemId",
                    ],
                    "Fulfillment line item does not exist",
                ));
            };
            let q = it.get("quantity").and_then(Value::as_i64).unwrap_or(0);
            let already: i64 = o
                .returns
                .iter()
                .filter(|r| r.status != "CANCELED" && r.status != "DECLINED")
                .flat_map(|r| r.lines.iter())
                .filter(|l| l.fulfillment_line_id == fline.id)
                .map(|l| l.quantity)
                .sum();
            if q <= 0 || q > fline.quantity - already {
                return Err(e(
                    "INVALID",
                    &["returnInput", "returnLineItems", &idx, "quantity"],
                    "Quantity is greater than the returnable quantity",
                ));
            }
            plan.push((
                fline.id,
                q,
                it.get("returnReason")
                    .and_then(Value::as_str)
                    .unwrap_or("UNKNOWN")
                    .to_string(),
                it.get("returnReasonNote")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ));
        }
        let n = o.returns.len() + 1;
        let name = format!("{}-R{n}", o.name);
        let now = self.now();
        let rid = self.id();
        let mut lines = Vec::new();
        for (fl, q, reason, note) in plan {
            lines.push(ReturnLine {
                id: self.id(),
                fulfillment_line_id: fl,
                quantity: q,
                reason,
                note,
                customer_note: None,
            });
        }
        let Some(o) = self.orders.get_mut(&oid) else {
            return Err(e("NOT_FOUND", &["returnInput", "orderId"], "lost"));
        };
        o.returns.push(Return {
            id: rid,
            name,
            status: "OPEN".into(),
            lines,
            refund_ids: vec![],
        });
        o.updated_at = now;
        let body = self.order_webhook_body(oid);
        self.emit("orders/updated", body);
        self.count_write("returnCreate");
        Ok((oid, rid))
    }

    // ---- payments

    /// A balance adjustment (e.g. a fee correction), to be paid out with the next payout.
    pub fn add_adjustment(&mut self, amount: Decimal, reason: &str) -> u64 {
        let now = self.now();
        let id = self.id();
        self.balance.insert(
            id,
            BalanceTransaction {
                id,
                kind: "ADJUSTMENT".into(),
                source_type: Some("ADJUSTMENT".into()),
                amount,
                fee: Decimal::ZERO,
                currency: self.currency.clone(),
                date: now,
                order_id: None,
                source_id: None,
                payout_id: None,
                adjustment_reason: Some(reason.to_string()),
                test: false,
            },
        );
        id
    }

    /// Pays out every balance transaction not yet paid out; `None` when there is nothing.
    pub fn create_payout(&mut self, status: &str) -> Option<u64> {
        let open: Vec<u64> = self
            .balance
            .values()
            .filter(|b| b.payout_id.is_none())
            .map(|b| b.id)
            .collect();
        if open.is_empty() {
            return None;
        }
        let now = self.now();
        let id = self.id();
        let mut net = Decimal::ZERO;
        for b in &open {
            if let Some(bt) = self.balance.get_mut(b) {
                bt.payout_id = Some(id);
                net += bt.net();
            }
        }
        self.payouts.insert(
            id,
            Payout {
                id,
                issued_at: now,
                status: status.to_string(),
                net,
                currency: self.currency.clone(),
            },
        );
        Some(id)
    }
}
