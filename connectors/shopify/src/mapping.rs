//! Shopify GraphQL JSON → normalised records. Pure and hostile-input safe: any JSON value maps
//! to `Pulled::Ok` or `Pulled::Malformed` naming the record and the field, never a panic.
//!
//! **Currency.** An order has amounts in the shop's currency (`shopMoney`) and in the
//! buyer's (`presentmentMoney`). We import **shop money**: it is the currency of the shop's
//! books, of Shopify Payments balance transactions and payouts, so orders, refunds and
//! settlements reconcile in Odoo without exchange differences. The presentment amounts stay in
//! `raw` (the audit can compare them; an invoice in the buyer's currency can be made from them
//! later). A line whose shop-money currency differs from the order's is malformed.
//!
//! **Ids.** `external_id`s are Shopify's numeric ids (`legacyResourceId`, the number at the end
//! of a GID): the same number the REST webhooks carry in `id`, compact in Odoo. GIDs are
//! rebuilt from them ([`to_gid`]).
//!
//! What is a mapping error and what is data: as in `channel-sandbox` — unreadable numbers,
//! timestamps, negative quantities, currencies not shaped `[A-Z]{3}`, missing required fields
//! are errors; a missing address, a line without SKU, an unknown status are data for the audit.

use std::collections::HashMap;

use channels_core::json::{JsonReader, truncate};
use channels_core::{
    Address, Buyer, ChannelId, Currency, Discount, FeeKind, FulfilledBy, MappingError, Money,
    Order, OrderLine, OrderStatus, Pulled, Return, ReturnLine, ReturnStatus, ServiceLevel,
    Settlement, SettlementLine, SettlementLineKind, TaxCollector, TaxLine,
};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

/// The number of a GID of `kind`: `gid://shopify/Order/123` → `123`. Also accepts the bare
/// number. Query strings (`…/InventoryLevel/1?inventory_item_id=2`) are ignored.
pub fn gid_number(s: &str, kind: &str) -> Option<String> {
    let s = s.trim();
    let n = match s.strip_prefix("gid://shopify/") {
        Some(rest) => rest
            .strip_prefix(kind)?
            .strip_prefix('/')?
            .split('?')
            .next()?,
        None => s,
    };
    (!n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.to_string())
}

pub fn to_gid(kind: &str, id: &str) -> String {
    match gid_number(id, kind) {
        Some(n) => format!("gid://shopify/{kind}/{n}"),
        None => id.to_string(),
    }
}

/// The shared field reader (`channels_core::json`), plus what only this marketplace's payloads
/// need.
struct Reader<'a>(JsonReader<'a>);

impl<'a> Reader<'a> {
    fn new(record: &'a str) -> Self {
        Reader(JsonReader::new(record, "RFC 3339"))
    }
}

impl<'a> std::ops::Deref for Reader<'a> {
    type Target = JsonReader<'a>;
    fn deref(&self) -> &JsonReader<'a> {
        &self.0
    }
}

type R<T> = Result<T, MappingError>;

impl Reader<'_> {
    fn currency_of(&self, s: &str, path: &str) -> R<Currency> {
        Currency::new(s)
            .map_err(|_| self.err(path, format!("not a currency code: {:?}", truncate(s))))
    }

    fn array<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<&'v [Value]> {
        match self.present(v, key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.err(path, "expected a list")),
        }
    }

    /// `key { nodes [...] }` (a connection) or a plain list.
    fn nodes<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<&'v [Value]> {
        match self.present(v, key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(o @ Value::Object(_)) => self.array(o, "nodes", &format!("{path}.nodes")),
            Some(_) => Err(self.err(path, "expected a connection")),
        }
    }

    /// `MoneyV2 {amount, currencyCode}` in the expected currency.
    fn money_v2(&self, v: &Value, path: &str, expect: Option<Currency>) -> R<Money> {
        if !v.is_object() {
            return Err(self.err(path, "expected an amount with its currency"));
        }
        let amount = self.decimal(
            self.req(v, "amount", &format!("{path}.amount"))?,
            &format!("{path}.amount"),
        )?;
        let code = self.req_str(v, "currencyCode", &format!("{path}.currencyCode"))?;
        let c = self.currency_of(&code, &format!("{path}.currencyCode"))?;
        if let Some(e) = expect
            && e != c
        {
            return Err(self.err(
                &format!("{path}.currencyCode"),
                format!("{c} where the order is in {e}"),
            ));
        }
        Ok(Money::new(amount, c))
    }

    /// The shop-money amount of a `MoneyBag` field.
    fn shop_money(&self, v: &Value, key: &str, path: &str, expect: Currency) -> R<Money> {
        let bag = self.req(v, key, path)?;
        let sm = self.req(bag, "shopMoney", &format!("{path}.shopMoney"))?;
        self.money_v2(sm, &format!("{path}.shopMoney"), Some(expect))
    }

    fn opt_shop_money(
        &self,
        v: &Value,
        key: &str,
        path: &str,
        expect: Currency,
    ) -> R<Option<Money>> {
        match self.present(v, key) {
            None => Ok(None),
            Some(_) => self.shop_money(v, key, path, expect).map(Some),
        }
    }

    fn quantity(&self, v: &Value, path: &str) -> R<Decimal> {
        let q = match v {
            Value::Number(n) => n
                .as_i64()
                .map(Decimal::from)
                .ok_or_else(|| self.err(path, "expected a whole number"))?,
            _ => return Err(self.err(path, "expected a whole number")),
        };
        if q.is_sign_negative() && !q.is_zero() {
            return Err(self.err(path, format!("negative quantity {q}")));
        }
        Ok(q)
    }

    fn taxes(&self, v: &Value, key: &str, path: &str, currency: Currency) -> R<Vec<TaxLine>> {
        let mut out = Vec::new();
        for (i, t) in self.array(v, key, path)?.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let amount = self.shop_money(t, "priceSet", &format!("{p}.priceSet"), currency)?;
            if amount.amount.is_zero() {
                continue;
            }
            let rate = match self.present(t, "rate") {
                None => None,
                Some(r) => Some(self.decimal(r, &format!("{p}.rate"))?),
            };
            out.push(TaxLine {
                amount,
                rate,
                title: self.opt_str(t, "title", &format!("{p}.title"))?,
                collected_by: if t.get("channelLiable").and_then(Value::as_bool) == Some(true) {
                    TaxCollector::Marketplace
                } else {
                    TaxCollector::Seller
                },
            });
        }
        Ok(out)
    }
}

/// The record's id: `legacyResourceId`, else the number of `id`'s GID.
fn external_id(raw: &Value, kind: &str) -> Option<String> {
    match raw.get("legacyResourceId") {
        Some(Value::String(s)) if gid_number(s, kind).is_some() => return Some(s.clone()),
        Some(Value::Number(n)) => return Some(n.to_string()),
        _ => {}
    }
    raw.get("id")
        .and_then(Value::as_str)
        .and_then(|g| gid_number(g, kind))
}

fn pulled<T>(
    kind: &str,
    gid_kind: &str,
    raw: &Value,
    f: impl FnOnce(&Reader<'_>, &str) -> R<T>,
) -> Pulled<T> {
    let Some(id) = external_id(raw, gid_kind) else {
        let what = if raw.is_object() {
            "missing or not a Shopify id"
        } else {
            "the record is not a JSON object"
        };
        return Pulled::Malformed {
            external_id: None,
            raw: raw.clone(),
            error: MappingError::new(format!("{kind} (no id)"), "id", what),
        };
    };
    let record = format!("{kind} {id}");
    match f(&Reader::new(&record), &id) {
        Ok(t) => Pulled::Ok(t),
        Err(error) => Pulled::Malformed {
            external_id: Some(id),
            raw: raw.clone(),
            error,
        },
    }
}

fn address(r: &Reader<'_>, v: &Value, path: &str) -> R<Address> {
    let f = |k: &str| r.opt_str(v, k, &format!("{path}.{k}"));
    let name = match f("name")? {
        Some(n) => Some(n),
        None => match (f("firstName")?, f("lastName")?) {
            (Some(a), Some(b)) => Some(format!("{a} {b}")),
            (a, b) => a.or(b),
        },
    };
    Ok(Address {
        name,
        company: f("company")?,
        street: f("address1")?,
        street2: f("address2")?,
        city: f("city")?,
        state_code: f("provinceCode")?,
        zip: f("zip")?,
        country_code: f("countryCodeV2")?.map(|c| c.trim().to_ascii_uppercase()),
        phone: f("phone")?,
    })
}

/// Order status from Shopify's display statuses (kept whole in `raw_status`).
pub fn order_status(
    cancelled: bool,
    financial: Option<&str>,
    fulfillment: &str,
    returns: Option<&str>,
) -> OrderStatus {
    if cancelled {
        return OrderStatus::Cancelled;
    }
    if returns == Some("RETURNED") {
        return OrderStatus::Returned;
    }
    match fulfillment {
        "FULFILLED" => OrderStatus::Shipped,
        "PARTIALLY_FULFILLED" => OrderStatus::PartiallyShipped,
        "RESTOCKED" => OrderStatus::Cancelled,
        "ON_HOLD" | "SCHEDULED" | "REQUEST_DECLINED" => OrderStatus::Pending,
        "UNFULFILLED" | "OPEN" | "IN_PROGRESS" | "PENDING_FULFILLMENT" => match financial {
            Some("PENDING") | Some("EXPIRED") => OrderStatus::Pending,
            Some("VOIDED") | Some("REFUNDED") => OrderStatus::Cancelled,
            _ => OrderStatus::Unshipped,
        },
        _ => OrderStatus::Unknown,
    }
}

pub fn service_level(title: &str) -> ServiceLevel {
    let t = title.to_ascii_lowercase();
    if t.contains("same day") || t.contains("same-day") {
        ServiceLevel::SameDay
    } else if t.contains("next day")
        || t.contains("overnight")
        || t.contains("next-day")
        || t.contains("24h")
        || t.contains("24 h")
    {
        ServiceLevel::NextDay
    } else if t.contains("2 day") || t.contains("two day") || t.contains("2-day") {
        ServiceLevel::TwoDay
    } else if t.contains("express") || t.contains("expedited") || t.contains("priority") {
        ServiceLevel::Expedited
    } else if t.contains("pickup") || t.contains("pick up") || t.contains("pick-up") {
        ServiceLevel::Pickup
    } else if t.contains("economy") {
        ServiceLevel::Economy
    } else if t.contains("standard") {
        ServiceLevel::Standard
    } else {
        ServiceLevel::Unknown
    }
}

/// One `Order` node (the `OrderFields` fragment), its line items complete.
pub fn map_order(channel: &ChannelId, raw: &Value) -> Pulled<Order> {
    pulled("order", "Order", raw, |r, id| {
        let code = r.req_str(raw, "currencyCode", "currencyCode")?;
        let currency = r.currency_of(&code, "currencyCode")?;
        let cancelled = r.opt_ts(raw, "cancelledAt", "cancelledAt")?.is_some();
        let financial = r.opt_str(raw, "displayFinancialStatus", "displayFinancialStatus")?;
        let fulfillment = r.req_str(raw, "displayFulfillmentStatus", "displayFulfillmentStatus")?;
        let returns = r.opt_str(raw, "returnStatus", "returnStatus")?;
        let raw_status = format!(
            "{}/{}{}",
            financial.as_deref().unwrap_or("-"),
            fulfillment,
            if cancelled { "/CANCELLED" } else { "" }
        );
        let buyer = match r.opt_object(raw, "customer", "customer")? {
            None => Buyer {
                email: r.opt_str(raw, "email", "email")?,
                phone: r.opt_str(raw, "phone", "phone")?,
                ..Buyer::default()
            },
            Some(c) => Buyer {
                external_id: r
                    .opt_str(c, "id", "customer.id")?
                    .and_then(|g| gid_number(&g, "Customer")),
                name: match (
                    r.opt_str(c, "firstName", "customer.firstName")?,
                    r.opt_str(c, "lastName", "customer.lastName")?,
                ) {
                    (Some(a), Some(b)) => Some(format!("{a} {b}")),
                    (a, b) => a.or(b),
                },
                email: r.opt_str(raw, "email", "email")?.or(r.opt_str(
                    c,
                    "email",
                    "customer.email",
                )?),
                phone: r.opt_str(raw, "phone", "phone")?.or(r.opt_str(
                    c,
                    "phone",
                    "customer.phone",
                )?),
            },
        };
        let shipping_address = r
            .opt_object(raw, "shippingAddress", "shippingAddress")?
            .map(|a| address(r, a, "shippingAddress"))
            .transpose()?;
        let billing_address = r
            .opt_object(raw, "billingAddress", "billingAddress")?
            .map(|a| address(r, a, "billingAddress"))
            .transpose()?;
        // Units refunded per line (fetched only when a line lost units): all of them, and
        // those refunded as `CANCEL` (never shipped).
        let mut refunded: HashMap<String, (Decimal, Decimal)> = HashMap::new();
        for (i, rf) in r.array(raw, "refunds", "refunds")?.iter().enumerate() {
            let rp = format!("refunds[{i}].refundLineItems");
            for (j, rl) in r.nodes(rf, "refundLineItems", &rp)?.iter().enumerate() {
                let p = |k: &str| format!("{rp}.nodes[{j}].{k}");
                let qty = r.quantity(r.req(rl, "quantity", &p("quantity"))?, &p("quantity"))?;
                let kind = r.req_str(rl, "restockType", &p("restockType"))?;
                let line = r
                    .opt_object(rl, "lineItem", &p("lineItem"))?
                    .ok_or_else(|| r.err(&p("lineItem"), "missing"))?;
                let line = r.req_str(line, "id", &p("lineItem.id"))?;
                let entry = refunded.entry(line).or_default();
                entry.0 += qty;
                if kind == "CANCEL" {
                    entry.1 += qty;
                }
            }
        }
        let mut lines = Vec::new();
        for (i, l) in r.nodes(raw, "lineItems", "lineItems")?.iter().enumerate() {
            let p = |k: &str| format!("lineItems[{i}].{k}");
            if !l.is_object() {
                return Err(r.err(&format!("lineItems[{i}]"), "expected an object"));
            }
            let line_gid = r.req_str(l, "id", &p("id"))?;
            let line_id = gid_number(&line_gid, "LineItem")
                .ok_or_else(|| r.err(&p("id"), "not a LineItem id"))?;
            let ordered = r.quantity(r.req(l, "quantity", &p("quantity"))?, &p("quantity"))?;
            let current = match r.present(l, "currentQuantity") {
                Some(q) => r.quantity(q, &p("currentQuantity"))?,
                None => ordered,
            };
            if current > ordered {
                return Err(r.err(&p("currentQuantity"), "above the ordered quantity"));
            }
            // Units that left the line: refunded, or removed by an order edit (Shopify only
            // lets an edit remove unfulfilled units). A cancellation is an edit's removal or a
            // `CANCEL` refund; a refund of shipped units (a return, a goodwill refund) is not.
            let (refunded_all, refunded_cancel) =
                refunded.get(&line_gid).copied().unwrap_or_default();
            let edited_out = (ordered - current - refunded_all).max(Decimal::ZERO);
            let quantity_cancelled = (edited_out + refunded_cancel).min(ordered);
            let mut discounts = Vec::new();
            for (j, d) in r
                .array(l, "discountAllocations", &p("discountAllocations"))?
                .iter()
                .enumerate()
            {
                let dp = format!("lineItems[{i}].discountAllocations[{j}]");
                let amount = r.shop_money(
                    d,
                    "allocatedAmountSet",
                    &format!("{dp}.allocatedAmountSet"),
                    currency,
                )?;
                let app = r.opt_object(
                    d,
                    "discountApplication",
                    &format!("{dp}.discountApplication"),
                )?;
                let code = app
                    .and_then(|a| a.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let description = app
                    .and_then(|a| a.get("title"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if !amount.amount.is_zero() {
                    discounts.push(Discount {
                        amount,
                        code,
                        description,
                    });
                }
            }
            lines.push(OrderLine {
                external_line_id: line_id,
                sku: r.opt_str(l, "sku", &p("sku"))?,
                title: r.opt_str(l, "name", &p("name"))?,
                quantity: ordered,
                quantity_cancelled,
                unit_price: r.shop_money(
                    l,
                    "originalUnitPriceSet",
                    &p("originalUnitPriceSet"),
                    currency,
                )?,
                discounts,
                taxes: r.taxes(l, "taxLines", &p("taxLines"), currency)?,
                line_total: r.shop_money(
                    l,
                    "discountedTotalSet",
                    &p("discountedTotalSet"),
                    currency,
                )?,
            });
        }
        let mut shipping_charge: Option<Money> = None;
        let mut shipping_taxes = Vec::new();
        let mut raw_service_level = None;
        for (i, s) in r
            .nodes(raw, "shippingLines", "shippingLines")?
            .iter()
            .enumerate()
        {
            let p = |k: &str| format!("shippingLines[{i}].{k}");
            let price = match r.opt_shop_money(
                s,
                "discountedPriceSet",
                &p("discountedPriceSet"),
                currency,
            )? {
                Some(m) => m,
                None => r.shop_money(s, "originalPriceSet", &p("originalPriceSet"), currency)?,
            };
            shipping_charge = Some(match shipping_charge {
                None => price,
                Some(acc) => Money::new(acc.amount + price.amount, currency),
            });
            shipping_taxes.extend(r.taxes(s, "taxLines", &p("taxLines"), currency)?);
            if raw_service_level.is_none() {
                raw_service_level = r.opt_str(s, "title", &p("title"))?;
            }
        }
        Ok(Order {
            channel: channel.clone(),
            external_id: id.to_string(),
            external_number: r.opt_str(raw, "name", "name")?,
            status: order_status(
                cancelled,
                financial.as_deref(),
                &fulfillment,
                returns.as_deref(),
            ),
            raw_status,
            buyer,
            billing_address,
            shipping_address,
            lines,
            shipping_charge,
            shipping_taxes,
            order_total: r.shop_money(raw, "totalPriceSet", "totalPriceSet", currency)?,
            fees_known_at_order_time: vec![],
            currency,
            created_at: r.req_ts(raw, "createdAt", "createdAt")?,
            updated_at: r.req_ts(raw, "updatedAt", "updatedAt")?,
            ship_by: None,
            deliver_by: None,
            service_level: raw_service_level
                .as_deref()
                .map(service_level)
                .unwrap_or(ServiceLevel::Unknown),
            raw_service_level,
            fulfilled_by: FulfilledBy::Merchant,
            is_business: false,
            buyer_cancel_request: None,
            raw: raw.clone(),
        })
    })
}

pub fn return_status(s: &str) -> ReturnStatus {
    match s {
        "REQUESTED" => ReturnStatus::Requested,
        "OPEN" => ReturnStatus::Approved,
        "CLOSED" => ReturnStatus::Closed,
        "DECLINED" => ReturnStatus::Rejected,
        "CANCELED" => ReturnStatus::Closed,
        _ => ReturnStatus::Unknown,
    }
}

/// One `Return` node of an order node (`ReturnsPage`). The 2025-01 `Return` type has no
/// timestamps: `requested_at` and `updated_at` are the order's `updatedAt` (a return changes
/// its order), which is what the cursor pages by anyway.
pub fn map_return(order: &Value, raw: &Value) -> Pulled<Return> {
    let mut whole = raw.clone();
    if let Some(o) = whole.as_object_mut() {
        o.insert(
            "order".into(),
            serde_json::json!({
                "id": order.get("id"), "legacyResourceId": order.get("legacyResourceId"),
                "name": order.get("name"), "updatedAt": order.get("updatedAt"),
            }),
        );
    }
    pulled("return", "Return", raw, |r, id| {
        let order_id = external_id(order, "Order")
            .ok_or_else(|| r.err("order.id", "missing or not a Shopify id"))?;
        let raw_status = r.req_str(raw, "status", "status")?;
        let updated = r.req_ts(order, "updatedAt", "order.updatedAt")?;
        let mut lines = Vec::new();
        for (i, l) in r
            .nodes(raw, "returnLineItems", "returnLineItems")?
            .iter()
            .enumerate()
        {
            let p = |k: &str| format!("returnLineItems[{i}].{k}");
            let li = l.get("fulfillmentLineItem").and_then(|f| f.get("lineItem"));
            let reason = r.opt_str(l, "returnReason", &p("returnReason"))?;
            let note = r.opt_str(l, "returnReasonNote", &p("returnReasonNote"))?;
            lines.push(ReturnLine {
                external_line_id: li
                    .and_then(|x| x.get("id"))
                    .and_then(Value::as_str)
                    .and_then(|g| gid_number(g, "LineItem")),
                sku: li
                    .and_then(|x| x.get("sku"))
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string),
                quantity: r.quantity(r.req(l, "quantity", &p("quantity"))?, &p("quantity"))?,
                reason: match (reason, note) {
                    (Some(a), Some(b)) => Some(format!("{a}: {b}")),
                    (a, b) => a.or(b),
                },
            });
        }
        let mut refund: Option<Money> = None;
        for (i, rf) in r.nodes(raw, "refunds", "refunds")?.iter().enumerate() {
            let p = format!("refunds[{i}].totalRefundedSet.shopMoney");
            let bag = r.req(
                rf,
                "totalRefundedSet",
                &format!("refunds[{i}].totalRefundedSet"),
            )?;
            let m = r.money_v2(r.req(bag, "shopMoney", &p)?, &p, refund.map(|x| x.currency))?;
            refund = Some(match refund {
                None => m,
                Some(acc) => Money::new(acc.amount + m.amount, acc.currency),
            });
        }
        Ok(Return {
            external_id: id.to_string(),
            order_external_id: order_id,
            lines,
            status: return_status(&raw_status),
            raw_status,
            requested_at: updated,
            received_at: None,
            updated_at: updated,
            refund,
            raw: whole.clone(),
        })
    })
}

/// The kind of a balance transaction's amount line.
pub fn balance_kind(t: &str) -> SettlementLineKind {
    match t {
        "CHARGE" => SettlementLineKind::Sale,
        "REFUND" | "REFUND_FAILURE" => SettlementLineKind::Refund,
        "RESERVED_FUNDS" | "RESERVED_FUNDS_WITHDRAWAL" | "RESERVED_FUNDS_REVERSAL" => {
            SettlementLineKind::Reserve
        }
        "TRANSFER" | "TRANSFER_FAILURE" | "TRANSFER_CANCEL" | "TRANSFER_REFUND" => {
            SettlementLineKind::Payout
        }
        "SHIPPING_LABEL" => SettlementLineKind::Fee {
            fee: FeeKind::ShippingLabel,
        },
        "BILLING_DEBIT" | "BILLING_DEBIT_REVERSAL" => SettlementLineKind::Fee {
            fee: FeeKind::Subscription,
        },
        "CHARGEBACK_FEE" | "CHARGEBACK_FEE_REFUND" | "STRIPE_FEE" | "APPLICATION_FEE_REFUND" => {
            SettlementLineKind::Fee {
                fee: FeeKind::PaymentProcessing,
            }
        }
        t if t == "ADJUSTMENT" || t.ends_with("_ADJUSTMENT") || t.starts_with("DISPUTE_") => {
            SettlementLineKind::Adjustment
        }
        "CUSTOMS_DUTY" | "IMPORT_TAX" => SettlementLineKind::Tax,
        other => SettlementLineKind::Other {
            raw: other.to_string(),
        },
    }
}

/// A payout and its balance transactions → one settlement. Each transaction gives an amount
/// line (sale, refund, adjustment…) and, when it has a fee, a fee line (negative); their sum
/// is the payout's net, which `Settlement::is_balanced` checks rather than assumes. Transfers
/// (the payout itself) are not lines.
pub fn map_settlement(payout: &Value, transactions: &[Value]) -> Pulled<Settlement> {
    let mut raw = payout.clone();
    if let Some(o) = raw.as_object_mut() {
        o.insert(
            "balanceTransactions".into(),
            Value::Array(transactions.to_vec()),
        );
    }
    pulled("payout", "ShopifyPaymentsPayout", payout, |r, id| {
        let net = r.req(payout, "net", "net")?;
        let total = r.money_v2(net, "net", None)?;
        let currency = total.currency;
        let issued = r.req_ts(payout, "issuedAt", "issuedAt")?;
        let status = r.req_str(payout, "status", "status")?;
        let mut lines = Vec::new();
        let (mut first, mut last) = (issued, issued);
        for (i, t) in transactions.iter().enumerate() {
            let p = |k: &str| format!("balanceTransactions[{i}].{k}");
            let tid = r.req_str(t, "id", &p("id"))?;
            let tid = gid_number(&tid, "ShopifyPaymentsBalanceTransaction")
                .ok_or_else(|| r.err(&p("id"), "not a balance transaction id"))?;
            let kind = r.req_str(t, "type", &p("type"))?;
            if matches!(balance_kind(&kind), SettlementLineKind::Payout) {
                continue;
            }
            let amount = r.money_v2(
                r.req(t, "amount", &p("amount"))?,
                &p("amount"),
                Some(currency),
            )?;
            let fee = r.money_v2(r.req(t, "fee", &p("fee"))?, &p("fee"), Some(currency))?;
            let date = r.req_ts(t, "transactionDate", &p("transactionDate"))?;
            first = first.min(date);
            last = last.max(date);
            let order = t
                .get("associatedOrder")
                .and_then(|o| o.get("id"))
                .and_then(Value::as_str)
                .and_then(|g| gid_number(g, "Order"));
            let description = r
                .opt_str(t, "adjustmentReason", &p("adjustmentReason"))?
                .or_else(|| {
                    t.get("associatedOrder")
                        .and_then(|o| o.get("name"))
                        .and_then(Value::as_str)
                        .map(|n| format!("{kind} {n}"))
                })
                .or(Some(kind.clone()));
            lines.push(SettlementLine {
                external_line_id: tid.clone(),
                order_external_id: order.clone(),
                kind: balance_kind(&kind),
                sku: None,
                amount,
                description,
                posted_at: Some(date),
            });
            if !fee.amount.is_zero() {
                lines.push(SettlementLine {
                    external_line_id: format!("{tid}:fee"),
                    order_external_id: order,
                    kind: SettlementLineKind::Fee {
                        fee: FeeKind::PaymentProcessing,
                    },
                    sku: None,
                    amount: Money::new(-fee.amount, currency),
                    description: Some(format!("Shopify Payments fee on {kind}")),
                    posted_at: Some(date),
                });
            }
        }
        Ok(Settlement {
            external_id: id.to_string(),
            period_start: first,
            period_end: last,
            payout_date: (status == "PAID").then_some(issued),
            currency,
            total,
            lines,
            updated_at: issued,
            raw: raw.clone(),
        })
    })
}

/// `updated_at` of the latest mapped record.
pub fn high_water_mark<T>(
    items: &[Pulled<T>],
    updated_at: impl Fn(&T) -> Timestamp,
) -> Option<Timestamp> {
    items.iter().filter_map(|p| p.ok().map(&updated_at)).max()
}
