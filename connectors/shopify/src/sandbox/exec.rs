//! The GraphQL face of the state: resolvers for `apollo_compiler`'s executor.
//!
//! One generic object, [`JsonObj`], serves every type: the state renders a record as JSON in
//! the schema's shape (camelCase, connections as arrays, `__typename` on objects that can
//! appear behind an interface), and the executor asks for the fields the document selects.
//! The executor (not this code) validates the result against the schema: a non-null field that
//! came back null, an enum value not in the enum or an object that is not a possible type
//! becomes a field error, so the sandbox cannot drift from the schema silently.
//!
//! Generic rules: a field whose type is a `…Connection` and whose JSON is an array is paged
//! (`first`/`after`/`last`/`before`/`reverse`, opaque cursors, `pageInfo`); a list field with a
//! `first` argument is truncated. Hooks handle what needs arguments (root fields with their
//! `query:` filters and keyset cursors, `InventoryItem.inventoryLevel(locationId:)`,
//! `InventoryLevel.quantities(names:)`, `Product.metafields(namespace:, keys:)`, Shopify
//! Payments connections) and the mutations.

use std::cell::RefCell;

use apollo_compiler::ast::Type;
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonValue;
use apollo_compiler::schema::ExtendedType;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::search::{SearchQuery, Val};
use super::state::{
    DiscountKind, Fulfillment, Line, Order, Product, Refund, Return, State, Tax, Transaction,
    UserError, Variant, gid, gid_id,
};

/// Largest `first`/`last` Shopify accepts on a connection.
pub const MAX_PAGE: i64 = 250;

fn ts(t: Timestamp) -> String {
    // Shopify's DateTime: whole seconds, UTC, `Z`.
    let s = t.as_second();
    Timestamp::from_second(s)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn money(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

fn money_v2(amount: Decimal, currency: &str) -> Value {
    json!({"amount": money(amount), "currencyCode": currency})
}

fn bag(o: &Order, amount: Decimal) -> Value {
    json!({
        "shopMoney": money_v2(amount, &o.currency),
        "presentmentMoney": money_v2(amount * o.presentment_rate, &o.presentment_currency),
    })
}

fn tax_json(o: &Order, t: &Tax) -> Value {
    json!({
        "title": t.title,
        "rate": t.rate.to_string().parse::<f64>().unwrap_or(0.0),
        "ratePercentage": (t.rate * Decimal::from(100)).to_string().parse::<f64>().unwrap_or(0.0),
        "channelLiable": t.channel_liable,
        "priceSet": bag(o, t.amount),
    })
}

fn address_json(a: &super::state::Address) -> Value {
    let name = match (&a.first_name, &a.last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(f), None) => Some(f.clone()),
        (None, Some(l)) => Some(l.clone()),
        _ => None,
    };
    json!({
        "__typename": "MailingAddress",
        "id": "gid://shopify/MailingAddress/1",
        "name": name, "firstName": a.first_name, "lastName": a.last_name, "company": a.company,
        "address1": a.address1, "address2": a.address2, "city": a.city,
        "provinceCode": a.province_code, "zip": a.zip, "countryCodeV2": a.country_code,
        "phone": a.phone,
    })
}

pub fn line_json(o: &Order, l: &Line) -> Value {
    let allocations: Vec<Value> = l
        .discount
        .iter()
        .map(|(amount, kind)| {
            let app = match kind {
                DiscountKind::Code(c) => {
                    json!({"__typename": "DiscountCodeApplication", "code": c})
                }
                DiscountKind::Manual(t) => {
                    json!({"__typename": "ManualDiscountApplication", "title": t})
                }
                DiscountKind::Automatic(t) => {
                    json!({"__typename": "AutomaticDiscountApplication", "title": t})
                }
            };
            let mut app = app;
            app["allocationMethod"] = json!("ACROSS");
            json!({"allocatedAmountSet": bag(o, *amount), "discountApplication": app})
        })
        .collect();
    let mut v = json!({
        "__typename": "LineItem",
        "id": gid("LineItem", l.id),
        "sku": l.sku,
        "name": match &l.variant_title { Some(vt) => format!("{} - {vt}", l.title), None => l.title.clone() },
        "title": l.title,
        "variantTitle": l.variant_title,
        "quantity": l.quantity,
        "currentQuantity": l.current_quantity(),
        "originalUnitPriceSet": bag(o, l.unit_price),
        "discountedTotalSet": bag(o, l.discounted_total()),
        "discountAllocations": allocations,
        "taxLines": l.taxes.iter().map(|t| tax_json(o, t)).collect::<Vec<_>>(),
    });
    if o.lines.first().map(|f| f.id) == Some(l.id) {
        for c in &o.corruptions {
            match c {
                super::state::Corruption::BadPrice => {
                    v["originalUnitPriceSet"]["shopMoney"]["amount"] = json!("12,50 EUR")
                }
                super::state::Corruption::NegativeQuantity => v["quantity"] = json!(-2),
                super::state::Corruption::BadTimestamp => {}
            }
        }
    }
    v
}

fn transaction_json(o: &Order, t: &Transaction) -> Value {
    json!({
        "id": gid("OrderTransaction", t.id),
        "kind": t.kind, "status": t.status, "gateway": t.gateway,
        "amountSet": bag(o, t.amount),
        "createdAt": ts(t.created_at),
    })
}

fn refund_json(o: &Order, r: &Refund) -> Value {
    json!({
        "id": gid("Refund", r.id),
        "legacyResourceId": r.id.to_string(),
        "note": r.note,
        "createdAt": ts(r.created_at),
        "updatedAt": ts(r.created_at),
        "totalRefundedSet": bag(o, r.amount),
        "refundLineItems": r.lines.iter().filter_map(|(line, qty, restock)| {
            let l = o.lines.iter().find(|l| l.id == *line)?;
            Some(json!({"quantity": qty, "restockType": restock, "lineItem": line_json(o, l)}))
        }).collect::<Vec<_>>(),
    })
}

fn fulfillment_json(o: &Order, f: &Fulfillment) -> Value {
    json!({
        "id": gid("Fulfillment", f.id),
        "name": f.name,
        "status": f.status,
        "createdAt": ts(f.created_at),
        "trackingInfo": f.tracking.iter().map(|t| json!({"number": t.number, "company": t.company, "url": t.url})).collect::<Vec<_>>(),
        "fulfillmentLineItems": f.lines.iter().map(|fl| json!({
            "id": gid("FulfillmentLineItem", fl.id),
            "quantity": fl.quantity,
            "lineItem": o.lines.iter().find(|l| l.id == fl.line_id).map(|l| line_json(o, l)),
        })).collect::<Vec<_>>(),
    })
}

fn return_json(o: &Order, r: &Return) -> Value {
    let lines: Vec<Value> = r
        .lines
        .iter()
        .map(|rl| {
            let fl = o
                .fulfillments
                .iter()
                .flat_map(|f| f.lines.iter())
                .find(|x| x.id == rl.fulfillment_line_id);
            json!({
                "__typename": "ReturnLineItem",
                "id": gid("ReturnLineItem", rl.id),
                "quantity": rl.quantity,
                "refundableQuantity": rl.quantity,
                "refundedQuantity": 0,
                "returnReason": rl.reason,
                "returnReasonNote": rl.note,
                "customerNote": rl.customer_note,
                "fulfillmentLineItem": fl.map(|fl| json!({
                    "id": gid("FulfillmentLineItem", fl.id),
                    "quantity": fl.quantity,
                    "lineItem": o.lines.iter().find(|l| l.id == fl.line_id).map(|l| line_json(o, l)),
                })),
            })
        })
        .collect();
    json!({
        "id": gid("Return", r.id),
        "name": r.name,
        "status": r.status,
        "totalQuantity": r.lines.iter().map(|l| l.quantity).sum::<i64>(),
        "returnLineItems": lines,
        "refunds": o.refunds.iter().filter(|x| r.refund_ids.contains(&x.id)).map(|x| refund_json(o, x)).collect::<Vec<_>>(),
    })
}

pub fn order_json(o: &Order) -> Value {
    let bad_ts = o
        .corruptions
        .contains(&super::state::Corruption::BadTimestamp);
    json!({
        "__typename": "Order",
        "id": gid("Order", o.id),
        "legacyResourceId": o.id.to_string(),
        "name": o.name,
        "email": o.email,
        "phone": o.phone,
        "note": o.note,
        "tags": o.tags,
        "test": o.test,
        "createdAt": ts(o.created_at),
        "updatedAt": if bad_ts { json!("last tuesday") } else { json!(ts(o.updated_at)) },
        "processedAt": ts(o.processed_at),
        "cancelledAt": o.cancelled_at.map(ts),
        "cancelReason": o.cancel_reason,
        "closed": o.closed_at.is_some(),
        "closedAt": o.closed_at.map(ts),
        "displayFinancialStatus": o.financial_status,
        "displayFulfillmentStatus": o.display_fulfillment_status(),
        "returnStatus": o.return_status(),
        "currencyCode": o.currency,
        "presentmentCurrencyCode": o.presentment_currency,
        "taxesIncluded": o.taxes_included,
        "discountCodes": o.discount_codes,
        "customer": o.customer.as_ref().map(|c| json!({
            "id": gid("Customer", c.id), "firstName": c.first_name, "lastName": c.last_name,
            "email": c.email, "phone": c.phone,
        })),
        "shippingAddress": o.shipping_address.as_ref().map(address_json),
        "billingAddress": o.billing_address.as_ref().map(address_json),
        "subtotalPriceSet": bag(o, o.subtotal()),
        "totalDiscountsSet": bag(o, o.total_discounts()),
        "totalShippingPriceSet": bag(o, o.shipping_total()),
        "totalTaxSet": bag(o, o.total_tax()),
        "totalPriceSet": bag(o, o.total()),
        "taxLines": o.lines.iter().flat_map(|l| l.taxes.iter()).chain(o.shipping_lines.iter().flat_map(|s| s.taxes.iter())).map(|t| tax_json(o, t)).collect::<Vec<_>>(),
        "shippingLines": o.shipping_lines.iter().map(|s| json!({
            "title": s.title, "code": s.code, "source": "shopify",
            "originalPriceSet": bag(o, s.price), "discountedPriceSet": bag(o, s.price),
            "taxLines": s.taxes.iter().map(|t| tax_json(o, t)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "lineItems": o.lines.iter().map(|l| line_json(o, l)).collect::<Vec<_>>(),
        "fulfillments": o.fulfillments.iter().map(|f| fulfillment_json(o, f)).collect::<Vec<_>>(),
        "fulfillmentOrders": o.fulfillment_orders.iter().map(|fo| json!({
            "id": gid("FulfillmentOrder", fo.id),
            "status": fo.status,
            "lineItems": fo.lines.iter().map(|fl| json!({
                "id": gid("FulfillmentOrderLineItem", fl.id),
                "remainingQuantity": fl.remaining,
                "totalQuantity": fl.total,
                "lineItem": o.lines.iter().find(|l| l.id == fl.line_id).map(|l| line_json(o, l)),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "refunds": o.refunds.iter().map(|r| refund_json(o, r)).collect::<Vec<_>>(),
        "returns": o.returns.iter().map(|r| return_json(o, r)).collect::<Vec<_>>(),
        "transactions": o.transactions.iter().map(|t| transaction_json(o, t)).collect::<Vec<_>>(),
    })
}

fn level_json(st: &State, loc: u64, l: &super::state::Level) -> Value {
    json!({
        "id": format!("gid://shopify/InventoryLevel/{}?inventory_item_id=0", l.id),
        "updatedAt": ts(l.updated_at),
        "createdAt": ts(l.updated_at),
        "location": {"id": gid("Location", loc), "name": st.locations.iter().find(|x| x.id == loc).map(|x| x.name.clone())},
        "__quantities": [
            {"id": format!("gid://shopify/InventoryQuantity/{}?name=available", l.id), "name": "available", "quantity": l.available, "updatedAt": ts(l.updated_at)},
            {"id": format!("gid://shopify/InventoryQuantity/{}?name=on_hand", l.id), "name": "on_hand", "quantity": l.available.max(0), "updatedAt": ts(l.updated_at)},
        ],
    })
}

pub fn variant_json(st: &State, v: &Variant) -> Value {
    let item = st.items.get(&v.inventory_item_id);
    let product = st.products.get(&v.product_id);
    json!({
        "id": gid("ProductVariant", v.id),
        "sku": v.sku,
        "title": v.title,
        "price": money(v.price),
        "compareAtPrice": v.compare_at_price.map(money),
        "barcode": v.barcode,
        "product": product.map(|p| json!({"id": gid("Product", p.id), "handle": p.handle, "title": p.title})),
        "inventoryItem": item.map(|i| json!({
            "id": gid("InventoryItem", i.id),
            "tracked": i.tracked,
            "sku": v.sku,
            "__levels": i.levels.iter().map(|(loc, l)| (loc.to_string(), level_json(st, *loc, l))).collect::<serde_json::Map<_, _>>(),
        })),
    })
}

pub fn product_json(st: &State, p: &Product) -> Value {
    json!({
        "id": gid("Product", p.id),
        "handle": p.handle,
        "title": p.title,
        "status": p.status,
        "descriptionHtml": p.description_html,
        "vendor": p.vendor,
        "seo": {"title": p.seo_title, "description": p.seo_description},
        "metafields": p.metafields.iter().map(|m| json!({
            "id": format!("gid://shopify/Metafield/{}", p.id),
            "namespace": m.namespace, "key": m.key, "type": m.kind, "value": m.value,
        })).collect::<Vec<_>>(),
        "collections": p.collections.iter().filter_map(|c| st.collections.get(c)).map(|c| json!({
            "id": gid("Collection", c.id), "handle": c.handle, "title": c.title,
        })).collect::<Vec<_>>(),
        "variants": p.variants.iter().filter_map(|v| st.variants.get(v)).map(|v| variant_json(st, v)).collect::<Vec<_>>(),
    })
}

// ---- paging

fn cursor(id: &str, value: &str) -> String {
    B64.encode(json!({"last_id": id, "last_value": value}).to_string())
}

fn decode_cursor(c: &str) -> Result<(String, String), FieldError> {
    let bad = || FieldError {
        message: format!("Invalid cursor for current pagination sort: {c:?}"),
    };
    let bytes = B64.decode(c.trim()).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let id = v.get("last_id").and_then(Value::as_str).ok_or_else(bad)?;
    let value = v
        .get("last_value")
        .and_then(Value::as_str)
        .ok_or_else(bad)?;
    Ok((id.to_string(), value.to_string()))
}

struct PageArgs {
    first: Option<i64>,
    last: Option<i64>,
    after: Option<String>,
    before: Option<String>,
    reverse: bool,
}

fn page_args(args: &Value) -> Result<PageArgs, FieldError> {
    let n = |k: &str| args.get(k).and_then(Value::as_i64);
    let s = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    let p = PageArgs {
        first: n("first"),
        last: n("last"),
        after: s("after"),
        before: s("before"),
        reverse: args
            .get("reverse")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    match (p.first, p.last) {
        (None, None) => Err(FieldError {
            message: "you must provide one of first or last".into(),
        }),
        (Some(_), Some(_)) => Err(FieldError {
            message: "providing both first and last is not supported".into(),
        }),
        (Some(x), _) | (_, Some(x)) if !(0..=MAX_PAGE).contains(&x) => Err(FieldError {
            message: format!("The first and last arguments must be between 0 and {MAX_PAGE}."),
        }),
        _ => Ok(p),
    }
}

/// Pages items already in order, each with its keyset (sort value, id). Cursors are opaque
/// (base64 of the last key), and `after` means "strictly after that key", so a record moved
/// by an update is found again later rather than skipped.
fn page_keyed(mut items: Vec<(String, String, Value)>, args: &Value) -> Result<Value, FieldError> {
    let p = page_args(args)?;
    if p.reverse {
        items.reverse();
    }
    let key_cmp = |a: &(String, String), b: &(String, String)| -> std::cmp::Ordering {
        let ord = a.0.cmp(&b.0).then_with(|| pad(&a.1).cmp(&pad(&b.1)));
        if p.reverse { ord.reverse() } else { ord }
    };
    let mut start = 0;
    if let Some(a) = &p.after {
        let (id, value) = decode_cursor(a)?;
        let k = (value, id);
        start = items
            .iter()
            .position(|(v, i, _)| key_cmp(&(v.clone(), i.clone()), &k).is_gt())
            .unwrap_or(items.len());
    }
    let mut end = items.len();
    if let Some(b) = &p.before {
        let (id, value) = decode_cursor(b)?;
        let k = (value, id);
        end = items
            .iter()
            .position(|(v, i, _)| !key_cmp(&(v.clone(), i.clone()), &k).is_lt())
            .unwrap_or(items.len())
            .max(start);
    }
    let (from, to) = match (p.first, p.last) {
        (Some(n), _) => (start, (start + n as usize).min(end)),
        (_, Some(n)) => (end.saturating_sub(n as usize).max(start), end),
        _ => (start, end),
    };
    let slice = &items[from..to];
    let edges: Vec<Value> = slice
        .iter()
        .map(|(v, i, node)| json!({"cursor": cursor(i, v), "node": node}))
        .collect();
    let nodes: Vec<Value> = slice.iter().map(|(_, _, n)| n.clone()).collect();
    Ok(json!({
        "edges": edges,
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": to < end,
            "hasPreviousPage": from > start || (start > 0 && p.after.is_some()),
            "startCursor": slice.first().map(|(v, i, _)| cursor(i, v)),
            "endCursor": slice.last().map(|(v, i, _)| cursor(i, v)),
        },
    }))
}

/// Ids compare numerically inside a key.
fn pad(id: &str) -> String {
    format!("{id:0>24}")
}

fn page_array(items: &[Value], args: &Value) -> Result<Value, FieldError> {
    let keyed = items
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{i:08}"), i.to_string(), v.clone()))
        .collect();
    page_keyed(keyed, args)
}

// ---- root fields

fn search(args: &Value) -> Result<SearchQuery, FieldError> {
    match args.get("query").and_then(Value::as_str) {
        None => Ok(SearchQuery::default()),
        Some(q) => SearchQuery::parse(q).map_err(|e| FieldError {
            message: e.to_string(),
        }),
    }
}

fn order_field(o: &Order, f: Option<&str>) -> Option<Val> {
    Some(match f? {
        "updated_at" => Val::Time(o.updated_at),
        "created_at" => Val::Time(o.created_at),
        "processed_at" => Val::Time(o.processed_at),
        "id" => Val::Num(Decimal::from(o.id)),
        "name" => Val::Str(o.name.clone()),
        "status" => Val::Str(
            if o.cancelled_at.is_some() {
                "cancelled"
            } else if o.closed_at.is_some() {
                "closed"
            } else {
                "open"
            }
            .into(),
        ),
        "financial_status" => Val::Str(o.financial_status.clone()),
        "fulfillment_status" => Val::Str(o.display_fulfillment_status().into()),
        "return_status" => Val::Str(o.return_status().into()),
        "tag" => Val::Strs(o.tags.clone()),
        "test" => Val::Bool(o.test),
        "email" => Val::Str(o.email.clone().unwrap_or_default()),
        "sku" => Val::Strs(o.lines.iter().filter_map(|l| l.sku.clone()).collect()),
        _ => return None,
    })
}

fn orders_connection(st: &State, args: &Value) -> Result<Value, FieldError> {
    let q = search(args)?;
    let sort = args
        .get("sortKey")
        .and_then(Value::as_str)
        .unwrap_or("PROCESSED_AT");
    let mut rows: Vec<(String, u64)> = st
        .orders
        .values()
        .filter(|o| q.matches(|f| order_field(o, f)))
        .map(|o| {
            let key = match sort {
                "UPDATED_AT" => format!("{:032}", o.updated_at.as_microsecond()),
                "CREATED_AT" => format!("{:032}", o.created_at.as_microsecond()),
                "PROCESSED_AT" => format!("{:032}", o.processed_at.as_microsecond()),
                "ORDER_NUMBER" => format!("{:032}", o.number),
                "TOTAL_PRICE" => format!("{:032}", (o.total() * Decimal::from(100)).trunc()),
                _ => format!("{:032}", o.id),
            };
            (key, o.id)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    // Build JSON only for what is on the page (the whole list is cheap to key).
    let keyed: Vec<(String, String, Value)> = rows
        .into_iter()
        .map(|(k, id)| (k, id.to_string(), Value::Null))
        .collect();
    let mut page = page_keyed(keyed, args)?;
    fill_nodes(&mut page, |id| {
        id.parse::<u64>()
            .ok()
            .and_then(|id| st.orders.get(&id))
            .map(order_json)
    });
    Ok(page)
}

/// Replaces the placeholder nodes of a keyed page by their JSON (by the id in the cursor).
fn fill_nodes(page: &mut Value, node: impl Fn(&str) -> Option<Value>) {
    let ids: Vec<String> = page["edges"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["cursor"].as_str())
                .filter_map(|c| decode_cursor(c).ok())
                .map(|(id, _)| id)
                .collect()
        })
        .unwrap_or_default();
    let nodes: Vec<Value> = ids
        .iter()
        .map(|id| node(id).unwrap_or(Value::Null))
        .collect();
    if let Some(edges) = page["edges"].as_array_mut() {
        for (e, n) in edges.iter_mut().zip(nodes.iter()) {
            e["node"] = n.clone();
        }
    }
    page["nodes"] = Value::Array(nodes);
}

fn variants_connection(st: &State, args: &Value) -> Result<Value, FieldError> {
    let q = search(args)?;
    let mut rows: Vec<(String, String, Value)> = st
        .variants
        .values()
        .filter(|v| {
            q.matches(|f| {
                Some(match f {
                    Some("sku") => Val::Str(v.sku.clone().unwrap_or_default()),
                    Some("product_id") => Val::Num(Decimal::from(v.product_id)),
                    Some("id") => Val::Num(Decimal::from(v.id)),
                    Some("barcode") => Val::Str(v.barcode.clone().unwrap_or_default()),
                    Some("updated_at") => Val::Time(v.updated_at),
                    Some("title") | None => Val::Str(v.title.clone()),
                    _ => return None,
                })
            })
        })
        .map(|v| (format!("{:024}", v.id), v.id.to_string(), Value::Null))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut page = page_keyed(rows, args)?;
    fill_nodes(&mut page, |id| {
        id.parse::<u64>()
            .ok()
            .and_then(|id| st.variants.get(&id))
            .map(|v| variant_json(st, v))
    });
    Ok(page)
}

fn collections_connection(st: &State, args: &Value) -> Result<Value, FieldError> {
    let q = search(args)?;
    let rows: Vec<(String, String, Value)> = st
        .collections
        .values()
        .filter(|c| {
            q.matches(|f| {
                Some(match f {
                    Some("handle") => Val::Str(c.handle.clone()),
                    Some("title") | None => Val::Str(c.title.clone()),
                    Some("id") => Val::Num(Decimal::from(c.id)),
                    _ => return None,
                })
            })
        })
        .map(|c| {
            (
                format!("{:024}", c.id),
                c.id.to_string(),
                json!({"id": gid("Collection", c.id), "handle": c.handle, "title": c.title}),
            )
        })
        .collect();
    page_keyed(rows, args)
}

fn payouts_connection(st: &State, args: &Value) -> Result<Value, FieldError> {
    let q = search(args)?;
    let rows: Vec<(String, String, Value)> = st
        .payouts
        .values()
        .filter(|p| {
            q.matches(|f| {
                Some(match f {
                    Some("issued_at") => Val::Time(p.issued_at),
                    Some("status") => Val::Str(p.status.clone()),
                    Some("id") => Val::Num(Decimal::from(p.id)),
                    Some("currency") => Val::Str(p.currency.clone()),
                    _ => return None,
                })
            })
        })
        .map(|p| {
            (
                format!("{:032}", p.issued_at.as_microsecond()),
                p.id.to_string(),
                json!({
                    "id": gid("ShopifyPaymentsPayout", p.id),
                    "legacyResourceId": p.id.to_string(),
                    "issuedAt": ts(p.issued_at),
                    "status": p.status,
                    "transactionType": if p.net.is_sign_negative() { "WITHDRAWAL" } else { "DEPOSIT" },
                    "net": money_v2(p.net, &p.currency),
                    "gross": money_v2(p.net, &p.currency),
                }),
            )
        })
        .collect();
    page_keyed(rows, args)
}

fn balance_connection(st: &State, args: &Value) -> Result<Value, FieldError> {
    let q = search(args)?;
    let hide_transfers = args
        .get("hideTransfers")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let rows: Vec<(String, String, Value)> = st
        .balance
        .values()
        .filter(|b| !(hide_transfers && b.kind == "TRANSFER"))
        .filter(|b| {
            q.matches(|f| {
                Some(match f {
                    Some("payments_transfer_id") => {
                        Val::Num(Decimal::from(b.payout_id.unwrap_or(0)))
                    }
                    Some("processed_at") => Val::Time(b.date),
                    Some("transaction_type") => Val::Str(b.kind.clone()),
                    Some("id") => Val::Num(Decimal::from(b.id)),
                    Some("payout_status") => Val::Str(
                        b.payout_id
                            .and_then(|p| st.payouts.get(&p))
                            .map(|p| p.status.clone())
                            .unwrap_or_else(|| "PENDING".into()),
                    ),
                    _ => return None,
                })
            })
        })
        .map(|b| {
            let payout = b.payout_id.and_then(|p| st.payouts.get(&p));
            (
                format!("{:032}", b.date.as_microsecond()),
                b.id.to_string(),
                json!({
                    "id": gid("ShopifyPaymentsBalanceTransaction", b.id),
                    "type": b.kind,
                    "test": b.test,
                    "transactionDate": ts(b.date),
                    "sourceType": b.source_type,
                    "sourceId": b.source_id.map(|s| s.to_string()),
                    "adjustmentReason": b.adjustment_reason,
                    "amount": money_v2(b.amount, &b.currency),
                    "fee": money_v2(b.fee, &b.currency),
                    "net": money_v2(b.net(), &b.currency),
                    "associatedOrder": b.order_id.and_then(|o| st.orders.get(&o)).map(|o| json!({"id": gid("Order", o.id), "name": o.name})),
                    "associatedPayout": {
                        "id": payout.map(|p| gid("ShopifyPaymentsPayout", p.id)),
                        "status": payout.map(|p| p.status.clone()).unwrap_or_else(|| "PENDING".into()),
                    },
                }),
            )
        })
        .collect();
    page_keyed(rows, args)
}

/// Fields that need arguments or state; `None`: use the generic rules.
fn hook(
    st: Option<&State>,
    ty: &str,
    field: &str,
    v: &Value,
    args: &Value,
) -> Option<Result<Value, FieldError>> {
    match (ty, field) {
        ("QueryRoot", f) => {
            let st = st?;
            Some(match f {
                "shop" => Ok(json!({
                    "id": "gid://shopify/Shop/1",
                    "name": st.shop_name,
                    "myshopifyDomain": st.domain,
                    "currencyCode": st.currency,
                })),
                "location" => {
                    let id = match args.get("id").and_then(Value::as_str) {
                        None => Some(st.primary_location()),
                        Some(g) => gid_id(g, "Location"),
                    };
                    Ok(id
                        .and_then(|id| st.locations.iter().find(|l| l.id == id))
                        .map(|l| json!({"id": gid("Location", l.id), "name": l.name, "isActive": l.active}))
                        .unwrap_or(Value::Null))
                }
                "order" => Ok(args
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|g| gid_id(g, "Order"))
                    .and_then(|id| st.orders.get(&id))
                    .map(order_json)
                    .unwrap_or(Value::Null)),
                "orders" => orders_connection(st, args),
                "productVariants" => variants_connection(st, args),
                "collections" => collections_connection(st, args),
                "shopifyPaymentsAccount" => Ok(json!({
                    "id": "gid://shopify/ShopifyPaymentsAccount/1",
                    "defaultCurrency": st.currency,
                })),
                _ => return None,
            })
        }
        ("ShopifyPaymentsAccount", "payouts") => Some(payouts_connection(st?, args)),
        ("ShopifyPaymentsAccount", "balanceTransactions") => Some(balance_connection(st?, args)),
        ("InventoryItem", "inventoryLevel") => {
            let loc = args
                .get("locationId")
                .and_then(Value::as_str)
                .and_then(|g| gid_id(g, "Location"));
            Some(Ok(loc
                .and_then(|l| v.get("__levels").and_then(|ls| ls.get(l.to_string())))
                .cloned()
                .unwrap_or(Value::Null)))
        }
        ("InventoryLevel", "quantities") => {
            let names: Vec<&str> = args
                .get("names")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let all = v.get("__quantities").and_then(Value::as_array);
            Some(Ok(Value::Array(
                names
                    .iter()
                    .filter_map(|n| {
                        all.and_then(|a| a.iter().find(|q| q["name"] == *n))
                            .cloned()
                    })
                    .collect(),
            )))
        }
        ("Product", "metafields") => {
            let ns = args.get("namespace").and_then(Value::as_str);
            let keys: Option<Vec<&str>> = args
                .get("keys")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect());
            let items: Vec<Value> = v
                .get("metafields")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|m| ns.is_none_or(|n| m["namespace"] == n))
                        .filter(|m| {
                            keys.as_ref().is_none_or(|ks| {
                                ks.iter().any(|k| {
                                    format!(
                                        "{}.{}",
                                        m["namespace"].as_str().unwrap_or(""),
                                        m["key"].as_str().unwrap_or("")
                                    ) == *k
                                })
                            })
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            Some(page_array(&items, args))
        }
        _ => None,
    }
}

fn is_connection(schema: &apollo_compiler::Schema, name: &str) -> bool {
    name.ends_with("Connection") && schema.get_object(name).is_some()
}

/// Any record as a GraphQL object: `ty` is its concrete type.
pub struct JsonObj<'s> {
    pub st: Option<&'s State>,
    pub ty: String,
    pub v: Value,
}

impl<'s> JsonObj<'s> {
    pub fn new(st: Option<&'s State>, ty: &str, v: Value) -> Self {
        Self {
            st,
            ty: ty.to_string(),
            v,
        }
    }

    fn resolve_value<'a>(
        &self,
        info: &ResolveInfo<'a>,
        value: Value,
        ty: &Type,
        args: &Value,
    ) -> Result<ResolvedValue<'a>, FieldError>
    where
        's: 'a,
    {
        if value.is_null() {
            return Ok(ResolvedValue::null());
        }
        let schema = info.schema();
        match ty {
            Type::List(inner) | Type::NonNullList(inner) => {
                let Value::Array(mut items) = value else {
                    return Err(FieldError {
                        message: format!("sandbox: expected a list for {}", info.field_name()),
                    });
                };
                if let Some(n) = args.get("first").and_then(Value::as_i64) {
                    items.truncate(n.max(0) as usize);
                }
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    out.push(self.resolve_value(info, it, inner, &Value::Null)?);
                }
                Ok(ResolvedValue::list(out))
            }
            Type::Named(n) | Type::NonNullNamed(n) => match schema.types.get(n) {
                Some(ExtendedType::Scalar(_)) | Some(ExtendedType::Enum(_)) => {
                    Ok(ResolvedValue::leaf(JsonValue::from(value)))
                }
                Some(ExtendedType::Object(_)) => {
                    let value = if is_connection(schema, n) && value.is_array() {
                        page_array(value.as_array().map(Vec::as_slice).unwrap_or(&[]), args)?
                    } else {
                        value
                    };
                    Ok(ResolvedValue::object(JsonObj::new(self.st, n, value)))
                }
                Some(ExtendedType::Interface(_)) | Some(ExtendedType::Union(_)) => {
                    let concrete = value
                        .get("__typename")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| FieldError {
                            message: format!(
                                "sandbox: no __typename for abstract {n} at {}",
                                info.field_name()
                            ),
                        })?;
                    Ok(ResolvedValue::object(JsonObj::new(
                        self.st, &concrete, value,
                    )))
                }
                _ => Err(FieldError {
                    message: format!("sandbox: unknown type {n}"),
                }),
            },
        }
    }
}

impl ObjectValue for JsonObj<'_> {
    fn type_name(&self) -> &str {
        &self.ty
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let args = serde_json::to_value(info.arguments()).unwrap_or(Value::Null);
        let field = info.field_name();
        let value = match hook(self.st, &self.ty, field, &self.v, &args) {
            Some(r) => r?,
            None => self.v.get(field).cloned().unwrap_or(Value::Null),
        };
        self.resolve_value(info, value, &info.field_definition().ty, &args)
    }
}

/// The mutation root: each field applies its mutation to the state and returns the payload.
pub struct MutationRoot<'s> {
    pub st: RefCell<&'s mut State>,
}

fn errs(list: &[UserError], with_code: bool) -> Value {
    Value::Array(list.iter().map(|e| e.json(with_code)).collect())
}

impl MutationRoot<'_> {
    fn payload(&self, field: &str, args: &Value) -> Result<Value, FieldError> {
        let mut st = self.st.borrow_mut();
        *st.counters.mutations.entry(field.to_string()).or_default() += 1;
        Ok(match field {
            "inventorySetQuantities" => {
                let (group, e) = st.inventory_set_quantities(&args["input"]);
                json!({"inventoryAdjustmentGroup": group, "userErrors": errs(&e, true)})
            }
            "productVariantsBulkUpdate" => {
                let pid = args["productId"].as_str().unwrap_or("");
                let variants = args["variants"].as_array().cloned().unwrap_or_default();
                let partial = args["allowPartialUpdates"].as_bool().unwrap_or(false);
                let (done, e) = st.variants_bulk_update(pid, &variants, partial);
                let vs: Vec<Value> = done
                    .iter()
                    .filter_map(|id| st.variants.get(id))
                    .map(|v| variant_json(&st, v))
                    .collect();
                let product = gid_id(pid, "Product")
                    .and_then(|p| st.products.get(&p))
                    .map(|p| product_json(&st, p));
                json!({
                    "productVariants": if done.is_empty() && !e.is_empty() { Value::Null } else { Value::Array(vs) },
                    "product": product,
                    "userErrors": errs(&e, true),
                })
            }
            "productSet" => match st.product_set(&args["input"]) {
                Ok(pid) => {
                    let p = st.products.get(&pid).map(|p| product_json(&st, p));
                    json!({"product": p, "productSetOperation": null, "userErrors": []})
                }
                Err(e) => {
                    json!({"product": null, "productSetOperation": null, "userErrors": errs(&e, true)})
                }
            },
            "fulfillmentCreate" => match st.fulfillment_create(&args["fulfillment"]) {
                Ok((oid, fid)) => {
                    let f = st.orders.get(&oid).and_then(|o| {
                        o.fulfillments
                            .iter()
                            .find(|f| f.id == fid)
                            .map(|f| fulfillment_json(o, f))
                    });
                    json!({"fulfillment": f, "userErrors": []})
                }
                Err(e) => json!({"fulfillment": null, "userErrors": errs(&e, false)}),
            },
            "orderCancel" => match st.order_cancel(args) {
                Ok(()) => {
                    let job = st.id();
                    json!({"job": {"id": gid("Job", job), "done": true}, "orderCancelUserErrors": [], "userErrors": []})
                }
                Err(e) => json!({
                    "job": null,
                    "orderCancelUserErrors": errs(std::slice::from_ref(&e), true),
                    "userErrors": errs(std::slice::from_ref(&e), false),
                }),
            },
            "refundCreate" => match st.refund_create(&args["input"]) {
                Ok((oid, rid)) => {
                    let o = st.orders.get(&oid);
                    let r = o.and_then(|o| {
                        o.refunds
                            .iter()
                            .find(|r| r.id == rid)
                            .map(|r| refund_json(o, r))
                    });
                    json!({"refund": r, "order": o.map(order_json), "userErrors": []})
                }
                Err(e) => json!({"refund": null, "order": null, "userErrors": errs(&e, false)}),
            },
            "returnCreate" => match st.return_create(&args["returnInput"]) {
                Ok((oid, rid)) => {
                    let r = st.orders.get(&oid).and_then(|o| {
                        o.returns
                            .iter()
                            .find(|r| r.id == rid)
                            .map(|r| return_json(o, r))
                    });
                    json!({"return": r, "userErrors": []})
                }
                Err(e) => json!({"return": null, "userErrors": errs(&e, true)}),
            },
            other => {
                return Err(FieldError {
                    message: format!("sandbox: mutation {other} is not implemented"),
                });
            }
        })
    }
}

impl ObjectValue for MutationRoot<'_> {
    fn type_name(&self) -> &str {
        "Mutation"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let args = serde_json::to_value(info.arguments()).unwrap_or(Value::Null);
        let payload = self.payload(info.field_name(), &args)?;
        let ty = info.field_definition().ty.inner_named_type().to_string();
        Ok(ResolvedValue::object(JsonObj::new(None, &ty, payload)))
    }
}
