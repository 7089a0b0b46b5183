//! SP-API JSON ↔ normalised records. Pure and hostile-input safe: any JSON maps to
//! `Pulled::Ok` or `Pulled::Malformed` naming the record and the field (a path in Amazon's own
//! field names, e.g. `OrderItems[2].ItemPrice.Amount`), never a panic.
//!
//! What is a mapping error and what is data:
//! * **Malformed**: not an object, no `AmazonOrderId`, a required field (`OrderStatus`,
//!   `PurchaseDate`, `LastUpdateDate`, `OrderItemId`, `QuantityOrdered`) missing or of the wrong
//!   type, a negative quantity, an amount or timestamp that does not parse, a currency code not
//!   shaped like one, an unknown `FulfillmentChannel` (routing depends on it).
//! * **Data** (kept; the audit decides): an address without name/street (Amazon withholds PII
//!   without a Restricted Data Token), missing `OrderTotal` on `Pending` orders, unknown
//!   `OrderStatus` (`Unknown` + `raw_status`) or service level, lines without SKU.
//!
//! Money: order amounts are `{CurrencyCode, Amount: "12.34"}` strings, finance amounts
//! `{CurrencyCode, CurrencyAmount: 12.34}` JSON numbers (read through their shortest decimal
//! text, never through `f64` arithmetic), listings prices `{currencyCode, amount}`.

use std::collections::BTreeMap;

use channels_core::json::{JsonReader, truncate};
use channels_core::{
    Address, Buyer, BuyerCancelRequest, ChannelId, Currency, Discount, FeeKind, FulfilledBy,
    MappingError, Money, Order, OrderLine, OrderStatus, Pulled, ServiceLevel, Settlement,
    SettlementLine, SettlementLineKind, StockLevel, TaxCollector, TaxLine,
};
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

type R<T> = Result<T, MappingError>;

/// The shared field reader (`channels_core::json`), plus what only this marketplace's payloads
/// need.
pub(crate) struct Reader<'a>(JsonReader<'a>);

impl<'a> Reader<'a> {
    pub(crate) fn new(record: &'a str) -> Self {
        Reader(JsonReader::new(record, "ISO 8601"))
    }
}

impl<'a> std::ops::Deref for Reader<'a> {
    type Target = JsonReader<'a>;
    fn deref(&self) -> &JsonReader<'a> {
        &self.0
    }
}

impl Reader<'_> {
    fn opt_bool(&self, v: &Value, key: &str, path: &str) -> R<Option<bool>> {
        match self.present(v, key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(self.err(path, "expected true or false")),
        }
    }

    fn opt_i64(&self, v: &Value, key: &str, path: &str) -> R<Option<i64>> {
        match self.present(v, key) {
            None => Ok(None),
            Some(x) => x
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err(path, "expected an integer")),
        }
    }

    fn opt_array<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<&'v [Value]> {
        match self.present(v, key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.err(path, "expected an array")),
        }
    }

    fn currency_code(&self, s: &str, path: &str) -> R<Currency> {
        Currency::new(s.trim())
            .map_err(|_| self.err(path, format!("not a currency code: {:?}", truncate(s))))
    }

    /// Orders `Money`: `{CurrencyCode, Amount: "12.34"}`. A missing code takes `default`.
    fn order_money(&self, v: &Value, key: &str, path: &str, default: Currency) -> R<Option<Money>> {
        let Some(m) = self.opt_object(v, key, path)? else {
            return Ok(None);
        };
        let amount = self.decimal(
            self.req(m, "Amount", &format!("{path}.Amount"))?,
            &format!("{path}.Amount"),
        )?;
        let currency = match self.opt_str(m, "CurrencyCode", &format!("{path}.CurrencyCode"))? {
            Some(c) => self.currency_code(&c, &format!("{path}.CurrencyCode"))?,
            None => default,
        };
        Ok(Some(Money::new(amount, currency)))
    }

    /// Finances `Currency`: `{CurrencyCode, CurrencyAmount: 12.34}`.
    fn finance_money(&self, v: &Value, key: &str, path: &str) -> R<Option<Money>> {
        let Some(m) = self.opt_object(v, key, path)? else {
            return Ok(None);
        };
        let code = self.req_str(m, "CurrencyCode", &format!("{path}.CurrencyCode"))?;
        let amount = self.decimal(
            self.req(m, "CurrencyAmount", &format!("{path}.CurrencyAmount"))?,
            &format!("{path}.CurrencyAmount"),
        )?;
        Ok(Some(Money::new(
            amount,
            self.currency_code(&code, &format!("{path}.CurrencyCode"))?,
        )))
    }
}

/// The currency of each marketplace, for orders that state no amount yet (Pending).
pub fn marketplace_currency(marketplace_id: &str) -> Option<Currency> {
    let code = match marketplace_id {
        "ATVPDKIKX0DER" => "USD",
        "A2EUQ1WTGCTBG2" => "CAD",
        "A1AM78C64UM0Y8" => "MXN",
        "A2Q3Y263D00KWC" => "BRL",
        "A1F83G8C2ARO7P" => "GBP",
        "A1PA6795UKMFR9" | "A13V1IB3VIYZZH" | "APJ6JRA9NG5V4" | "A1RKKUPIHCS9HS"
        | "A1805IZSGTT6HS" | "AMEN7PMS3EDWL" | "A28R8C7NBKEWEA" => "EUR",
        "A1C3SOZRARQ6R3" => "PLN",
        "A2NODRKZP88ZB9" => "SEK",
        "A33AVAJ2PDY3EV" => "TRY",
        "A21TJRUUN4KGV" => "INR",
        "A1VC38T7YXB528" => "JPY",
        "A39IBJ37TRP1C6" => "AUD",
        "A19VAU5U5O7RUS" => "SGD",
        "A2VIGQ35RCS4UG" => "AED",
        "A17E79C6D8DWNP" => "SAR",
        "ARBP9OOSHTCHU" => "EGP",
        _ => return None,
    };
    Currency::new(code).ok()
}

/// Amazon `OrderStatus` → normalised status.
pub fn order_status(s: &str) -> OrderStatus {
    match s {
        "Pending" | "PendingAvailability" | "InvoiceUnconfirmed" => OrderStatus::Pending,
        "Unshipped" => OrderStatus::Unshipped,
        "PartiallyShipped" => OrderStatus::PartiallyShipped,
        "Shipped" => OrderStatus::Shipped,
        "Canceled" | "Cancelled" => OrderStatus::Cancelled,
        // `Unfulfillable` (AFN only): Amazon could not fulfil it; a person decides.
        _ => OrderStatus::Unknown,
    }
}

/// `ShipmentServiceLevelCategory` (+ `IsPrime`) → service level. Prime lifts slower categories
/// to `Prime` (its own SLA); faster ones (NextDay, SameDay) keep their urgency.
pub fn service_level(category: Option<&str>, is_prime: bool) -> ServiceLevel {
    let base = match category {
        Some("Expedited") | Some("Priority") => ServiceLevel::Expedited,
        Some("FreeEconomy") => ServiceLevel::Economy,
        Some("NextDay") => ServiceLevel::NextDay,
        Some("SameDay") => ServiceLevel::SameDay,
        Some("SecondDay") => ServiceLevel::TwoDay,
        Some("Scheduled") => ServiceLevel::Scheduled,
        Some("Standard") => ServiceLevel::Standard,
        _ => ServiceLevel::Unknown,
    };
    if is_prime && base.urgency() <= ServiceLevel::Prime.urgency() {
        ServiceLevel::Prime
    } else {
        base
    }
}

fn address(r: &Reader<'_>, v: &Value, path: &str) -> R<Address> {
    let f = |k: &str| r.opt_str(v, k, &format!("{path}.{k}"));
    let line2 = [f("AddressLine2")?, f("AddressLine3")?]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    Ok(Address {
        name: f("Name")?,
        company: f("CompanyName")?,
        street: f("AddressLine1")?,
        street2: (!line2.is_empty()).then(|| line2.join(", ")),
        city: f("City")?,
        state_code: f("StateOrRegion")?,
        zip: f("PostalCode")?,
        country_code: f("CountryCode")?.map(|c| c.trim().to_ascii_uppercase()),
        phone: f("Phone")?,
    })
}

/// The `AmazonOrderId` of a payload, if it has a usable one.
pub fn amazon_order_id(raw: &Value) -> Option<String> {
    raw.get("AmazonOrderId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn malformed<T>(raw: &Value, external_id: Option<String>, error: MappingError) -> Pulled<T> {
    Pulled::Malformed {
        external_id,
        raw: raw.clone(),
        error,
    }
}

/// One order (`Order` from getOrders/getOrder) with its items (`OrderItems` from every page of
/// getOrderItems). `raw` keeps both: the order object with an `OrderItems` array added.
pub fn map_order(
    channel: &ChannelId,
    marketplace_id: &str,
    order: &Value,
    items: &[Value],
) -> Pulled<Order> {
    let mut raw = order.clone();
    if let Value::Object(m) = &mut raw {
        m.insert("OrderItems".into(), Value::Array(items.to_vec()));
    }
    let Some(id) = amazon_order_id(order) else {
        let what = if order.is_object() {
            "missing or empty"
        } else {
            "the record is not a JSON object"
        };
        return malformed(
            &raw,
            None,
            MappingError::new("order (no AmazonOrderId)", "AmazonOrderId", what),
        );
    };
    let record = format!("order {id}");
    let r = Reader::new(&record);
    match map_order_inner(&r, channel, marketplace_id, &id, order, items) {
        Ok(mut o) => {
            o.raw = raw;
            Pulled::Ok(o)
        }
        Err(e) => malformed(&raw, Some(id), e),
    }
}

fn map_order_inner(
    r: &Reader<'_>,
    channel: &ChannelId,
    marketplace_id: &str,
    id: &str,
    o: &Value,
    items: &[Value],
) -> R<Order> {
    let raw_status = r.req_str(o, "OrderStatus", "OrderStatus")?;
    let order_marketplace = r
        .opt_str(o, "MarketplaceId", "MarketplaceId")?
        .unwrap_or_else(|| marketplace_id.to_string());
    // The order's currency: its total, else its first priced item, else the marketplace's.
    let total_code = match r.opt_object(o, "OrderTotal", "OrderTotal")? {
        Some(t) => r.opt_str(t, "CurrencyCode", "OrderTotal.CurrencyCode")?,
        None => None,
    };
    let item_code = items.iter().find_map(|i| {
        i.get("ItemPrice")?
            .get("CurrencyCode")?
            .as_str()
            .map(str::to_string)
    });
    let currency = match total_code.or(item_code) {
        Some(c) => r.currency_code(&c, "OrderTotal.CurrencyCode")?,
        None => marketplace_currency(&order_marketplace).ok_or_else(|| {
            r.err(
                "OrderTotal.CurrencyCode",
                format!(
                    "no amount states a currency and marketplace {order_marketplace:?} is not known"
                ),
            )
        })?,
    };
    let zero = Money::zero(currency);
    let order_total = r
        .order_money(o, "OrderTotal", "OrderTotal", currency)?
        .unwrap_or(zero);

    let mut lines = Vec::with_capacity(items.len());
    let mut shipping: Option<Money> = None;
    let mut shipping_taxes = Vec::new();
    let mut buyer_cancel_request: Option<BuyerCancelRequest> = None;
    for (i, it) in items.iter().enumerate() {
        let p = |k: &str| format!("OrderItems[{i}].{k}");
        if !it.is_object() {
            return Err(r.err(&format!("OrderItems[{i}]"), "expected an object"));
        }
        // The buyer's cancellation request is stated per item; Amazon cancels whole orders,
        // so one item asking is the order asking.
        if let Some(c) = r.opt_object(it, "BuyerRequestedCancel", &p("BuyerRequestedCancel"))?
            && r.opt_bool(
                c,
                "IsBuyerRequestedCancel",
                &p("BuyerRequestedCancel.IsBuyerRequestedCancel"),
            )? == Some(true)
        {
            let reason = r
                .opt_str(
                    c,
                    "BuyerCancelReason",
                    &p("BuyerRequestedCancel.BuyerCancelReason"),
                )?
                .filter(|s| !s.trim().is_empty());
            let req = buyer_cancel_request.get_or_insert_with(BuyerCancelRequest::default);
            if req.reason.is_none() {
                req.reason = reason;
            }
        }
        let qty = r
            .opt_i64(it, "QuantityOrdered", &p("QuantityOrdered"))?
            .ok_or_else(|| r.err(&p("QuantityOrdered"), "missing"))?;
        if qty < 0 {
            return Err(r.err(&p("QuantityOrdered"), format!("negative quantity {qty}")));
        }
        let quantity = Decimal::from(qty);
        let collected_by = match r
            .opt_object(it, "TaxCollection", &p("TaxCollection"))?
            .map(|t| r.opt_str(t, "Model", &p("TaxCollection.Model")))
            .transpose()?
            .flatten()
            .as_deref()
        {
            Some("MarketplaceFacilitator") => TaxCollector::Marketplace,
            _ => TaxCollector::Seller,
        };
        let m = |k: &str| r.order_money(it, k, &p(k), currency);
        // ItemPrice is the price of the whole line (unit price × quantity).
        let item_price = m("ItemPrice")?.unwrap_or(zero);
        let promo = m("PromotionDiscount")?.filter(|d| !d.amount.is_zero());
        let unit_price = if qty > 0 {
            let dp = item_price.currency.minor_units() + 2;
            Money::new(
                (item_price.amount / quantity).round_dp(dp).normalize(),
                item_price.currency,
            )
        } else {
            item_price
        };
        let promotion_ids: Vec<String> = r
            .opt_array(it, "PromotionIds", &p("PromotionIds"))?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let mut taxes = Vec::new();
        if let Some(t) = m("ItemTax")?.filter(|t| !t.amount.is_zero()) {
            taxes.push(TaxLine {
                amount: t,
                rate: None,
                title: Some("ItemTax".into()),
                collected_by,
            });
        }
        if let Some(t) = m("PromotionDiscountTax")?.filter(|t| !t.amount.is_zero()) {
            taxes.push(TaxLine {
                amount: Money::new(-t.amount, t.currency),
                rate: None,
                title: Some("PromotionDiscountTax".into()),
                collected_by,
            });
        }
        let line_total = match &promo {
            Some(d) if d.currency == item_price.currency => {
                Money::new(item_price.amount - d.amount, item_price.currency)
            }
            _ => item_price,
        };
        if let Some(sp) = m("ShippingPrice")? {
            let disc = m("ShippingDiscount")?.map(|d| d.amount).unwrap_or_default();
            let net = Money::new(sp.amount - disc, sp.currency);
            shipping = Some(match shipping {
                Some(s) if s.currency == net.currency => {
                    Money::new(s.amount + net.amount, s.currency)
                }
                Some(s) => s,
                None => net,
            });
        }
        if let Some(t) = m("ShippingTax")?.filter(|t| !t.amount.is_zero()) {
            shipping_taxes.push(TaxLine {
                amount: t,
                rate: None,
                title: Some(format!("ShippingTax {}", p("").trim_end_matches('.'))),
                collected_by,
            });
        }
        if let Some(t) = m("ShippingDiscountTax")?.filter(|t| !t.amount.is_zero()) {
            shipping_taxes.push(TaxLine {
                amount: Money::new(-t.amount, t.currency),
                rate: None,
                title: Some(format!(
                    "ShippingDiscountTax {}",
                    p("").trim_end_matches('.')
                )),
                collected_by,
            });
        }
        lines.push(OrderLine {
            external_line_id: r.req_str(it, "OrderItemId", &p("OrderItemId"))?,
            sku: r.opt_str(it, "SellerSKU", &p("SellerSKU"))?,
            title: r.opt_str(it, "Title", &p("Title"))?,
            quantity,
            // Amazon cancels whole orders; a partial cancellation is not in getOrderItems.
            quantity_cancelled: Decimal::ZERO,
            unit_price,
            discounts: promo
                .map(|d| Discount {
                    amount: d,
                    code: (!promotion_ids.is_empty()).then(|| promotion_ids.join(",")),
                    description: Some("PromotionDiscount".into()),
                })
                .into_iter()
                .collect(),
            taxes,
            line_total,
        });
    }

    let buyer = match r.opt_object(o, "BuyerInfo", "BuyerInfo")? {
        None => Buyer::default(),
        Some(b) => Buyer {
            external_id: None,
            name: r.opt_str(b, "BuyerName", "BuyerInfo.BuyerName")?,
            email: r.opt_str(b, "BuyerEmail", "BuyerInfo.BuyerEmail")?,
            phone: None,
        },
    };
    let shipping_address = r
        .opt_object(o, "ShippingAddress", "ShippingAddress")?
        .map(|a| address(r, a, "ShippingAddress"))
        .transpose()?;
    let mut buyer = buyer;
    if buyer.phone.is_none() {
        buyer.phone = shipping_address.as_ref().and_then(|a| a.phone.clone());
    }
    let fulfilled_by = match r
        .opt_str(o, "FulfillmentChannel", "FulfillmentChannel")?
        .as_deref()
    {
        Some("AFN") => FulfilledBy::Marketplace {
            program: "FBA".into(),
        },
        Some("MFN") | None => FulfilledBy::Merchant,
        Some(other) => {
            return Err(r.err(
                "FulfillmentChannel",
                format!(
                    "unknown fulfilment channel {:?} (AFN or MFN)",
                    truncate(other)
                ),
            ));
        }
    };
    let category = r.opt_str(
        o,
        "ShipmentServiceLevelCategory",
        "ShipmentServiceLevelCategory",
    )?;
    let is_prime = r.opt_bool(o, "IsPrime", "IsPrime")?.unwrap_or(false);
    let raw_service_level = category
        .clone()
        .or(r.opt_str(o, "ShipServiceLevel", "ShipServiceLevel")?)
        .map(|s| if is_prime { format!("{s} (Prime)") } else { s });
    Ok(Order {
        channel: channel.clone(),
        external_id: id.to_string(),
        external_number: Some(id.to_string()),
        status: order_status(&raw_status),
        raw_status,
        buyer,
        billing_address: None,
        shipping_address,
        lines,
        shipping_charge: shipping,
        shipping_taxes,
        order_total,
        fees_known_at_order_time: vec![],
        currency,
        created_at: r.req_ts(o, "PurchaseDate", "PurchaseDate")?,
        updated_at: r.req_ts(o, "LastUpdateDate", "LastUpdateDate")?,
        ship_by: r.opt_ts(o, "LatestShipDate", "LatestShipDate")?,
        deliver_by: r.opt_ts(o, "LatestDeliveryDate", "LatestDeliveryDate")?,
        service_level: service_level(category.as_deref(), is_prime),
        raw_service_level,
        fulfilled_by,
        is_business: r
            .opt_bool(o, "IsBusinessOrder", "IsBusinessOrder")?
            .unwrap_or(false),
        buyer_cancel_request,
        raw: Value::Null,
    })
}

/// `updated_at` of the latest mapped record.
pub fn high_water_mark<T>(
    items: &[Pulled<T>],
    updated_at: impl Fn(&T) -> Timestamp,
) -> Option<Timestamp> {
    items.iter().filter_map(|p| p.ok().map(&updated_at)).max()
}

// ---------------------------------------------------------------- listings and feeds

/// `fulfillment_availability` for merchant-fulfilled stock (`DEFAULT` channel code).
pub fn quantity_patch(quantity: u32, channel_code: &str) -> Value {
    json!({
        "op": "replace",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": channel_code, "quantity": quantity}],
    })
}

fn decimal_number(d: Decimal) -> Value {
    // The listings attribute schemas want JSON numbers; a 2–3 dp price survives the shortest
    // round-trip representation exactly.
    d.normalize()
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// `purchasable_offer` (and `list_price` for the struck-through price).
pub fn price_patches(
    marketplace_id: &str,
    price: &Money,
    compare_at: Option<&Money>,
) -> Vec<Value> {
    let mut out = vec![json!({
        "op": "replace",
        "path": "/attributes/purchasable_offer",
        "value": [{
            "marketplace_id": marketplace_id,
            "currency": price.currency.code(),
            "our_price": [{"schedule": [{"value_with_tax": decimal_number(price.amount)}]}],
        }],
    })];
    if let Some(c) = compare_at {
        out.push(json!({
            "op": "replace",
            "path": "/attributes/list_price",
            "value": [{
                "marketplace_id": marketplace_id,
                "currency": c.currency.code(),
                "value_with_tax": decimal_number(c.amount),
            }],
        }));
    }
    out
}

/// One message of a `JSON_LISTINGS_FEED` and what it stands for.
#[derive(Clone, Debug)]
pub struct FeedMessage {
    pub message_id: u32,
    pub sku: String,
    pub patches: Vec<Value>,
}

/// The feed document (listings-feed-schema-v2): PATCH messages, offer-only data.
pub fn feed_document(seller_id: &str, product_type: &str, messages: &[FeedMessage]) -> Value {
    json!({
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
        "messages": messages.iter().map(|m| json!({
            "messageId": m.message_id,
            "sku": m.sku,
            "operationType": "PATCH",
            "productType": product_type,
            "patches": m.patches,
        })).collect::<Vec<_>>(),
    })
}

/// What a feed said about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageResult {
    Accepted,
    Rejected {
        code: Option<String>,
        message: String,
    },
    Unknown {
        reason: String,
    },
}

/// Reads a processing report (listings-feed-processing-report-schema-v2) and attributes each
/// issue to its message by `messageId` (checking the SKU when the issue names one).
///
/// A partial failure never fails the whole feed: messages with an `ERROR` issue are rejected,
/// each with its own code and text; the others are accepted when the summary's
/// `messagesAccepted` agrees. When it does not (errors that name no message, a summary that
/// does not add up), the messages without an error of their own are `Unknown`: read back
/// before sending again, never assumed applied or failed.
///
/// `total` is the number of messages in the feed (numbered 1..=total); `messages` are the ones
/// asked about, with their SKUs.
pub fn feed_results(
    report: &Value,
    total: u32,
    messages: &[(u32, String)],
) -> BTreeMap<u32, MessageResult> {
    let by_id: BTreeMap<u32, &str> = messages.iter().map(|(i, s)| (*i, s.as_str())).collect();
    let mut errors: BTreeMap<u32, Vec<(Option<String>, String)>> = BTreeMap::new();
    let mut suspect: BTreeMap<u32, String> = BTreeMap::new();
    let mut unattributed = Vec::new();
    let issues = report
        .get("issues")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for issue in issues {
        if issue.get("severity").and_then(Value::as_str) != Some("ERROR") {
            continue;
        }
        let text = issue
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_string();
        let code = issue
            .get("code")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mid = issue
            .get("messageId")
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok());
        match mid.filter(|m| (1..=total).contains(m)) {
            Some(m) => {
                let named = issue.get("sku").and_then(Value::as_str);
                let sku = by_id.get(&m).copied();
                if let (Some(n), Some(sku)) = (named, sku)
                    && n != sku
                {
                    suspect.insert(
                        m,
                        format!("the report names SKU {n:?} for message {m}, which was {sku:?}"),
                    );
                } else {
                    errors.entry(m).or_default().push((code, text));
                }
            }
            None => unattributed.push(match code {
                Some(c) => format!("{c}: {text}"),
                None => text,
            }),
        }
    }
    let clean = (1..=total)
        .filter(|m| !errors.contains_key(m) && !suspect.contains_key(m))
        .count() as u64;
    let accepted = report
        .get("summary")
        .and_then(|s| s.get("messagesAccepted"))
        .and_then(Value::as_u64);
    let consistent = accepted == Some(clean) && unattributed.is_empty();
    let mut out = BTreeMap::new();
    for (m, _) in messages {
        let res = if let Some(errs) = errors.get(m) {
            MessageResult::Rejected {
                code: errs[0].0.clone(),
                message: errs
                    .iter()
                    .map(|(c, t)| match c {
                        Some(c) => format!("{c}: {t}"),
                        None => t.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        } else if let Some(why) = suspect.get(m) {
            MessageResult::Unknown {
                reason: why.clone(),
            }
        } else if consistent {
            MessageResult::Accepted
        } else {
            MessageResult::Unknown {
                reason: format!(
                    "the processing report does not say whether this message was accepted \
                     (accepted {accepted:?} of {clean} without errors; feed-level issues: {})",
                    if unattributed.is_empty() {
                        "none".to_string()
                    } else {
                        unattributed.join("; ")
                    }
                ),
            }
        };
        out.insert(*m, res);
    }
    out
}

/// What a pending feed item carries, so `poll_pending` needs no state: the handle is this
/// struct as compact JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedHandle {
    /// feedId
    pub f: String,
    /// messageId, and the number of messages in the feed
    pub m: u32,
    pub n: u32,
    /// SKU and outbox version
    pub s: String,
    pub v: u64,
    /// What was sent: a quantity, or a price (amount, currency) with an optional compare-at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<(Decimal, String, Option<Decimal>)>,
}

/// The MFN quantity of a listings `Item` (getListingsItem / searchListingsItems).
pub fn stock_level(item: &Value) -> Option<StockLevel> {
    let sku = item.get("sku")?.as_str()?.to_string();
    let fa = item.get("fulfillmentAvailability")?.as_array()?;
    let entry = fa
        .iter()
        .find(|e| e.get("fulfillmentChannelCode").and_then(Value::as_str) == Some("DEFAULT"))?;
    let quantity = entry.get("quantity").and_then(Value::as_i64).unwrap_or(0);
    let updated_at = item
        .get("summaries")
        .and_then(|s| s.get(0))
        .and_then(|s| s.get("lastUpdatedDate"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    Some(StockLevel {
        sku,
        quantity,
        location: Some("DEFAULT".into()),
        updated_at,
    })
}

/// Listing attributes for put/patch from a normalised listing (see `lib.rs`
/// `upsert_listing` for which Odoo fields go where).
pub fn listing_attributes(
    l: &channels_core::Listing,
    marketplace_id: &str,
    language_tag: &str,
) -> BTreeMap<String, Value> {
    let text = |s: &str| json!([{"value": s, "language_tag": language_tag, "marketplace_id": marketplace_id}]);
    let mut a = BTreeMap::new();
    if !l.title.trim().is_empty() {
        a.insert("item_name".into(), text(&l.title));
    }
    if let Some(d) = l.description.as_deref().filter(|d| !d.trim().is_empty()) {
        a.insert("product_description".into(), text(d));
    }
    if let Some(b) = l.brand.as_deref().filter(|d| !d.trim().is_empty()) {
        a.insert("brand".into(), text(b));
    }
    let bullets = bullet_points(&l.attributes);
    if !bullets.is_empty() {
        a.insert(
            "bullet_point".into(),
            Value::Array(
                bullets
                    .iter()
                    .map(|b| json!({"value": b, "language_tag": language_tag, "marketplace_id": marketplace_id}))
                    .collect(),
            ),
        );
    }
    if let Some(asin) = attr_str(&l.attributes, &["amazon_asin", "asin"]) {
        a.insert(
            "merchant_suggested_asin".into(),
            json!([{"value": asin, "marketplace_id": marketplace_id}]),
        );
    }
    if let Some(code) = l.barcode.as_deref().filter(|b| !b.trim().is_empty()) {
        let kind = match code.len() {
            12 => "upc",
            13 => "ean",
            _ => "gtin",
        };
        a.insert(
            "externally_assigned_product_identifier".into(),
            json!([{"type": kind, "value": code, "marketplace_id": marketplace_id}]),
        );
    }
    for (i, url) in l.images.iter().enumerate().take(9) {
        let key = if i == 0 {
            "main_product_image_locator".to_string()
        } else {
            format!("other_product_image_locator_{i}")
        };
        a.insert(
            key,
            json!([{"media_location": url, "marketplace_id": marketplace_id}]),
        );
    }
    if let Some(p) = &l.price {
        for patch in price_patches(marketplace_id, p, l.compare_at.as_ref()) {
            let name = patch["path"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("/attributes/")
                .to_string();
            a.insert(name, patch["value"].clone());
        }
    }
    a.insert(
        "condition_type".into(),
        json!([{"value": "new_new", "marketplace_id": marketplace_id}]),
    );
    a
}

/// `amazon_bullet_1..5` (the addon's fields) or a `bullet_points` array, in order.
pub fn bullet_points(attrs: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = (1..=5)
        .filter_map(|i| attr_str(attrs, &[&format!("amazon_bullet_{i}")]))
        .collect();
    if out.is_empty()
        && let Some(Value::Array(a)) = attrs.get("bullet_points")
    {
        out = a
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .take(5)
            .collect();
    }
    out
}

pub fn attr_str(attrs: &BTreeMap<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        attrs
            .get(*k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    })
}

// ---------------------------------------------------------------- FBA inventory

/// Amazon's own stock of a SKU in its fulfilment network (getInventorySummaries). The daemon
/// shows it beside Odoo's stock; it never allocates it (Amazon ships those units itself).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbaInventory {
    pub sku: String,
    pub asin: Option<String>,
    pub fn_sku: Option<String>,
    pub condition: Option<String>,
    /// Can be picked, packed and shipped now: what buyers can order.
    pub fulfillable: i64,
    pub inbound_working: i64,
    pub inbound_shipped: i64,
    pub inbound_receiving: i64,
    /// Picked for customer orders, in transfer between centres, or being processed.
    pub reserved: i64,
    pub researching: i64,
    pub unfulfillable: i64,
    pub total: i64,
    pub updated_at: Option<Timestamp>,
}

pub fn map_inventory_summary(v: &Value) -> Result<FbaInventory, MappingError> {
    let sku = v
        .get("sellerSku")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            MappingError::new("inventory summary (no sellerSku)", "sellerSku", "missing")
        })?;
    let record = format!("inventory summary {sku}");
    let r = Reader::new(&record);
    let d = r.opt_object(v, "inventoryDetails", "inventoryDetails")?;
    let n = |obj: Option<&Value>, k: &str, path: &str| -> R<i64> {
        match obj {
            None => Ok(0),
            Some(o) => Ok(r.opt_i64(o, k, path)?.unwrap_or(0)),
        }
    };
    let sub = |k: &str| -> R<Option<&Value>> {
        match d {
            None => Ok(None),
            Some(d) => r.opt_object(d, k, &format!("inventoryDetails.{k}")),
        }
    };
    Ok(FbaInventory {
        asin: r.opt_str(v, "asin", "asin")?,
        fn_sku: r.opt_str(v, "fnSku", "fnSku")?,
        condition: r.opt_str(v, "condition", "condition")?,
        fulfillable: n(
            d,
            "fulfillableQuantity",
            "inventoryDetails.fulfillableQuantity",
        )?,
        inbound_working: n(
            d,
            "inboundWorkingQuantity",
            "inventoryDetails.inboundWorkingQuantity",
        )?,
        inbound_shipped: n(
            d,
            "inboundShippedQuantity",
            "inventoryDetails.inboundShippedQuantity",
        )?,
        inbound_receiving: n(
            d,
            "inboundReceivingQuantity",
            "inventoryDetails.inboundReceivingQuantity",
        )?,
        reserved: n(
            sub("reservedQuantity")?,
            "totalReservedQuantity",
            "inventoryDetails.reservedQuantity.totalReservedQuantity",
        )?,
        researching: n(
            sub("researchingQuantity")?,
            "totalResearchingQuantity",
            "inventoryDetails.researchingQuantity.totalResearchingQuantity",
        )?,
        unfulfillable: n(
            sub("unfulfillableQuantity")?,
            "totalUnfulfillableQuantity",
            "inventoryDetails.unfulfillableQuantity.totalUnfulfillableQuantity",
        )?,
        total: r.opt_i64(v, "totalQuantity", "totalQuantity")?.unwrap_or(0),
        updated_at: r.opt_ts(v, "lastUpdatedTime", "lastUpdatedTime")?,
        sku,
    })
}

// ---------------------------------------------------------------- finances

/// Fee types (`FeeType`) → normalised fee kinds.
pub fn fee_kind(fee_type: &str) -> FeeKind {
    match fee_type {
        "Commission" | "ReferralFee" | "FixedClosingFee" | "VariableClosingFee" => {
            FeeKind::Commission
        }
        t if t.starts_with("FBA") && t.contains("Storage") => FeeKind::Storage,
        t if t.contains("Storage") => FeeKind::Storage,
        t if t.starts_with("FBA") || t.contains("Fulfillment") => FeeKind::Fulfilment,
        "ShippingHB" | "ShippingChargeback" | "LabelFee" => FeeKind::ShippingLabel,
        "Subscription" | "SubscriptionFee" => FeeKind::Subscription,
        t if t.contains("Advertising") || t.contains("Ads") => FeeKind::Advertising,
        other => FeeKind::Other(other.to_string()),
    }
}

/// Charge types (`ChargeType`) of shipment items → line kinds.
fn charge_kind(charge_type: &str, refund: bool) -> SettlementLineKind {
    match charge_type {
        "Principal" | "GiftWrap" if refund => SettlementLineKind::Refund,
        "Principal" | "GiftWrap" => SettlementLineKind::Sale,
        "ShippingCharge" => SettlementLineKind::Shipping,
        t if t.contains("Tax") => SettlementLineKind::Tax,
        other => SettlementLineKind::Other {
            raw: format!("charge:{other}"),
        },
    }
}

/// The event lists this mapper reads. Others are named in `unsupported_event_lists` and make
/// the settlement unbalanced on purpose, so the audit holds it rather than booking a partial
/// picture.
pub const SUPPORTED_EVENT_LISTS: &[&str] = &[
    "ShipmentEventList",
    "RefundEventList",
    "GuaranteeClaimEventList",
    "ChargebackEventList",
    "ServiceFeeEventList",
    "AdjustmentEventList",
    "ProductAdsPaymentEventList",
];

pub fn unsupported_event_lists(events: &Value) -> Vec<String> {
    events
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, v)| {
                    !SUPPORTED_EVENT_LISTS.contains(&k.as_str())
                        && v.as_array().is_some_and(|a| !a.is_empty())
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// One financial event group (a settlement period) and every `FinancialEvents` page of it.
pub fn map_settlement(group: &Value, event_pages: &[Value]) -> Pulled<Settlement> {
    let mut raw = group.clone();
    if let Value::Object(m) = &mut raw {
        m.insert("FinancialEvents".into(), Value::Array(event_pages.to_vec()));
    }
    let Some(id) = group
        .get("FinancialEventGroupId")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
    else {
        return malformed(
            &raw,
            None,
            MappingError::new(
                "financial event group (no id)",
                "FinancialEventGroupId",
                "missing or empty",
            ),
        );
    };
    let record = format!("settlement {id}");
    let r = Reader::new(&record);
    match map_settlement_inner(&r, &id, group, event_pages) {
        Ok(mut s) => {
            s.raw = raw;
            Pulled::Ok(s)
        }
        Err(e) => malformed(&raw, Some(id), e),
    }
}

fn map_settlement_inner(r: &Reader<'_>, id: &str, g: &Value, pages: &[Value]) -> R<Settlement> {
    let total = r
        .finance_money(g, "OriginalTotal", "OriginalTotal")?
        .ok_or_else(|| r.err("OriginalTotal", "missing"))?;
    let currency = total.currency;
    let start = r.req_ts(g, "FinancialEventGroupStart", "FinancialEventGroupStart")?;
    let end = r.opt_ts(g, "FinancialEventGroupEnd", "FinancialEventGroupEnd")?;
    let mut lines = Vec::new();
    if let Some(b) = r.finance_money(g, "BeginningBalance", "BeginningBalance")?
        && !b.amount.is_zero()
    {
        lines.push(SettlementLine {
            external_line_id: format!("{id}:beginning_balance"),
            order_external_id: None,
            kind: SettlementLineKind::Other {
                raw: "BeginningBalance".into(),
            },
            sku: None,
            amount: b,
            description: Some("balance carried over from the previous period".into()),
            posted_at: Some(start),
        });
    }
    for (pi, page) in pages.iter().enumerate() {
        let pp = format!("FinancialEvents[{pi}]");
        let mut push = |line: SettlementLine| lines.push(line);
        for (list, refund) in [
            ("ShipmentEventList", false),
            ("RefundEventList", true),
            ("GuaranteeClaimEventList", true),
            ("ChargebackEventList", true),
        ] {
            for (ei, ev) in r
                .opt_array(page, list, &format!("{pp}.{list}"))?
                .iter()
                .enumerate()
            {
                let ep = format!("{pp}.{list}[{ei}]");
                shipment_event_lines(r, ev, &ep, list, refund, &mut push)?;
            }
        }
        for (ei, ev) in r
            .opt_array(
                page,
                "ServiceFeeEventList",
                &format!("{pp}.ServiceFeeEventList"),
            )?
            .iter()
            .enumerate()
        {
            let ep = format!("{pp}.ServiceFeeEventList[{ei}]");
            let order = r.opt_str(ev, "AmazonOrderId", &format!("{ep}.AmazonOrderId"))?;
            let sku = r.opt_str(ev, "SellerSKU", &format!("{ep}.SellerSKU"))?;
            let reason = r.opt_str(ev, "FeeReason", &format!("{ep}.FeeReason"))?;
            for (fi, fee) in r
                .opt_array(ev, "FeeList", &format!("{ep}.FeeList"))?
                .iter()
                .enumerate()
            {
                let fp = format!("{ep}.FeeList[{fi}]");
                let ty = r.req_str(fee, "FeeType", &format!("{fp}.FeeType"))?;
                let amount = r
                    .finance_money(fee, "FeeAmount", &format!("{fp}.FeeAmount"))?
                    .ok_or_else(|| r.err(&format!("{fp}.FeeAmount"), "missing"))?;
                push(SettlementLine {
                    external_line_id: format!("{id}:{fp}"),
                    order_external_id: order.clone(),
                    kind: SettlementLineKind::Fee { fee: fee_kind(&ty) },
                    sku: sku.clone(),
                    amount,
                    description: Some(match &reason {
                        Some(rsn) => format!("{ty}: {rsn}"),
                        None => ty.clone(),
                    }),
                    posted_at: None,
                });
            }
        }
        for (ei, ev) in r
            .opt_array(
                page,
                "AdjustmentEventList",
                &format!("{pp}.AdjustmentEventList"),
            )?
            .iter()
            .enumerate()
        {
            let ep = format!("{pp}.AdjustmentEventList[{ei}]");
            let ty = r
                .opt_str(ev, "AdjustmentType", &format!("{ep}.AdjustmentType"))?
                .unwrap_or_else(|| "Adjustment".into());
            let amount = r
                .finance_money(ev, "AdjustmentAmount", &format!("{ep}.AdjustmentAmount"))?
                .ok_or_else(|| r.err(&format!("{ep}.AdjustmentAmount"), "missing"))?;
            let sku = r
                .opt_array(
                    ev,
                    "AdjustmentItemList",
                    &format!("{ep}.AdjustmentItemList"),
                )?
                .first()
                .and_then(|i| i.get("SellerSKU"))
                .and_then(Value::as_str)
                .map(str::to_string);
            push(SettlementLine {
                external_line_id: format!("{id}:{ep}"),
                order_external_id: None,
                kind: SettlementLineKind::Adjustment,
                sku,
                amount,
                description: Some(ty),
                posted_at: r.opt_ts(ev, "PostedDate", &format!("{ep}.PostedDate"))?,
            });
        }
        for (ei, ev) in r
            .opt_array(
                page,
                "ProductAdsPaymentEventList",
                &format!("{pp}.ProductAdsPaymentEventList"),
            )?
            .iter()
            .enumerate()
        {
            let ep = format!("{pp}.ProductAdsPaymentEventList[{ei}]");
            let amount = r
                .finance_money(ev, "transactionValue", &format!("{ep}.transactionValue"))?
                .ok_or_else(|| r.err(&format!("{ep}.transactionValue"), "missing"))?;
            push(SettlementLine {
                external_line_id: format!(
                    "{id}:ads:{}",
                    r.opt_str(ev, "invoiceId", &format!("{ep}.invoiceId"))?
                        .unwrap_or_else(|| ep.clone())
                ),
                order_external_id: None,
                kind: SettlementLineKind::Fee {
                    fee: FeeKind::Advertising,
                },
                sku: None,
                amount,
                description: r.opt_str(ev, "transactionType", &format!("{ep}.transactionType"))?,
                posted_at: r.opt_ts(ev, "postedDate", &format!("{ep}.postedDate"))?,
            });
        }
        let unsupported = unsupported_event_lists(page);
        if !unsupported.is_empty() {
            tracing::warn!(settlement = id, lists = ?unsupported, "financial event lists not mapped: the settlement will not balance and the audit holds it");
        }
    }
    Ok(Settlement {
        external_id: id.to_string(),
        period_start: start,
        period_end: end.unwrap_or(start),
        payout_date: r.opt_ts(g, "FundTransferDate", "FundTransferDate")?,
        currency,
        total,
        lines,
        updated_at: end.unwrap_or(start),
        raw: Value::Null,
    })
}

fn shipment_event_lines(
    r: &Reader<'_>,
    ev: &Value,
    ep: &str,
    list: &str,
    refund: bool,
    push: &mut impl FnMut(SettlementLine),
) -> R<()> {
    let order = r.opt_str(ev, "AmazonOrderId", &format!("{ep}.AmazonOrderId"))?;
    let posted = r.opt_ts(ev, "PostedDate", &format!("{ep}.PostedDate"))?;
    let items_key = if refund {
        "ShipmentItemAdjustmentList"
    } else {
        "ShipmentItemList"
    };
    let tag = match list {
        "ShipmentEventList" => "ship",
        "RefundEventList" => "refund",
        "GuaranteeClaimEventList" => "claim",
        _ => "chargeback",
    };
    let oid = order.clone().unwrap_or_else(|| "-".into());
    for k in [
        "ShipmentFeeList",
        "ShipmentFeeAdjustmentList",
        "OrderFeeList",
        "OrderFeeAdjustmentList",
    ] {
        for (fi, fee) in r.opt_array(ev, k, &format!("{ep}.{k}"))?.iter().enumerate() {
            let fp = format!("{ep}.{k}[{fi}]");
            let ty = r.req_str(fee, "FeeType", &format!("{fp}.FeeType"))?;
            let amount = r
                .finance_money(fee, "FeeAmount", &format!("{fp}.FeeAmount"))?
                .ok_or_else(|| r.err(&format!("{fp}.FeeAmount"), "missing"))?;
            push(SettlementLine {
                external_line_id: format!("{tag}:{oid}:{k}:{fi}:{ty}"),
                order_external_id: order.clone(),
                kind: SettlementLineKind::Fee { fee: fee_kind(&ty) },
                sku: None,
                amount,
                description: Some(ty),
                posted_at: posted,
            });
        }
    }
    for (ii, item) in r
        .opt_array(ev, items_key, &format!("{ep}.{items_key}"))?
        .iter()
        .enumerate()
    {
        let ip = format!("{ep}.{items_key}[{ii}]");
        let sku = r.opt_str(item, "SellerSKU", &format!("{ip}.SellerSKU"))?;
        let item_id = r
            .opt_str(
                item,
                "OrderAdjustmentItemId",
                &format!("{ip}.OrderAdjustmentItemId"),
            )?
            .or(r.opt_str(item, "OrderItemId", &format!("{ip}.OrderItemId"))?)
            .unwrap_or_else(|| ii.to_string());
        let base = format!("{tag}:{oid}:{item_id}");
        let charges = if refund {
            "ItemChargeAdjustmentList"
        } else {
            "ItemChargeList"
        };
        let fees = if refund {
            "ItemFeeAdjustmentList"
        } else {
            "ItemFeeList"
        };
        let promos = if refund {
            "PromotionAdjustmentList"
        } else {
            "PromotionList"
        };
        for (ci, c) in r
            .opt_array(item, charges, &format!("{ip}.{charges}"))?
            .iter()
            .enumerate()
        {
            let cp = format!("{ip}.{charges}[{ci}]");
            let ty = r.req_str(c, "ChargeType", &format!("{cp}.ChargeType"))?;
            let amount = r
                .finance_money(c, "ChargeAmount", &format!("{cp}.ChargeAmount"))?
                .ok_or_else(|| r.err(&format!("{cp}.ChargeAmount"), "missing"))?;
            push(SettlementLine {
                external_line_id: format!("{base}:charge:{ty}:{ci}"),
                order_external_id: order.clone(),
                kind: charge_kind(&ty, refund),
                sku: sku.clone(),
                amount,
                description: Some(ty),
                posted_at: posted,
            });
        }
        for (fi, f) in r
            .opt_array(item, fees, &format!("{ip}.{fees}"))?
            .iter()
            .enumerate()
        {
            let fp = format!("{ip}.{fees}[{fi}]");
            let ty = r.req_str(f, "FeeType", &format!("{fp}.FeeType"))?;
            let amount = r
                .finance_money(f, "FeeAmount", &format!("{fp}.FeeAmount"))?
                .ok_or_else(|| r.err(&format!("{fp}.FeeAmount"), "missing"))?;
            push(SettlementLine {
                external_line_id: format!("{base}:fee:{ty}:{fi}"),
                order_external_id: order.clone(),
                kind: SettlementLineKind::Fee { fee: fee_kind(&ty) },
                sku: sku.clone(),
                amount,
                description: Some(ty),
                posted_at: posted,
            });
        }
        for (pi, p) in r
            .opt_array(item, promos, &format!("{ip}.{promos}"))?
            .iter()
            .enumerate()
        {
            let pp = format!("{ip}.{promos}[{pi}]");
            let amount = r
                .finance_money(p, "PromotionAmount", &format!("{pp}.PromotionAmount"))?
                .ok_or_else(|| r.err(&format!("{pp}.PromotionAmount"), "missing"))?;
            push(SettlementLine {
                external_line_id: format!("{base}:promotion:{pi}"),
                order_external_id: order.clone(),
                kind: SettlementLineKind::Other {
                    raw: "promotion".into(),
                },
                sku: sku.clone(),
                amount,
                description: r.opt_str(p, "PromotionId", &format!("{pp}.PromotionId"))?,
                posted_at: posted,
            });
        }
        for (ti, tw) in r
            .opt_array(
                item,
                "ItemTaxWithheldList",
                &format!("{ip}.ItemTaxWithheldList"),
            )?
            .iter()
            .enumerate()
        {
            let tp = format!("{ip}.ItemTaxWithheldList[{ti}]");
            let model = r
                .opt_str(
                    tw,
                    "TaxCollectionModel",
                    &format!("{tp}.TaxCollectionModel"),
                )?
                .unwrap_or_default();
            for (ci, c) in r
                .opt_array(tw, "TaxesWithheld", &format!("{tp}.TaxesWithheld"))?
                .iter()
                .enumerate()
            {
                let cp = format!("{tp}.TaxesWithheld[{ci}]");
                let ty = r.req_str(c, "ChargeType", &format!("{cp}.ChargeType"))?;
                let amount = r
                    .finance_money(c, "ChargeAmount", &format!("{cp}.ChargeAmount"))?
                    .ok_or_else(|| r.err(&format!("{cp}.ChargeAmount"), "missing"))?;
                push(SettlementLine {
                    external_line_id: format!("{base}:withheld:{ti}:{ty}:{ci}"),
                    order_external_id: order.clone(),
                    kind: SettlementLineKind::Tax,
                    sku: sku.clone(),
                    amount,
                    description: Some(format!("{ty} withheld ({model})")),
                    posted_at: posted,
                });
            }
        }
    }
    Ok(())
}
