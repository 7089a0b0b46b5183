//! The marketplace's data and its business rules, synchronous and under one lock.
//!
//! Routes and the Rust handle both call these methods, so the HTTP control API and the
//! in-process test API cannot drift apart. Every change that a real marketplace would notify
//! queues an event (`order.created`, `order.updated`, `order.cancelled`, `inventory.updated`)
//! for webhook delivery.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::wire::ApiError;

/// One product the marketplace lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub sku: String,
    pub title: String,
    pub price: Decimal,
    #[serde(default)]
    pub compare_at_price: Option<Decimal>,
    #[serde(default)]
    pub quantity: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Listing {
    pub item: CatalogItem,
    pub listing_id: String,
    pub body: Option<Value>,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbAddress {
    pub name: Option<String>,
    pub company: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbBuyer {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Ways to make an order's JSON bad, so the daemon's quarantine is exercised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corruption {
    /// `line_items[0].unit_price` becomes `"12,50 EUR"`.
    UnparseablePrice,
    /// `line_items[0].quantity` is removed.
    MissingQuantity,
    /// `line_items[0].quantity` becomes negative.
    NegativeQuantity,
    /// `created_at` becomes `"yesterday"`.
    BadTimestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub id: String,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Decimal,
    pub discount: Decimal,
    pub tax: Decimal,
    pub tax_collected_by: &'static str,
    pub shipped: u32,
    pub cancelled: u32,
}

impl Line {
    fn total(&self) -> Decimal {
        Decimal::from(self.quantity) * self.unit_price - self.discount
    }
    fn open(&self) -> u32 {
        self.quantity.saturating_sub(self.shipped + self.cancelled)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentRecord {
    pub id: String,
    pub carrier: Value,
    pub service: Option<String>,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub shipped_at: Option<String>,
    /// (line id, quantity)
    pub lines: Vec<(String, u32)>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct SbOrder {
    pub id: String,
    pub number: String,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub currency: String,
    pub buyer: SbBuyer,
    pub shipping_address: Option<SbAddress>,
    pub billing_address: Option<SbAddress>,
    pub lines: Vec<Line>,
    pub shipping_price: Decimal,
    pub shipping_tax: Decimal,
    pub service_level: String,
    pub ship_by: Option<Timestamp>,
    pub deliver_by: Option<Timestamp>,
    pub fulfilment_program: Option<String>,
    pub is_business: bool,
    pub commission_rate: Decimal,
    pub shipments: Vec<ShipmentRecord>,
    pub cancel_reason: Option<String>,
    pub corruption: Option<Corruption>,
    pub settled: bool,
}

impl SbOrder {
    fn items_total(&self) -> Decimal {
        self.lines.iter().map(Line::total).sum()
    }
    fn total(&self) -> Decimal {
        self.items_total()
            + self.lines.iter().map(|l| l.tax).sum::<Decimal>()
            + self.shipping_price
            + self.shipping_tax
    }

    pub fn to_json(&self) -> Value {
        let addr = |a: &Option<SbAddress>| match a {
            Some(a) => serde_json::to_value(a).unwrap_or(Value::Null),
            None => Value::Null,
        };
        let lines: Vec<Value> = self
            .lines
            .iter()
            .map(|l| {
                json!({
                    "id": l.id, "sku": l.sku, "title": l.title, "quantity": l.quantity,
                    "unit_price": l.unit_price.to_string(), "discount": l.discount.to_string(),
                    "tax": l.tax.to_string(), "tax_collected_by": l.tax_collected_by,
                    "total": l.total().to_string(),
                    "quantity_shipped": l.shipped, "quantity_cancelled": l.cancelled,
                })
            })
            .collect();
        let fees = if self.commission_rate.is_zero() {
            json!([])
        } else {
            json!([{ "type": "commission",
                     "amount": (self.items_total() * self.commission_rate).round_dp(2).to_string() }])
        };
        let mut v = json!({
            "id": self.id,
            "number": self.number,
            "status": self.status,
            "created_at": self.created_at.to_string(),
            "updated_at": self.updated_at.to_string(),
            "currency": self.currency,
            "buyer": self.buyer,
            "shipping_address": addr(&self.shipping_address),
            "billing_address": addr(&self.billing_address),
            "line_items": lines,
            "shipping": {
                "price": self.shipping_price.to_string(),
                "tax": self.shipping_tax.to_string(),
                "service_level": self.service_level,
            },
            "fees": fees,
            "total": self.total().to_string(),
            "ship_by": self.ship_by.map(|t| t.to_string()),
            "deliver_by": self.deliver_by.map(|t| t.to_string()),
            "fulfillment": match &self.fulfilment_program {
                None => json!({"channel": "merchant"}),
                Some(p) => json!({"channel": "marketplace", "program": p}),
            },
            "is_business": self.is_business,
            "shipments": self.shipments.iter().map(|s| json!({
                "id": s.id, "carrier": s.carrier, "service": s.service,
                "tracking_number": s.tracking_number, "tracking_url": s.tracking_url,
                "lines": s.lines.iter().map(|(l, q)| json!({"line_id": l, "quantity": q})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "cancel_reason": self.cancel_reason,
        });
        if let Some(c) = self.corruption
            && let Some(first) = v["line_items"].get_mut(0)
        {
            match c {
                Corruption::UnparseablePrice => first["unit_price"] = json!("12,50 EUR"),
                Corruption::MissingQuantity => {
                    if let Some(o) = first.as_object_mut() {
                        o.remove("quantity");
                    }
                }
                Corruption::NegativeQuantity => first["quantity"] = json!(-1),
                Corruption::BadTimestamp => v["created_at"] = json!("yesterday"),
            }
        }
        v
    }
}

#[derive(Clone, Debug)]
pub(crate) struct SbReturn {
    pub id: String,
    pub order_id: String,
    pub currency: String,
    /// (line id, sku, quantity, reason)
    pub lines: Vec<(String, Option<String>, u32, Option<String>)>,
    pub status: String,
    pub requested_at: Timestamp,
    pub received_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub refund_amount: Option<Decimal>,
    pub settled: bool,
}

impl SbReturn {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "order_id": self.order_id, "status": self.status,
            "currency": self.currency,
            "lines": self.lines.iter().map(|(l, s, q, r)| json!({"line_id": l, "sku": s, "quantity": q, "reason": r})).collect::<Vec<_>>(),
            "requested_at": self.requested_at.to_string(),
            "received_at": self.received_at.map(|t| t.to_string()),
            "updated_at": self.updated_at.to_string(),
            "refund": self.refund_amount.map(|a| json!({"amount": a.to_string(), "currency": self.currency})),
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct SettlementLine {
    pub id: String,
    pub kind: &'static str,
    pub fee_type: Option<&'static str>,
    pub order_id: Option<String>,
    pub sku: Option<String>,
    pub amount: Decimal,
    pub description: String,
    pub posted_at: Timestamp,
}

#[derive(Clone, Debug)]
pub(crate) struct SbSettlement {
    pub id: String,
    pub currency: String,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub payout_date: Timestamp,
    pub lines: Vec<SettlementLine>,
    pub updated_at: Timestamp,
}

impl SbSettlement {
    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "currency": self.currency,
            "period_start": self.period_start.to_string(),
            "period_end": self.period_end.to_string(),
            "payout_date": self.payout_date.to_string(),
            "total": self.total().to_string(),
            "updated_at": self.updated_at.to_string(),
            "lines": self.lines.iter().map(|l| json!({
                "id": l.id, "type": l.kind, "fee_type": l.fee_type, "order_id": l.order_id,
                "sku": l.sku, "amount": l.amount.to_string(), "description": l.description,
                "posted_at": l.posted_at.to_string(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// An outgoing notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SbEvent {
    pub id: String,
    pub topic: String,
    pub created_at: Timestamp,
    pub data: Value,
}

impl SbEvent {
    pub fn body(&self) -> Value {
        json!({"id": self.id, "topic": self.topic, "created_at": self.created_at.to_string(), "data": self.data})
    }
}

/// Request and write counts per operation, and rate-limit violations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Authenticated requests that passed the rate limiter, per operation.
    pub requests: BTreeMap<String, u64>,
    /// Write requests per operation (whatever their outcome).
    pub writes: BTreeMap<String, u64>,
    /// Requests refused with 429, per operation.
    pub throttled: BTreeMap<String, u64>,
    /// Requests refused with 401.
    pub unauthorized: u64,
    /// Orders accepted for more than the listed quantity (an oversell the daemon caused by
    /// pushing too much, or a test created on purpose).
    pub oversells: u64,
}

impl Counters {
    pub fn writes_total(&self) -> u64 {
        self.writes.values().sum()
    }
    pub fn throttled_total(&self) -> u64 {
        self.throttled.values().sum()
    }
    pub fn write_count(&self, op: &str) -> u64 {
        self.writes.get(op).copied().unwrap_or(0)
    }
}

/// A new order, as a test or the generator asks for it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    pub lines: Vec<NewLine>,
    pub buyer: Option<SbBuyer>,
    /// `None` gives a complete default address unless `missing_address` is set.
    pub shipping_address: Option<SbAddress>,
    pub missing_address: bool,
    pub service_level: Option<String>,
    /// Hours from now until ship-by (default 48).
    pub ship_by_hours: Option<i64>,
    /// FBA-style: the marketplace ships it. E.g. `Some("SFN")`.
    pub marketplace_program: Option<String>,
    pub is_business: bool,
    /// Initial status (default `unshipped`).
    pub status: Option<String>,
    pub currency: Option<String>,
    pub shipping_price: Option<Decimal>,
    pub corruption: Option<Corruption>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewLine {
    pub sku: String,
    pub quantity: u32,
    /// Default: the catalog price (or 10.00 for an unknown SKU).
    pub unit_price: Option<Decimal>,
    pub discount: Option<Decimal>,
    /// Tax rate applied to the line (default 0); collected by the marketplace when
    /// `marketplace_tax` is set.
    pub tax_rate: Option<Decimal>,
    pub marketplace_tax: bool,
}

impl NewOrder {
    pub fn line(mut self, sku: &str, quantity: u32) -> Self {
        self.lines.push(NewLine {
            sku: sku.to_string(),
            quantity,
            ..NewLine::default()
        });
        self
    }
}

pub(crate) const ORDER_STATUSES: &[&str] = &[
    "pending",
    "unshipped",
    "partially_shipped",
    "shipped",
    "delivered",
    "cancelled",
    "returned",
];

pub(crate) struct State {
    pub currency: String,
    pub catalog: BTreeMap<String, Listing>,
    pub orders: BTreeMap<String, SbOrder>,
    pub returns: BTreeMap<String, SbReturn>,
    pub settlements: BTreeMap<String, SbSettlement>,
    pub counters: Counters,
    pub events: Vec<SbEvent>,
    pub pending_events: Vec<SbEvent>,
    pub rng: StdRng,
    /// The sales tax rate the generator's orders charge.
    pub generated_tax_rate: Decimal,
    seq: u64,
    last_now: Timestamp,
}

fn err(status: u16, code: &str, message: impl Into<String>, field: Option<&str>) -> ApiError {
    ApiError::new(status, code, message, field)
}

impl State {
    pub fn new(currency: &str, seed: u64, catalog: Vec<CatalogItem>) -> Self {
        let mut s = State {
            currency: currency.to_string(),
            catalog: BTreeMap::new(),
            orders: BTreeMap::new(),
            returns: BTreeMap::new(),
            settlements: BTreeMap::new(),
            counters: Counters::default(),
            events: Vec::new(),
            pending_events: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            generated_tax_rate: Decimal::new(8, 2),
            seq: 0,
            last_now: Timestamp::UNIX_EPOCH,
        };
        for item in catalog {
            s.upsert_catalog(item);
        }
        s
    }

    /// Strictly increasing "now" in whole microseconds (what the wire format carries), so
    /// every change gets its own place in the `(updated_at, id)` order: a record updated behind
    /// a client's cursor always lands after it.
    pub fn now(&mut self) -> Timestamp {
        let now = Timestamp::now();
        let mut t = Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now);
        if t <= self.last_now {
            t = self
                .last_now
                .checked_add(SignedDuration::from_micros(1))
                .unwrap_or(self.last_now);
        }
        self.last_now = t;
        t
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn event(&mut self, topic: &str, data: Value) {
        let n = self.next_seq();
        let ev = SbEvent {
            id: format!("evt_{n:08}"),
            topic: topic.to_string(),
            created_at: self.now(),
            data,
        };
        self.events.push(ev.clone());
        self.pending_events.push(ev);
    }

    pub fn upsert_catalog(&mut self, item: CatalogItem) {
        let now = self.now();
        let n = self.next_seq();
        let entry = self.catalog.entry(item.sku.clone()).or_insert(Listing {
            item: item.clone(),
            listing_id: format!("LST-{n:06}"),
            body: None,
            updated_at: now,
        });
        entry.item = item;
        entry.updated_at = now;
    }

    pub fn quantities(&self) -> BTreeMap<String, i64> {
        self.catalog
            .iter()
            .map(|(k, v)| (k.clone(), v.item.quantity))
            .collect()
    }

    pub fn prices(&self) -> BTreeMap<String, Decimal> {
        self.catalog
            .iter()
            .map(|(k, v)| (k.clone(), v.item.price))
            .collect()
    }

    // ---------------------------------------------------------------- orders

    pub fn create_order(&mut self, spec: NewOrder) -> Result<Value, ApiError> {
        if spec.lines.is_empty() {
            return Err(err(
                422,
                "INVALID_ORDER",
                "an order needs at least one line",
                Some("lines"),
            ));
        }
        let status = spec.status.clone().unwrap_or_else(|| "unshipped".into());
        if !ORDER_STATUSES.contains(&status.as_str()) {
            return Err(err(
                422,
                "INVALID_STATUS",
                format!("unknown status {status}"),
                Some("status"),
            ));
        }
        let now = self.now();
        let n = self.next_seq();
        let id = format!("SBX-{n:06}");
        let mut lines = Vec::new();
        let mut inventory_events = Vec::new();
        for (i, l) in spec.lines.iter().enumerate() {
            if l.quantity == 0 {
                return Err(err(
                    422,
                    "INVALID_QUANTITY",
                    "quantity must be positive",
                    Some(&format!("lines[{i}].quantity")),
                ));
            }
            let listed = self.catalog.get_mut(&l.sku);
            let (title, price) = match &listed {
                Some(li) => (li.item.title.clone(), li.item.price),
                None => (format!("Unlisted item {}", l.sku), Decimal::new(1000, 2)),
            };
            // Marketplace-fulfilled orders ship from the marketplace's stock, not the seller's.
            if spec.marketplace_program.is_none()
                && let Some(li) = listed
            {
                if li.item.quantity < i64::from(l.quantity) {
                    self.counters.oversells += 1;
                }
                li.item.quantity -= i64::from(l.quantity);
                li.updated_at = now;
                inventory_events.push(json!({"sku": l.sku, "quantity": li.item.quantity}));
            }
            let unit_price = l.unit_price.unwrap_or(price);
            let discount = l.discount.unwrap_or_default();
            let base = Decimal::from(l.quantity) * unit_price - discount;
            let tax = (base * l.tax_rate.unwrap_or_default()).round_dp(2);
            lines.push(Line {
                id: format!("{id}-L{}", i + 1),
                sku: if l.sku.is_empty() {
                    None
                } else {
                    Some(l.sku.clone())
                },
                title,
                quantity: l.quantity,
                unit_price,
                discount,
                tax,
                tax_collected_by: if l.marketplace_tax {
                    "marketplace"
                } else {
                    "seller"
                },
                shipped: 0,
                cancelled: 0,
            });
        }
        let buyer = spec.buyer.clone().unwrap_or_else(|| SbBuyer {
            id: Some(format!("BUYER-{n}")),
            name: Some("Ada Lovelace".into()),
            email: Some(format!("buyer{n}@example.test")),
            phone: Some("+1 555 0100".into()),
        });
        let shipping_address = if spec.missing_address {
            None
        } else {
            Some(spec.shipping_address.clone().unwrap_or_else(|| SbAddress {
                name: buyer.name.clone(),
                company: None,
                line1: Some("1 Infinite Loop".into()),
                line2: None,
                city: Some("Cupertino".into()),
                region: Some("CA".into()),
                postal_code: Some("95014".into()),
                country: Some("US".into()),
                phone: buyer.phone.clone(),
            }))
        };
        let ship_by = now
            .checked_add(SignedDuration::from_hours(spec.ship_by_hours.unwrap_or(48)))
            .ok();
        let deliver_by = ship_by.and_then(|t| t.checked_add(SignedDuration::from_hours(72)).ok());
        let shipping_price = spec.shipping_price.unwrap_or(Decimal::new(499, 2));
        let order = SbOrder {
            id: id.clone(),
            number: format!("#{}", 1000 + n),
            status,
            created_at: now,
            updated_at: now,
            currency: spec
                .currency
                .clone()
                .unwrap_or_else(|| self.currency.clone()),
            buyer,
            billing_address: shipping_address.clone(),
            shipping_address,
            lines,
            shipping_price,
            shipping_tax: Decimal::ZERO,
            service_level: spec
                .service_level
                .clone()
                .unwrap_or_else(|| "standard".into()),
            ship_by,
            deliver_by,
            fulfilment_program: spec.marketplace_program.clone(),
            is_business: spec.is_business,
            commission_rate: Decimal::new(15, 2),
            shipments: Vec::new(),
            cancel_reason: None,
            corruption: spec.corruption,
            settled: false,
        };
        let json = order.to_json();
        self.orders.insert(id.clone(), order);
        self.event("order.created", json!({"order_id": id}));
        for e in inventory_events {
            self.event("inventory.updated", e);
        }
        Ok(json)
    }

    fn order_mut(&mut self, id: &str) -> Result<&mut SbOrder, ApiError> {
        self.orders
            .get_mut(id)
            .ok_or_else(|| err(404, "NOT_FOUND", format!("order {id} not found"), None))
    }

    pub fn get_order(&self, id: &str) -> Result<Value, ApiError> {
        self.orders
            .get(id)
            .map(SbOrder::to_json)
            .ok_or_else(|| err(404, "NOT_FOUND", format!("order {id} not found"), None))
    }

    pub fn set_order_status(&mut self, id: &str, status: &str) -> Result<Value, ApiError> {
        if !ORDER_STATUSES.contains(&status) {
            return Err(err(
                422,
                "INVALID_STATUS",
                format!("unknown status {status}"),
                Some("status"),
            ));
        }
        let now = self.now();
        let o = self.order_mut(id)?;
        o.status = status.to_string();
        o.updated_at = now;
        let json = o.to_json();
        let topic = if status == "cancelled" {
            "order.cancelled"
        } else {
            "order.updated"
        };
        self.event(topic, json!({"order_id": id}));
        Ok(json)
    }

    /// `(created, shipment json)`; idempotent per tracking number.
    pub fn create_shipment(&mut self, id: &str, body: &Value) -> Result<(bool, Value), ApiError> {
        let tracking = body
            .get("tracking_number")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                err(
                    422,
                    "MISSING_FIELD",
                    "tracking_number is required",
                    Some("tracking_number"),
                )
            })?
            .to_string();
        let carrier = body.get("carrier").cloned().unwrap_or(Value::Null);
        let carrier_code = carrier
            .get("code")
            .and_then(Value::as_str)
            .or_else(|| carrier.as_str())
            .filter(|s| !s.trim().is_empty());
        if carrier_code.is_none() {
            return Err(err(
                422,
                "MISSING_FIELD",
                "carrier.code is required",
                Some("carrier.code"),
            ));
        }
        let mut req_lines: Vec<(String, u32)> = Vec::new();
        if let Some(ls) = body.get("lines").and_then(Value::as_array) {
            for (i, l) in ls.iter().enumerate() {
                let line_id = l.get("line_id").and_then(Value::as_str).ok_or_else(|| {
                    err(
                        422,
                        "MISSING_FIELD",
                        "line_id is required",
                        Some(&format!("lines[{i}].line_id")),
                    )
                })?;
                let q = l
                    .get("quantity")
                    .and_then(Value::as_u64)
                    .filter(|q| *q > 0 && *q <= u64::from(u32::MAX))
                    .ok_or_else(|| {
                        err(
                            422,
                            "INVALID_QUANTITY",
                            "quantity must be a positive integer",
                            Some(&format!("lines[{i}].quantity")),
                        )
                    })?;
                req_lines.push((line_id.to_string(), q as u32));
            }
        }
        let now = self.now();
        let n = self.next_seq();
        let o = self.order_mut(id)?;
        if let Some(existing) = o.shipments.iter().find(|s| s.tracking_number == tracking) {
            let same_lines = req_lines.is_empty() || {
                let mut a = req_lines.clone();
                let mut b = existing.lines.clone();
                a.sort();
                b.sort();
                a == b
            };
            if same_lines {
                let sj = shipment_json(existing);
                return Ok((false, sj));
            }
            return Err(err(
                409,
                "DUPLICATE_TRACKING_NUMBER",
                "this tracking number is already used by a different shipment",
                Some("tracking_number"),
            ));
        }
        if o.fulfilment_program.is_some() {
            return Err(err(
                422,
                "FULFILLED_BY_MARKETPLACE",
                "the marketplace ships this order",
                None,
            ));
        }
        match o.status.as_str() {
            "cancelled" => return Err(err(422, "ORDER_CANCELLED", "the order is cancelled", None)),
            "pending" => {
                return Err(err(
                    422,
                    "ORDER_NOT_READY",
                    "the order is not released for shipping",
                    None,
                ));
            }
            "shipped" | "delivered" | "returned" => {
                return Err(err(
                    422,
                    "ORDER_ALREADY_SHIPPED",
                    "nothing left to ship",
                    None,
                ));
            }
            _ => {}
        }
        if req_lines.is_empty() {
            req_lines = o
                .lines
                .iter()
                .filter(|l| l.open() > 0)
                .map(|l| (l.id.clone(), l.open()))
                .collect();
        }
        for (i, (lid, q)) in req_lines.iter().enumerate() {
            let line = o.lines.iter().find(|l| &l.id == lid).ok_or_else(|| {
                err(
                    422,
                    "UNKNOWN_LINE",
                    format!("no line {lid} on order {id}"),
                    Some(&format!("lines[{i}].line_id")),
                )
            })?;
            if *q > line.open() {
                return Err(err(
                    422,
                    "QUANTITY_EXCEEDS_UNSHIPPED",
                    format!("line {lid} has {} left to ship", line.open()),
                    Some(&format!("lines[{i}].quantity")),
                ));
            }
        }
        for (lid, q) in &req_lines {
            if let Some(line) = o.lines.iter_mut().find(|l| &l.id == lid) {
                line.shipped += q;
            }
        }
        let rec = ShipmentRecord {
            id: format!("SHP-{n:06}"),
            carrier,
            service: body
                .get("service")
                .and_then(Value::as_str)
                .map(str::to_string),
            tracking_number: tracking,
            tracking_url: body
                .get("tracking_url")
                .and_then(Value::as_str)
                .map(str::to_string),
            shipped_at: body
                .get("shipped_at")
                .and_then(Value::as_str)
                .map(str::to_string),
            lines: req_lines,
            created_at: now,
        };
        o.shipments.push(rec.clone());
        o.status = if o.lines.iter().all(|l| l.open() == 0) {
            "shipped"
        } else {
            "partially_shipped"
        }
        .into();
        o.updated_at = now;
        let sj = shipment_json(&rec);
        let mut sj2 = sj.clone();
        sj2["order_status"] = json!(o.status);
        self.event("order.updated", json!({"order_id": id}));
        Ok((true, sj2))
    }

    /// `(already_cancelled, order json)`.
    pub fn cancel_order(&mut self, id: &str, body: &Value) -> Result<(bool, Value), ApiError> {
        let reason = body
            .get("reason")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| err(422, "MISSING_FIELD", "reason is required", Some("reason")))?
            .to_string();
        let now = self.now();
        let o = self.order_mut(id)?;
        if o.status == "cancelled" {
            return Ok((true, o.to_json()));
        }
        if o.fulfilment_program.is_some() {
            return Err(err(
                422,
                "FULFILLED_BY_MARKETPLACE",
                "the marketplace handles this order",
                None,
            ));
        }
        let lines: Vec<(String, u32)> = match body.get("lines").and_then(Value::as_array) {
            Some(ls) if !ls.is_empty() => {
                let mut out = Vec::new();
                for (i, l) in ls.iter().enumerate() {
                    let lid = l.get("line_id").and_then(Value::as_str).unwrap_or_default();
                    let q = l.get("quantity").and_then(Value::as_u64).unwrap_or(0) as u32;
                    let line = o.lines.iter().find(|x| x.id == lid).ok_or_else(|| {
                        err(
                            422,
                            "UNKNOWN_LINE",
                            format!("no line {lid}"),
                            Some(&format!("lines[{i}].line_id")),
                        )
                    })?;
                    if q == 0 || q > line.open() {
                        return Err(err(
                            422,
                            "QUANTITY_EXCEEDS_UNSHIPPED",
                            format!("line {lid} has {} open", line.open()),
                            Some(&format!("lines[{i}].quantity")),
                        ));
                    }
                    out.push((lid.to_string(), q));
                }
                out
            }
            _ => {
                if o.lines.iter().any(|l| l.shipped > 0) {
                    return Err(err(
                        422,
                        "ORDER_ALREADY_SHIPPED",
                        "shipped orders cannot be cancelled; create a return",
                        None,
                    ));
                }
                o.lines.iter().map(|l| (l.id.clone(), l.open())).collect()
            }
        };
        let mut restock = Vec::new();
        for (lid, q) in &lines {
            if let Some(l) = o.lines.iter_mut().find(|l| &l.id == lid) {
                l.cancelled += q;
                if let Some(s) = &l.sku {
                    restock.push((s.clone(), *q));
                }
            }
        }
        let any_shipped = o.lines.iter().any(|l| l.shipped > 0);
        let all_closed = o.lines.iter().all(|l| l.open() == 0);
        o.status = match (all_closed, any_shipped) {
            (true, false) => "cancelled",
            (true, true) => "shipped",
            (false, true) => "partially_shipped",
            (false, false) => o.status.as_str(),
        }
        .to_string();
        o.cancel_reason = Some(reason);
        o.updated_at = now;
        let cancelled = o.status == "cancelled";
        let json = o.to_json();
        // A cancelled merchant order gives its units back to the listing.
        let merchant = o.fulfilment_program.is_none();
        if merchant {
            for (sku, q) in restock {
                if let Some(li) = self.catalog.get_mut(&sku) {
                    li.item.quantity += i64::from(q);
                    li.updated_at = now;
                    let qty = li.item.quantity;
                    self.event("inventory.updated", json!({"sku": sku, "quantity": qty}));
                }
            }
        }
        self.event(
            if cancelled {
                "order.cancelled"
            } else {
                "order.updated"
            },
            json!({"order_id": id}),
        );
        Ok((false, json))
    }

    // ---------------------------------------------------------------- inventory and prices

    pub fn set_inventory(&mut self, items: &[Value]) -> Vec<Value> {
        let now = self.now();
        let mut out = Vec::with_capacity(items.len());
        let mut events = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let sku = it
                .get("sku")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let field = |f: &str| format!("items[{i}].{f}");
            let item_err = |code: &str, message: String, f: String| json!({"sku": sku, "status": "error", "errors": [{"code": code, "message": message, "field": f}]});
            if sku.is_empty() {
                out.push(item_err(
                    "MISSING_FIELD",
                    "sku is required".into(),
                    field("sku"),
                ));
                continue;
            }
            let Some(q) = it.get("quantity").and_then(Value::as_i64) else {
                out.push(item_err(
                    "INVALID_QUANTITY",
                    "quantity must be an integer".into(),
                    field("quantity"),
                ));
                continue;
            };
            if !(0..=1_000_000).contains(&q) {
                out.push(item_err(
                    "INVALID_QUANTITY",
                    format!("quantity {q} is out of range 0..=1000000"),
                    field("quantity"),
                ));
                continue;
            }
            let Some(li) = self.catalog.get_mut(&sku) else {
                out.push(item_err(
                    "SKU_NOT_FOUND",
                    format!("no listing with sku {sku}"),
                    field("sku"),
                ));
                continue;
            };
            if let Some(expected) = it.get("expected_quantity").filter(|v| !v.is_null())
                && expected.as_i64() != Some(li.item.quantity)
            {
                out.push(json!({"sku": sku, "status": "conflict", "quantity": li.item.quantity,
                    "errors": [{"code": "QUANTITY_CHANGED", "message": "the quantity changed since it was read", "field": field("expected_quantity")}]}));
                continue;
            }
            let changed = li.item.quantity != q;
            li.item.quantity = q;
            li.updated_at = now;
            out.push(
                json!({"sku": sku, "status": "ok", "quantity": q, "updated_at": now.to_string()}),
            );
            if changed {
                events.push(json!({"sku": sku, "quantity": q}));
            }
        }
        for e in events {
            self.event("inventory.updated", e);
        }
        out
    }

    pub fn read_inventory(&self, skus: &[String]) -> Value {
        let mut items = Vec::new();
        let mut missing = Vec::new();
        for s in skus {
            match self.catalog.get(s) {
                Some(li) => items.push(json!({"sku": s, "quantity": li.item.quantity, "updated_at": li.updated_at.to_string()})),
                None => missing.push(s.clone()),
            }
        }
        json!({"items": items, "missing": missing})
    }

    pub fn set_prices(&mut self, items: &[Value]) -> Vec<Value> {
        let now = self.now();
        let mut out = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            let sku = it
                .get("sku")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let e = |code: &str, message: String, f: &str| json!({"sku": sku, "status": "error", "errors": [{"code": code, "message": message, "field": format!("items[{i}].{f}")}]});
            let price = it
                .get("price")
                .and_then(Value::as_str)
                .and_then(|p| p.parse::<Decimal>().ok());
            let Some(price) = price.filter(|p| *p > Decimal::ZERO) else {
                out.push(e(
                    "INVALID_PRICE",
                    "price must be a positive decimal string".into(),
                    "price",
                ));
                continue;
            };
            let currency = it
                .get("currency")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if currency != self.currency {
                out.push(e(
                    "CURRENCY_MISMATCH",
                    format!("this shop sells in {}", self.currency),
                    "currency",
                ));
                continue;
            }
            let compare_at = match it.get("compare_at_price") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_str().and_then(|p| p.parse::<Decimal>().ok()) {
                    Some(c) => Some(c),
                    None => {
                        out.push(e(
                            "INVALID_PRICE",
                            "compare_at_price must be a decimal string".into(),
                            "compare_at_price",
                        ));
                        continue;
                    }
                },
            };
            let Some(li) = self.catalog.get_mut(&sku) else {
                out.push(e(
                    "SKU_NOT_FOUND",
                    format!("no listing with sku {sku}"),
                    "sku",
                ));
                continue;
            };
            li.item.price = price;
            li.item.compare_at_price = compare_at;
            li.updated_at = now;
            out.push(
                json!({"sku": sku, "status": "ok", "price": price.to_string(),
                "compare_at_price": compare_at.map(|c| c.to_string()), "currency": self.currency}),
            );
        }
        out
    }

    /// `(created, listing json)`.
    pub fn upsert_listing(&mut self, sku: &str, body: &Value) -> Result<(bool, Value), ApiError> {
        let title = body
            .get("title")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| err(422, "MISSING_FIELD", "title is required", Some("title")))?
            .to_string();
        if title.chars().count() > 255 {
            return Err(err(
                422,
                "TITLE_TOO_LONG",
                "title is limited to 255 characters",
                Some("title"),
            ));
        }
        let price = match body.get("price") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(|p| p.parse::<Decimal>().ok())
                    .filter(|p| *p > Decimal::ZERO)
                    .ok_or_else(|| {
                        err(
                            422,
                            "INVALID_PRICE",
                            "price must be a positive decimal string",
                            Some("price"),
                        )
                    })?,
            ),
        };
        let now = self.now();
        let n = self.next_seq();
        let created = !self.catalog.contains_key(sku);
        let li = self
            .catalog
            .entry(sku.to_string())
            .or_insert_with(|| Listing {
                item: CatalogItem {
                    sku: sku.to_string(),
                    title: title.clone(),
                    price: price.unwrap_or(Decimal::ZERO),
                    compare_at_price: None,
                    quantity: 0,
                },
                listing_id: format!("LST-{n:06}"),
                body: None,
                updated_at: now,
            });
        li.item.title = title;
        if let Some(p) = price {
            li.item.price = p;
        }
        li.body = Some(body.clone());
        li.updated_at = now;
        let out = json!({"sku": sku, "listing_id": li.listing_id, "status": "active", "updated_at": now.to_string()});
        Ok((created, out))
    }

    // ---------------------------------------------------------------- returns and settlements

    pub fn create_return(
        &mut self,
        order_id: &str,
        lines: &[(String, u32, Option<String>)],
    ) -> Result<Value, ApiError> {
        let now = self.now();
        let n = self.next_seq();
        let o = self.orders.get(order_id).ok_or_else(|| {
            err(
                404,
                "NOT_FOUND",
                format!("order {order_id} not found"),
                None,
            )
        })?;
        let mut rl = Vec::new();
        let pick: Vec<(String, u32, Option<String>)> = if lines.is_empty() {
            o.lines
                .iter()
                .filter(|l| l.shipped > 0)
                .map(|l| {
                    (
                        l.id.clone(),
                        l.shipped,
                        Some("customer_changed_mind".to_string()),
                    )
                })
                .collect()
        } else {
            lines.to_vec()
        };
        if pick.is_empty() {
            return Err(err(
                422,
                "NOTHING_TO_RETURN",
                "no shipped lines on this order",
                None,
            ));
        }
        for (lid, q, reason) in pick {
            let line =
                o.lines.iter().find(|l| l.id == lid).ok_or_else(|| {
                    err(422, "UNKNOWN_LINE", format!("no line {lid}"), Some("lines"))
                })?;
            if q == 0 || q > line.shipped {
                return Err(err(
                    422,
                    "INVALID_QUANTITY",
                    format!("line {lid} shipped {}", line.shipped),
                    Some("lines"),
                ));
            }
            rl.push((lid, line.sku.clone(), q, reason));
        }
        let r = SbReturn {
            id: format!("RET-{n:06}"),
            order_id: order_id.to_string(),
            currency: o.currency.clone(),
            lines: rl,
            status: "requested".into(),
            requested_at: now,
            received_at: None,
            updated_at: now,
            refund_amount: None,
            settled: false,
        };
        let j = r.to_json();
        self.returns.insert(r.id.clone(), r);
        Ok(j)
    }

    /// Moves a return on: `received` stamps `received_at`; `refunded` sets the refund (default:
    /// the returned lines' value) and, once every unit is back, marks the order `returned`.
    pub fn set_return_status(
        &mut self,
        id: &str,
        status: &str,
        refund: Option<Decimal>,
    ) -> Result<Value, ApiError> {
        if ![
            "requested",
            "approved",
            "in_transit",
            "received",
            "refunded",
            "rejected",
            "closed",
        ]
        .contains(&status)
        {
            return Err(err(
                422,
                "INVALID_STATUS",
                format!("unknown return status {status}"),
                Some("status"),
            ));
        }
        let now = self.now();
        let r = self
            .returns
            .get_mut(id)
            .ok_or_else(|| err(404, "NOT_FOUND", format!("return {id} not found"), None))?;
        r.status = status.to_string();
        r.updated_at = now;
        if status == "received" && r.received_at.is_none() {
            r.received_at = Some(now);
        }
        let order_id = r.order_id.clone();
        if status == "refunded" {
            let value = self.orders.get(&order_id).map(|o| {
                r.lines
                    .iter()
                    .map(|(lid, _, q, _)| {
                        o.lines
                            .iter()
                            .find(|l| &l.id == lid)
                            .map(|l| l.unit_price * Decimal::from(*q))
                            .unwrap_or_default()
                    })
                    .sum::<Decimal>()
            });
            r.refund_amount = Some(refund.or(value).unwrap_or_default());
            if r.received_at.is_none() {
                r.received_at = Some(now);
            }
        }
        let j = r.to_json();
        if status == "refunded" {
            let returned: BTreeMap<String, u32> = self
                .returns
                .values()
                .filter(|x| x.order_id == order_id && x.status == "refunded")
                .flat_map(|x| x.lines.iter().map(|(l, _, q, _)| (l.clone(), *q)))
                .fold(BTreeMap::new(), |mut m, (l, q)| {
                    *m.entry(l).or_default() += q;
                    m
                });
            if let Some(o) = self.orders.get_mut(&order_id)
                && o.lines.iter().all(|l| {
                    returned.get(&l.id).copied().unwrap_or(0) >= l.shipped && l.shipped > 0
                })
            {
                o.status = "returned".into();
                o.updated_at = now;
                self.event("order.updated", json!({"order_id": order_id}));
            }
        }
        Ok(j)
    }

    /// Settles every shipped or refunded order not yet settled (or just `order_ids`): one sale
    /// line per order, a commission fee, a fulfilment fee for marketplace-fulfilled orders, a
    /// refund for refunded returns (with the commission refunded at 80%, as Amazon does), and
    /// `adjustment` if given. The payout is the sum.
    pub fn create_settlement(
        &mut self,
        order_ids: Option<&[String]>,
        adjustment: Option<Decimal>,
    ) -> Result<Value, ApiError> {
        let now = self.now();
        let n = self.next_seq();
        let sid = format!("STL-{n:06}");
        let mut lines = Vec::new();
        let mut k: u32 = 0;
        let mut next_id = || {
            k += 1;
            format!("{sid}-{k:04}")
        };
        let wanted: BTreeSet<String> = match order_ids {
            Some(ids) => ids.iter().cloned().collect(),
            None => self
                .orders
                .values()
                .filter(|o| {
                    !o.settled && matches!(o.status.as_str(), "shipped" | "delivered" | "returned")
                })
                .map(|o| o.id.clone())
                .collect(),
        };
        for id in &wanted {
            let o = self
                .orders
                .get_mut(id)
                .ok_or_else(|| err(404, "NOT_FOUND", format!("order {id} not found"), None))?;
            if o.settled {
                continue;
            }
            o.settled = true;
            let items = o.items_total();
            let sale = items + o.shipping_price;
            lines.push(SettlementLine {
                id: next_id(),
                kind: "sale",
                fee_type: None,
                order_id: Some(id.clone()),
                sku: None,
                amount: sale,
                description: format!("Order {}", o.number),
                posted_at: now,
            });
            let seller_tax: Decimal = o
                .lines
                .iter()
                .filter(|l| l.tax_collected_by == "seller")
                .map(|l| l.tax)
                .sum();
            if !seller_tax.is_zero() {
                lines.push(SettlementLine {
                    id: next_id(),
                    kind: "tax",
                    fee_type: None,
                    order_id: Some(id.clone()),
                    sku: None,
                    amount: seller_tax,
                    description: "Tax collected for the seller".into(),
                    posted_at: now,
                });
            }
            let commission = (items * o.commission_rate).round_dp(2);
            lines.push(SettlementLine {
                id: next_id(),
                kind: "fee",
                fee_type: Some("commission"),
                order_id: Some(id.clone()),
                sku: None,
                amount: -commission,
                description: "Referral fee".into(),
                posted_at: now,
            });
            if o.fulfilment_program.is_some() {
                let units: u32 = o.lines.iter().map(|l| l.quantity).sum();
                lines.push(SettlementLine {
                    id: next_id(),
                    kind: "fee",
                    fee_type: Some("fulfillment"),
                    order_id: Some(id.clone()),
                    sku: None,
                    amount: -(Decimal::new(325, 2) * Decimal::from(units)),
                    description: "Fulfilment fee".into(),
                    posted_at: now,
                });
            }
        }
        let refunds: Vec<(String, String, Decimal, Option<String>)> = self
            .returns
            .values_mut()
            .filter(|r| {
                r.status == "refunded"
                    && !r.settled
                    && (order_ids.is_none() || wanted.contains(&r.order_id))
            })
            .map(|r| {
                r.settled = true;
                (
                    r.id.clone(),
                    r.order_id.clone(),
                    r.refund_amount.unwrap_or_default(),
                    r.lines.first().and_then(|l| l.1.clone()),
                )
            })
            .collect();
        for (rid, oid, amount, sku) in refunds {
            lines.push(SettlementLine {
                id: next_id(),
                kind: "refund",
                fee_type: None,
                order_id: Some(oid.clone()),
                sku: sku.clone(),
                amount: -amount,
                description: format!("Refund for return {rid}"),
                posted_at: now,
            });
            let rate = self
                .orders
                .get(&oid)
                .map(|o| o.commission_rate)
                .unwrap_or_default();
            let back = (amount * rate * Decimal::new(8, 1)).round_dp(2);
            if !back.is_zero() {
                lines.push(SettlementLine {
                    id: next_id(),
                    kind: "fee",
                    fee_type: Some("commission"),
                    order_id: Some(oid),
                    sku,
                    amount: back,
                    description: "Referral fee refund (80%)".into(),
                    posted_at: now,
                });
            }
        }
        if let Some(a) = adjustment {
            lines.push(SettlementLine {
                id: next_id(),
                kind: "adjustment",
                fee_type: None,
                order_id: None,
                sku: None,
                amount: a,
                description: "Reimbursement".into(),
                posted_at: now,
            });
        }
        if lines.is_empty() {
            return Err(err(
                422,
                "NOTHING_TO_SETTLE",
                "no shipped or refunded orders to settle",
                None,
            ));
        }
        let st = SbSettlement {
            id: sid.clone(),
            currency: self.currency.clone(),
            period_start: now
                .checked_sub(SignedDuration::from_hours(24 * 14))
                .unwrap_or(now),
            period_end: now,
            payout_date: now
                .checked_add(SignedDuration::from_hours(48))
                .unwrap_or(now),
            lines,
            updated_at: now,
        };
        let j = st.to_json();
        self.settlements.insert(sid, st);
        Ok(j)
    }

    // ---------------------------------------------------------------- generator

    /// Creates a random order over the catalog. With probability `bad_rate` the order is bad
    /// in one of several ways: an unknown SKU or a missing address (data the audit must catch)
    /// or a corrupted payload (a mapping error the daemon must quarantine).
    pub fn generate_order(&mut self, bad_rate: f64, marketplace_rate: f64) -> Value {
        const NAMES: &[&str] = &[
            "Ada Lovelace",
            "Zhang Wei",
            "Marie Curie",
            "Li Na",
            "Jean Dupont",
            "Grace Hopper",
            "Wang Fang",
            "Alan Turing",
        ];
        const CITIES: &[(&str, &str, &str, &str)] = &[
            ("Seattle", "WA", "98101", "US"),
            ("Austin", "TX", "73301", "US"),
            ("Paris", "IDF", "75002", "FR"),
            ("Lyon", "ARA", "69002", "FR"),
            ("Berlin", "BE", "10115", "DE"),
            ("Shanghai", "SH", "200000", "CN"),
        ];
        const LEVELS: &[&str] = &[
            "standard",
            "standard",
            "standard",
            "expedited",
            "two_day",
            "next_day",
            "economy",
        ];
        let in_stock: Vec<String> = self
            .catalog
            .values()
            .filter(|l| l.item.quantity > 0)
            .map(|l| l.item.sku.clone())
            .collect();
        let all: Vec<String> = self.catalog.keys().cloned().collect();
        let pool = if in_stock.is_empty() { all } else { in_stock };
        let mut spec = NewOrder::default();
        let nlines = self.rng.random_range(1..=3usize);
        for _ in 0..nlines {
            let sku = if pool.is_empty() {
                "UNKNOWN-SKU".to_string()
            } else {
                pool[self.rng.random_range(0..pool.len())].clone()
            };
            if spec.lines.iter().any(|l| l.sku == sku) {
                continue;
            }
            let qty = self.rng.random_range(1..=2u32);
            let marketplace_tax = self.rng.random_bool(0.5);
            spec.lines.push(NewLine {
                sku,
                quantity: qty,
                unit_price: None,
                discount: None,
                tax_rate: Some(self.generated_tax_rate),
                marketplace_tax,
            });
        }
        let name = NAMES[self.rng.random_range(0..NAMES.len())];
        let (city, region, zip, country) = CITIES[self.rng.random_range(0..CITIES.len())];
        let n = self.rng.random_range(1..999u32);
        spec.buyer = Some(SbBuyer {
            id: Some(format!("B{n:05}")),
            name: Some(name.into()),
            email: Some(format!("b{n}@example.test")),
            phone: Some(format!("+1 555 {n:04}")),
        });
        spec.shipping_address = Some(SbAddress {
            name: Some(name.into()),
            company: None,
            line1: Some(format!("{n} Main Street")),
            line2: None,
            city: Some(city.into()),
            region: Some(region.into()),
            postal_code: Some(zip.into()),
            country: Some(country.into()),
            phone: None,
        });
        spec.service_level = Some(LEVELS[self.rng.random_range(0..LEVELS.len())].to_string());
        spec.ship_by_hours = Some(self.rng.random_range(12..=72));
        spec.is_business = self.rng.random_bool(0.1);
        if self.rng.random_bool(marketplace_rate.clamp(0.0, 1.0)) {
            spec.marketplace_program = Some("SFN".into());
        }
        if self.rng.random_bool(bad_rate.clamp(0.0, 1.0)) {
            match self.rng.random_range(0..4u8) {
                0 => spec.lines[0].sku = format!("NOPE-{n}"),
                1 => spec.missing_address = true,
                2 => spec.corruption = Some(Corruption::UnparseablePrice),
                _ => spec.corruption = Some(Corruption::MissingQuantity),
            }
        }
        // Cannot fail: lines are non-empty and quantities positive.
        self.create_order(spec).unwrap_or(Value::Null)
    }
}

fn shipment_json(s: &ShipmentRecord) -> Value {
    json!({
        "id": s.id, "carrier": s.carrier, "service": s.service,
        "tracking_number": s.tracking_number, "tracking_url": s.tracking_url,
        "shipped_at": s.shipped_at,
        "lines": s.lines.iter().map(|(l, q)| json!({"line_id": l, "quantity": q})).collect::<Vec<_>>(),
        "created_at": s.created_at.to_string(),
    })
}

/// Keyset paging over `(updated_at, id)`, shared by orders, returns and settlements.
///
/// The cursor names the last record returned; the next page starts strictly after it, so a
/// record updated while a client pages simply moves to the end and is seen again (never
/// skipped). `updated_after` is inclusive.
pub(crate) fn page<'a, T>(
    items: impl Iterator<Item = (&'a Timestamp, &'a str, T)>,
    updated_after: Option<Timestamp>,
    after: Option<(Timestamp, String)>,
    limit: usize,
) -> (Vec<T>, Option<(Timestamp, String)>) {
    let mut v: Vec<(Timestamp, &str, T)> = items
        .filter(|(t, _, _)| updated_after.is_none_or(|u| **t >= u))
        .filter(|(t, id, _)| match &after {
            None => true,
            Some((at, aid)) => (**t, *id) > (*at, aid.as_str()),
        })
        .map(|(t, id, x)| (*t, id, x))
        .collect();
    v.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let more = v.len() > limit;
    v.truncate(limit);
    let next = if more {
        v.last().map(|(t, id, _)| (*t, id.to_string()))
    } else {
        None
    };
    (v.into_iter().map(|(_, _, x)| x).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_strictly_increasing_in_whole_microseconds() {
        let mut s = State::new("USD", 1, vec![]);
        let mut last = s.now();
        for _ in 0..10_000 {
            let t = s.now();
            assert!(t > last);
            assert_eq!(t.subsec_nanosecond() % 1_000, 0);
            last = t;
        }
    }

    #[test]
    fn keyset_paging_never_skips_a_record_updated_behind_the_cursor() {
        let mut s = State::new("USD", 1, super::super::demo_catalog(3));
        for _ in 0..30 {
            s.create_order(NewOrder::default().line("SKU-0001", 1))
                .unwrap();
        }
        let ids: Vec<String> = s.orders.keys().cloned().collect();
        let take = |s: &State, after: Option<(Timestamp, String)>| {
            page(
                s.orders
                    .values()
                    .map(|o| (&o.updated_at, o.id.as_str(), o.id.clone())),
                None,
                after,
                10,
            )
        };
        let (first, cursor) = take(&s, None);
        assert_eq!(first, ids[..10].to_vec());
        // Update one already handed out, then continue.
        s.set_order_status(&ids[3], "pending").unwrap();
        let mut seen = first.clone();
        let mut cursor = cursor;
        while let Some(c) = cursor {
            let (more, next) = take(&s, Some(c));
            seen.extend(more);
            cursor = next;
        }
        assert_eq!(seen.len(), 31);
        assert_eq!(seen.last(), Some(&ids[3]));
    }
}
