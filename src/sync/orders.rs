//! The order job: every channel's orders into Odoo, each exactly once, audited, routed and
//! prioritised, at Odoo's pace.
//!
//! Two steps with the state store's inbox between them:
//!
//! * [`pull`] pages through the channel's orders from its cursor (less an overlap, because
//!   marketplaces stamp updates late) and **stages every raw payload** before anything is
//!   written to Odoo, so an order can always be replayed; the cursor advances only after the
//!   page is staged. A payload that cannot be mapped is quarantined with record and field named.
//! * [`Importer::import`] turns staged orders into `sale.order`s:
//!   1. **versions**: of several staged payloads of one order only the newest (`updated_at`,
//!      then staging order) counts, and a payload older than one already applied is dropped,
//!      so events arriving out of order never move an order backwards;
//!   2. **existing orders** (searched in one call per batch by the binding key
//!      `client_order_ref = "<channel>:<order id>"`, plus the addon's unique
//!      `(channel_id, channel_order_ref)`): an import interrupted by a crash is finished (a
//!      draft that is not held is checked and confirmed; a confirmed marketplace-fulfilled
//!      order is delivered), and what may change before shipping is updated (shipping address,
//!      ship-by date); a cancellation is left to the cancellation flow, with a note;
//!   3. **new orders**, in batches of `[orders] batch_size`: unknown SKUs quarantined (never a
//!      dummy product); customer and delivery contact deduplicated (`partner`); warehouse routing
//!      and carrier (`routing`); the audit (`audit`); amounts as the marketplace charged them
//!      (`build`); one `create` for the batch, one `action_confirm` for the orders not held,
//!      delivery priority for urgent ones, immediate delivery from the marketplace warehouse for
//!      marketplace-fulfilled ones; held orders stay drafts with the hold tag, a note and an
//!      activity. A batch call that fails is retried order by order; a write whose outcome is
//!      unknown is re-checked by the binding key, never repeated blindly.
//!
//! A crash at any instant leaves one order after restart: before the create nothing exists and
//! the inbox still holds the payload; after it the search finds the order and the import is
//! finished from where it stood. Fail points (`crate::failpoint`) mark the instants the
//! crash tests kill the process at.

mod build;
mod partner;
pub mod setup;

use std::collections::{HashMap, HashSet};

use channels_core::{FulfilledBy, Order, OrderStatus, PageQuery, Pulled};
use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::audit::{self, AuditInput, AuditLine, Finding, Fingerprint, Rule};
use super::catalog::Catalog;
use super::channels::ChannelHandle;
use super::events::{EventBus, SyncEvent};
use super::odoo_log::{OdooLog, QuarantineNote, html_escape, odoo_dt};
use super::routing::{self, Destination, FreeStock, RouteLine, Shipment};
use crate::config::OrdersConfig;
use crate::config::orders::ChannelOrders;
use crate::odoo::{CallKind, Domain, OdooClient, OdooError, SearchOpts};
use crate::store::{Begin, InboxItem, Staged, Store};
use build::{AmountRules, Decisions, LineProduct};
use partner::PartnerResolver;
pub use setup::{OrderSetup, SetupCache};

/// Marketplaces stamp `updated_at` when their transaction started; pull a little behind the
/// cursor and let the inbox drop what was already staged.
pub const CURSOR_OVERLAP: SignedDuration = SignedDuration::from_secs(10 * 60);
const STREAM: &str = "orders";
const KIND: &str = "order";
/// The summary of the activity that asks a person to decide on a buyer's cancellation request.
const CANCEL_REQUEST: &str = "Buyer asked to cancel";
/// Staged payloads looked at per round (a backlog takes several rounds).
const ROUND_LIMIT: usize = 2000;
/// Binding keys per search of existing orders.
const SEARCH_CHUNK: usize = 200;
/// How far back (by staging time, beyond the duplicate window) earlier orders are compared.
const DUPLICATE_LOOKBACK: SignedDuration = SignedDuration::from_hours(2);

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("channel: {0}")]
    Channel(#[from] channels_core::ChannelError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    pub staged: usize,
    pub unchanged: usize,
    pub malformed: usize,
    pub pages: usize,
}

/// What one import round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New sale orders in Odoo (confirmed, or held as drafts), imports finished after a crash
    /// included.
    pub imported: usize,
    /// Of `imported`: held as drafts for a person.
    pub held: usize,
    /// Payloads of orders already in Odoo with nothing to change.
    pub already: usize,
    /// Payloads of orders already in Odoo that changed them (address, ship-by).
    pub updated: usize,
    pub quarantined: usize,
    /// Left in the inbox for the next round (Odoo unreachable, a write to re-check).
    pub failed: usize,
    /// Orders waiting on the marketplace (payment pending): imported once released there.
    pub deferred: usize,
    /// Payloads older than another of the same order: not applied.
    pub superseded: usize,
    /// Orders cancelled on the marketplace before they were ever imported.
    pub skipped: usize,
    pub errors: Vec<String>,
}

/// Page through `ch`'s orders and stage them.
pub async fn pull(
    ch: &ChannelHandle,
    store: &Store,
    log: &OdooLog,
    events: &EventBus,
) -> Result<PullReport, OrderError> {
    let id = ch.config.id.as_str();
    let cursor = store
        .get_cursor(id, STREAM)
        .await?
        .and_then(|c| c.value.parse::<Timestamp>().ok());
    let updated_after = cursor.map(|c| c - CURSOR_OVERLAP);
    let mut report = PullReport::default();
    let mut high_water = cursor;
    let mut page = None;
    loop {
        let q = PageQuery {
            updated_after,
            page: page.clone(),
            page_size: None,
        };
        let p = ch.channel.pull_orders(&q).await?;
        report.pages += 1;
        for item in &p.items {
            match item {
                Pulled::Ok(order) => {
                    let payload = serde_json::to_string(order).map_err(|e| {
                        OrderError::Channel(channels_core::ChannelError::Config(e.to_string()))
                    })?;
                    match store.stage(id, KIND, &order.external_id, &payload).await? {
                        Staged::New(_) => report.staged += 1,
                        Staged::Duplicate { .. } => report.unchanged += 1,
                    }
                }
                Pulled::Malformed {
                    external_id,
                    raw,
                    error,
                } => {
                    let payload = raw.to_string();
                    let ext = external_id.clone().unwrap_or_else(|| {
                        format!(
                            "unidentified-{}",
                            &crate::store::payload_hash(&payload)[..12]
                        )
                    });
                    match store.stage(id, KIND, &ext, &payload).await? {
                        Staged::New(inbox_id) => {
                            report.malformed += 1;
                            let reason = format!("cannot read the order: {error}");
                            quarantine(store, log, events, inbox_id, id, &ext, &reason, &payload)
                                .await?;
                        }
                        Staged::Duplicate { .. } => report.unchanged += 1,
                    }
                }
            }
        }
        if let Some(h) = p.high_water_mark {
            high_water = Some(high_water.map_or(h, |c| c.max(h)));
        }
        match p.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    // Only now: everything up to the high-water mark is safely staged.
    if let Some(h) = high_water
        && Some(h) != cursor
    {
        store.set_cursor(id, STREAM, &h.to_string()).await?;
    }
    events.emit(SyncEvent::OrdersPulled {
        channel: id.to_owned(),
        staged: report.staged,
        unchanged: report.unchanged,
        malformed: report.malformed,
    });
    Ok(report)
}

/// Quarantine a staged inbox row — one held entry per order, however many of its payloads
/// fail (the entry keeps the newest) — and show it in Odoo once.
#[allow(clippy::too_many_arguments)]
async fn quarantine(
    store: &Store,
    log: &OdooLog,
    events: &EventBus,
    inbox_id: i64,
    channel: &str,
    external_ref: &str,
    reason: &str,
    payload: &str,
) -> Result<(), OrderError> {
    let Some((qid, created)) = store.inbox_quarantine_merged(inbox_id, reason).await? else {
        return Ok(()); // Already handled by an earlier round.
    };
    if !created {
        tracing::info!(
            channel,
            external_ref,
            reason,
            "quarantined order updated with a newer payload"
        );
        return Ok(());
    }
    if let Some((model, odoo_id)) = log
        .quarantine(&QuarantineNote {
            daemon_id: qid,
            channel,
            kind: KIND,
            external_ref,
            reason,
            payload,
            record: None,
        })
        .await
    {
        store.set_quarantine_odoo(qid, &model, odoo_id).await?;
    }
    events.emit(SyncEvent::Quarantined {
        channel: channel.to_owned(),
        kind: KIND.to_owned(),
        external_ref: external_ref.to_owned(),
        reason: reason.to_owned(),
    });
    Ok(())
}

/// Country ids by ISO code, read once.
#[derive(Default)]
pub struct CountryCache(Mutex<HashMap<String, Option<i64>>>);

impl CountryCache {
    async fn id(&self, odoo: &OdooClient, code: &str) -> Result<Option<i64>, OdooError> {
        let code = code.trim().to_ascii_uppercase();
        if let Some(v) = self.0.lock().get(&code) {
            return Ok(*v);
        }
        let ids = odoo
            .search(
                "res.country",
                &Domain::leaf("code", "=", code.as_str()),
                &SearchOpts::default().limit(1),
            )
            .await?;
        let id = ids.first().copied();
        self.0.lock().insert(code, id);
        Ok(id)
    }
}

/// Imports staged orders of one channel into Odoo.
pub struct Importer<'a> {
    pub odoo: &'a OdooClient,
    pub store: &'a Store,
    pub log: &'a OdooLog,
    pub events: &'a EventBus,
    pub catalog: &'a Catalog,
    pub countries: &'a CountryCache,
    pub config: &'a OrdersConfig,
    pub setup: &'a SetupCache,
}

/// A staged payload, read.
struct Item {
    inbox_id: i64,
    order: Order,
}

/// An order found in Odoo by its binding key.
#[derive(Debug, Clone)]
struct Existing {
    id: i64,
    state: String,
    tags: Vec<i64>,
    partner: Option<i64>,
    shipping_partner: Option<i64>,
    commitment: Option<Timestamp>,
}

/// A sale order the job created (or found half-imported), on its way to confirmation.
struct Created {
    odoo_id: i64,
    inbox_id: i64,
    order: Order,
    target_total: Decimal,
    findings: Vec<Finding>,
    /// Tagged as held in Odoo.
    held: bool,
    urgent: bool,
    /// Decisions worth a line in the note (routing, carrier).
    remarks: Vec<String>,
    /// An interrupted import being finished (not a fresh create).
    resumed: bool,
}

/// The round's view of each channel setting and the Odoo setup.
struct Ctx<'a> {
    channel: &'a str,
    settings: ChannelOrders,
    setup: std::sync::Arc<OrderSetup>,
    addon_channel: Option<i64>,
    now: Timestamp,
    /// Recent orders of the channel, for duplicate detection (loaded once per round).
    recent: Option<Vec<Fingerprint>>,
}

fn is_data_error(e: &OdooError) -> bool {
    matches!(
        e,
        OdooError::UserError(_) | OdooError::ValidationError(_) | OdooError::MissingRecord(_)
    )
}

fn m2o_id(row: &Value, field: &str) -> Option<i64> {
    match row.get(field)? {
        Value::Array(a) => a.first().and_then(Value::as_i64),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn dec(row: &Value, field: &str) -> Decimal {
    row.get(field)
        .and_then(Value::as_f64)
        .and_then(crate::odoo::decode::decimal_from_f64)
        .unwrap_or_default()
}

fn order_ref(order: &Order) -> &str {
    order
        .external_number
        .as_deref()
        .unwrap_or(&order.external_id)
}

fn is_marketplace(order: &Order) -> bool {
    matches!(order.fulfilled_by, FulfilledBy::Marketplace { .. })
}

/// The lightweight part of a staged payload the duplicate check needs (the raw marketplace
/// JSON is skipped, not built).
#[derive(serde::Deserialize)]
struct LightOrder {
    external_id: String,
    status: OrderStatus,
    buyer: channels_core::Buyer,
    shipping_address: Option<channels_core::Address>,
    lines: Vec<LightLine>,
    created_at: Timestamp,
    fulfilled_by: FulfilledBy,
}

#[derive(serde::Deserialize)]
struct LightLine {
    sku: Option<String>,
    quantity: Decimal,
}

impl LightOrder {
    fn fingerprint(&self) -> Option<Fingerprint> {
        if self.status == OrderStatus::Cancelled || self.fulfilled_by != FulfilledBy::Merchant {
            return None;
        }
        let buyer = audit::buyer_key(&self.buyer, self.shipping_address.as_ref())?;
        let mut items: Vec<(String, Decimal)> = Vec::new();
        for l in &self.lines {
            let sku = l.sku.as_deref()?.trim().to_owned();
            match items.iter_mut().find(|(s, _)| *s == sku) {
                Some((_, q)) => *q += l.quantity,
                None => items.push((sku, l.quantity)),
            }
        }
        items.sort();
        for (_, q) in &mut items {
            *q = q.normalize();
        }
        (!items.is_empty()).then(|| Fingerprint {
            external_id: self.external_id.clone(),
            buyer,
            items,
            created_at: self.created_at,
        })
    }
}

impl Importer<'_> {
    /// Quarantine a staged order that cannot be imported (see [`quarantine`]), and count it.
    async fn quarantine_order(
        &self,
        channel: &str,
        it: &Item,
        reason: &str,
        report: &mut ImportReport,
    ) -> Result<(), OrderError> {
        let payload = serde_json::to_string(&it.order).unwrap_or_default();
        quarantine(
            self.store,
            self.log,
            self.events,
            it.inbox_id,
            channel,
            &it.order.external_id,
            reason,
            &payload,
        )
        .await?;
        report.quarantined += 1;
        Ok(())
    }

    /// Import what `ch` has staged (up to [`ROUND_LIMIT`] payloads).
    pub async fn import(&self, ch: &ChannelHandle) -> Result<ImportReport, OrderError> {
        let channel = ch.config.id.as_str();
        let mut report = ImportReport::default();
        let setup = self.setup.get(self.odoo, self.config).await?;
        let mut cx = Ctx {
            channel,
            settings: self.config.for_channel(channel),
            setup,
            addon_channel: self.log.channel_record(channel).await,
            now: Timestamp::now(),
            recent: None,
        };
        self.sweep_released(&cx).await;

        // 1. What is staged, read.
        let mut rows: Vec<InboxItem> = Vec::new();
        let mut after = 0;
        while rows.len() < ROUND_LIMIT {
            let page = self
                .store
                .inbox_new_after(channel, KIND, after, 500)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            rows.extend(page);
        }
        let mut items: Vec<Item> = Vec::with_capacity(rows.len());
        for row in rows {
            match serde_json::from_str::<Order>(&row.payload) {
                Ok(order) => items.push(Item {
                    inbox_id: row.id,
                    order,
                }),
                Err(e) => {
                    let reason = format!("staged payload is not a normalised order: {e}");
                    quarantine(
                        self.store,
                        self.log,
                        self.events,
                        row.id,
                        channel,
                        &row.external_id,
                        &reason,
                        &row.payload,
                    )
                    .await?;
                    report.quarantined += 1;
                }
            }
        }

        // 2. Versions: the newest payload of each order, never one older than what Odoo has.
        let mut newest: HashMap<String, usize> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            let e = newest.entry(it.order.external_id.clone()).or_insert(i);
            let cur = &items[*e];
            if (it.order.updated_at, it.inbox_id) > (cur.order.updated_at, cur.inbox_id) {
                *e = i;
            }
        }
        let keep: HashSet<usize> = newest.values().copied().collect();
        let mut live = Vec::with_capacity(keep.len());
        for (i, it) in items.into_iter().enumerate() {
            if !keep.contains(&i) {
                self.store.inbox_done(it.inbox_id, None).await?;
                report.superseded += 1;
                continue;
            }
            if let Some(applied) = self.applied_version(channel, &it.order.external_id).await?
                && it.order.updated_at < applied
            {
                tracing::info!(channel, order = %it.order.external_id, payload = %it.order.updated_at, applied = %applied,
                    "an older payload arrived after a newer one was applied: ignored");
                self.store.inbox_done(it.inbox_id, None).await?;
                report.superseded += 1;
                continue;
            }
            live.push(it);
        }

        // 3. Orders already in Odoo: finish or update them.
        let existing = self.find_existing(&cx, &live).await?;
        let mut new = Vec::new();
        for it in live {
            match existing.get(&it.order.external_id) {
                Some(ex) => match self.handle_existing(&cx, &it, ex, &mut report).await {
                    Ok(()) => {}
                    Err(OrderError::Odoo(e))
                        if !(e.is_retryable() || matches!(e, OdooError::Timeout { .. })) =>
                    {
                        // The record exists: the person who must act sees it there (the
                        // sync run names it too). Retried every cycle, said once.
                        self.log
                            .note_once(
                                "sale.order",
                                ex.id,
                                &format!(
                                    "odoo-channels could not apply channel {} order {} ({}) to this order: {e}. It is retried every cycle.",
                                    cx.channel,
                                    order_ref(&it.order),
                                    it.order.external_id
                                ),
                            )
                            .await;
                        report.failed += 1;
                        report
                            .errors
                            .push(format!("order {}: {e}", it.order.external_id));
                    }
                    Err(e) => return Err(e),
                },
                None => new.push(it),
            }
        }

        // 4. New orders.
        let mut todo = Vec::with_capacity(new.len());
        for it in new {
            match it.order.status {
                OrderStatus::Pending => report.deferred += 1,
                OrderStatus::Cancelled => {
                    tracing::info!(channel, order = %it.order.external_id, "cancelled on the marketplace before it was imported: not imported");
                    self.store.inbox_done(it.inbox_id, None).await?;
                    report.skipped += 1;
                }
                _ => todo.push(it),
            }
        }
        let total = todo.len();
        let mut done = 0;
        let batch = self.config.batch_size.max(1);
        let mut todo = todo.into_iter().peekable();
        while todo.peek().is_some() {
            let chunk: Vec<Item> = todo.by_ref().take(batch).collect();
            let n = chunk.len();
            self.import_batch(&mut cx, chunk, &mut report).await?;
            done += n;
            if total >= 50 {
                self.events.emit(SyncEvent::Progress {
                    channel: channel.to_owned(),
                    job: "orders",
                    done,
                    total,
                });
            }
        }
        Ok(report)
    }

    /// The `updated_at` of the newest payload of this order already applied to Odoo.
    async fn applied_version(
        &self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<Timestamp>, OrderError> {
        #[derive(serde::Deserialize)]
        struct Stamp {
            updated_at: Timestamp,
        }
        let rows = self.store.inbox_applied(channel, KIND, external_id).await?;
        Ok(rows
            .iter()
            .filter_map(|(p, _)| serde_json::from_str::<Stamp>(p).ok())
            .map(|s| s.updated_at)
            .max())
    }

    /// Orders of `items` already in Odoo, by external id (one search per chunk of keys).
    async fn find_existing(
        &self,
        cx: &Ctx<'_>,
        items: &[Item],
    ) -> Result<HashMap<String, Existing>, OdooError> {
        let mut out = HashMap::new();
        for chunk in items.chunks(SEARCH_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|i| i.order.binding_key()).collect();
            let exts: Vec<String> = chunk.iter().map(|i| i.order.external_id.clone()).collect();
            for (ext, ex) in self.search_orders(cx, &keys, &exts).await? {
                out.insert(ext, ex);
            }
        }
        Ok(out)
    }

    async fn search_orders(
        &self,
        cx: &Ctx<'_>,
        keys: &[String],
        exts: &[String],
    ) -> Result<Vec<(String, Existing)>, OdooError> {
        let mut domain = Domain::is_in("client_order_ref", keys.to_vec());
        let mut fields = vec![
            "client_order_ref",
            "state",
            "tag_ids",
            "partner_id",
            "partner_shipping_id",
            "commitment_date",
        ];
        if let Some(c) = cx.addon_channel {
            domain = domain.or(Domain::leaf("channel_id", "=", c)
                .and(Domain::is_in("channel_order_ref", exts.to_vec())));
            fields.push("channel_order_ref");
        }
        let rows = self
            .odoo
            .search_read(
                "sale.order",
                &domain,
                &fields,
                &SearchOpts::default()
                    .load_none()
                    .order("id asc")
                    .context(active_test_off()),
            )
            .await?;
        let prefix = format!("{}:", cx.channel);
        let mut out: Vec<(String, Existing)> = Vec::new();
        for r in &rows {
            let ext = r
                .get("channel_order_ref")
                .and_then(Value::as_str)
                .filter(|_| cx.addon_channel.is_some())
                .map(str::to_owned)
                .or_else(|| {
                    r.get("client_order_ref")
                        .and_then(Value::as_str)
                        .and_then(|k| k.strip_prefix(&prefix))
                        .map(str::to_owned)
                });
            let Some(ext) = ext.filter(|e| exts.contains(e)) else {
                continue;
            };
            if out.iter().any(|(e, _)| *e == ext) {
                // Two orders for one key: the oldest is the binding (the addon's constraint
                // makes this impossible; without it, a concurrent importer could).
                continue;
            }
            out.push((
                ext,
                Existing {
                    id: r.get("id").and_then(Value::as_i64).unwrap_or(0),
                    state: r
                        .get("state")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    tags: r
                        .get("tag_ids")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_i64).collect())
                        .unwrap_or_default(),
                    partner: m2o_id(r, "partner_id"),
                    shipping_partner: m2o_id(r, "partner_shipping_id"),
                    commitment: r
                        .get("commitment_date")
                        .and_then(Value::as_str)
                        .and_then(odoo_wire::datetime::parse_datetime),
                },
            ));
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // New orders
    // -----------------------------------------------------------------------------------------

    /// Prepare, create, confirm and record one batch of new orders.
    async fn import_batch(
        &self,
        cx: &mut Ctx<'_>,
        items: Vec<Item>,
        report: &mut ImportReport,
    ) -> Result<(), OrderError> {
        let channel = cx.channel;
        // Lines → products; an unknown SKU quarantines the order.
        let mut ready: Vec<(Item, Vec<LineProduct>, Vec<Decimal>)> = Vec::new();
        for it in items {
            match self.products_of(channel, &it.order) {
                Ok((p, prices)) => ready.push((it, p, prices)),
                Err(reason) => {
                    self.quarantine_order(channel, &it, &reason, report).await?;
                }
            }
        }
        if ready.is_empty() {
            return Ok(());
        }
        // Free stock of every product of the batch in every merchant warehouse.
        let merchant_products: Vec<i64> = {
            let mut v: Vec<i64> = ready
                .iter()
                .filter(|(it, _, _)| !is_marketplace(&it.order))
                .flat_map(|(_, p, _)| p.iter().map(|p| p.product_id))
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let wh_ids: Vec<i64> = cx.setup.warehouses.iter().map(|w| w.id).collect();
        let mut free: HashMap<(i64, i64), Decimal> = HashMap::new();
        if !merchant_products.is_empty() && !wh_ids.is_empty() {
            for l in self
                .odoo
                .stock_levels(Some(&merchant_products), &wh_ids)
                .await?
            {
                free.insert((l.warehouse_id, l.product_id), l.free());
            }
        }
        let weights = self.weights(&ready).await?;
        if cx.recent.is_none() && !cx.settings.audit.duplicate_window.is_zero() {
            cx.recent = Some(self.recent_fingerprints(cx).await?);
        }

        let mut partners = PartnerResolver::new(self.odoo, self.countries);
        let mut planned: Vec<(Item, build::Built, Created)> = Vec::new();
        for (it, products, prices) in ready {
            match self
                .prepare(
                    cx,
                    &it,
                    &products,
                    &prices,
                    &mut free,
                    &weights,
                    &mut partners,
                )
                .await
            {
                Ok((built, created)) => planned.push((it, built, created)),
                Err(e) if is_data_error(&e) => {
                    let reason = format!("Odoo refused a record the order needs: {e}");
                    self.quarantine_order(channel, &it, &reason, report).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if planned.is_empty() {
            return Ok(());
        }
        let created = self.create_all(cx, planned, report).await?;
        crate::failpoint::hit("orders.after_create");
        self.finish(cx, created, report).await
    }

    /// The Odoo product of every line, and its price in the order's currency (for the audit);
    /// `Err(reason)` when a line cannot be imported.
    fn products_of(
        &self,
        channel: &str,
        order: &Order,
    ) -> Result<(Vec<LineProduct>, Vec<Decimal>), String> {
        if order.lines.is_empty() {
            return Err(format!("order {} has no lines", order.external_id));
        }
        let mut out = Vec::with_capacity(order.lines.len());
        let mut prices = Vec::with_capacity(order.lines.len());
        for (i, line) in order.lines.iter().enumerate() {
            let Some(sku) = line.sku.as_deref().filter(|s| !s.trim().is_empty()) else {
                return Err(format!(
                    "order {}: line {} ({}) has no SKU",
                    order.external_id,
                    i + 1,
                    line.title.as_deref().unwrap_or(&line.external_line_id)
                ));
            };
            let Some(product) = self.catalog.product_for(channel, sku) else {
                return Err(format!(
                    "order {}: line {} has unknown SKU {sku:?}: no storable product has this internal reference and no binding maps it",
                    order.external_id,
                    i + 1
                ));
            };
            if line.quantity <= Decimal::ZERO {
                return Err(format!(
                    "order {}: line {} ({sku}) has quantity {}",
                    order.external_id,
                    i + 1,
                    line.quantity
                ));
            }
            out.push(LineProduct {
                product_id: product.id,
                name: product.name.clone(),
            });
            prices.push(product.list_price);
        }
        Ok((out, prices))
    }

    /// Product weights (kg) when a carrier rule limits weight.
    async fn weights(
        &self,
        ready: &[(Item, Vec<LineProduct>, Vec<Decimal>)],
    ) -> Result<HashMap<i64, Decimal>, OdooError> {
        if !self.config.carriers.iter().any(|c| c.max_weight.is_some()) {
            return Ok(HashMap::new());
        }
        let mut ids: Vec<i64> = ready
            .iter()
            .flat_map(|(_, p, _)| p.iter().map(|p| p.product_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self
            .odoo
            .read("product.product", &ids, &["weight"], None)
            .await?
            .iter()
            .filter_map(|r| Some((r.get("id")?.as_i64()?, dec(r, "weight"))))
            .collect())
    }

    async fn recent_fingerprints(&self, cx: &Ctx<'_>) -> Result<Vec<Fingerprint>, OrderError> {
        let window = SignedDuration::try_from(cx.settings.audit.duplicate_window)
            .unwrap_or(SignedDuration::from_hours(24));
        let since = cx.now - window - DUPLICATE_LOOKBACK;
        let rows = self
            .store
            .inbox_recent(cx.channel, KIND, since, 20_000)
            .await?;
        let mut seen: HashMap<String, Fingerprint> = HashMap::new();
        for (_, payload) in rows {
            if let Ok(l) = serde_json::from_str::<LightOrder>(&payload)
                && let Some(fp) = l.fingerprint()
            {
                seen.insert(fp.external_id.clone(), fp);
            }
        }
        Ok(seen.into_values().collect())
    }

    /// Decide everything about one new order and build its values.
    #[allow(clippy::too_many_arguments)]
    async fn prepare(
        &self,
        cx: &Ctx<'_>,
        it: &Item,
        products: &[LineProduct],
        prices: &[Decimal],
        free: &mut HashMap<(i64, i64), Decimal>,
        weights: &HashMap<i64, Decimal>,
        partners: &mut PartnerResolver<'_>,
    ) -> Result<(build::Built, Created), OdooError> {
        let order = &it.order;
        let setup = &cx.setup;
        let marketplace = is_marketplace(order);
        let mut findings: Vec<Finding> = Vec::new();
        let mut remarks: Vec<String> = Vec::new();
        let ship = order.shipping_address.as_ref();

        // Currency and pricelist.
        let currency = match setup.currency(order.currency.code()) {
            Some(c) => c.clone(),
            None => {
                findings.push(Finding::new(
                    Rule::Currency,
                    format!(
                        "the order is in {}, which is not an active currency in Odoo",
                        order.currency
                    ),
                ));
                setup
                    .currency(&setup.company_currency)
                    .cloned()
                    .unwrap_or(setup::CurrencyInfo {
                        id: 1,
                        code: order.currency.to_string(),
                        rounding: Decimal::new(1, 2),
                        rate: Decimal::ONE,
                    })
            }
        };
        let pricelist = match &cx.settings.pricelist {
            Some(name) => match setup.pricelists.iter().find(|p| &p.name == name) {
                Some(p) if p.currency == order.currency.code() => Some(p.id),
                Some(p) => {
                    findings.push(Finding::new(
                        Rule::Currency,
                        format!(
                            "the channel's pricelist {name:?} is in {}, the order in {}",
                            p.currency, order.currency
                        ),
                    ));
                    None
                }
                None => {
                    findings.push(Finding::new(
                        Rule::Currency,
                        format!("the channel's pricelist {name:?} does not exist in Odoo"),
                    ));
                    None
                }
            },
            None => match setup
                .pricelists
                .iter()
                .find(|p| p.currency == order.currency.code())
            {
                Some(p) => Some(p.id),
                None if order.currency.code() == setup.company_currency => None,
                None => {
                    findings.push(Finding::new(
                        Rule::Currency,
                        format!(
                            "no pricelist in {} exists in Odoo (create one, or name one in [orders.channels.{}] pricelist)",
                            order.currency, cx.channel
                        ),
                    ));
                    None
                }
            },
        };
        let fiscal_position = cx.settings.fiscal_position.as_ref().and_then(|name| {
            let fp = setup.fiscal_positions.get(name).copied();
            if fp.is_none() {
                tracing::warn!(channel = cx.channel, fiscal_position = %name, "no fiscal position with this name in Odoo; not set");
            }
            fp
        });

        // Routing.
        let lines: Vec<RouteLine> = order
            .lines
            .iter()
            .zip(products)
            .map(|(l, p)| RouteLine {
                product: p.product_id,
                sku: l.sku.clone().unwrap_or_default(),
                quantity: l.quantity,
            })
            .collect();
        let mut warehouse = setup.marketplace.id;
        let mut line_routes = vec![None; lines.len()];
        let mut shortages = Vec::new();
        if marketplace {
            remarks.push(format!(
                "fulfilled by the marketplace ({}): delivered from warehouse {} at once, the merchant's stock untouched",
                match &order.fulfilled_by {
                    FulfilledBy::Marketplace { program } => program.as_str(),
                    FulfilledBy::Merchant => "",
                },
                setup.marketplace.code
            ));
        } else {
            let default: Vec<String> = setup.warehouses.iter().map(|w| w.code.clone()).collect();
            let to = Destination {
                channel: cx.channel,
                country: ship.and_then(|a| a.country_code.as_deref()),
                region: ship.and_then(|a| a.state_code.as_deref()),
            };
            let (codes, split) = routing::candidates(&self.config.routes, &to, &default);
            let mut cands: Vec<&setup::Warehouse> =
                codes.iter().filter_map(|c| setup.warehouse(c)).collect();
            if cands.is_empty() {
                cands = setup.warehouses.iter().collect();
            }
            if cands.is_empty() {
                return Err(OdooError::InvalidCall(
                    "no warehouse to route merchant orders to".into(),
                ));
            }
            let mut stock = FreeStock::default();
            for (i, w) in cands.iter().enumerate() {
                for l in &lines {
                    stock.set(
                        i,
                        l.product,
                        free.get(&(w.id, l.product)).copied().unwrap_or_default(),
                    );
                }
            }
            let plan = routing::plan(&lines, cands.len(), &stock, split);
            let primary = cands[plan.primary];
            warehouse = primary.id;
            if plan.is_split() {
                let mut names = Vec::new();
                for (i, w) in plan.per_line.iter().enumerate() {
                    let wh = cands[*w];
                    if *w != plan.primary {
                        match wh.delivery_route_id {
                            Some(r) => {
                                line_routes[i] = Some(r);
                                names.push(format!("{} from {}", lines[i].sku, wh.code));
                            }
                            None => remarks.push(format!(
                                "{} could ship from {}, which has no delivery route: left with {}",
                                lines[i].sku, wh.code, primary.code
                            )),
                        }
                    }
                }
                if !names.is_empty() {
                    remarks.push(format!(
                        "split: {} (the rest from {})",
                        names.join(", "),
                        primary.code
                    ));
                }
            } else {
                remarks.push(format!("routed to warehouse {}", primary.code));
            }
            if primary.third_party {
                remarks.push(format!(
                    "{} is run by a third-party logistics provider",
                    primary.code
                ));
            }
            // Later orders of the batch see these units as taken.
            for (i, l) in lines.iter().enumerate() {
                let w = line_routes[i]
                    .and(Some(cands[plan.per_line[i]].id))
                    .unwrap_or(primary.id);
                *free.entry((w, l.product)).or_default() -= l.quantity;
            }
            shortages = plan.shortages;
        }

        // Carrier.
        let weight = if weights.is_empty() {
            None
        } else {
            Some(
                order
                    .lines
                    .iter()
                    .zip(products)
                    .map(|(l, p)| {
                        l.quantity * weights.get(&p.product_id).copied().unwrap_or_default()
                    })
                    .sum::<Decimal>(),
            )
        };
        let carrier = if marketplace {
            None
        } else {
            routing::choose_carrier(
                &self.config.carriers,
                self.config.carrier_strategy,
                &Shipment {
                    level: order.service_level,
                    country: ship.and_then(|a| a.country_code.as_deref()),
                    weight,
                },
            )
            .and_then(|c| {
                let id = setup.carriers.get(&c.name).copied();
                if id.is_some() {
                    remarks.push(format!("carrier {}", c.name));
                }
                id
            })
        };

        // Audit.
        let (missing_address, has_phone) = AuditInput::contact_facts(order);
        let duplicate_of = match (&cx.recent, Fingerprint::of(order)) {
            (Some(recent), Some(fp)) if !marketplace => {
                audit::find_duplicate(&fp, recent, cx.settings.audit.duplicate_window)
                    .map(|d| d.external_id.clone())
            }
            _ => None,
        };
        let input = AuditInput {
            marketplace_fulfilled: marketplace,
            missing_address,
            has_phone,
            lines: order
                .lines
                .iter()
                .zip(prices)
                .map(|(l, list)| AuditLine {
                    sku: l.sku.clone().unwrap_or_default(),
                    quantity: l.quantity,
                    unit_paid: if l.quantity.is_zero() {
                        l.unit_price.amount
                    } else {
                        l.line_total.amount / l.quantity
                    },
                    odoo_price: setup
                        .currency(order.currency.code())
                        .map(|c| (*list * c.rate).round_dp(4)),
                })
                .collect(),
            shortages,
            duplicate_of,
            cancel_request: order.buyer_cancel_request.clone(),
        };
        findings.extend(audit::audit(&cx.settings.audit, &input));

        // Customer and delivery contact.
        let p = partners.resolve(cx.channel, order).await?;

        let rules = AmountRules {
            shipping_product: setup.shipping_product,
            rounding_product: setup.rounding_product,
            currency: &currency,
            tolerance: self.config.rounding_tolerance,
            taxes: cx.settings.taxes,
            sale_taxes: &setup.sale_taxes,
            taxes_field: self.odoo.map().order_line_taxes_field,
            route_field: if self.odoo.version().major >= 19 {
                "route_ids"
            } else {
                "route_id"
            },
        };
        let decisions = Decisions {
            partner: p.customer,
            shipping_partner: p.shipping,
            warehouse,
            line_routes,
            carrier,
            pricelist,
            fiscal_position,
            hold_tag: None,
            addon_channel: cx.addon_channel,
        };
        let mut built = build::order_vals(order, products, &decisions, &rules);
        findings.append(&mut built.findings);
        let held = !findings.is_empty();
        if held {
            built
                .vals
                .insert("tag_ids".into(), json!([[6, 0, [setup.hold_tag]]]));
        }
        if let Some(r) = built.rounding {
            remarks.push(format!(
                "rounding line {} {} to match the marketplace total",
                r.normalize(),
                currency.code
            ));
        }
        let urgent = !marketplace
            && routing::is_urgent(
                order.service_level,
                order.ship_by,
                cx.now,
                &self.config.urgent_service_levels,
                self.config.urgent_within,
            );
        let created = Created {
            odoo_id: 0,
            inbox_id: it.inbox_id,
            order: order.clone(),
            target_total: built.target_total,
            findings,
            held,
            urgent,
            remarks,
            resumed: false,
        };
        Ok((built, created))
    }

    /// Create the batch in one call; on failure, order by order. Returns what exists in Odoo.
    async fn create_all(
        &self,
        cx: &Ctx<'_>,
        planned: Vec<(Item, build::Built, Created)>,
        report: &mut ImportReport,
    ) -> Result<Vec<Created>, OrderError> {
        let vals: Vec<Map<String, Value>> =
            planned.iter().map(|(_, b, _)| b.vals.clone()).collect();
        match self.odoo.create_many("sale.order", vals, None).await {
            Ok(ids) if ids.len() == planned.len() => {
                return Ok(planned
                    .into_iter()
                    .zip(ids)
                    .map(|((_, _, mut c), id)| {
                        c.odoo_id = id;
                        c
                    })
                    .collect());
            }
            Ok(ids) => {
                tracing::warn!(
                    sent = planned.len(),
                    got = ids.len(),
                    "create answered an unexpected number of ids; re-checking each order"
                );
            }
            Err(e)
                if e.is_retryable()
                    || matches!(e, OdooError::Timeout { .. } | OdooError::AccessDenied(_)) =>
            {
                // Not applied (or Odoo is unusable): the round stops, the inbox keeps the batch.
                return Err(e.into());
            }
            Err(e) => {
                tracing::info!(error = %e, orders = planned.len(), "batch create failed; re-checking, then one order at a time");
            }
        }
        // Re-check what the failed (or ambiguous) batch left, then one at a time.
        let keys: Vec<String> = planned
            .iter()
            .map(|(i, _, _)| i.order.binding_key())
            .collect();
        let exts: Vec<String> = planned
            .iter()
            .map(|(i, _, _)| i.order.external_id.clone())
            .collect();
        let found: HashMap<String, Existing> = self
            .search_orders(cx, &keys, &exts)
            .await?
            .into_iter()
            .collect();
        let mut out = Vec::new();
        for (it, built, mut c) in planned {
            if let Some(ex) = found.get(&it.order.external_id) {
                c.odoo_id = ex.id;
                c.held = c.held || ex.tags.contains(&cx.setup.hold_tag);
                out.push(c);
                continue;
            }
            match self.odoo.create("sale.order", built.vals, None).await {
                Ok(id) => {
                    c.odoo_id = id;
                    out.push(c);
                }
                Err(e) if e.is_ambiguous() || is_data_error(&e) => {
                    // Committed after all, or a concurrent importer won the unique constraint?
                    let again = self
                        .search_orders(
                            cx,
                            &[it.order.binding_key()],
                            std::slice::from_ref(&it.order.external_id),
                        )
                        .await?;
                    match again.into_iter().next() {
                        Some((_, ex)) => {
                            c.odoo_id = ex.id;
                            c.held = c.held || ex.tags.contains(&cx.setup.hold_tag);
                            out.push(c);
                        }
                        None if is_data_error(&e) => {
                            let reason = format!("Odoo refused to create the order: {e}");
                            self.quarantine_order(cx.channel, &it, &reason, report)
                                .await?;
                        }
                        None => {
                            report.failed += 1;
                            report
                                .errors
                                .push(format!("order {}: {e}", it.order.external_id));
                        }
                    }
                }
                Err(e) => {
                    report.failed += 1;
                    report
                        .errors
                        .push(format!("order {}: {e}", it.order.external_id));
                }
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Finishing: amounts, confirmation, delivery, holds
    // -----------------------------------------------------------------------------------------

    /// Check totals, confirm what is not held, set priorities, deliver marketplace-fulfilled
    /// orders, leave notes and activities on held ones, then close the inbox rows. Every step
    /// is safe to repeat (a resumed import runs it again).
    async fn finish(
        &self,
        cx: &Ctx<'_>,
        mut created: Vec<Created>,
        report: &mut ImportReport,
    ) -> Result<(), OrderError> {
        if created.is_empty() {
            return Ok(());
        }
        let setup = cx.setup.clone();
        let ids: Vec<i64> = created.iter().map(|c| c.odoo_id).collect();
        let rows = self
            .odoo
            .read("sale.order", &ids, &["name", "amount_total", "state"], None)
            .await?;
        let by_id: HashMap<i64, &Value> = rows
            .iter()
            .filter_map(|r| Some((r.get("id")?.as_i64()?, r)))
            .collect();
        let mut names: HashMap<i64, String> = HashMap::new();
        let mut states: HashMap<i64, String> = HashMap::new();

        // Amounts: Odoo's total against the marketplace's.
        for c in &mut created {
            let Some(row) = by_id.get(&c.odoo_id) else {
                continue;
            };
            names.insert(
                c.odoo_id,
                row.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            );
            states.insert(
                c.odoo_id,
                row.get("state")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            );
            if !matches!(states[&c.odoo_id].as_str(), "draft" | "sent") {
                continue;
            }
            let currency =
                setup
                    .currency(c.order.currency.code())
                    .cloned()
                    .unwrap_or(setup::CurrencyInfo {
                        id: 0,
                        code: c.order.currency.to_string(),
                        rounding: Decimal::new(1, 2),
                        rate: Decimal::ONE,
                    });
            let total = currency.round(dec(row, "amount_total"));
            let diff = currency.round(c.target_total - total);
            if diff.is_zero() {
                continue;
            }
            let rules = AmountRules {
                shipping_product: setup.shipping_product,
                rounding_product: setup.rounding_product,
                currency: &currency,
                tolerance: self.config.rounding_tolerance,
                taxes: cx.settings.taxes,
                sale_taxes: &setup.sale_taxes,
                taxes_field: self.odoo.map().order_line_taxes_field,
                route_field: "route_ids",
            };
            if diff.abs() <= self.config.rounding_tolerance
                && !c.findings.iter().any(|f| f.rule == Rule::Amounts)
            {
                let mut v = Map::new();
                v.insert(
                    "order_line".into(),
                    json!([[0, 0, build::rounding_line(&rules, diff, c.target_total)]]),
                );
                self.odoo.write("sale.order", &[c.odoo_id], v, None).await?;
                c.remarks.push(format!(
                    "rounding line {} {} to match the marketplace total",
                    diff.normalize(),
                    currency.code
                ));
            } else if !c.findings.iter().any(|f| f.rule == Rule::Amounts) {
                c.findings
                    .push(build::amounts_finding(total, c.target_total, &currency));
            }
        }
        // Holds found after the create are tagged now (before anything could confirm them).
        let newly_held: Vec<i64> = created
            .iter()
            .filter(|c| !c.held && !c.findings.is_empty())
            .map(|c| c.odoo_id)
            .collect();
        if !newly_held.is_empty() {
            let mut v = Map::new();
            v.insert("tag_ids".into(), json!([[4, setup.hold_tag]]));
            self.odoo.write("sale.order", &newly_held, v, None).await?;
            for c in &mut created {
                if newly_held.contains(&c.odoo_id) {
                    c.held = true;
                }
            }
        }

        // Confirm what is not held, in one call; order by order if that fails.
        let to_confirm: Vec<i64> = created
            .iter()
            .filter(|c| {
                !c.held
                    && matches!(
                        states.get(&c.odoo_id).map(String::as_str),
                        Some("draft" | "sent")
                    )
            })
            .map(|c| c.odoo_id)
            .collect();
        let refused = self.confirm(&to_confirm).await?;
        if !refused.is_empty() {
            let ids: Vec<i64> = refused.keys().copied().collect();
            let mut v = Map::new();
            v.insert("tag_ids".into(), json!([[4, setup.hold_tag]]));
            self.odoo.write("sale.order", &ids, v, None).await?;
            for c in &mut created {
                if let Some(e) = refused.get(&c.odoo_id) {
                    c.held = true;
                    c.findings.push(Finding::new(Rule::Confirmation, e.clone()));
                }
            }
        }
        crate::failpoint::hit("orders.after_confirm");

        // Delivery priority and marketplace deliveries.
        let confirmed: Vec<&Created> = created
            .iter()
            .filter(|c| !c.held && states.get(&c.odoo_id).is_some_and(|s| s != "cancel"))
            .collect();
        self.after_confirm(&confirmed).await?;

        // Held orders: a note and an activity; others: the optional import note.
        for c in &created {
            if c.held {
                self.hold_artifacts(cx, c.odoo_id, &c.order, &c.findings, &c.remarks)
                    .await;
            } else if self.config.import_note || (c.resumed && !c.remarks.is_empty()) {
                let text = format!(
                    "Imported by odoo-channels from channel {}, order {} ({}), and confirmed.{}",
                    cx.channel,
                    order_ref(&c.order),
                    c.order.external_id,
                    if c.remarks.is_empty() {
                        String::new()
                    } else {
                        format!("\n{}", c.remarks.join("\n"))
                    }
                );
                self.log.note("sale.order", c.odoo_id, &text).await;
            }
            // Held for the request itself: the hold's note and activity already ask.
            let asked = c.held && c.findings.iter().any(|f| f.rule == Rule::CancelRequest);
            self.buyer_cancel_request(cx, c.odoo_id, &c.order, asked)
                .await?;
        }
        crate::failpoint::hit("orders.before_done");

        for c in created {
            self.store.inbox_done(c.inbox_id, Some(c.odoo_id)).await?;
            let released = self
                .store
                .release_held(cx.channel, KIND, &c.order.external_id)
                .await?;
            if !released.is_empty() {
                tracing::info!(channel = cx.channel, order = %c.order.external_id, "imported: its earlier quarantine entry is released");
            }
            report.imported += 1;
            let name = names
                .get(&c.odoo_id)
                .cloned()
                .unwrap_or_else(|| format!("sale.order #{}", c.odoo_id));
            if c.held {
                report.held += 1;
                self.events.emit(SyncEvent::Quarantined {
                    channel: cx.channel.to_owned(),
                    kind: "order_held".into(),
                    external_ref: c.order.external_id.clone(),
                    reason: format!(
                        "{name} waits as a draft: {}",
                        c.findings
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                });
            } else {
                self.events.emit(SyncEvent::OrderImported {
                    channel: cx.channel.to_owned(),
                    external_id: c.order.external_id.clone(),
                    odoo_id: c.odoo_id,
                    odoo_name: name,
                    lines: c.order.lines.len(),
                    total: format!(
                        "{} {}",
                        c.order.order_total.amount, c.order.order_total.currency
                    ),
                });
            }
        }
        Ok(())
    }

    /// `action_confirm` on the list; if Odoo refuses the batch, order by order. Returns the
    /// orders Odoo refused with its message (they stay drafts, held).
    async fn confirm(&self, ids: &[i64]) -> Result<HashMap<i64, String>, OdooError> {
        let mut refused = HashMap::new();
        if ids.is_empty() {
            return Ok(refused);
        }
        let call = |ids: Vec<i64>| async move {
            self.odoo
                .call(
                    "sale.order",
                    "action_confirm",
                    Some(&ids),
                    Map::new(),
                    None,
                    CallKind::Write,
                )
                .await
        };
        match call(ids.to_vec()).await {
            Ok(_) => return Ok(refused),
            Err(e) if e.is_ambiguous() => {
                // Re-check: confirmed or not?
                tracing::info!(error = %e, "confirmation outcome unknown; re-checking");
            }
            Err(e)
                if ids.len() == 1
                    && (is_data_error(&e) || matches!(e, OdooError::ServerError(_))) =>
            {
                refused.insert(ids[0], e.to_string());
                return Ok(refused);
            }
            Err(e) if e.is_retryable() || matches!(e, OdooError::Timeout { .. }) => return Err(e),
            Err(e) => tracing::info!(error = %e, "batch confirmation refused; one order at a time"),
        }
        let rows = self.odoo.read("sale.order", ids, &["state"], None).await?;
        let pending: Vec<i64> = rows
            .iter()
            .filter(|r| {
                matches!(
                    r.get("state").and_then(Value::as_str),
                    Some("draft" | "sent")
                )
            })
            .filter_map(|r| r.get("id").and_then(Value::as_i64))
            .collect();
        for id in pending {
            match call(vec![id]).await {
                Ok(_) => {}
                Err(e) if e.is_ambiguous() => {
                    // Left as it is: the next payload or restart re-checks the state.
                    tracing::warn!(order = id, error = %e, "confirmation outcome unknown");
                }
                Err(e) if e.is_retryable() || matches!(e, OdooError::Timeout { .. }) => {
                    return Err(e);
                }
                Err(e) => {
                    refused.insert(id, e.to_string());
                }
            }
        }
        Ok(refused)
    }

    /// After confirmation: urgent deliveries first (priority), marketplace-fulfilled orders
    /// delivered at once from the marketplace warehouse. Idempotent.
    async fn after_confirm(&self, orders: &[&Created]) -> Result<(), OdooError> {
        let wanted: Vec<i64> = orders
            .iter()
            .filter(|c| c.urgent || is_marketplace(&c.order))
            .map(|c| c.odoo_id)
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let pickings = self
            .odoo
            .search_read(
                "stock.picking",
                &Domain::is_in("sale_id", wanted).and(Domain::leaf(
                    "state",
                    "not in",
                    json!(["done", "cancel"]),
                )),
                &["sale_id", "priority"],
                &SearchOpts::default().load_none(),
            )
            .await?;
        let of = |pred: &dyn Fn(&Created) -> bool| -> Vec<i64> {
            let sale_ids: HashSet<i64> = orders
                .iter()
                .filter(|c| pred(c))
                .map(|c| c.odoo_id)
                .collect();
            pickings
                .iter()
                .filter(|p| m2o_id(p, "sale_id").is_some_and(|s| sale_ids.contains(&s)))
                .filter_map(|p| p.get("id").and_then(Value::as_i64))
                .collect()
        };
        let urgent: Vec<i64> = of(&|c| c.urgent && !is_marketplace(&c.order))
            .into_iter()
            .filter(|id| {
                pickings.iter().any(|p| {
                    p.get("id").and_then(Value::as_i64) == Some(*id)
                        && p.get("priority").and_then(Value::as_str) != Some("1")
                })
            })
            .collect();
        if !urgent.is_empty() {
            let mut v = Map::new();
            v.insert("priority".into(), json!("1"));
            self.odoo.write("stock.picking", &urgent, v, None).await?;
        }
        let market = of(&|c| is_marketplace(&c.order));
        if !market.is_empty() {
            self.deliver_from_marketplace(&market).await?;
        }
        Ok(())
    }

    /// Validate marketplace deliveries: every move done for its full demand, from the
    /// marketplace warehouse (whose stock may go negative when the merchant does not mirror
    /// the marketplace's), no backorder, no SMS wizard.
    async fn deliver_from_marketplace(&self, pickings: &[i64]) -> Result<(), OdooError> {
        let map = self.odoo.map();
        let qty_field = map.move_done_qty_field;
        let moves = self
            .odoo
            .search_read(
                "stock.move",
                &Domain::is_in("picking_id", pickings.to_vec()).and(Domain::leaf(
                    "state",
                    "not in",
                    json!(["done", "cancel"]),
                )),
                &["product_uom_qty"],
                &SearchOpts::default().load_none(),
            )
            .await?;
        let mut by_qty: HashMap<String, (f64, Vec<i64>)> = HashMap::new();
        for m in &moves {
            let q = m
                .get("product_uom_qty")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            if let Some(id) = m.get("id").and_then(Value::as_i64) {
                by_qty
                    .entry(format!("{q}"))
                    .or_insert((q, Vec::new()))
                    .1
                    .push(id);
            }
        }
        for (q, ids) in by_qty.into_values() {
            let mut v = Map::new();
            v.insert(qty_field.into(), json!(q));
            if map.move_has_picked {
                v.insert("picked".into(), json!(true));
            }
            self.odoo.write("stock.move", &ids, v, None).await?;
        }
        let mut ctx = Map::new();
        for k in map.validate_context_keys {
            ctx.insert((*k).into(), json!(true));
        }
        ctx.insert("picking_ids_not_to_backorder".into(), json!(pickings));
        let r = self
            .odoo
            .call(
                "stock.picking",
                "button_validate",
                Some(pickings),
                Map::new(),
                Some(&ctx),
                CallKind::Write,
            )
            .await;
        match r {
            Ok(Value::Bool(true)) => Ok(()),
            Ok(other) => {
                tracing::warn!(?pickings, answer = %other, "validating marketplace deliveries opened a wizard; a person must finish them");
                Ok(())
            }
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(error = %e, "validation outcome unknown; re-checked on the next payload or restart");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The note and the activity of a held order (each once).
    async fn hold_artifacts(
        &self,
        cx: &Ctx<'_>,
        odoo_id: i64,
        order: &Order,
        findings: &[Finding],
        remarks: &[String],
    ) {
        let rules: Vec<&str> = {
            let mut r: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
            r.dedup();
            r
        };
        let summary = format!("Held marketplace order: {}", rules.join(", "));
        let mut text = format!(
            "odoo-channels held order {} ({}) from channel {}: it waits here as a draft. Check it, fix what needs fixing, then confirm it to release it (or cancel it).",
            order_ref(order),
            order.external_id,
            cx.channel
        );
        for f in findings {
            text.push_str(&format!("\n• {f}"));
        }
        for r in remarks {
            text.push_str(&format!("\n{r}"));
        }
        // One activity per held order: search before create.
        if self
            .has_activity(cx, odoo_id, "Held marketplace order")
            .await
        {
            return; // Note and activity exist already.
        }
        self.log.note("sale.order", odoo_id, &text).await;
        self.schedule_activity(cx, odoo_id, order, &summary, &text)
            .await;
    }

    /// Whether the sale order has an open activity whose summary starts with `prefix` (its
    /// note was posted with it). Unreadable counts as "no": a second note beats none.
    async fn has_activity(&self, cx: &Ctx<'_>, odoo_id: i64, prefix: &str) -> bool {
        let Some(model) = cx.setup.sale_order_model else {
            return false;
        };
        let existing = self
            .odoo
            .search(
                "mail.activity",
                &Domain::leaf("res_model_id", "=", model)
                    .and(Domain::leaf("res_id", "=", odoo_id))
                    .and(Domain::leaf("summary", "=like", format!("{prefix}%"))),
                &SearchOpts::default().limit(1),
            )
            .await;
        match existing {
            Ok(ids) => !ids.is_empty(),
            Err(e) => {
                tracing::warn!(error = %e, order = odoo_id, "cannot look for the order's activity");
                false
            }
        }
    }

    /// A to-do for a person on the sale order (the `hold_activity_user`, else the
    /// integration user), due by the order's ship-by date, else today.
    async fn schedule_activity(
        &self,
        cx: &Ctx<'_>,
        odoo_id: i64,
        order: &Order,
        summary: &str,
        text: &str,
    ) {
        let setup = &cx.setup;
        let Some(model) = setup.sale_order_model else {
            tracing::warn!(
                order = odoo_id,
                "ir.model of sale.order unreadable: no activity scheduled (the note says why)"
            );
            return;
        };
        let mut v = Map::new();
        v.insert("res_model_id".into(), json!(model));
        v.insert("res_id".into(), json!(odoo_id));
        if let Some(t) = setup.activity_type {
            v.insert("activity_type_id".into(), json!(t));
        }
        v.insert("summary".into(), json!(summary));
        v.insert("note".into(), json!(html_escape(text)));
        v.insert(
            "user_id".into(),
            json!(setup.activity_user(cx.settings.hold_activity_user.as_deref())),
        );
        let due = order
            .ship_by
            .filter(|t| *t > cx.now)
            .unwrap_or(cx.now)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .to_string();
        v.insert("date_deadline".into(), json!(due));
        if let Err(e) = self.odoo.create("mail.activity", v, None).await {
            tracing::warn!(order = odoo_id, error = %e, "could not schedule the order's activity");
        }
    }

    /// The buyer asked the marketplace to cancel an order that has not shipped
    /// (`Order::buyer_cancel_request`), and the marketplace leaves it to the seller: once per
    /// order (`cancel-req:<channel>:<order>`), a note and an activity tell a person to cancel
    /// it here (the cancellation then goes out as the buyer's request) or to ship it.
    /// `asked`: the audit held the order for this very request (its hold asked already).
    async fn buyer_cancel_request(
        &self,
        cx: &Ctx<'_>,
        odoo_id: i64,
        order: &Order,
        asked: bool,
    ) -> Result<(), OrderError> {
        let Some(req) = &order.buyer_cancel_request else {
            return Ok(());
        };
        if !matches!(order.status, OrderStatus::Pending | OrderStatus::Unshipped) {
            return Ok(()); // Shipped or cancelled meanwhile: nothing left to decide.
        }
        let key = format!("cancel-req:{}:{}", cx.channel, order.external_id);
        match self.store.begin(&key).await? {
            Begin::Done { .. } => return Ok(()),
            _ if asked => {}
            // Interrupted after the note: its activity says whether it was all done.
            Begin::Pending { .. } if self.has_activity(cx, odoo_id, CANCEL_REQUEST).await => {}
            Begin::Fresh | Begin::Pending { .. } => {
                let text = format!(
                    "The buyer asked channel {} to cancel order {} ({}){}. The marketplace leaves the decision to you: cancel this order here and odoo-channels cancels it on the channel as the buyer's request (which does not count against your cancellation rate), or ship it as usual.",
                    cx.channel,
                    order_ref(order),
                    order.external_id,
                    req.reason
                        .as_deref()
                        .map(|r| format!(", reason: {r}"))
                        .unwrap_or_default()
                );
                self.log.note("sale.order", odoo_id, &text).await;
                self.schedule_activity(
                    cx,
                    odoo_id,
                    order,
                    &format!("{CANCEL_REQUEST}: {}", order_ref(order)),
                    &text,
                )
                .await;
            }
        }
        self.store.finish(&key, &odoo_id.to_string()).await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Orders already in Odoo
    // -----------------------------------------------------------------------------------------

    async fn handle_existing(
        &self,
        cx: &Ctx<'_>,
        it: &Item,
        ex: &Existing,
        report: &mut ImportReport,
    ) -> Result<(), OrderError> {
        let order = &it.order;
        let held = ex.tags.contains(&cx.setup.hold_tag);
        let draft = matches!(ex.state.as_str(), "draft" | "sent");
        if draft && !held {
            // An import interrupted between the create and the confirmation: finish it.
            let currency =
                cx.setup
                    .currency(order.currency.code())
                    .cloned()
                    .unwrap_or(setup::CurrencyInfo {
                        id: 0,
                        code: order.currency.to_string(),
                        rounding: Decimal::new(1, 2),
                        rate: Decimal::ONE,
                    });
            let c = Created {
                odoo_id: ex.id,
                inbox_id: it.inbox_id,
                order: order.clone(),
                target_total: build::target_total(order, &currency),
                findings: Vec::new(),
                held: false,
                urgent: !is_marketplace(order)
                    && routing::is_urgent(
                        order.service_level,
                        order.ship_by,
                        cx.now,
                        &self.config.urgent_service_levels,
                        self.config.urgent_within,
                    ),
                remarks: vec!["finished after an interruption".into()],
                resumed: true,
            };
            return self.finish(cx, vec![c], report).await;
        }
        if ex.state == "sale" {
            // A confirmed order whose follow-up was interrupted: finish it (idempotent).
            let c = Created {
                odoo_id: ex.id,
                inbox_id: it.inbox_id,
                order: order.clone(),
                target_total: Decimal::ZERO,
                findings: Vec::new(),
                held: false,
                urgent: false,
                remarks: Vec::new(),
                resumed: true,
            };
            if is_marketplace(order) {
                self.after_confirm(&[&c]).await?;
            }
        }
        if draft && held {
            // Make sure the person was told (a crash may have come between create and note).
            let c_findings = [Finding::new(
                Rule::Confirmation,
                "held earlier; see the notes above for why",
            )];
            self.hold_artifacts(cx, ex.id, order, &c_findings, &[])
                .await;
        }
        let updated = if matches!(ex.state.as_str(), "cancel") {
            false
        } else {
            self.buyer_cancel_request(cx, ex.id, order, false).await?;
            self.apply_updates(cx, order, ex).await?
        };
        if order.status == OrderStatus::Cancelled && ex.state != "cancel" {
            self.log
                .note(
                    "sale.order",
                    ex.id,
                    &format!(
                        "The marketplace reports order {} cancelled (status {:?}). odoo-channels does not cancel imported orders on import: the cancellation flow handles it, or cancel it here.",
                        order_ref(order),
                        order.raw_status
                    ),
                )
                .await;
        }
        self.store.inbox_done(it.inbox_id, Some(ex.id)).await?;
        if updated {
            report.updated += 1;
        } else {
            report.already += 1;
        }
        self.events.emit(SyncEvent::OrderAlreadyImported {
            channel: cx.channel.to_owned(),
            external_id: order.external_id.clone(),
            odoo_id: ex.id,
        });
        Ok(())
    }

    /// Apply what may change before shipping: the delivery address and the ship-by date.
    /// Returns whether anything changed.
    async fn apply_updates(
        &self,
        cx: &Ctx<'_>,
        order: &Order,
        ex: &Existing,
    ) -> Result<bool, OdooError> {
        let mut notes = Vec::new();
        let mut order_vals = Map::new();
        let mut picking_vals = Map::new();
        let shipped = self
            .odoo
            .search_count(
                "stock.picking",
                &Domain::leaf("sale_id", "=", ex.id)
                    .and(Domain::leaf("state", "=", "done"))
                    .and(Domain::leaf("picking_type_code", "=", "outgoing")),
                None,
            )
            .await?
            > 0;
        if let (Some(a), Some(customer)) = (&order.shipping_address, ex.partner)
            && !is_marketplace(order)
        {
            let mut partners = PartnerResolver::new(self.odoo, self.countries);
            let own = partners.own_key(customer).await?;
            let fallback = order
                .buyer
                .name
                .clone()
                .unwrap_or_else(|| "Delivery".into());
            let wanted = partners
                .shipping_for(customer, own.as_deref(), a, &fallback)
                .await?;
            if Some(wanted) != ex.shipping_partner {
                if shipped {
                    notes.push("The marketplace changed the shipping address after the order shipped: not applied.".to_owned());
                } else {
                    order_vals.insert("partner_shipping_id".into(), json!(wanted));
                    picking_vals.insert("partner_id".into(), json!(wanted));
                    notes.push(format!(
                        "Shipping address updated from the marketplace: {}.",
                        [&a.name, &a.street, &a.city, &a.zip, &a.country_code]
                            .iter()
                            .filter_map(|v| v.as_deref())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        if let Some(t) = order.ship_by
            && !is_marketplace(order)
            && !shipped
            && ex
                .commitment
                .is_none_or(|c| c.duration_since(t).abs() > SignedDuration::from_secs(60))
        {
            order_vals.insert("commitment_date".into(), json!(odoo_dt(t)));
            picking_vals.insert("scheduled_date".into(), json!(odoo_dt(t)));
            if cx.addon_channel.is_some() {
                order_vals.insert("channel_ship_by".into(), json!(odoo_dt(t)));
            }
            notes.push(format!("Ship-by date updated from the marketplace: {t}."));
        }
        if order_vals.is_empty() && notes.is_empty() {
            return Ok(false);
        }
        if !order_vals.is_empty() {
            self.odoo
                .write("sale.order", &[ex.id], order_vals, None)
                .await?;
            if !picking_vals.is_empty() {
                let open = self
                    .odoo
                    .search(
                        "stock.picking",
                        &Domain::leaf("sale_id", "=", ex.id).and(Domain::leaf(
                            "state",
                            "not in",
                            json!(["done", "cancel"]),
                        )),
                        &SearchOpts::default(),
                    )
                    .await?;
                if !open.is_empty() {
                    self.odoo
                        .write("stock.picking", &open, picking_vals, None)
                        .await?;
                }
            }
        }
        self.log.note("sale.order", ex.id, &notes.join("\n")).await;
        Ok(true)
    }

    /// Mark done the open activities of released orders (the person acted; leaving them open
    /// would keep the order in everyone's "to do"). Best effort: an open activity is a nuisance,
    /// not a loss.
    async fn close_hold_activities(&self, orders: &[i64]) {
        let open = self
            .odoo
            .search(
                "mail.activity",
                &Domain::leaf("res_model", "=", "sale.order")
                    .and(Domain::is_in("res_id", orders.to_vec())),
                &SearchOpts::default(),
            )
            .await;
        match open {
            Ok(ids) if !ids.is_empty() => {
                let mut kw = Map::new();
                kw.insert(
                    "feedback".into(),
                    json!("Released: the order was confirmed or cancelled in Odoo."),
                );
                if let Err(e) = self
                    .odoo
                    .call(
                        "mail.activity",
                        "action_feedback",
                        Some(&ids),
                        kw,
                        None,
                        CallKind::Write,
                    )
                    .await
                {
                    tracing::warn!(error = %e, "cannot close the activities of released orders");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot look for activities of released orders"),
        }
    }

    /// Held orders a person confirmed (or cancelled) in Odoo: drop the hold tag, note it, and
    /// do the follow-up a confirmation by the daemon would have done. Best effort.
    async fn sweep_released(&self, cx: &Ctx<'_>) {
        let tag = cx.setup.hold_tag;
        let rows = match self
            .odoo
            .search_read(
                "sale.order",
                &Domain::leaf("tag_ids", "in", json!([tag]))
                    .and(Domain::leaf("state", "in", json!(["sale", "cancel"])))
                    .and(Domain::leaf(
                        "client_order_ref",
                        "=like",
                        format!("{}:%", cx.channel),
                    )),
                &["client_order_ref", "state"],
                &SearchOpts::default().load_none().limit(500),
            )
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(channel = cx.channel, error = %e, "cannot look for released held orders");
                return;
            }
        };
        if rows.is_empty() {
            return;
        }
        let ids: Vec<i64> = rows
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_i64))
            .collect();
        let mut v = Map::new();
        v.insert("tag_ids".into(), json!([[3, tag]]));
        if let Err(e) = self.odoo.write("sale.order", &ids, v, None).await {
            tracing::warn!(error = %e, "cannot untag released held orders");
            return;
        }
        self.close_hold_activities(&ids).await;
        let prefix = format!("{}:", cx.channel);
        let mut follow: Vec<Created> = Vec::new();
        for r in &rows {
            let id = r.get("id").and_then(Value::as_i64).unwrap_or(0);
            let state = r.get("state").and_then(Value::as_str).unwrap_or("");
            let ext = r
                .get("client_order_ref")
                .and_then(Value::as_str)
                .and_then(|k| k.strip_prefix(&prefix))
                .unwrap_or("");
            self.log
                .note(
                    "sale.order",
                    id,
                    &format!(
                        "Released: {} in Odoo. odoo-channels treats the order as imported and will not hold or create it again.",
                        if state == "sale" { "confirmed" } else { "cancelled" }
                    ),
                )
                .await;
            if state != "sale" {
                continue;
            }
            let payload = match self.store.inbox_applied(cx.channel, KIND, ext).await {
                Ok(rows) => rows.into_iter().next(),
                Err(_) => None,
            };
            if let Some((p, _)) = payload
                && let Ok(order) = serde_json::from_str::<Order>(&p)
            {
                let urgent = !is_marketplace(&order)
                    && routing::is_urgent(
                        order.service_level,
                        order.ship_by,
                        cx.now,
                        &self.config.urgent_service_levels,
                        self.config.urgent_within,
                    );
                follow.push(Created {
                    odoo_id: id,
                    inbox_id: 0,
                    order,
                    target_total: Decimal::ZERO,
                    findings: Vec::new(),
                    held: false,
                    urgent,
                    remarks: Vec::new(),
                    resumed: true,
                });
            }
        }
        let refs: Vec<&Created> = follow.iter().collect();
        if let Err(e) = self.after_confirm(&refs).await {
            tracing::warn!(error = %e, "follow-up of released orders failed; retried next time");
        }
        tracing::info!(
            channel = cx.channel,
            released = rows.len(),
            "held orders released in Odoo"
        );
    }
}

fn active_test_off() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active_test".into(), json!(false));
    m
}

/// Units per product in orders staged but not yet in Odoo (so not yet reserved there): the
/// allocator's `pending`.
pub async fn pending_units(
    store: &Store,
    channels: &[ChannelHandle],
    catalog: &Catalog,
) -> Result<HashMap<i64, i64>, crate::store::StoreError> {
    let mut pending: HashMap<i64, i64> = HashMap::new();
    for ch in channels {
        let id = ch.config.id.as_str();
        for item in store.inbox_new(id, KIND, 10_000).await? {
            let Ok(order) = serde_json::from_str::<Order>(&item.payload) else {
                continue;
            };
            if !order.status.is_open() || order.fulfilled_by != FulfilledBy::Merchant {
                continue;
            }
            for line in &order.lines {
                if let Some(p) = line.sku.as_deref().and_then(|s| catalog.product_for(id, s)) {
                    *pending.entry(p.id).or_default() += line.quantity.ceil().to_i64().unwrap_or(0);
                }
            }
        }
    }
    Ok(pending)
}

/// Units per product in held drafts (tagged `hold_tag`): accepted on a marketplace, in Odoo,
/// but not reserved there until a person confirms them. Stock allocation counts them as
/// pending demand.
pub async fn held_units(
    odoo: &OdooClient,
    hold_tag: &str,
) -> Result<HashMap<i64, Decimal>, OdooError> {
    let rows = odoo
        .search_read(
            "sale.order.line",
            &Domain::leaf("order_id.state", "in", json!(["draft", "sent"]))
                .and(Domain::leaf("order_id.tag_ids.name", "=", hold_tag))
                .and(Domain::leaf("product_id", "!=", false)),
            &["product_id", "product_uom_qty"],
            &SearchOpts::default().load_none(),
        )
        .await?;
    let mut out: HashMap<i64, Decimal> = HashMap::new();
    for r in &rows {
        if let Some(p) = m2o_id(r, "product_id") {
            *out.entry(p).or_default() += dec(r, "product_uom_qty");
        }
    }
    Ok(out)
}
