//! Catalog out: the addon's `channel.product.binding` records become listings and prices on
//! their channel, and what the channel answered is written back onto the binding.
//!
//! Only with the `channel_sync` addon: without it there is nowhere in Odoo to keep a
//! channel-specific title, ASIN or price, and the daemon publishes stock only.
//!
//! One round per channel ([`round`]):
//! 1. read the channel's bindings, their products and eBay item specifics;
//! 2. build each binding's [`Listing`] ([`build_listing`], pure): the product's title,
//!    description, barcode and weight plus the marketplace's own fields, chosen by the
//!    channel's kind (Shopify SEO, metafields, collections; Amazon ASIN, bullets, A+ ref; eBay
//!    condition and item specifics; Walmart attributes; TikTok video and live flag). A binding
//!    whose data cannot be sent (metafields that are not JSON) is not sent: it gets
//!    `listing_state = error` and a `last_error` naming the record and field;
//! 3. upsert the listings whose content changed since the channel last accepted it (a
//!    fingerprint per SKU in the store's cursors, so a restart does not resend the catalogue;
//!    a listing in `draft` is always sent). An outcome the connector could not establish is
//!    not fingerprinted, so the next round re-sends it (an upsert by SKU is idempotent);
//! 4. queue each binding's price — its own `price`, else its pricelist's price for one unit
//!    ([`super::pricing`]) — in the outbox as [`PushKind::Price`], which only queues real
//!    changes and never sends an older version after a newer one, then drain the queue
//!    through `push_prices`;
//! 5. write back `listing_state`, `listing_ref`, `last_error` (only where they changed) and
//!    `last_pushed_price` / `last_pushed_at` ([`OdooLog::record_prices`]).

use std::collections::{BTreeMap, HashMap};

use channels_core::{
    ChannelKind, ChannelValue, Currency, Listing, Money, Operation, PriceUpdate, PushOutcome,
    Weight, WeightUnit,
};
use jiff::Timestamp;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::channels::ChannelHandle;
use super::events::{EventBus, SyncEvent};
use super::odoo_log::{OdooLog, model};
use super::outbox::{self, retry_at};
use super::pricing;
use crate::odoo::{Domain, OdooClient, OdooError, Record, SearchOpts};
use crate::store::{PushKind, Store, StoreError};

/// Prices sent per `push_prices` call (the connector splits further if it must).
const PRICE_BATCH: u32 = 200;
/// The store cursor holding the last price version handed out.
const PRICE_VERSION: (&str, &str) = ("*", "price_version");

#[derive(Debug, thiserror::Error)]
pub enum ListingsError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

/// What one round did on one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingsReport {
    pub bindings: usize,
    /// Listings created or updated on the channel.
    pub upserted: usize,
    /// Listings refused by the channel, or not sendable (bad data in Odoo).
    pub rejected: usize,
    /// Listings unchanged since the channel accepted them.
    pub unchanged: usize,
    pub prices_queued: usize,
    pub prices_applied: usize,
    pub prices_rejected: usize,
    pub errors: Vec<String>,
}

/// One binding as the round needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BindingRow {
    pub id: i64,
    pub sku: String,
    pub product_id: i64,
    pub listing_ref: Option<String>,
    pub listing_state: Option<String>,
    pub last_error: Option<String>,
    pub price: Option<Decimal>,
    pub pricelist_id: Option<i64>,
    pub currency: Option<String>,
    /// The marketplace fields, by their Odoo field name (unset ones absent).
    pub fields: BTreeMap<String, Value>,
    /// eBay item specifics, in sequence order.
    pub specifics: Vec<(String, String)>,
}

/// The product data a listing shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductData {
    pub name: String,
    pub description: Option<String>,
    pub barcode: Option<String>,
    pub weight_kg: Option<Decimal>,
}

/// Binding fields read per marketplace (besides the common ones).
const MARKET_FIELDS: &[&str] = &[
    "amazon_asin",
    "amazon_bullet_1",
    "amazon_bullet_2",
    "amazon_bullet_3",
    "amazon_bullet_4",
    "amazon_bullet_5",
    "amazon_aplus_ref",
    "ebay_condition",
    "ebay_condition_description",
    "shopify_seo_title",
    "shopify_seo_description",
    "shopify_metafields_json",
    "shopify_collections",
    "walmart_attributes_json",
    "tiktok_video_url",
    "tiktok_live_shopping",
];

/// A decimal as Odoo takes a float/monetary value (JSON number).
pub fn decimal_json(d: Decimal) -> Value {
    d.to_f64().map_or(Value::Bool(false), |f| json!(f))
}

fn text(b: &BindingRow, f: &str) -> Option<String> {
    b.fields
        .get(f)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Parse a JSON text field of a binding, naming the record and field on error.
fn json_field(b: &BindingRow, f: &str) -> Result<Option<Value>, String> {
    match text(b, f) {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
            format!(
                "channel.product.binding #{} ({}): field {f} is not valid JSON: {e}",
                b.id, b.sku
            )
        }),
    }
}

/// The channel-specific attributes of a binding, for a channel of `kind`, under the names
/// [`Listing::attributes`] documents. A sandbox (or unknown) channel gets every set field.
pub fn listing_attributes(
    kind: &ChannelKind,
    b: &BindingRow,
) -> Result<BTreeMap<String, Value>, String> {
    let all = matches!(kind, ChannelKind::Sandbox | ChannelKind::Other(_));
    let mut a = BTreeMap::new();
    if all || *kind == ChannelKind::Shopify {
        if let Some(t) = text(b, "shopify_seo_title") {
            a.insert("seo_title".into(), json!(t));
        }
        if let Some(t) = text(b, "shopify_seo_description") {
            a.insert("seo_description".into(), json!(t));
        }
        if let Some(m) = json_field(b, "shopify_metafields_json")? {
            a.insert("metafields".into(), m);
        }
        if let Some(c) = text(b, "shopify_collections") {
            let list: Vec<&str> = c
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            a.insert("collections".into(), json!(list));
        }
    }
    if all || *kind == ChannelKind::Amazon {
        if let Some(t) = text(b, "amazon_asin") {
            a.insert("asin".into(), json!(t));
        }
        let bullets: Vec<String> = (1..=5)
            .filter_map(|i| text(b, &format!("amazon_bullet_{i}")))
            .collect();
        if !bullets.is_empty() {
            a.insert("bullet_points".into(), json!(bullets));
        }
        if let Some(t) = text(b, "amazon_aplus_ref") {
            a.insert("aplus_ref".into(), json!(t));
        }
    }
    if all || *kind == ChannelKind::Ebay {
        if let Some(t) = text(b, "ebay_condition") {
            a.insert("condition".into(), json!(t));
        }
        if let Some(t) = text(b, "ebay_condition_description") {
            a.insert("condition_description".into(), json!(t));
        }
        if !b.specifics.is_empty() {
            let m: Map<String, Value> = b
                .specifics
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            a.insert("item_specifics".into(), Value::Object(m));
        }
    }
    if (all || *kind == ChannelKind::Walmart)
        && let Some(m) = json_field(b, "walmart_attributes_json")?
    {
        a.insert("walmart_attributes".into(), m);
    }
    if all || *kind == ChannelKind::TikTok {
        if let Some(t) = text(b, "tiktok_video_url") {
            a.insert("video_url".into(), json!(t));
        }
        if b.fields.get("tiktok_live_shopping") == Some(&Value::Bool(true)) {
            a.insert("live_shopping".into(), json!(true));
        }
    }
    Ok(a)
}

/// The listing a binding describes (pure). `price` is the binding's price, if it has one.
pub fn build_listing(
    kind: &ChannelKind,
    b: &BindingRow,
    p: &ProductData,
    price: Option<Money>,
) -> Result<Listing, String> {
    Ok(Listing {
        sku: b.sku.clone(),
        version: 0,
        title: p.name.clone(),
        description: p.description.clone(),
        brand: None,
        barcode: p.barcode.clone(),
        weight: p.weight_kg.filter(|w| !w.is_zero()).map(|value| Weight {
            value,
            unit: WeightUnit::Kg,
        }),
        images: Vec::new(),
        price,
        compare_at: None,
        attributes: listing_attributes(kind, b)?,
    })
}

/// A stable fingerprint of a listing's content (FNV-1a over its JSON, version excluded), so
/// only changed listings are sent again.
pub fn fingerprint(l: &Listing) -> String {
    let mut l = l.clone();
    l.version = 0;
    let bytes = serde_json::to_vec(&l).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn cursor_stream(sku: &str) -> String {
    format!("listing:{sku}")
}

/// One listings-and-prices round on `ch` (addon installed and channel record present).
pub async fn round(
    odoo: &OdooClient,
    store: &Store,
    log: &OdooLog,
    events: &EventBus,
    ch: &ChannelHandle,
) -> Result<ListingsReport, ListingsError> {
    let mut report = ListingsReport::default();
    if !log.addon() {
        return Ok(report);
    }
    let Some(channel_id) = log.channel_record(&ch.config.id).await else {
        return Ok(report);
    };
    let bindings = read_bindings(odoo, channel_id).await?;
    report.bindings = bindings.len();
    if bindings.is_empty() {
        return Ok(report);
    }
    let products = read_products(odoo, &bindings).await?;
    let prices = binding_prices(odoo, &bindings, &mut report).await;
    let caps = ch.channel.capabilities();
    let kind = ch.channel.kind();
    let chan = ch.config.id.as_str();

    // Listings.
    let mut writes: Vec<(i64, Map<String, Value>)> = Vec::new();
    for b in &bindings {
        let Some(p) = products.get(&b.product_id) else {
            continue;
        };
        let listing = match build_listing(&kind, b, p, prices.get(&b.id).copied()) {
            Ok(l) => l,
            Err(e) => {
                report.rejected += 1;
                report.errors.push(e.clone());
                writes.push((b.id, state_vals(b, "error", None, Some(&e))));
                continue;
            }
        };
        if !caps.supports(Operation::UpsertListing) {
            continue;
        }
        let fp = fingerprint(&listing);
        let stream = cursor_stream(&b.sku);
        let sent_fp = store.get_cursor(chan, &stream).await?.map(|c| c.value);
        let draft = matches!(b.listing_state.as_deref(), None | Some("draft"));
        if sent_fp.as_deref() == Some(fp.as_str()) && !draft {
            report.unchanged += 1;
            continue;
        }
        match ch.channel.upsert_listing(&listing).await {
            Ok(PushOutcome::Applied { channel_value, .. }) => {
                report.upserted += 1;
                let listing_ref = match channel_value {
                    ChannelValue::Listing { listing_ref } => listing_ref,
                    _ => None,
                };
                store.set_cursor(chan, &stream, &fp).await?;
                writes.push((b.id, state_vals(b, "active", listing_ref.as_deref(), None)));
            }
            Ok(PushOutcome::Rejected { reason, .. }) => {
                report.rejected += 1;
                report.errors.push(format!("listing {}: {reason}", b.sku));
                // Not resent until its content changes (a refusal is about the content).
                store.set_cursor(chan, &stream, &fp).await?;
                writes.push((b.id, state_vals(b, "error", None, Some(&reason))));
            }
            Ok(PushOutcome::Pending { .. }) => {
                store.set_cursor(chan, &stream, &fp).await?;
            }
            Ok(PushOutcome::Unknown { reason, .. }) => {
                report
                    .errors
                    .push(format!("listing {}: outcome unknown: {reason}", b.sku));
            }
            Ok(PushOutcome::Conflict { .. }) => {
                report.errors.push(format!(
                    "listing {}: changed on the channel meanwhile",
                    b.sku
                ));
            }
            Err(e) => {
                report.errors.push(format!("listing {}: {e}", b.sku));
                if !e.is_retryable() {
                    writes.push((b.id, state_vals(b, "error", None, Some(&e.to_string()))));
                }
            }
        }
    }
    for (id, vals) in writes {
        if !vals.is_empty()
            && let Err(e) = odoo.write(model::BINDING, &[id], vals, None).await
        {
            report
                .errors
                .push(format!("writing channel.product.binding #{id}: {e}"));
        }
    }

    // Prices.
    if caps.supports(Operation::PushPrices) && !prices.is_empty() {
        let version = next_price_version(store).await?;
        // A price already on its way (waiting, in a feed the channel is processing, or
        // refused for good) is not queued again: the outbox compares a new value with the
        // acknowledged one only, and would send the same price twice.
        let on_its_way: HashMap<String, Decimal> = store
            .queued_values(chan, PushKind::Price)
            .await?
            .into_iter()
            .collect();
        for b in &bindings {
            if let Some(m) = prices.get(&b.id)
                && on_its_way.get(&b.sku) != Some(&m.amount)
                && let crate::store::EnqueueOutcome::Queued { .. } = store
                    .enqueue(chan, PushKind::Price, &b.sku, m.amount, version)
                    .await?
            {
                report.prices_queued += 1;
            }
        }
        let currency_of: HashMap<&str, Currency> = bindings
            .iter()
            .filter_map(|b| prices.get(&b.id).map(|m| (b.sku.as_str(), m.currency)))
            .collect();
        push_prices(ch, store, log, &currency_of, &bindings, odoo, &mut report).await?;
    }
    if report.upserted + report.rejected + report.prices_applied + report.prices_rejected > 0 {
        events.emit(SyncEvent::ListingsPushed {
            channel: chan.to_owned(),
            upserted: report.upserted,
            rejected: report.rejected,
            prices_applied: report.prices_applied,
            prices_rejected: report.prices_rejected,
        });
    }
    Ok(report)
}

/// The values to write on a binding so it shows `state`, only those that differ.
fn state_vals(
    b: &BindingRow,
    state: &str,
    listing_ref: Option<&str>,
    error: Option<&str>,
) -> Map<String, Value> {
    let mut v = Map::new();
    if b.listing_state.as_deref() != Some(state) {
        v.insert("listing_state".into(), json!(state));
    }
    if let Some(r) = listing_ref
        && b.listing_ref.as_deref() != Some(r)
    {
        v.insert("listing_ref".into(), json!(r));
    }
    match error {
        Some(e) if b.last_error.as_deref() != Some(e) => {
            v.insert("last_error".into(), json!(e));
        }
        None if b.last_error.is_some() => {
            v.insert("last_error".into(), Value::Bool(false));
        }
        _ => {}
    }
    v
}

async fn next_price_version(store: &Store) -> Result<i64, StoreError> {
    let current = store
        .get_cursor(PRICE_VERSION.0, PRICE_VERSION.1)
        .await?
        .and_then(|c| c.value.parse::<i64>().ok())
        .unwrap_or(0);
    let next = current + 1;
    store
        .set_cursor(PRICE_VERSION.0, PRICE_VERSION.1, &next.to_string())
        .await?;
    Ok(next)
}

/// Drain the channel's price outbox, as the stock push does for quantities (one settling of
/// the answers for both, `outbox::settle`): acknowledged per SKU and version, refusals wait
/// for a newer value, unknown outcomes go back to the queue, and prices a channel accepted for
/// later (an Amazon feed) are polled first and settled when it has processed them.
async fn push_prices(
    ch: &ChannelHandle,
    store: &Store,
    log: &OdooLog,
    currency_of: &HashMap<&str, Currency>,
    bindings: &[BindingRow],
    odoo: &OdooClient,
    report: &mut ListingsReport,
) -> Result<(), ListingsError> {
    let chan = ch.config.id.as_str();
    let mut applied: Vec<(String, Decimal, Timestamp)> = Vec::new();
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut count = |s: outbox::Settled, report: &mut ListingsReport| {
        report.prices_applied += s.applied.len();
        report.prices_rejected += s.rejected.len();
        report
            .errors
            .extend(s.errors.into_iter().map(|e| format!("price {e}")));
        for (sku, v) in s.applied {
            if let Some(ChannelValue::Price { price, .. }) = v {
                applied.push((sku, price.amount, Timestamp::now()));
            }
        }
        refused.extend(
            s.rejected
                .into_iter()
                .map(|(sku, reason)| (sku, format!("price refused: {reason}"))),
        );
    };
    if let Some(s) = outbox::poll_in_flight(ch, store, PushKind::Price).await? {
        count(s, report);
    }
    loop {
        let batch = store
            .claim_batch(chan, PushKind::Price, PRICE_BATCH, Timestamp::now())
            .await?;
        if batch.is_empty() {
            break;
        }
        let mut updates = Vec::with_capacity(batch.len());
        let mut rows = outbox::SentRows::new();
        for it in &batch {
            let Some(currency) = currency_of.get(it.sku.as_str()) else {
                // The binding is gone: drop the row for good.
                store
                    .mark_failed(it.id, "no binding for this SKU any more", None)
                    .await?;
                continue;
            };
            rows.insert((it.sku.clone(), it.version as u64), (it.id, it.attempts));
            updates.push(PriceUpdate {
                sku: it.sku.clone(),
                price: Money::new(it.value, *currency),
                compare_at: None,
                version: it.version as u64,
            });
        }
        if updates.is_empty() {
            continue;
        }
        let outcomes = match ch.channel.push_prices(&updates).await {
            Ok(o) => o,
            Err(e) => {
                for (id, attempts) in rows.values() {
                    store
                        .mark_failed(*id, &e.to_string(), retry_at(e.is_retryable(), *attempts))
                        .await?;
                }
                report.errors.push(format!("prices: {e}"));
                report.prices_rejected += rows.len();
                break;
            }
        };
        let settled = outbox::settle(chan, store, &rows, &outcomes).await?;
        // Rows the connector did not answer for go back to the queue.
        for (id, attempts) in rows.values() {
            if !settled.answered.contains(id) {
                store
                    .mark_failed(
                        *id,
                        "no answer from the connector",
                        retry_at(true, *attempts),
                    )
                    .await?;
            }
        }
        count(settled, report);
        if batch.len() < PRICE_BATCH as usize {
            break;
        }
    }
    log.record_prices(chan, &applied).await;
    for (sku, err) in refused {
        if let Some(b) = bindings.iter().find(|b| b.sku == sku) {
            let vals = state_vals(
                b,
                b.listing_state.as_deref().unwrap_or("draft"),
                None,
                Some(&err),
            );
            if !vals.is_empty()
                && let Err(e) = odoo.write(model::BINDING, &[b.id], vals, None).await
            {
                report.errors.push(format!("writing binding {sku}: {e}"));
            }
        }
    }
    Ok(())
}

async fn read_bindings(odoo: &OdooClient, channel_id: i64) -> Result<Vec<BindingRow>, OdooError> {
    let mut fields = vec![
        "external_sku",
        "product_id",
        "listing_ref",
        "listing_state",
        "last_error",
        "price",
        "pricelist_id",
        "currency_id",
        "ebay_specific_ids",
    ];
    fields.extend_from_slice(MARKET_FIELDS);
    let rows = odoo
        .search_read_all(
            model::BINDING,
            &Domain::leaf("channel_id", "=", channel_id),
            &fields,
            &SearchOpts::default().order("id"),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut specific_ids = Vec::new();
    for row in &rows {
        let rec = Record::new(model::BINDING, row).map_err(OdooError::Decode)?;
        let d = OdooError::Decode;
        let (Some(sku), Some(product)) = (
            rec.string("external_sku").map_err(d)?,
            rec.m2o("product_id").map_err(OdooError::Decode)?,
        ) else {
            continue;
        };
        let mut b = BindingRow {
            id: rec.id().map_err(OdooError::Decode)?,
            sku,
            product_id: product.id,
            listing_ref: rec.string("listing_ref").map_err(OdooError::Decode)?,
            listing_state: rec.string("listing_state").map_err(OdooError::Decode)?,
            last_error: rec.string("last_error").map_err(OdooError::Decode)?,
            price: rec.decimal("price").map_err(OdooError::Decode)?,
            pricelist_id: rec
                .m2o("pricelist_id")
                .map_err(OdooError::Decode)?
                .map(|m| m.id),
            currency: rec
                .m2o("currency_id")
                .map_err(OdooError::Decode)?
                .and_then(|m| m.name),
            ..Default::default()
        };
        for f in MARKET_FIELDS {
            match row.get(*f) {
                None | Some(Value::Bool(false)) | Some(Value::Null) => {}
                Some(v) => {
                    b.fields.insert((*f).to_owned(), v.clone());
                }
            }
        }
        if let Some(Value::Array(ids)) = row.get("ebay_specific_ids") {
            specific_ids.extend(ids.iter().filter_map(Value::as_i64));
        }
        out.push(b);
    }
    if !specific_ids.is_empty() {
        let rows = odoo
            .read(
                "channel.binding.specific",
                &specific_ids,
                &["binding_id", "name", "value", "sequence"],
                None,
            )
            .await?;
        let mut lines: Vec<(i64, i64, i64, String, String)> = Vec::new();
        for row in &rows {
            let rec = Record::new("channel.binding.specific", row).map_err(OdooError::Decode)?;
            if let (Some(b), Some(name)) = (
                rec.m2o("binding_id").map_err(OdooError::Decode)?,
                rec.string("name").map_err(OdooError::Decode)?,
            ) {
                lines.push((
                    b.id,
                    rec.int("sequence").map_err(OdooError::Decode)?.unwrap_or(0),
                    rec.id().map_err(OdooError::Decode)?,
                    name,
                    rec.string("value")
                        .map_err(OdooError::Decode)?
                        .unwrap_or_default(),
                ));
            }
        }
        lines.sort_by_key(|l| (l.0, l.1, l.2));
        for (bid, _, _, name, value) in lines {
            if let Some(b) = out.iter_mut().find(|b| b.id == bid) {
                b.specifics.push((name, value));
            }
        }
    }
    Ok(out)
}

async fn read_products(
    odoo: &OdooClient,
    bindings: &[BindingRow],
) -> Result<HashMap<i64, ProductData>, OdooError> {
    let mut ids: Vec<i64> = bindings.iter().map(|b| b.product_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = odoo
        .read(
            "product.product",
            &ids,
            &["name", "description_sale", "barcode", "weight"],
            None,
        )
        .await?;
    let mut out = HashMap::new();
    for row in &rows {
        let rec = Record::new("product.product", row).map_err(OdooError::Decode)?;
        out.insert(
            rec.id().map_err(OdooError::Decode)?,
            ProductData {
                name: rec
                    .string("name")
                    .map_err(OdooError::Decode)?
                    .unwrap_or_default(),
                description: rec.string("description_sale").map_err(OdooError::Decode)?,
                barcode: rec.string("barcode").map_err(OdooError::Decode)?,
                weight_kg: rec.decimal("weight").map_err(OdooError::Decode)?,
            },
        );
    }
    Ok(out)
}

/// Each binding's price: its own `price` when set, else its pricelist's price for one unit.
/// A binding whose price cannot be established is reported, and no price is sent for it.
async fn binding_prices(
    odoo: &OdooClient,
    bindings: &[BindingRow],
    report: &mut ListingsReport,
) -> HashMap<i64, Money> {
    let mut out = HashMap::new();
    let needs_pricelist: Vec<&BindingRow> = bindings
        .iter()
        .filter(|b| b.price.is_none_or(|p| p.is_zero()) && b.pricelist_id.is_some())
        .collect();
    let priced = if needs_pricelist.is_empty() {
        None
    } else {
        match pricing_loader::load(odoo, &needs_pricelist).await {
            Ok(p) => Some(p),
            Err(e) => {
                report.errors.push(format!("reading pricelists: {e}"));
                None
            }
        }
    };
    for b in bindings {
        let currency = b.currency.as_deref().and_then(|c| Currency::new(c).ok());
        if let Some(p) = b.price.filter(|p| !p.is_zero()) {
            match currency {
                Some(c) => {
                    out.insert(b.id, Money::new(p, c));
                }
                None => report.errors.push(format!(
                    "channel.product.binding #{} ({}): field currency_id is not a currency code",
                    b.id, b.sku
                )),
            }
            continue;
        }
        let (Some(pl), Some((pricing, products, codes))) = (b.pricelist_id, priced.as_ref()) else {
            continue;
        };
        let Some(product) = products.get(&b.product_id) else {
            continue;
        };
        match pricing.price(pl, product, Decimal::ONE, Timestamp::now()) {
            Ok((amount, cur)) => match codes.get(&cur).and_then(|c| Currency::new(c).ok()) {
                Some(c) => {
                    out.insert(b.id, Money::new(amount, c));
                }
                None => report
                    .errors
                    .push(format!("pricelist #{pl}: currency #{cur} has no code")),
            },
            Err(e) => report.errors.push(format!(
                "channel.product.binding #{} ({}): {e}",
                b.id, b.sku
            )),
        }
    }
    out
}

/// Reading what [`pricing::Pricing`] needs from Odoo (the I/O half of pricing).
mod pricing_loader {
    use super::*;
    use crate::sync::pricing::{AppliedOn, Base, Compute, CurrencyInfo, Pricelist, Rule};

    pub type Loaded = (
        pricing::Pricing,
        HashMap<i64, pricing::PricedProduct>,
        HashMap<i64, String>,
    );

    fn dec(rec: &Record<'_>, f: &str) -> Result<Decimal, OdooError> {
        Ok(rec
            .decimal(f)
            .map_err(OdooError::Decode)?
            .unwrap_or_default())
    }

    fn m2o_id(rec: &Record<'_>, f: &str) -> Result<Option<i64>, OdooError> {
        Ok(rec.m2o(f).map_err(OdooError::Decode)?.map(|m| m.id))
    }

    /// Pricelists (and those they are based on), their rules, currencies, the products.
    pub async fn load(odoo: &OdooClient, bindings: &[&BindingRow]) -> Result<Loaded, OdooError> {
        let mut p = pricing::Pricing::default();
        let mut todo: Vec<i64> = bindings.iter().filter_map(|b| b.pricelist_id).collect();
        let mut currency_ids = Vec::new();
        while let Some(id) = todo.pop() {
            if p.pricelists.contains_key(&id) {
                continue;
            }
            let rows = odoo
                .read("product.pricelist", &[id], &["currency_id"], None)
                .await?;
            let Some(row) = rows.first() else { continue };
            let rec = Record::new("product.pricelist", row).map_err(OdooError::Decode)?;
            let currency = m2o_id(&rec, "currency_id")?.unwrap_or(0);
            currency_ids.push(currency);
            let items = odoo
                .search_read_all(
                    "product.pricelist.item",
                    &Domain::leaf("pricelist_id", "=", id),
                    &[
                        "applied_on",
                        "product_id",
                        "product_tmpl_id",
                        "categ_id",
                        "min_quantity",
                        "date_start",
                        "date_end",
                        "compute_price",
                        "fixed_price",
                        "percent_price",
                        "price_discount",
                        "price_surcharge",
                        "price_round",
                        "price_min_margin",
                        "price_max_margin",
                        "base",
                        "base_pricelist_id",
                    ],
                    &SearchOpts::default(),
                )
                .await?;
            let mut rules = Vec::new();
            for row in &items {
                let r = Record::new("product.pricelist.item", row).map_err(OdooError::Decode)?;
                let applied_on = match r
                    .string("applied_on")
                    .map_err(OdooError::Decode)?
                    .as_deref()
                {
                    Some("0_product_variant") => match m2o_id(&r, "product_id")? {
                        Some(i) => AppliedOn::Variant(i),
                        None => continue,
                    },
                    Some("1_product") => match m2o_id(&r, "product_tmpl_id")? {
                        Some(i) => AppliedOn::Template(i),
                        None => continue,
                    },
                    Some("2_product_category") => match m2o_id(&r, "categ_id")? {
                        Some(i) => AppliedOn::Category(i),
                        None => continue,
                    },
                    _ => AppliedOn::Global,
                };
                let compute = match r
                    .string("compute_price")
                    .map_err(OdooError::Decode)?
                    .as_deref()
                {
                    Some("fixed") => Compute::Fixed(dec(&r, "fixed_price")?),
                    Some("percentage") => Compute::Percentage(dec(&r, "percent_price")?),
                    _ => Compute::Formula {
                        discount: dec(&r, "price_discount")?,
                        surcharge: dec(&r, "price_surcharge")?,
                        round: dec(&r, "price_round")?,
                        min_margin: dec(&r, "price_min_margin")?,
                        max_margin: dec(&r, "price_max_margin")?,
                    },
                };
                let base = match r.string("base").map_err(OdooError::Decode)?.as_deref() {
                    Some("standard_price") => Base::Cost,
                    Some("pricelist") => match m2o_id(&r, "base_pricelist_id")? {
                        Some(other) => {
                            todo.push(other);
                            Base::Pricelist(other)
                        }
                        None => Base::ListPrice,
                    },
                    _ => Base::ListPrice,
                };
                rules.push(Rule {
                    id: r.id().map_err(OdooError::Decode)?,
                    applied_on,
                    min_quantity: dec(&r, "min_quantity")?,
                    date_start: r.datetime("date_start").map_err(OdooError::Decode)?,
                    date_end: r.datetime("date_end").map_err(OdooError::Decode)?,
                    compute,
                    base,
                });
            }
            p.pricelists.insert(
                id,
                Pricelist {
                    id,
                    currency,
                    rules,
                },
            );
        }
        // The company's currency, and every pricelist's.
        let company = odoo
            .search_read(
                "res.company",
                &Domain::new(),
                &["currency_id"],
                &SearchOpts::default().limit(1),
            )
            .await?;
        if let Some(row) = company.first() {
            let rec = Record::new("res.company", row).map_err(OdooError::Decode)?;
            p.company_currency = m2o_id(&rec, "currency_id")?.unwrap_or(0);
            currency_ids.push(p.company_currency);
        }
        currency_ids.sort_unstable();
        currency_ids.dedup();
        let mut codes = HashMap::new();
        for row in &odoo
            .read(
                "res.currency",
                &currency_ids,
                &["name", "rate", "rounding"],
                None,
            )
            .await?
        {
            let rec = Record::new("res.currency", row).map_err(OdooError::Decode)?;
            let id = rec.id().map_err(OdooError::Decode)?;
            if let Some(name) = rec.string("name").map_err(OdooError::Decode)? {
                codes.insert(id, name);
            }
            p.currencies.insert(
                id,
                CurrencyInfo {
                    rate: rec
                        .decimal("rate")
                        .map_err(OdooError::Decode)?
                        .unwrap_or(Decimal::ONE),
                    rounding: rec
                        .decimal("rounding")
                        .map_err(OdooError::Decode)?
                        .unwrap_or(Decimal::new(1, 2)),
                },
            );
        }
        // The products, with their category chain.
        let mut ids: Vec<i64> = bindings.iter().map(|b| b.product_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut products = HashMap::new();
        let mut parents: HashMap<i64, Option<i64>> = HashMap::new();
        for row in &odoo
            .read(
                "product.product",
                &ids,
                &["product_tmpl_id", "categ_id", "lst_price", "standard_price"],
                None,
            )
            .await?
        {
            let rec = Record::new("product.product", row).map_err(OdooError::Decode)?;
            let mut categories = Vec::new();
            let mut next = m2o_id(&rec, "categ_id")?;
            while let Some(c) = next {
                if categories.contains(&c) {
                    break;
                }
                categories.push(c);
                next = match parents.get(&c) {
                    Some(p) => *p,
                    None => {
                        let rows = odoo
                            .read("product.category", &[c], &["parent_id"], None)
                            .await?;
                        let parent = match rows.first() {
                            Some(r) => m2o_id(
                                &Record::new("product.category", r).map_err(OdooError::Decode)?,
                                "parent_id",
                            )?,
                            None => None,
                        };
                        parents.insert(c, parent);
                        parent
                    }
                };
            }
            let id = rec.id().map_err(OdooError::Decode)?;
            products.insert(
                id,
                pricing::PricedProduct {
                    id,
                    template: m2o_id(&rec, "product_tmpl_id")?.unwrap_or(0),
                    categories,
                    list_price: dec(&rec, "lst_price")?,
                    cost: dec(&rec, "standard_price")?,
                },
            );
        }
        Ok((p, products, codes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding() -> BindingRow {
        let mut b = BindingRow {
            id: 7,
            sku: "SKU-1".into(),
            product_id: 3,
            ..Default::default()
        };
        for (k, v) in [
            ("shopify_seo_title", json!("Blue mug")),
            (
                "shopify_metafields_json",
                json!(r#"{"custom": {"material": "stoneware"}}"#),
            ),
            ("shopify_collections", json!("Kitchen, Gifts ,")),
            ("amazon_asin", json!("B0TEST0001")),
            ("amazon_bullet_1", json!("Dishwasher safe")),
            ("amazon_bullet_3", json!("350 ml")),
            ("tiktok_live_shopping", json!(true)),
        ] {
            b.fields.insert(k.into(), v);
        }
        b
    }

    #[test]
    fn attributes_follow_the_channel_kind() {
        let b = binding();
        let shop = listing_attributes(&ChannelKind::Shopify, &b).unwrap();
        assert_eq!(shop["seo_title"], json!("Blue mug"));
        assert_eq!(shop["collections"], json!(["Kitchen", "Gifts"]));
        assert_eq!(shop["metafields"]["custom"]["material"], json!("stoneware"));
        assert!(!shop.contains_key("asin"), "no Amazon fields on Shopify");
        let amz = listing_attributes(&ChannelKind::Amazon, &b).unwrap();
        assert_eq!(amz["asin"], json!("B0TEST0001"));
        assert_eq!(amz["bullet_points"], json!(["Dishwasher safe", "350 ml"]));
        assert!(!amz.contains_key("seo_title"));
        let all = listing_attributes(&ChannelKind::Sandbox, &b).unwrap();
        assert!(all.contains_key("asin") && all.contains_key("seo_title"));
        assert_eq!(all["live_shopping"], json!(true));
    }

    #[test]
    fn bad_json_names_the_record_and_field() {
        let mut b = binding();
        b.fields
            .insert("shopify_metafields_json".into(), json!("{not json"));
        let e = listing_attributes(&ChannelKind::Shopify, &b).unwrap_err();
        assert!(
            e.contains("#7") && e.contains("SKU-1") && e.contains("shopify_metafields_json"),
            "{e}"
        );
        // Amazon does not send Shopify metafields, so the same binding is fine there.
        assert!(listing_attributes(&ChannelKind::Amazon, &b).is_ok());
    }

    #[test]
    fn fingerprints_change_with_content_not_version() {
        let p = ProductData {
            name: "Mug".into(),
            ..Default::default()
        };
        let b = binding();
        let a = build_listing(&ChannelKind::Shopify, &b, &p, None).unwrap();
        let mut v = a.clone();
        v.version = 99;
        assert_eq!(fingerprint(&a), fingerprint(&v));
        let mut c = a.clone();
        c.title = "Mug 2".into();
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn state_write_back_only_what_changed() {
        let mut b = binding();
        b.listing_state = Some("active".into());
        b.listing_ref = Some("LST-1".into());
        assert!(state_vals(&b, "active", Some("LST-1"), None).is_empty());
        let v = state_vals(&b, "error", None, Some("bad title"));
        assert_eq!(v["listing_state"], json!("error"));
        assert_eq!(v["last_error"], json!("bad title"));
        b.last_error = Some("old".into());
        let v = state_vals(&b, "active", Some("LST-2"), None);
        assert_eq!(v["listing_ref"], json!("LST-2"));
        assert_eq!(v["last_error"], json!(false), "a success clears the error");
    }
}
