//! The sandbox's data and rules: orders and items as the Orders v0 model shapes them, listings
//! with quantities and prices, feed documents and feeds with processing reports, FBA
//! inventory, financial event groups, tokens, counters. Every answer body is built here in the
//! model's own field names (the contract test validates them against the Swagger schemas).

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::wire::ApiError;

pub type ApiResult<T> = Result<T, ApiError>;

pub fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn money(amount: Decimal, currency: &str) -> Value {
    json!({"CurrencyCode": currency, "Amount": format!("{:.2}", amount)})
}

fn fin(amount: Decimal, currency: &str) -> Value {
    json!({"CurrencyCode": currency, "CurrencyAmount": amount.round_dp(2).to_f64().unwrap_or(0.0)})
}

/// Everything counted, for tests ("no write happened", "no limit exceeded").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// SP-API requests that reached an operation (after auth), by operationId.
    pub requests: BTreeMap<String, u64>,
    /// Writes that were applied, by operationId.
    pub writes: BTreeMap<String, u64>,
    /// 429s because the caller exceeded the usage plan, by operationId. Must stay empty.
    pub violations: BTreeMap<String, u64>,
    /// 429s injected by a test (not the caller's fault).
    pub injected_throttles: u64,
    pub lwa_grants: u64,
    pub rdt_grants: u64,
    pub unauthorized: u64,
    pub document_uploads: u64,
    pub document_downloads: u64,
    pub shipment_confirmations: u64,
}

impl Counters {
    pub fn request_count(&self, op: &str) -> u64 {
        self.requests.get(op).copied().unwrap_or(0)
    }
    pub fn write_count(&self, op: &str) -> u64 {
        self.writes.get(op).copied().unwrap_or(0)
    }
    pub fn total_violations(&self) -> u64 {
        self.violations.values().sum()
    }
}

/// A line of a new order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct NewItem {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    /// Unit price.
    pub price: Decimal,
    /// Tax on the whole line.
    pub tax: Decimal,
    pub promotion: Decimal,
    pub shipping: Decimal,
    /// Tax collected by Amazon as marketplace facilitator.
    pub facilitator: bool,
}

impl Default for NewItem {
    fn default() -> Self {
        Self {
            sku: "SKU-1".into(),
            title: "Sandbox item".into(),
            quantity: 1,
            price: Decimal::new(1999, 2),
            tax: Decimal::ZERO,
            promotion: Decimal::ZERO,
            shipping: Decimal::ZERO,
            facilitator: true,
        }
    }
}

/// An order to create (the test's hand, or the control API).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    pub id: Option<String>,
    pub status: String,
    /// `MFN` or `AFN`.
    pub fulfillment: String,
    pub prime: bool,
    pub business: bool,
    pub category: String,
    pub items: Vec<NewItem>,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub address: Option<SbAddress>,
    pub ship_within_hours: i64,
    pub deliver_within_hours: i64,
}

impl Default for NewOrder {
    fn default() -> Self {
        Self {
            id: None,
            status: "Unshipped".into(),
            fulfillment: "MFN".into(),
            prime: false,
            business: false,
            category: "Standard".into(),
            items: vec![NewItem::default()],
            buyer_name: Some("Jane Doe".into()),
            buyer_email: Some("abc123@marketplace.amazon.com".into()),
            address: Some(SbAddress::default()),
            ship_within_hours: 48,
            deliver_within_hours: 120,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct SbAddress {
    pub name: String,
    pub line1: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
}

impl Default for SbAddress {
    fn default() -> Self {
        Self {
            name: "Jane Doe".into(),
            line1: "410 Terry Ave N".into(),
            city: "Seattle".into(),
            region: "WA".into(),
            postal_code: "98109".into(),
            country: "US".into(),
            phone: Some("+1 206 555 0100".into()),
        }
    }
}

pub(crate) struct SbOrder {
    pub order: Value,
    pub items: Vec<Value>,
    pub address: Option<SbAddress>,
    pub buyer: Option<(Option<String>, Option<String>)>,
    pub updated: Timestamp,
    pub seq: u64,
    pub packages: Vec<(String, String)>,
}

/// A listing as the sandbox holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SbListing {
    pub sku: String,
    pub asin: String,
    pub product_type: String,
    pub attributes: Map<String, Value>,
    /// Merchant-fulfilled (`DEFAULT`) quantity.
    pub quantity: Option<i64>,
    pub price: Option<Decimal>,
    pub currency: String,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// FBA inventory of one SKU.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FbaRow {
    pub sku: String,
    pub asin: String,
    pub fulfillable: i64,
    pub inbound_working: i64,
    pub inbound_shipped: i64,
    pub inbound_receiving: i64,
    pub reserved: i64,
    pub researching: i64,
    pub unfulfillable: i64,
}

pub(crate) struct Doc {
    pub content: Option<Vec<u8>>,
    pub gzip: bool,
}

pub(crate) struct Feed {
    pub id: String,
    pub feed_type: &'static str,
    pub created: Timestamp,
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub input_doc: String,
    pub ready_at: std::time::Instant,
    pub status: &'static str,
    pub result_doc: Option<String>,
    pub fatal: bool,
}

pub(crate) struct Group {
    pub id: String,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    /// (list name, event)
    pub events: Vec<(String, Value)>,
    pub total: Decimal,
    pub beginning: Decimal,
}

pub(crate) struct Cursor {
    pub after: String,
    pub marketplaces: String,
    pub snapshot: Timestamp,
    pub last: (Timestamp, u64),
    pub size: usize,
}

pub(crate) struct State {
    pub seller_id: String,
    pub marketplace_id: String,
    pub currency: String,
    pub orders: BTreeMap<String, SbOrder>,
    pub listings: BTreeMap<String, SbListing>,
    pub fba: BTreeMap<String, FbaRow>,
    pub docs: BTreeMap<String, Doc>,
    pub feeds: BTreeMap<String, Feed>,
    /// Seller Central's returns list, and the returns reports requested.
    pub returns: Vec<super::returns::NewReturn>,
    pub reports: BTreeMap<String, super::returns::Report>,
    pub groups: Vec<Group>,
    pub cursors: BTreeMap<String, Cursor>,
    pub item_cursors: BTreeMap<String, (String, usize)>,
    pub page_cursors: BTreeMap<String, usize>,
    pub bad_skus: BTreeMap<String, (String, String)>,
    pub counters: Counters,
    pub seq: u64,
    pub items_per_page: usize,
    pub gzip_reports: bool,
}

impl State {
    pub fn new(seller_id: &str, marketplace_id: &str, currency: &str) -> Self {
        Self {
            seller_id: seller_id.into(),
            marketplace_id: marketplace_id.into(),
            currency: currency.into(),
            orders: BTreeMap::new(),
            listings: BTreeMap::new(),
            fba: BTreeMap::new(),
            docs: BTreeMap::new(),
            feeds: BTreeMap::new(),
            returns: Vec::new(),
            reports: BTreeMap::new(),
            groups: Vec::new(),
            cursors: BTreeMap::new(),
            item_cursors: BTreeMap::new(),
            page_cursors: BTreeMap::new(),
            bad_skus: BTreeMap::new(),
            counters: Counters::default(),
            seq: 0,
            items_per_page: 20,
            gzip_reports: false,
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn token(&mut self, prefix: &str) -> String {
        let n = self.next_seq();
        format!("{prefix}{n:08}x{:04x}", (n * 40503) % 65536)
    }

    // ------------------------------------------------------------ orders

    pub fn create_order(&mut self, spec: NewOrder) -> ApiResult<String> {
        let n = self.next_seq();
        let id = spec
            .id
            .clone()
            .unwrap_or_else(|| format!("902-{:07}-{:07}", n % 10_000_000, (n * 7919) % 10_000_000));
        if self.orders.contains_key(&id) {
            return Err(ApiError::invalid(format!("order {id} exists")));
        }
        let now = Timestamp::now();
        let cur = self.currency.clone();
        let mut total = Decimal::ZERO;
        let mut items = Vec::new();
        for (i, it) in spec.items.iter().enumerate() {
            let line = it.price * Decimal::from(it.quantity);
            total += line - it.promotion + it.shipping;
            // OrderTotal includes tax whoever remits it.
            total += it.tax;
            let mut item = json!({
                "ASIN": format!("B0SBX{:05}", i + 1),
                "SellerSKU": it.sku,
                "OrderItemId": format!("{}{:02}", 10_000_000_000u64 + n, i + 1),
                "Title": it.title,
                "QuantityOrdered": it.quantity,
                "QuantityShipped": 0,
                "ItemPrice": money(line, &cur),
                "ItemTax": money(it.tax, &cur),
                "ShippingPrice": money(it.shipping, &cur),
                "ShippingTax": money(Decimal::ZERO, &cur),
                "ShippingDiscount": money(Decimal::ZERO, &cur),
                "PromotionDiscount": money(it.promotion, &cur),
                "PromotionDiscountTax": money(Decimal::ZERO, &cur),
                "IsGift": "false",
                "ConditionId": "New",
            });
            if !it.promotion.is_zero() {
                item["PromotionIds"] = json!(["SBX-PROMO-1"]);
            }
            if it.facilitator {
                item["TaxCollection"] = json!({"Model": "MarketplaceFacilitator", "ResponsibleParty": "Amazon Services, Inc."});
            }
            items.push(item);
        }
        let ship_by = now
            .checked_add(SignedDuration::from_hours(spec.ship_within_hours))
            .unwrap_or(now);
        let deliver_by = now
            .checked_add(SignedDuration::from_hours(spec.deliver_within_hours))
            .unwrap_or(now);
        let units: u32 = spec.items.iter().map(|i| i.quantity).sum();
        let order = json!({
            "AmazonOrderId": id,
            "PurchaseDate": iso(now),
            "LastUpdateDate": iso(now),
            "OrderStatus": spec.status,
            "FulfillmentChannel": spec.fulfillment,
            "SalesChannel": "Amazon.com",
            "ShipServiceLevel": format!("Std {} Dom", spec.category),
            "OrderTotal": money(total, &cur),
            "NumberOfItemsShipped": 0,
            "NumberOfItemsUnshipped": units,
            "PaymentMethod": "Other",
            "PaymentMethodDetails": ["Standard"],
            "MarketplaceId": self.marketplace_id,
            "ShipmentServiceLevelCategory": spec.category,
            "OrderType": "StandardOrder",
            "EarliestShipDate": iso(now),
            "LatestShipDate": iso(ship_by),
            "EarliestDeliveryDate": iso(now),
            "LatestDeliveryDate": iso(deliver_by),
            "IsBusinessOrder": spec.business,
            "IsPrime": spec.prime,
            "IsPremiumOrder": false,
            "IsGlobalExpressEnabled": false,
            "IsReplacementOrder": false,
            "IsSoldByAB": false,
            "IsISPU": false,
            "IsAccessPointOrder": false,
            "HasRegulatedItems": false,
        });
        let seq = self.next_seq();
        self.orders.insert(
            id.clone(),
            SbOrder {
                order,
                items,
                address: spec.address.clone(),
                buyer: Some((spec.buyer_name.clone(), spec.buyer_email.clone())),
                updated: now,
                seq,
                packages: Vec::new(),
            },
        );
        Ok(id)
    }

    pub fn touch(&mut self, id: &str) {
        let seq = self.next_seq();
        if let Some(o) = self.orders.get_mut(id) {
            let now = Timestamp::now().max(o.updated);
            o.updated = now;
            o.seq = seq;
            o.order["LastUpdateDate"] = json!(iso(now));
        }
    }

    pub fn set_order_status(&mut self, id: &str, status: &str) -> ApiResult<()> {
        let o = self
            .orders
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
        o.order["OrderStatus"] = json!(status);
        self.touch(id);
        Ok(())
    }

    /// The order as getOrders/getOrder show it: PII only with a Restricted Data Token.
    pub fn order_view(&self, o: &SbOrder, pii: bool) -> Value {
        let mut v = o.order.clone();
        if let Some(a) = &o.address {
            let mut addr = json!({
                "City": a.city,
                "StateOrRegion": a.region,
                "PostalCode": a.postal_code,
                "CountryCode": a.country,
            });
            if pii {
                addr["Name"] = json!(a.name);
                addr["AddressLine1"] = json!(a.line1);
                if let Some(p) = &a.phone {
                    addr["Phone"] = json!(p);
                }
                addr["AddressType"] = json!("Residential");
            }
            v["ShippingAddress"] = addr;
        }
        if pii && let Some((name, email)) = &o.buyer {
            let mut b = Map::new();
            if let Some(e) = email {
                b.insert("BuyerEmail".into(), json!(e));
            }
            if let Some(n) = name {
                b.insert("BuyerName".into(), json!(n));
            }
            v["BuyerInfo"] = Value::Object(b);
        }
        v
    }

    pub fn get_orders(&mut self, q: &BTreeMap<String, String>, pii: bool) -> ApiResult<Value> {
        let marketplaces = q
            .get("MarketplaceIds")
            .cloned()
            .ok_or_else(|| ApiError::invalid("MarketplaceIds is required"))?;
        let ids: Vec<&str> = marketplaces.split(',').collect();
        if ids.len() > 50 {
            return Err(ApiError::invalid("MarketplaceIds: at most 50"));
        }
        if !ids.contains(&self.marketplace_id.as_str()) {
            return Err(ApiError::invalid(format!(
                "Invalid MarketplaceIds: {marketplaces}"
            )));
        }
        let size = match q.get("MaxResultsPerPage") {
            None => 100,
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| ApiError::invalid("MaxResultsPerPage must be 1..=100"))?,
        };
        let (key, mut cursor) = match q.get("NextToken") {
            Some(t) => {
                let c = self
                    .cursors
                    .remove(t)
                    .ok_or_else(|| ApiError::invalid("Invalid NextToken"))?;
                // With NextToken the other filters must be those of the first request.
                if c.marketplaces != marketplaces
                    || q.get("LastUpdatedAfter").is_some_and(|a| *a != c.after)
                {
                    self.cursors.insert(t.clone(), c);
                    return Err(ApiError::invalid(
                        "NextToken was issued for other filters (MarketplaceIds/LastUpdatedAfter changed)",
                    ));
                }
                (t.clone(), c)
            }
            None => {
                let after = q.get("LastUpdatedAfter").cloned().ok_or_else(|| {
                    ApiError::invalid("Either CreatedAfter or LastUpdatedAfter must be given")
                })?;
                let at: Timestamp = after.parse().map_err(|_| {
                    ApiError::invalid(format!("LastUpdatedAfter {after:?} is not ISO 8601"))
                })?;
                if at > Timestamp::now() {
                    return Err(ApiError::invalid("LastUpdatedAfter is in the future"));
                }
                let key = self.token("sbx-orders-");
                (
                    key,
                    Cursor {
                        after,
                        marketplaces: marketplaces.clone(),
                        snapshot: Timestamp::now(),
                        last: (Timestamp::MIN, 0),
                        size,
                    },
                )
            }
        };
        let after: Timestamp = cursor.after.parse().unwrap_or(Timestamp::MIN);
        let mut rows: Vec<&SbOrder> = self
            .orders
            .values()
            .filter(|o| {
                o.updated >= after
                    && o.updated <= cursor.snapshot
                    && (o.updated, o.seq) > cursor.last
            })
            .collect();
        rows.sort_by_key(|o| (o.updated, o.seq));
        let more = rows.len() > cursor.size;
        rows.truncate(cursor.size);
        let orders: Vec<Value> = rows.iter().map(|o| self.order_view(o, pii)).collect();
        let mut payload = json!({
            "Orders": orders,
            "LastUpdatedBefore": iso(cursor.snapshot),
        });
        if more && let Some(last) = rows.last() {
            cursor.last = (last.updated, last.seq);
            payload["NextToken"] = json!(key.clone());
            self.cursors.insert(key, cursor);
        }
        Ok(json!({ "payload": payload }))
    }

    pub fn get_order(&self, id: &str, pii: bool) -> ApiResult<Value> {
        let o = self
            .orders
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("Invalid AmazonOrderId {id}")))?;
        Ok(json!({"payload": self.order_view(o, pii)}))
    }

    pub fn get_order_items(&mut self, id: &str, next: Option<&str>) -> ApiResult<Value> {
        let start = match next {
            Some(t) => {
                let (oid, pos) = self
                    .item_cursors
                    .remove(t)
                    .ok_or_else(|| ApiError::invalid("Invalid NextToken"))?;
                if oid != id {
                    return Err(ApiError::invalid("NextToken belongs to another order"));
                }
                pos
            }
            None => 0,
        };
        let per = self.items_per_page.max(1);
        let o = self
            .orders
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("Invalid AmazonOrderId {id}")))?;
        let page: Vec<Value> = o.items.iter().skip(start).take(per).cloned().collect();
        let more = start + per < o.items.len();
        let mut payload = json!({"AmazonOrderId": id, "OrderItems": page});
        if more {
            let t = self.token("sbx-items-");
            self.item_cursors
                .insert(t.clone(), (id.to_string(), start + per));
            payload["NextToken"] = json!(t);
        }
        Ok(json!({ "payload": payload }))
    }

    pub fn confirm_shipment(&mut self, id: &str, body: &Value) -> ApiResult<()> {
        if body.get("marketplaceId").and_then(Value::as_str) != Some(self.marketplace_id.as_str()) {
            return Err(ApiError::invalid(
                "marketplaceId is missing or not this marketplace",
            ));
        }
        let p = body
            .get("packageDetail")
            .ok_or_else(|| ApiError::invalid("packageDetail is required"))?;
        let s = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
        };
        let reference = s("packageReferenceId")
            .ok_or_else(|| ApiError::invalid("packageDetail.packageReferenceId is required"))?;
        if !reference.chars().all(|c| c.is_ascii_digit())
            || reference.parse::<u64>().ok() == Some(0)
        {
            return Err(ApiError::invalid(
                "packageReferenceId must be a positive number",
            ));
        }
        let carrier = s("carrierCode")
            .ok_or_else(|| ApiError::invalid("packageDetail.carrierCode is required"))?;
        if carrier == "Other" && s("carrierName").is_none() {
            return Err(ApiError::invalid(
                "carrierName is required when carrierCode is Other",
            ));
        }
        let tracking = s("trackingNumber")
            .ok_or_else(|| ApiError::invalid("packageDetail.trackingNumber is required"))?;
        let ship_date =
            s("shipDate").ok_or_else(|| ApiError::invalid("packageDetail.shipDate is required"))?;
        if ship_date.parse::<Timestamp>().is_err() {
            return Err(ApiError::invalid("shipDate is not ISO 8601"));
        }
        let lines = p
            .get("orderItems")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ApiError::invalid("packageDetail.orderItems is required"))?;
        let o = self
            .orders
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("Invalid AmazonOrderId {id}")))?;
        if o.order["FulfillmentChannel"] == "AFN" {
            return Err(ApiError::invalid(
                "Amazon-fulfilled (AFN) orders are shipped by Amazon",
            ));
        }
        let status = o.order["OrderStatus"].as_str().unwrap_or_default();
        if !matches!(status, "Unshipped" | "PartiallyShipped") {
            return Err(ApiError::invalid(format!(
                "order is {status}: nothing to confirm"
            )));
        }
        if o.packages
            .iter()
            .any(|(r, t)| r == reference || t == tracking)
        {
            return Err(ApiError::invalid(format!(
                "package {reference} / tracking {tracking} was already confirmed for this order"
            )));
        }
        let mut plan = Vec::new();
        for l in lines {
            let item = l
                .get("orderItemId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let q = l.get("quantity").and_then(Value::as_i64).unwrap_or(0);
            let idx = o
                .items
                .iter()
                .position(|i| i["OrderItemId"] == item)
                .ok_or_else(|| {
                    ApiError::invalid(format!("orderItemId {item} is not on this order"))
                })?;
            let left = o.items[idx]["QuantityOrdered"].as_i64().unwrap_or(0)
                - o.items[idx]["QuantityShipped"].as_i64().unwrap_or(0);
            if q <= 0 || q > left {
                return Err(ApiError::invalid(format!(
                    "orderItemId {item}: quantity {q} exceeds the {left} unshipped"
                )));
            }
            plan.push((idx, q));
        }
        for (idx, q) in plan {
            let shipped = o.items[idx]["QuantityShipped"].as_i64().unwrap_or(0) + q;
            o.items[idx]["QuantityShipped"] = json!(shipped);
        }
        o.packages
            .push((reference.to_string(), tracking.to_string()));
        let (ordered, shipped) = o.items.iter().fold((0, 0), |(a, b), i| {
            (
                a + i["QuantityOrdered"].as_i64().unwrap_or(0),
                b + i["QuantityShipped"].as_i64().unwrap_or(0),
            )
        });
        o.order["NumberOfItemsShipped"] = json!(shipped);
        o.order["NumberOfItemsUnshipped"] = json!(ordered - shipped);
        o.order["OrderStatus"] = json!(if shipped >= ordered {
            "Shipped"
        } else {
            "PartiallyShipped"
        });
        self.counters.shipment_confirmations += 1;
        self.touch(id);
        Ok(())
    }

    // ------------------------------------------------------------ listings

    pub fn upsert_listing_seed(&mut self, sku: &str, quantity: i64, price: Decimal) {
        let now = Timestamp::now();
        let n = self.listings.len() + 1;
        let cur = self.currency.clone();
        self.listings.insert(
            sku.to_string(),
            SbListing {
                sku: sku.to_string(),
                asin: format!("B0L{n:07}"),
                product_type: "PRODUCT".into(),
                attributes: Map::new(),
                quantity: Some(quantity),
                price: Some(price),
                currency: cur,
                created: now,
                updated: now,
            },
        );
    }

    fn issue(code: &str, message: &str, attribute: Option<&str>) -> Value {
        let mut i = json!({"code": code, "message": message, "severity": "ERROR", "categories": ["INVALID_ATTRIBUTE"]});
        if let Some(a) = attribute {
            i["attributeNames"] = json!([a]);
        }
        i
    }

    /// Applies JSON Patch operations to a listing; the issues that refuse them, if any.
    fn apply_patches(&mut self, sku: &str, product_type: &str, patches: &[Value]) -> Vec<Value> {
        if let Some((code, msg)) = self.bad_skus.get(sku) {
            return vec![Self::issue(code, msg, None)];
        }
        let Some(l) = self.listings.get(sku) else {
            return vec![Self::issue(
                "SBX_LISTING_NOT_FOUND",
                &format!("SKU {sku} has no listing to patch in this marketplace"),
                None,
            )];
        };
        let mut next = l.clone();
        let mut issues = Vec::new();
        for p in patches {
            let op = p.get("op").and_then(Value::as_str).unwrap_or_default();
            let path = p.get("path").and_then(Value::as_str).unwrap_or_default();
            let Some(attr) = path
                .strip_prefix("/attributes/")
                .filter(|a| !a.is_empty() && !a.contains('/'))
            else {
                issues.push(Self::issue(
                    "SBX_INVALID_PATH",
                    &format!("path {path:?} is not a top-level attribute"),
                    None,
                ));
                continue;
            };
            if !matches!(op, "add" | "replace" | "merge" | "delete") {
                issues.push(Self::issue(
                    "SBX_INVALID_OP",
                    &format!("op {op:?}"),
                    Some(attr),
                ));
                continue;
            }
            if op == "delete" {
                next.attributes.remove(attr);
                if attr == "fulfillment_availability" {
                    next.quantity = None;
                }
                continue;
            }
            let value = p.get("value").cloned().unwrap_or(Value::Null);
            match attr {
                "fulfillment_availability" => {
                    let e = value.get(0);
                    let code = e
                        .and_then(|e| e.get("fulfillment_channel_code"))
                        .and_then(Value::as_str);
                    let q = e.and_then(|e| e.get("quantity"));
                    match (code, q.and_then(Value::as_i64)) {
                        (Some("DEFAULT"), Some(q)) if q >= 0 => next.quantity = Some(q),
                        (Some("DEFAULT"), _) => issues.push(Self::issue(
                            "SBX_INVALID_QUANTITY",
                            &format!("quantity {:?} must be a whole number >= 0", q.cloned().unwrap_or(Value::Null)),
                            Some(attr),
                        )),
                        (other, _) => issues.push(Self::issue(
                            "SBX_FULFILLMENT_CHANNEL",
                            &format!("fulfillment_channel_code {other:?}: only DEFAULT (merchant) quantities can be set"),
                            Some(attr),
                        )),
                    }
                }
                "purchasable_offer" => {
                    let o = value.get(0);
                    let price = o
                        .and_then(|o| o.get("our_price"))
                        .and_then(|p| p.get(0))
                        .and_then(|p| p.get("schedule"))
                        .and_then(|s| s.get(0))
                        .and_then(|s| s.get("value_with_tax"))
                        .and_then(|v| Decimal::from_str_exact(&v.to_string()).ok());
                    let cur = o.and_then(|o| o.get("currency")).and_then(Value::as_str);
                    match (price, cur) {
                        (Some(p), Some(c)) if p > Decimal::ZERO && c == self.currency => {
                            next.price = Some(p);
                            next.attributes.insert(attr.into(), value.clone());
                        }
                        _ => issues.push(Self::issue(
                            "SBX_INVALID_PRICE",
                            &format!(
                                "purchasable_offer needs a positive our_price in {}",
                                self.currency
                            ),
                            Some(attr),
                        )),
                    }
                }
                _ => {
                    next.attributes.insert(attr.into(), value);
                }
            }
        }
        if issues.is_empty() {
            next.product_type = product_type.to_string();
            next.updated = Timestamp::now();
            self.listings.insert(sku.to_string(), next);
        }
        issues
    }

    pub fn patch_listing(&mut self, sku: &str, body: &Value) -> ApiResult<Value> {
        let pt = body
            .get("productType")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid("productType is required"))?
            .to_string();
        let patches = body
            .get("patches")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ApiError::invalid("patches is required"))?
            .clone();
        let issues = self.apply_patches(sku, &pt, &patches);
        Ok(self.submission(sku, issues))
    }

    fn submission(&mut self, sku: &str, issues: Vec<Value>) -> Value {
        let id = self.token("sbx-sub-");
        let mut v = json!({
            "sku": sku,
            "status": if issues.is_empty() { "ACCEPTED" } else { "INVALID" },
            "submissionId": id,
            "issues": issues,
        });
        if let Some(l) = self.listings.get(sku) {
            v["identifiers"] = json!([{"marketplaceId": self.marketplace_id, "asin": l.asin}]);
        }
        v
    }

    pub fn put_listing(&mut self, sku: &str, body: &Value) -> ApiResult<Value> {
        let pt = body
            .get("productType")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid("productType is required"))?
            .to_string();
        let attrs = body
            .get("attributes")
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::invalid("attributes is required"))?
            .clone();
        if let Some((code, msg)) = self.bad_skus.get(sku).cloned() {
            return Ok(self.submission(sku, vec![Self::issue(&code, &msg, None)]));
        }
        let offer_only =
            body.get("requirements").and_then(Value::as_str) == Some("LISTING_OFFER_ONLY");
        if !offer_only && !attrs.contains_key("item_name") {
            let i = Self::issue(
                "SBX_MISSING_ATTRIBUTE",
                "'item_name' is required but not supplied.",
                Some("item_name"),
            );
            return Ok(self.submission(sku, vec![i]));
        }
        let now = Timestamp::now();
        let n = self.listings.len() + 1;
        let asin = attrs
            .get("merchant_suggested_asin")
            .and_then(|v| v.get(0))
            .and_then(|v| v.get("value"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("B0L{n:07}"));
        let old = self.listings.get(sku).cloned();
        let price = attrs
            .get("purchasable_offer")
            .and_then(|o| o.pointer("/0/our_price/0/schedule/0/value_with_tax"))
            .and_then(|v| Decimal::from_str_exact(&v.to_string()).ok());
        let quantity = attrs
            .get("fulfillment_availability")
            .and_then(|f| f.pointer("/0/quantity"))
            .and_then(Value::as_i64);
        self.listings.insert(
            sku.to_string(),
            SbListing {
                sku: sku.to_string(),
                asin,
                product_type: pt,
                attributes: attrs,
                quantity,
                price,
                currency: self.currency.clone(),
                created: old.map(|o| o.created).unwrap_or(now),
                updated: now,
            },
        );
        Ok(self.submission(sku, vec![]))
    }

    pub fn item_view(&self, l: &SbListing, included: &BTreeSet<String>) -> Value {
        let mut v = json!({"sku": l.sku});
        if included.contains("summaries") {
            v["summaries"] = json!([{
                "marketplaceId": self.marketplace_id,
                "asin": l.asin,
                "productType": l.product_type,
                "conditionType": "new_new",
                "status": if l.quantity.unwrap_or(0) > 0 { json!(["BUYABLE", "DISCOVERABLE"]) } else { json!(["DISCOVERABLE"]) },
                "itemName": l.attributes.get("item_name").and_then(|v| v.pointer("/0/value")).and_then(Value::as_str).unwrap_or(&l.sku),
                "createdDate": iso(l.created),
                "lastUpdatedDate": iso(l.updated),
            }]);
        }
        if included.contains("attributes") {
            v["attributes"] = Value::Object(l.attributes.clone());
        }
        if included.contains("issues") {
            v["issues"] = json!([]);
        }
        if included.contains("offers") {
            v["offers"] = match l.price {
                Some(p) => json!([{"marketplaceId": self.marketplace_id, "offerType": "B2C",
                                   "price": {"currencyCode": l.currency, "amount": p.to_string()}}]),
                None => json!([]),
            };
        }
        if included.contains("fulfillmentAvailability") {
            v["fulfillmentAvailability"] = match l.quantity {
                Some(q) => json!([{"fulfillmentChannelCode": "DEFAULT", "quantity": q}]),
                None => json!([]),
            };
        }
        v
    }

    // ------------------------------------------------------------ feeds

    pub fn create_feed_document(&mut self, body: &Value) -> ApiResult<String> {
        body.get("contentType")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("contentType is required"))?;
        let id = self.token("amzn1.tortuga.4.sbx.");
        self.docs.insert(
            id.clone(),
            Doc {
                content: None,
                gzip: false,
            },
        );
        Ok(id)
    }

    /// The part a feed's and a report's specification share: its type (`type_key`, one of
    /// those the sandbox serves, which is returned) and `marketplaceIds`, which must name this
    /// marketplace.
    pub(crate) fn check_spec(
        &self,
        body: &Value,
        type_key: &str,
        served: &[&'static str],
    ) -> ApiResult<&'static str> {
        let t = body
            .get(type_key)
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid(format!("{type_key} is required")))?;
        let Some(t) = served.iter().copied().find(|s| *s == t) else {
            return Err(ApiError::invalid(format!(
                "{type_key} {t} is not supported by the sandbox"
            )));
        };
        let m = body
            .get("marketplaceIds")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid("marketplaceIds is required"))?;
        if !m
            .iter()
            .any(|x| x.as_str() == Some(self.marketplace_id.as_str()))
        {
            return Err(ApiError::invalid(
                "marketplaceIds does not name this marketplace",
            ));
        }
        Ok(t)
    }

    pub fn create_feed(&mut self, body: &Value, delay: std::time::Duration) -> ApiResult<String> {
        let feed_type = self.check_spec(
            body,
            "feedType",
            &["JSON_LISTINGS_FEED", crate::cancel::FEED_TYPE],
        )?;
        let doc = body
            .get("inputFeedDocumentId")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid("inputFeedDocumentId is required"))?;
        match self.docs.get(doc) {
            None => {
                return Err(ApiError::invalid(format!(
                    "unknown inputFeedDocumentId {doc}"
                )));
            }
            Some(d) if d.content.is_none() => {
                return Err(ApiError::invalid("the feed document was never uploaded"));
            }
            _ => {}
        }
        let n = self.next_seq();
        let id = format!("{}", 50_000_000_000u64 + n);
        self.feeds.insert(
            id.clone(),
            Feed {
                id: id.clone(),
                feed_type,
                created: Timestamp::now(),
                started: None,
                ended: None,
                input_doc: doc.to_string(),
                ready_at: std::time::Instant::now() + delay,
                status: "IN_QUEUE",
                result_doc: None,
                fatal: false,
            },
        );
        Ok(id)
    }

    /// Moves a feed along its states; processes it once it is due.
    pub fn advance_feed(&mut self, id: &str) -> ApiResult<()> {
        let now = std::time::Instant::now();
        let f = self
            .feeds
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("feed {id}")))?;
        if f.status == "IN_QUEUE" {
            f.status = "IN_PROGRESS";
            f.started = Some(Timestamp::now());
        }
        if f.status != "IN_PROGRESS" || now < f.ready_at {
            return Ok(());
        }
        let fatal = f.fatal;
        let ack = f.feed_type == crate::cancel::FEED_TYPE;
        let doc_id = f.input_doc.clone();
        let content = self
            .docs
            .get(&doc_id)
            .and_then(|d| d.content.clone())
            .unwrap_or_default();
        if fatal {
            let f = self.feeds.get_mut(id).expect("present");
            f.status = "FATAL";
            f.ended = Some(Timestamp::now());
            return Ok(());
        }
        let bytes = if ack {
            self.process_acknowledgements(&content).into_bytes()
        } else {
            serde_json::to_vec(&self.process_feed(id, &content)).unwrap_or_default()
        };
        let rid = self.token("amzn1.tortuga.4.sbx.report.");
        let gzip = self.gzip_reports;
        let bytes = if gzip { gzip_bytes(&bytes) } else { bytes };
        self.docs.insert(
            rid.clone(),
            Doc {
                content: Some(bytes),
                gzip,
            },
        );
        let f = self.feeds.get_mut(id).expect("present");
        f.status = "DONE";
        f.ended = Some(Timestamp::now());
        f.result_doc = Some(rid);
        Ok(())
    }

    fn process_feed(&mut self, feed_id: &str, content: &[u8]) -> Value {
        let mut issues = Vec::new();
        let (mut processed, mut accepted, mut invalid) = (0u64, 0u64, 0u64);
        let doc: Option<Value> = serde_json::from_slice(content).ok();
        let header_ok = doc.as_ref().and_then(|d| d.get("header")).is_some_and(|h| {
            h.get("sellerId").and_then(Value::as_str) == Some(self.seller_id.as_str())
                && h.get("version") == Some(&json!("2.0"))
        });
        match doc
            .as_ref()
            .and_then(|d| d.get("messages"))
            .and_then(Value::as_array)
        {
            Some(messages) if header_ok => {
                for m in messages {
                    processed += 1;
                    let mid = m.get("messageId").and_then(Value::as_u64);
                    let sku = m
                        .get("sku")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let pt = m
                        .get("productType")
                        .and_then(Value::as_str)
                        .unwrap_or("PRODUCT")
                        .to_string();
                    let found = match (mid, m.get("operationType").and_then(Value::as_str)) {
                        (Some(_), Some("PATCH")) => {
                            let patches = m
                                .get("patches")
                                .and_then(Value::as_array)
                                .cloned()
                                .unwrap_or_default();
                            if patches.is_empty() || sku.is_empty() {
                                vec![Self::issue(
                                    "SBX_INVALID_MESSAGE",
                                    "PATCH needs sku and patches",
                                    None,
                                )]
                            } else {
                                self.apply_patches(&sku, &pt, &patches)
                            }
                        }
                        (Some(_), Some(op)) => vec![Self::issue(
                            "SBX_UNSUPPORTED",
                            &format!("operationType {op} is not supported by the sandbox"),
                            None,
                        )],
                        _ => vec![Self::issue(
                            "SBX_INVALID_MESSAGE",
                            "messageId and operationType are required",
                            None,
                        )],
                    };
                    if found.is_empty() {
                        accepted += 1;
                    } else {
                        invalid += 1;
                        for i in found {
                            let mut issue = json!({
                                "severity": "ERROR",
                                "code": i["code"],
                                "message": i["message"],
                            });
                            if let Some(mid) = mid {
                                issue["messageId"] = json!(mid);
                            }
                            if !sku.is_empty() {
                                issue["sku"] = json!(sku);
                            }
                            if let Some(a) = i.get("attributeNames").and_then(|a| a.get(0)) {
                                issue["attributeName"] = a.clone();
                            }
                            issues.push(issue);
                        }
                    }
                }
            }
            _ => issues.push(json!({
                "severity": "ERROR",
                "code": "SBX_INVALID_DOCUMENT",
                "message": "the feed document is not a JSON listings feed v2 for this seller",
            })),
        }
        json!({
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed_id},
            "issues": issues,
            "summary": {
                "errors": issues.len(),
                "warnings": 0,
                "messagesProcessed": processed,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            },
        })
    }

    pub fn feed_view(&self, f: &Feed) -> Value {
        let mut v = json!({
            "feedId": f.id,
            "feedType": f.feed_type,
            "marketplaceIds": [self.marketplace_id],
            "createdTime": iso(f.created),
            "processingStatus": f.status,
        });
        processing_times(&mut v, f.started, f.ended);
        if let Some(d) = &f.result_doc {
            v["resultFeedDocumentId"] = json!(d);
        }
        v
    }

    // ------------------------------------------------------------ FBA

    pub fn inventory_summaries(&mut self, q: &BTreeMap<String, String>) -> ApiResult<Value> {
        if q.get("granularityType").map(String::as_str) != Some("Marketplace") {
            return Err(ApiError::invalid("granularityType must be Marketplace"));
        }
        let gid = q
            .get("granularityId")
            .ok_or_else(|| ApiError::invalid("granularityId is required"))?;
        let m = q
            .get("marketplaceIds")
            .ok_or_else(|| ApiError::invalid("marketplaceIds is required"))?;
        if m.split(',').count() != 1 || *m != self.marketplace_id || *gid != self.marketplace_id {
            return Err(ApiError::invalid(
                "marketplaceIds/granularityId: exactly this marketplace",
            ));
        }
        let skus: Option<BTreeSet<String>> = q
            .get("sellerSkus")
            .map(|s| s.split(',').map(str::to_string).collect());
        if skus.as_ref().is_some_and(|s| s.len() > 50) {
            return Err(ApiError::invalid("sellerSkus: at most 50"));
        }
        let details = q.get("details").map(String::as_str) == Some("true");
        let start = match q.get("nextToken") {
            Some(t) => self
                .page_cursors
                .remove(t)
                .ok_or_else(|| ApiError::invalid("Invalid nextToken"))?,
            None => 0,
        };
        let rows: Vec<&FbaRow> = self
            .fba
            .values()
            .filter(|r| skus.as_ref().is_none_or(|s| s.contains(&r.sku)))
            .collect();
        let per = 50;
        let now = iso(Timestamp::now());
        let list: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(per)
            .map(|r| {
                let total = r.fulfillable + r.inbound_working + r.inbound_shipped + r.inbound_receiving + r.reserved + r.researching + r.unfulfillable;
                let mut v = json!({
                    "asin": r.asin, "fnSku": format!("X00{}", r.asin), "sellerSku": r.sku,
                    "condition": "NewItem", "lastUpdatedTime": now, "productName": format!("Product {}", r.sku),
                    "totalQuantity": total,
                });
                if details {
                    v["inventoryDetails"] = json!({
                        "fulfillableQuantity": r.fulfillable,
                        "inboundWorkingQuantity": r.inbound_working,
                        "inboundShippedQuantity": r.inbound_shipped,
                        "inboundReceivingQuantity": r.inbound_receiving,
                        "reservedQuantity": {"totalReservedQuantity": r.reserved, "pendingCustomerOrderQuantity": r.reserved, "pendingTransshipmentQuantity": 0, "fcProcessingQuantity": 0},
                        "researchingQuantity": {"totalResearchingQuantity": r.researching, "researchingQuantityBreakdown": []},
                        "unfulfillableQuantity": {"totalUnfulfillableQuantity": r.unfulfillable, "customerDamagedQuantity": r.unfulfillable, "warehouseDamagedQuantity": 0, "distributorDamagedQuantity": 0, "carrierDamagedQuantity": 0, "defectiveQuantity": 0, "expiredQuantity": 0},
                    });
                }
                v
            })
            .collect();
        let more = start + per < rows.len();
        let mut out = json!({
            "payload": {"granularity": {"granularityType": "Marketplace", "granularityId": gid}, "inventorySummaries": list},
        });
        if more {
            let t = self.token("sbx-fba-");
            self.page_cursors.insert(t.clone(), start + per);
            out["pagination"] = json!({"nextToken": t});
        }
        Ok(out)
    }

    // ------------------------------------------------------------ finances

    /// Closes a settlement period over these (shipped) orders: principal, tax, shipping,
    /// promotions, commission (15 %), FBA fees for AFN orders, facilitator tax withheld; plus a
    /// refund of `refund_order` if given, a subscription fee and an adjustment.
    pub fn settle(
        &mut self,
        order_ids: &[String],
        refund_order: Option<&str>,
        adjustment: Option<Decimal>,
    ) -> ApiResult<String> {
        let cur = self.currency.clone();
        let now = Timestamp::now();
        let start = self.groups.last().and_then(|g| g.end).unwrap_or_else(|| {
            now.checked_sub(SignedDuration::from_hours(24 * 14))
                .unwrap_or(now)
        });
        let mut events: Vec<(String, Value)> = Vec::new();
        let mut total = Decimal::ZERO;
        let pct = Decimal::new(15, 2);
        for id in order_ids {
            let o = self
                .orders
                .get(id)
                .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
            let afn = o.order["FulfillmentChannel"] == "AFN";
            let mut items = Vec::new();
            for it in &o.items {
                let amt = |k: &str| {
                    it.get(k)
                        .and_then(|m| m.get("Amount"))
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse::<Decimal>().ok())
                        .unwrap_or_default()
                };
                let principal = amt("ItemPrice");
                let tax = amt("ItemTax");
                let ship = amt("ShippingPrice");
                let promo = amt("PromotionDiscount");
                let commission = -(principal * pct).round_dp(2);
                let qty = it["QuantityOrdered"].as_i64().unwrap_or(0);
                let facilitator = it.get("TaxCollection").is_some();
                let mut charges = vec![
                    json!({"ChargeType": "Principal", "ChargeAmount": fin(principal, &cur)}),
                    json!({"ChargeType": "Tax", "ChargeAmount": fin(tax, &cur)}),
                ];
                total += principal + tax;
                if !ship.is_zero() {
                    charges.push(
                        json!({"ChargeType": "ShippingCharge", "ChargeAmount": fin(ship, &cur)}),
                    );
                    total += ship;
                }
                let mut fees =
                    vec![json!({"FeeType": "Commission", "FeeAmount": fin(commission, &cur)})];
                total += commission;
                if afn {
                    let f = -Decimal::new(300, 2) * Decimal::from(qty);
                    fees.push(
                        json!({"FeeType": "FBAPerUnitFulfillmentFee", "FeeAmount": fin(f, &cur)}),
                    );
                    total += f;
                }
                let mut item = json!({
                    "SellerSKU": it["SellerSKU"], "OrderItemId": it["OrderItemId"], "QuantityShipped": qty,
                    "ItemChargeList": charges, "ItemFeeList": fees,
                });
                if !promo.is_zero() {
                    item["PromotionList"] = json!([{"PromotionType": "PromotionMetaDataDefinitionValue", "PromotionId": "SBX-PROMO-1", "PromotionAmount": fin(-promo, &cur)}]);
                    total -= promo;
                }
                if facilitator && !tax.is_zero() {
                    item["ItemTaxWithheldList"] = json!([{"TaxCollectionModel": "MarketplaceFacilitator",
                        "TaxesWithheld": [{"ChargeType": "MarketplaceFacilitatorTax-Principal", "ChargeAmount": fin(-tax, &cur)}]}]);
                    total -= tax;
                }
                items.push(item);
            }
            events.push(("ShipmentEventList".into(), json!({
                "AmazonOrderId": id, "MarketplaceName": "Amazon.com", "PostedDate": iso(now), "ShipmentItemList": items,
            })));
        }
        if let Some(id) = refund_order {
            let o = self
                .orders
                .get(id)
                .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
            let it = o
                .items
                .first()
                .ok_or_else(|| ApiError::invalid("order without items"))?;
            let principal = it
                .get("ItemPrice")
                .and_then(|m| m.get("Amount"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Decimal>().ok())
                .unwrap_or_default();
            let back = (principal * pct * Decimal::new(80, 2)).round_dp(2);
            total += -principal + back;
            events.push(("RefundEventList".into(), json!({
                "AmazonOrderId": id, "MarketplaceName": "Amazon.com", "PostedDate": iso(now),
                "ShipmentItemAdjustmentList": [{
                    "SellerSKU": it["SellerSKU"], "OrderAdjustmentItemId": format!("ADJ{}", it["OrderItemId"].as_str().unwrap_or("")),
                    "QuantityShipped": 1,
                    "ItemChargeAdjustmentList": [{"ChargeType": "Principal", "ChargeAmount": fin(-principal, &cur)}],
                    "ItemFeeAdjustmentList": [{"FeeType": "Commission", "FeeAmount": fin(back, &cur)}],
                }],
            })));
        }
        let sub = -Decimal::new(3999, 2);
        total += sub;
        events.push((
            "ServiceFeeEventList".into(),
            json!({
                "FeeReason": "Subscription", "FeeDescription": "Professional selling plan",
                "FeeList": [{"FeeType": "Subscription", "FeeAmount": fin(sub, &cur)}],
            }),
        ));
        if let Some(a) = adjustment {
            total += a;
            events.push(("AdjustmentEventList".into(), json!({
                "AdjustmentType": "ReserveDebit", "PostedDate": iso(now), "AdjustmentAmount": fin(a, &cur),
            })));
        }
        let n = self.next_seq();
        let id = format!("sbxgrp{n:06}");
        self.groups.push(Group {
            id: id.clone(),
            start,
            end: Some(now),
            events,
            total,
            beginning: Decimal::ZERO,
        });
        Ok(id)
    }

    /// Opens a group (events still accumulating) that pulls must not return yet.
    pub fn open_group(&mut self) -> String {
        let now = Timestamp::now();
        let n = self.next_seq();
        let id = format!("sbxgrp{n:06}");
        self.groups.push(Group {
            id: id.clone(),
            start: now,
            end: None,
            events: vec![],
            total: Decimal::ZERO,
            beginning: Decimal::ZERO,
        });
        id
    }

    fn group_view(&self, g: &Group) -> Value {
        let cur = &self.currency;
        let mut v = json!({
            "FinancialEventGroupId": g.id,
            "ProcessingStatus": if g.end.is_some() { "Closed" } else { "Open" },
            "FundTransferStatus": if g.end.is_some() { "Succeeded" } else { "Unknown" },
            "OriginalTotal": fin(g.total, cur),
            "ConvertedTotal": fin(g.total, cur),
            "BeginningBalance": fin(g.beginning, cur),
            "FinancialEventGroupStart": iso(g.start),
        });
        if let Some(e) = g.end {
            v["FinancialEventGroupEnd"] = json!(iso(e));
            v["FundTransferDate"] = json!(iso(e));
            v["TraceId"] = json!(format!("SBX{}", g.id));
            v["AccountTail"] = json!("0042");
        }
        v
    }

    pub fn list_groups(&mut self, q: &BTreeMap<String, String>) -> ApiResult<Value> {
        let size = q
            .get("MaxResultsPerPage")
            .map(|s| s.parse::<usize>().ok().filter(|n| (1..=100).contains(n)))
            .unwrap_or(Some(10))
            .ok_or_else(|| ApiError::invalid("MaxResultsPerPage must be 1..=100"))?;
        let after: Option<Timestamp> = match q.get("FinancialEventGroupStartedAfter") {
            Some(s) => Some(s.parse().map_err(|_| {
                ApiError::invalid("FinancialEventGroupStartedAfter is not ISO 8601")
            })?),
            None => None,
        };
        let start = match q.get("NextToken") {
            Some(t) => self
                .page_cursors
                .remove(t)
                .ok_or_else(|| ApiError::invalid("Invalid NextToken"))?,
            None => 0,
        };
        let rows: Vec<Value> = self
            .groups
            .iter()
            .filter(|g| after.is_none_or(|a| g.start >= a))
            .map(|g| self.group_view(g))
            .collect();
        let page: Vec<Value> = rows.iter().skip(start).take(size).cloned().collect();
        let mut payload = json!({"FinancialEventGroupList": page});
        if start + size < rows.len() {
            let t = self.token("sbx-groups-");
            self.page_cursors.insert(t.clone(), start + size);
            payload["NextToken"] = json!(t);
        }
        Ok(json!({"payload": payload}))
    }

    pub fn list_group_events(
        &mut self,
        gid: &str,
        q: &BTreeMap<String, String>,
    ) -> ApiResult<Value> {
        let size = q
            .get("MaxResultsPerPage")
            .map(|s| s.parse::<usize>().ok().filter(|n| (1..=100).contains(n)))
            .unwrap_or(Some(100))
            .ok_or_else(|| ApiError::invalid("MaxResultsPerPage must be 1..=100"))?;
        let start = match q.get("NextToken") {
            Some(t) => self
                .page_cursors
                .remove(t)
                .ok_or_else(|| ApiError::invalid("Invalid NextToken"))?,
            None => 0,
        };
        let g = self
            .groups
            .iter()
            .find(|g| g.id == gid)
            .ok_or_else(|| ApiError::not_found(format!("event group {gid}")))?;
        let mut lists: Map<String, Value> = Map::new();
        for (name, ev) in g.events.iter().skip(start).take(size) {
            if let Some(a) = lists
                .entry(name.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                a.push(ev.clone());
            }
        }
        let more = start + size < g.events.len();
        let mut payload = json!({"FinancialEvents": Value::Object(lists)});
        if more {
            let t = self.token("sbx-events-");
            self.page_cursors.insert(t.clone(), start + size);
            payload["NextToken"] = json!(t);
        }
        Ok(json!({"payload": payload}))
    }

    /// An ORDER_CHANGE notification for an order, as SQS would carry it.
    pub fn order_change_notification(&mut self, id: &str) -> ApiResult<Value> {
        let o = self
            .orders
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("order {id}")))?;
        let items: Vec<Value> = o.items.iter().map(|i| json!({
            "OrderItemId": i["OrderItemId"], "SellerSKU": i["SellerSKU"], "SupplySourceId": null,
            "Quantity": i["QuantityOrdered"], "QuantityShipped": i["QuantityShipped"],
        })).collect();
        let now = iso(Timestamp::now());
        let v = json!({
            "NotificationVersion": "1.0",
            "NotificationType": "ORDER_CHANGE",
            "PayloadVersion": "1.0",
            "EventTime": now,
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel",
                "SellerId": self.seller_id,
                "AmazonOrderId": id,
                "OrderChangeType": "OrderStatusChange",
                "OrderChangeTrigger": {"TimeOfOrderChange": now, "ChangeReason": "Order status changed"},
                "Summary": {
                    "MarketplaceId": self.marketplace_id,
                    "OrderStatus": o.order["OrderStatus"],
                    "PurchaseDate": o.order["PurchaseDate"],
                    "DestinationPostalCode": o.address.as_ref().map(|a| a.postal_code.clone()),
                    "FulfillmentType": o.order["FulfillmentChannel"],
                    "OrderType": "StandardOrder",
                    "OrderItems": items,
                },
            }},
            "NotificationMetadata": {
                "ApplicationId": "amzn1.sellerapps.app.sbx",
                "SubscriptionId": "sbx-subscription-1",
                "PublishTime": now,
                "NotificationId": format!("sbx-notification-{}", self.seq + 1),
            },
        });
        self.next_seq();
        Ok(v)
    }
}

/// `processingStartTime` / `processingEndTime` of a feed or report view, once they exist.
pub(crate) fn processing_times(
    v: &mut Value,
    started: Option<Timestamp>,
    ended: Option<Timestamp>,
) {
    if let Some(t) = started {
        v["processingStartTime"] = json!(iso(t));
    }
    if let Some(t) = ended {
        v["processingEndTime"] = json!(iso(t));
    }
}

pub(crate) fn gzip_bytes(b: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(b);
    e.finish().unwrap_or_default()
}
