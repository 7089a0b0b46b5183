//! Sandbox JSON → normalised records. Pure and hostile-input safe: any JSON value maps to
//! `Pulled::Ok` or `Pulled::Malformed` naming the record and the field, never a panic.
//!
//! What is a mapping error and what is data:
//! * **Malformed** (quarantined as unreadable): not an object, missing id, a required field
//!   missing or of the wrong type, a quantity that is missing or negative, an amount or a
//!   timestamp that does not parse, a currency code not shaped like one.
//! * **Data** (kept; the order audit decides): an unknown but well-formed currency code, a
//!   missing or incomplete address, a line without SKU or with a SKU Odoo does not know, an
//!   unknown status or service level (kept in `raw_status` / `raw_service_level`), totals
//!   that do not add up.

use channels_core::json::{JsonReader, truncate};
use channels_core::{
    Address, Buyer, ChannelId, Currency, Discount, Fee, FeeKind, FulfilledBy, MappingError, Money,
    Order, OrderLine, OrderStatus, Pulled, Return, ReturnLine, ReturnStatus, ServiceLevel,
    Settlement, SettlementLine, SettlementLineKind, TaxCollector, TaxLine,
};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

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
    fn opt_bool(&self, v: &Value, key: &str, path: &str) -> R<Option<bool>> {
        match self.present(v, key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err(path, "expected true or false")),
        }
    }

    fn currency(&self, v: &Value, key: &str, path: &str) -> R<Currency> {
        let s = self.req_str(v, key, path)?;
        Currency::new(&s)
            .map_err(|_| self.err(path, format!("not a currency code: {:?}", truncate(&s))))
    }

    fn opt_array<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<&'v [Value]> {
        match self.present(v, key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.err(path, "expected an array")),
        }
    }

    /// A quantity of goods: present, a number, not negative.
    fn quantity(&self, v: &Value, key: &str, path: &str) -> R<Decimal> {
        let q = self.req_decimal(v, key, path)?;
        if q.is_sign_negative() && !q.is_zero() {
            return Err(self.err(path, format!("negative quantity {q}")));
        }
        Ok(q)
    }
}

/// The record's id, if it has a usable one.
fn external_id(raw: &Value) -> Option<String> {
    match raw.get("id")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn pulled<T>(kind: &str, raw: &Value, f: impl FnOnce(&Reader<'_>, &str) -> R<T>) -> Pulled<T> {
    let Some(id) = external_id(raw) else {
        let what = if raw.is_object() {
            "missing or empty"
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

pub fn order_status(s: &str) -> OrderStatus {
    match s {
        "pending" => OrderStatus::Pending,
        "unshipped" => OrderStatus::Unshipped,
        "partially_shipped" => OrderStatus::PartiallyShipped,
        "shipped" => OrderStatus::Shipped,
        "delivered" => OrderStatus::Delivered,
        "cancelled" => OrderStatus::Cancelled,
        "returned" => OrderStatus::Returned,
        _ => OrderStatus::Unknown,
    }
}

pub fn service_level(s: &str) -> ServiceLevel {
    match s {
        "economy" => ServiceLevel::Economy,
        "standard" => ServiceLevel::Standard,
        "expedited" => ServiceLevel::Expedited,
        "two_day" => ServiceLevel::TwoDay,
        "next_day" => ServiceLevel::NextDay,
        "same_day" => ServiceLevel::SameDay,
        "scheduled" => ServiceLevel::Scheduled,
        "pickup" => ServiceLevel::Pickup,
        _ => ServiceLevel::Unknown,
    }
}

fn fee_kind(s: &str) -> FeeKind {
    match s {
        "commission" | "referral" => FeeKind::Commission,
        "fulfillment" | "fulfilment" => FeeKind::Fulfilment,
        "advertising" => FeeKind::Advertising,
        "shipping_label" => FeeKind::ShippingLabel,
        "storage" => FeeKind::Storage,
        "subscription" => FeeKind::Subscription,
        "payment" => FeeKind::PaymentProcessing,
        other => FeeKind::Other(other.to_string()),
    }
}

fn address(r: &Reader<'_>, v: &Value, path: &str) -> R<Address> {
    let f = |k: &str| r.opt_str(v, k, &format!("{path}.{k}"));
    Ok(Address {
        name: f("name")?,
        company: f("company")?,
        street: f("line1")?,
        street2: f("line2")?,
        city: f("city")?,
        state_code: f("region")?,
        zip: f("postal_code")?,
        country_code: f("country")?.map(|c| c.trim().to_ascii_uppercase()),
        phone: f("phone")?,
    })
}

pub fn map_order(channel: &ChannelId, raw: &Value) -> Pulled<Order> {
    pulled("order", raw, |r, id| {
        let currency = r.currency(raw, "currency", "currency")?;
        let money = |a: Decimal| Money::new(a, currency);
        let raw_status = r.req_str(raw, "status", "status")?;
        let buyer = match r.opt_object(raw, "buyer", "buyer")? {
            None => Buyer::default(),
            Some(b) => Buyer {
                external_id: r.opt_str(b, "id", "buyer.id")?,
                name: r.opt_str(b, "name", "buyer.name")?,
                email: r.opt_str(b, "email", "buyer.email")?,
                phone: r.opt_str(b, "phone", "buyer.phone")?,
            },
        };
        let shipping_address = r
            .opt_object(raw, "shipping_address", "shipping_address")?
            .map(|a| address(r, a, "shipping_address"))
            .transpose()?;
        let billing_address = r
            .opt_object(raw, "billing_address", "billing_address")?
            .map(|a| address(r, a, "billing_address"))
            .transpose()?;
        let mut lines = Vec::new();
        let items = match r.req(raw, "line_items", "line_items")? {
            Value::Array(a) => a,
            _ => return Err(r.err("line_items", "expected an array")),
        };
        for (i, l) in items.iter().enumerate() {
            let p = |k: &str| format!("line_items[{i}].{k}");
            if !l.is_object() {
                return Err(r.err(&format!("line_items[{i}]"), "expected an object"));
            }
            let discount = r
                .opt_decimal(l, "discount", &p("discount"))?
                .unwrap_or_default();
            let tax = r.opt_decimal(l, "tax", &p("tax"))?.unwrap_or_default();
            let collected_by = match r
                .opt_str(l, "tax_collected_by", &p("tax_collected_by"))?
                .as_deref()
            {
                Some("marketplace") => TaxCollector::Marketplace,
                _ => TaxCollector::Seller,
            };
            lines.push(OrderLine {
                external_line_id: r.req_str(l, "id", &p("id"))?,
                sku: r.opt_str(l, "sku", &p("sku"))?,
                title: r.opt_str(l, "title", &p("title"))?,
                quantity: r.quantity(l, "quantity", &p("quantity"))?,
                quantity_cancelled: match r.present(l, "quantity_cancelled") {
                    Some(_) => r.quantity(l, "quantity_cancelled", &p("quantity_cancelled"))?,
                    None => Decimal::ZERO,
                },
                unit_price: money(r.req_decimal(l, "unit_price", &p("unit_price"))?),
                discounts: if discount.is_zero() {
                    vec![]
                } else {
                    vec![Discount {
                        amount: money(discount),
                        code: None,
                        description: None,
                    }]
                },
                taxes: if tax.is_zero() {
                    vec![]
                } else {
                    vec![TaxLine {
                        amount: money(tax),
                        rate: None,
                        title: None,
                        collected_by,
                    }]
                },
                line_total: money(r.req_decimal(l, "total", &p("total"))?),
            });
        }
        let (shipping_charge, shipping_taxes, raw_service_level) =
            match r.opt_object(raw, "shipping", "shipping")? {
                None => (None, vec![], None),
                Some(s) => {
                    let price = r.opt_decimal(s, "price", "shipping.price")?;
                    let tax = r.opt_decimal(s, "tax", "shipping.tax")?.unwrap_or_default();
                    let taxes = if tax.is_zero() {
                        vec![]
                    } else {
                        vec![TaxLine {
                            amount: money(tax),
                            rate: None,
                            title: Some("Shipping tax".into()),
                            collected_by: TaxCollector::Seller,
                        }]
                    };
                    (
                        price.map(money),
                        taxes,
                        r.opt_str(s, "service_level", "shipping.service_level")?,
                    )
                }
            };
        let mut fees = Vec::new();
        for (i, f) in r.opt_array(raw, "fees", "fees")?.iter().enumerate() {
            let kind = r.req_str(f, "type", &format!("fees[{i}].type"))?;
            fees.push(Fee {
                kind: fee_kind(&kind),
                amount: money(r.req_decimal(f, "amount", &format!("fees[{i}].amount"))?),
                description: None,
            });
        }
        let fulfilled_by = match r.opt_object(raw, "fulfillment", "fulfillment")? {
            Some(f)
                if r.opt_str(f, "channel", "fulfillment.channel")?.as_deref()
                    == Some("marketplace") =>
            {
                FulfilledBy::Marketplace {
                    program: r
                        .opt_str(f, "program", "fulfillment.program")?
                        .unwrap_or_else(|| "marketplace".into()),
                }
            }
            _ => FulfilledBy::Merchant,
        };
        Ok(Order {
            channel: channel.clone(),
            external_id: id.to_string(),
            external_number: r.opt_str(raw, "number", "number")?,
            status: order_status(&raw_status),
            raw_status,
            buyer,
            billing_address,
            shipping_address,
            lines,
            shipping_charge,
            shipping_taxes,
            order_total: money(r.req_decimal(raw, "total", "total")?),
            fees_known_at_order_time: fees,
            currency,
            created_at: r.req_ts(raw, "created_at", "created_at")?,
            updated_at: r.req_ts(raw, "updated_at", "updated_at")?,
            ship_by: r.opt_ts(raw, "ship_by", "ship_by")?,
            deliver_by: r.opt_ts(raw, "deliver_by", "deliver_by")?,
            service_level: raw_service_level
                .as_deref()
                .map(service_level)
                .unwrap_or(ServiceLevel::Unknown),
            raw_service_level,
            fulfilled_by,
            is_business: r
                .opt_bool(raw, "is_business", "is_business")?
                .unwrap_or(false),
            buyer_cancel_request: None,
            raw: raw.clone(),
        })
    })
}

pub fn map_return(raw: &Value) -> Pulled<Return> {
    pulled("return", raw, |r, id| {
        let raw_status = r.req_str(raw, "status", "status")?;
        let mut lines = Vec::new();
        for (i, l) in r.opt_array(raw, "lines", "lines")?.iter().enumerate() {
            let p = |k: &str| format!("lines[{i}].{k}");
            lines.push(ReturnLine {
                external_line_id: r.opt_str(l, "line_id", &p("line_id"))?,
                sku: r.opt_str(l, "sku", &p("sku"))?,
                quantity: r.quantity(l, "quantity", &p("quantity"))?,
                reason: r.opt_str(l, "reason", &p("reason"))?,
            });
        }
        let refund = match r.opt_object(raw, "refund", "refund")? {
            None => None,
            Some(m) => Some(Money::new(
                r.req_decimal(m, "amount", "refund.amount")?,
                r.currency(m, "currency", "refund.currency")?,
            )),
        };
        Ok(Return {
            external_id: id.to_string(),
            order_external_id: r.req_str(raw, "order_id", "order_id")?,
            lines,
            status: match raw_status.as_str() {
                "requested" => ReturnStatus::Requested,
                "approved" => ReturnStatus::Approved,
                "in_transit" => ReturnStatus::InTransit,
                "received" => ReturnStatus::Received,
                "refunded" => ReturnStatus::Refunded,
                "rejected" => ReturnStatus::Rejected,
                "closed" => ReturnStatus::Closed,
                _ => ReturnStatus::Unknown,
            },
            raw_status,
            requested_at: r.req_ts(raw, "requested_at", "requested_at")?,
            received_at: r.opt_ts(raw, "received_at", "received_at")?,
            updated_at: r.req_ts(raw, "updated_at", "updated_at")?,
            refund,
            raw: raw.clone(),
        })
    })
}

pub fn map_settlement(raw: &Value) -> Pulled<Settlement> {
    pulled("settlement", raw, |r, id| {
        let currency = r.currency(raw, "currency", "currency")?;
        let mut lines = Vec::new();
        let items = match r.req(raw, "lines", "lines")? {
            Value::Array(a) => a,
            _ => return Err(r.err("lines", "expected an array")),
        };
        for (i, l) in items.iter().enumerate() {
            let p = |k: &str| format!("lines[{i}].{k}");
            let ty = r.req_str(l, "type", &p("type"))?;
            let kind = match ty.as_str() {
                "sale" => SettlementLineKind::Sale,
                "refund" => SettlementLineKind::Refund,
                "fee" => SettlementLineKind::Fee {
                    fee: fee_kind(
                        &r.opt_str(l, "fee_type", &p("fee_type"))?
                            .unwrap_or_else(|| "unspecified".into()),
                    ),
                },
                "shipping" => SettlementLineKind::Shipping,
                "tax" => SettlementLineKind::Tax,
                "adjustment" => SettlementLineKind::Adjustment,
                "reserve" => SettlementLineKind::Reserve,
                "payout" => SettlementLineKind::Payout,
                other => SettlementLineKind::Other {
                    raw: other.to_string(),
                },
            };
            lines.push(SettlementLine {
                external_line_id: r.req_str(l, "id", &p("id"))?,
                order_external_id: r.opt_str(l, "order_id", &p("order_id"))?,
                kind,
                sku: r.opt_str(l, "sku", &p("sku"))?,
                amount: Money::new(r.req_decimal(l, "amount", &p("amount"))?, currency),
                description: r.opt_str(l, "description", &p("description"))?,
                posted_at: r.opt_ts(l, "posted_at", &p("posted_at"))?,
            });
        }
        Ok(Settlement {
            external_id: id.to_string(),
            period_start: r.req_ts(raw, "period_start", "period_start")?,
            period_end: r.req_ts(raw, "period_end", "period_end")?,
            payout_date: r.opt_ts(raw, "payout_date", "payout_date")?,
            currency,
            total: Money::new(r.req_decimal(raw, "total", "total")?, currency),
            lines,
            updated_at: r.req_ts(raw, "updated_at", "updated_at")?,
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
