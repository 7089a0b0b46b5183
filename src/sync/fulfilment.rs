//! Orders back to the channels: shipments (this file), cancellations both ways
//! ([`super::cancellations`]) and returns ([`super::returns`]), one **outbound round** per
//! channel.
//!
//! A channel order in Odoo is a `sale.order` whose `client_order_ref` is
//! `"<channel>:<order id>"` (or, with the addon, whose `channel_id`/`channel_order_ref` say
//! so): that is the only thing this side shares with the order import.
//!
//! **Shipments.** Done outgoing pickings of channel orders are found incrementally — a keyset
//! cursor on `(write_date, id)` (scenario 05: `write_date` is the transaction's start and reads
//! back truncated to the second, so the daemon re-reads a short overlap and a periodic
//! reconciliation re-reads the whole lookback window) — and each becomes one
//! `confirm_shipment` with the carrier (`carrier_id`, mapped to the marketplace's code by
//! `[channels.fulfilment].carriers`), the tracking number (`carrier_tracking_ref`), the lines
//! and quantities *this* picking shipped (a partial shipment and its backorder are two
//! shipments) and the ship date (`date_done`).
//!
//! **Exactly once.** Each picking has an idempotency key (`ship:<channel>:<picking id>`,
//! [`Store::begin`]/[`Store::finish`]). A key left `pending` (a crash between the channel call
//! and the local commit, or an answer that never came: `ChannelError::Ambiguous`) is
//! re-checked before anything is sent again: the connector's `confirm_shipment` is idempotent
//! per tracking number by the trait's contract and re-reads the order after an ambiguous
//! answer, so sending the *same* shipment again is the re-check; a new key is not sent at all
//! when the channel already shows the order shipped (a restart on an empty state store).
//!
//! **Waiting for a person.** A done delivery without tracking on a channel that requires it,
//! without a carrier, with lines the channel's order does not have, or refused by the channel
//! gets a note in the picking's chatter, once, and waits: fixing the picking moves its
//! `write_date`, which brings it back to the cursor.

use std::collections::HashMap;
use std::sync::Arc;

use channels_core::{
    Carrier, ChannelError, FulfilledBy, ItemQuantity, Order, OrderStatus, Pulled, Shipment,
};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::Notify;

use super::catalog::Catalog;
use super::channels::ChannelHandle;
use super::engine::Engine;
use super::events::{EventBus, SyncEvent};
use super::odoo_log::{OdooLog, RunSummary};
use crate::config::{ChannelFulfilment, FulfilmentConfig};
use crate::odoo::{Domain, OdooClient, OdooError, SearchOpts};
use crate::store::{Begin, Store};

/// Rows re-read behind an Odoo `write_date` cursor: a transaction stamps its rows with its
/// *start* time, so one that commits late lands behind rows already read.
pub const ODOO_CURSOR_OVERLAP: SignedDuration = SignedDuration::from_secs(2 * 60);
/// Rows read per page from Odoo.
const PAGE: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("channel: {0}")]
    Channel(#[from] ChannelError),
}

/// The outbound job's settings and wake-ups (held by the engine).
pub struct Outbound {
    pub config: FulfilmentConfig,
    wake: HashMap<String, Arc<Notify>>,
}

impl Outbound {
    pub fn new(config: &FulfilmentConfig, channels: &[ChannelHandle]) -> Self {
        Outbound {
            config: config.clone(),
            wake: channels
                .iter()
                .map(|c| (c.config.id.clone(), Arc::new(Notify::new())))
                .collect(),
        }
    }

    /// Run `channel`'s outbound round soon (an order pull staged something).
    pub fn wake(&self, channel: &str) {
        if let Some(n) = self.wake.get(channel) {
            n.notify_one();
        }
    }

    pub fn waker(&self, channel: &str) -> Option<Arc<Notify>> {
        self.wake.get(channel).cloned()
    }
}

/// What one outbound round did on one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundReport {
    /// Shipments confirmed on the channel in this round.
    pub shipped: usize,
    /// Done deliveries found already confirmed (the re-check answered "it is there").
    pub already_shipped: usize,
    /// Done deliveries waiting for a person (no tracking, no carrier, refused…).
    pub waiting: usize,
    /// Marketplace cancellations applied to Odoo orders.
    pub cancelled_in_odoo: usize,
    /// Marketplace cancellations that could not be applied (something shipped): alerts.
    pub cancel_alerts: usize,
    /// Odoo cancellations sent to the channel.
    pub cancelled_on_channel: usize,
    /// Odoo cancellations the channel cannot take (no API, already shipped): notes.
    pub cancel_refused: usize,
    /// Odoo cancellations the channel took for later processing (Amazon's feed) and that are
    /// still waiting for its answer.
    pub cancel_pending: usize,
    /// Returns turned into Odoo returns (and credit notes).
    pub returns: usize,
    /// Returns held for a person (outside the window, unknown lines…).
    pub returns_held: usize,
    pub errors: Vec<String>,
}

/// Everything a step needs.
pub(crate) struct Ctx<'a> {
    pub odoo: &'a OdooClient,
    pub store: &'a Store,
    pub log: &'a OdooLog,
    pub events: &'a EventBus,
    pub catalog: &'a Catalog,
    pub config: &'a FulfilmentConfig,
    pub ch: &'a ChannelHandle,
}

impl Ctx<'_> {
    pub fn id(&self) -> &str {
        &self.ch.config.id
    }

    pub fn rules(&self) -> &ChannelFulfilment {
        &self.ch.config.fulfilment
    }

    pub fn emit(&self, kind: &'static str, external_id: &str, detail: String) {
        self.events.emit(SyncEvent::AfterSale {
            channel: self.id().to_owned(),
            kind,
            external_id: external_id.to_owned(),
            detail,
        });
    }

    /// A chatter note posted at most once per `key` (a crash between posting and recording
    /// can repeat it; a note is the one write where that is acceptable).
    pub async fn note_once(
        &self,
        key: &str,
        model: &str,
        id: i64,
        text: &str,
    ) -> Result<bool, OutboundError> {
        if matches!(self.store.peek(key).await?, Some(Begin::Done { .. })) {
            return Ok(false);
        }
        self.log.note(model, id, text).await;
        self.store.finish(key, "note").await?;
        Ok(true)
    }

    /// This channel's sale orders, as a domain on `prefix` (`""` for `sale.order`,
    /// `"sale_id."` for pickings).
    pub async fn order_domain(&self, prefix: &str) -> Domain {
        let mut d = Domain::leaf(
            format!("{prefix}client_order_ref"),
            "=like",
            format!("{}:%", self.id()),
        );
        if let Some(channel_id) = self.log.channel_record(self.id()).await {
            d = d.or(Domain::leaf(format!("{prefix}channel_id"), "=", channel_id));
        }
        d
    }

    /// Fields of `sale.order` that name the marketplace order.
    pub fn order_ref_fields(&self) -> Vec<&'static str> {
        let mut f = vec!["client_order_ref"];
        if self.log.addon() {
            f.push("channel_order_ref");
        }
        f
    }

    /// The marketplace order id of a `sale.order` row of this channel, if it is one.
    pub fn external_id_of(&self, so: &Value) -> Option<String> {
        if let Some(r) = so.get("channel_order_ref").and_then(Value::as_str)
            && !r.trim().is_empty()
        {
            return Some(r.trim().to_owned());
        }
        so.get("client_order_ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(self.id()))
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
    }

    /// The channel's current view of an order (a read: the connector retries it).
    pub async fn channel_order(&self, external_id: &str) -> Result<Option<Order>, ChannelError> {
        match self.ch.channel.get_order(external_id).await {
            Ok(Pulled::Ok(o)) => Ok(Some(o)),
            Ok(Pulled::Malformed { error, .. }) => Err(ChannelError::Decode(error)),
            Err(ChannelError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The sale order bound to a marketplace order, cancelled ones included.
    pub async fn find_order(&self, external_id: &str) -> Result<Option<Value>, OdooError> {
        let key = format!("{}:{external_id}", self.id());
        let mut d = Domain::leaf("client_order_ref", "=", key.as_str());
        if let Some(channel_id) = self.log.channel_record(self.id()).await {
            d = d.or(
                Domain::leaf("channel_id", "=", channel_id).and(Domain::leaf(
                    "channel_order_ref",
                    "=",
                    external_id,
                )),
            );
        }
        let mut fields = vec!["name", "state"];
        fields.extend(self.order_ref_fields());
        let rows = self
            .odoo
            .search_read(
                "sale.order",
                &d,
                &fields,
                &SearchOpts::default().limit(1).context(active_test_off()),
            )
            .await?;
        Ok(rows.into_iter().next())
    }
}

pub(crate) fn active_test_off() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("active_test".into(), Value::Bool(false));
    m
}

pub(crate) fn row_id(row: &Value) -> i64 {
    row.get("id").and_then(Value::as_i64).unwrap_or(0)
}

pub(crate) fn row_str<'a>(row: &'a Value, field: &str) -> Option<&'a str> {
    row.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A many2one read as `[id, name]` (or a bare id with `load=None`).
pub(crate) fn row_m2o(row: &Value, field: &str) -> Option<(i64, String)> {
    match row.get(field)? {
        Value::Array(a) => Some((
            a.first()?.as_i64()?,
            a.get(1).and_then(Value::as_str).unwrap_or("").to_owned(),
        )),
        Value::Number(n) => Some((n.as_i64()?, String::new())),
        _ => None,
    }
}

pub(crate) fn row_qty(row: &Value, field: &str) -> Decimal {
    row.get(field)
        .and_then(Value::as_f64)
        .and_then(crate::odoo::decode::decimal_from_f64)
        .map(|d| d.round_dp(6).normalize())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The write_date cursor over Odoo records
// ---------------------------------------------------------------------------------------------

/// A keyset cursor on `(write_date, id)` over one model, stored per channel and stream.
///
/// Pages are `(write_date > W) | (write_date = W & id > I)` ordered `write_date, id`: on 19
/// `=` matches the whole second and `>` starts at the next one (scenario 05), on older
/// versions `>` includes the rest of the second; either way nothing is skipped and at worst a
/// row is read twice (every step is idempotent). A round starts [`ODOO_CURSOR_OVERLAP`]
/// behind the stored position, or `lookback` behind now on the first run and when
/// reconciliation is due; the stored position never passes a row that could not be settled.
pub(crate) struct OdooCursor {
    stream: String,
    pos: (String, i64),
    first_unsettled: Option<(String, i64)>,
    last: Option<(String, i64)>,
    exhausted: bool,
    reconciled: bool,
}

impl OdooCursor {
    pub async fn open(ctx: &Ctx<'_>, stream: &str) -> Result<Self, OutboundError> {
        let now = Timestamp::now();
        let lookback =
            SignedDuration::try_from(ctx.config.lookback).unwrap_or(SignedDuration::from_hours(72));
        let floor = odoo_wire::datetime::format_datetime(now - lookback);
        let rec_stream = format!("{stream}:reconciled");
        let reconcile_due = match ctx.store.get_cursor(ctx.id(), &rec_stream).await? {
            Some(c) => c
                .value
                .parse::<Timestamp>()
                .map(|t| {
                    now.duration_since(t).unsigned_abs() >= ctx.config.reconcile_every || t > now
                })
                .unwrap_or(true),
            None => true,
        };
        let stored = ctx.store.get_cursor(ctx.id(), stream).await?.and_then(|c| {
            let (w, id) = c.value.split_once('|')?;
            Some((w.to_owned(), id.parse::<i64>().ok()?))
        });
        let pos = match stored {
            Some((w, _)) if !reconcile_due => {
                let start = odoo_wire::datetime::parse_datetime(&w)
                    .map(|t| odoo_wire::datetime::format_datetime(t - ODOO_CURSOR_OVERLAP))
                    .unwrap_or_else(|| floor.clone());
                (start.max(floor), 0)
            }
            _ => (floor, 0),
        };
        Ok(OdooCursor {
            stream: stream.to_owned(),
            pos,
            first_unsettled: None,
            last: None,
            exhausted: false,
            reconciled: reconcile_due,
        })
    }

    /// The next page of `domain` (rows carry `id` and `write_date`), or `None` at the end.
    pub async fn next_page(
        &mut self,
        ctx: &Ctx<'_>,
        model: &str,
        domain: &Domain,
        fields: &[&str],
    ) -> Result<Option<Vec<Value>>, OutboundError> {
        if self.exhausted {
            return Ok(None);
        }
        let (w, id) = self.pos.clone();
        let since = if id == 0 {
            Domain::leaf("write_date", ">=", w.as_str())
        } else {
            Domain::leaf("write_date", ">", w.as_str()).or(Domain::leaf(
                "write_date",
                "=",
                w.as_str(),
            )
            .and(Domain::leaf("id", ">", id)))
        };
        let mut all_fields: Vec<&str> = fields.to_vec();
        for f in ["id", "write_date"] {
            if !all_fields.contains(&f) {
                all_fields.push(f);
            }
        }
        let rows = ctx
            .odoo
            .search_read(
                model,
                &domain.clone().and(since),
                &all_fields,
                &SearchOpts::default()
                    .order("write_date asc, id asc")
                    .limit(PAGE),
            )
            .await?;
        if rows.len() < PAGE {
            self.exhausted = true;
        }
        if let Some(last) = rows.last() {
            let p = (
                row_str(last, "write_date").unwrap_or_default().to_owned(),
                row_id(last),
            );
            if p <= self.pos {
                // A page that does not move forward (should not happen): stop, never loop.
                self.exhausted = true;
            }
            self.pos = p;
        }
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows))
    }

    /// Record how a row ended: `false` keeps the cursor from passing it.
    pub fn settle(&mut self, row: &Value, settled: bool) {
        let p = (
            row_str(row, "write_date").unwrap_or_default().to_owned(),
            row_id(row),
        );
        if !settled && self.first_unsettled.as_ref().is_none_or(|u| p < *u) {
            self.first_unsettled = Some(p.clone());
        }
        if self.last.as_ref().is_none_or(|l| p > *l) {
            self.last = Some(p);
        }
    }

    pub async fn close(self, ctx: &Ctx<'_>) -> Result<(), OutboundError> {
        let target = match (self.first_unsettled, self.last) {
            (Some((w, id)), _) => Some((w, id - 1)),
            (None, Some(l)) => Some(l),
            (None, None) => None,
        };
        if let Some((w, id)) = target {
            ctx.store
                .set_cursor(ctx.id(), &self.stream, &format!("{w}|{id}"))
                .await?;
        }
        if self.reconciled {
            ctx.store
                .set_cursor(
                    ctx.id(),
                    &format!("{}:reconciled", self.stream),
                    &Timestamp::now().to_string(),
                )
                .await?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Sale order lines ↔ marketplace lines
// ---------------------------------------------------------------------------------------------

/// Which marketplace line each sale order line is. The import creates one Odoo line per
/// marketplace line in order; the pairing is by SKU (the channel's binding, else the
/// product's `default_code`), the k-th Odoo line of a product with the k-th marketplace line
/// of its SKU, so lines added in Odoo (delivery fees, discounts) never shift it.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineMap {
    /// sale.order.line id → (marketplace line id, SKU).
    pub by_sol: HashMap<i64, (String, String)>,
    /// sale.order.line id → product id.
    pub product: HashMap<i64, i64>,
}

impl LineMap {
    /// The sale order line of a marketplace line (by id, else by SKU).
    pub fn sol_for(&self, line_id: Option<&str>, sku: Option<&str>) -> Option<i64> {
        let mut hits: Vec<i64> = self
            .by_sol
            .iter()
            .filter(|(_, (l, s))| match line_id {
                Some(id) => l == id,
                None => Some(s.as_str()) == sku,
            })
            .map(|(sol, _)| *sol)
            .collect();
        hits.sort_unstable();
        hits.first().copied()
    }
}

pub(crate) async fn line_map(
    ctx: &Ctx<'_>,
    so_id: i64,
    order: &Order,
) -> Result<LineMap, OutboundError> {
    let rows = ctx
        .odoo
        .search_read(
            "sale.order.line",
            &Domain::leaf("order_id", "=", so_id),
            &["product_id", "sequence"],
            &SearchOpts::default()
                .order("sequence asc, id asc")
                .load_none(),
        )
        .await?;
    let mut remaining: HashMap<&str, Vec<&channels_core::OrderLine>> = HashMap::new();
    for l in &order.lines {
        if let Some(s) = l.sku.as_deref() {
            remaining.entry(s.trim()).or_default().push(l);
        }
    }
    let mut taken: HashMap<String, usize> = HashMap::new();
    let mut map = LineMap::default();
    for r in &rows {
        let sol = row_id(r);
        let Some((product, _)) = row_m2o(r, "product_id") else {
            continue;
        };
        map.product.insert(sol, product);
        let Some(p) = ctx.catalog.product(product) else {
            continue;
        };
        let sku = ctx.catalog.sku_for(ctx.id(), p).to_owned();
        let Some(lines) = remaining.get(sku.as_str()) else {
            continue;
        };
        let k = taken.entry(sku.clone()).or_default();
        let line = lines.get(*k).or(lines.last()).copied();
        *k += 1;
        if let Some(line) = line {
            map.by_sol
                .insert(sol, (line.external_line_id.clone(), sku.clone()));
        }
    }
    Ok(map)
}

// ---------------------------------------------------------------------------------------------
// The round
// ---------------------------------------------------------------------------------------------

impl Engine {
    /// One outbound round on `ch`: marketplace cancellations into Odoo, done deliveries to the
    /// channel, Odoo cancellations to the channel, returns into Odoo. Each step records its
    /// own failures and the others still run.
    pub async fn outbound_round(&self, ch: &ChannelHandle) -> Result<OutboundReport, String> {
        let mut report = OutboundReport::default();
        if !self.outbound.config.enabled {
            return Ok(report);
        }
        let catalog = self.catalog().await;
        let ctx = Ctx {
            odoo: &self.odoo,
            store: &self.store,
            log: &self.log,
            events: &self.events,
            catalog: &catalog,
            config: &self.outbound.config,
            ch,
        };
        macro_rules! step {
            ($job:literal, $f:expr) => {{
                let started = Timestamp::now();
                let before = report.clone();
                if let Err(e) = $f(&ctx, &mut report).await {
                    report.errors.push(format!("{}: {e}", $job));
                }
                record_run(&ctx, $job, started, &before, &report).await;
            }};
        }
        step!("cancellations", super::cancellations::from_channel);
        step!("shipments", shipments);
        step!("cancellations", super::cancellations::to_channel);
        step!("returns", super::returns::run);
        if !report.errors.is_empty() {
            self.events.emit(SyncEvent::JobFailed {
                channel: ch.config.id.clone(),
                job: "fulfilment",
                error: report.errors.join("; "),
            });
        }
        Ok(report)
    }
}

/// A `channel.sync.run` (or `ir.logging` line) for a step that did something.
async fn record_run(
    ctx: &Ctx<'_>,
    job: &'static str,
    started: Timestamp,
    before: &OutboundReport,
    after: &OutboundReport,
) {
    let d = |f: fn(&OutboundReport) -> usize| (f(after) - f(before)) as u64;
    let (written, waiting) = match job {
        "shipments" => (
            d(|r| r.shipped) + d(|r| r.already_shipped),
            d(|r| r.waiting),
        ),
        "returns" => (d(|r| r.returns), d(|r| r.returns_held)),
        _ => (
            d(|r| r.cancelled_in_odoo) + d(|r| r.cancelled_on_channel),
            d(|r| r.cancel_alerts) + d(|r| r.cancel_refused),
        ),
    };
    let errors: Vec<String> = after.errors[before.errors.len()..].to_vec();
    let failed = waiting + errors.len() as u64;
    if written + failed == 0 {
        return;
    }
    ctx.log
        .sync_run(&RunSummary {
            channel: ctx.id().to_owned(),
            job,
            started,
            finished: Timestamp::now(),
            read: written + waiting,
            written,
            failed,
            errors,
        })
        .await;
}

// ---------------------------------------------------------------------------------------------
// Shipments
// ---------------------------------------------------------------------------------------------

const PICKING_FIELDS: &[&str] = &[
    "name",
    "sale_id",
    "carrier_id",
    "carrier_tracking_ref",
    "carrier_tracking_url",
    "date_done",
];

/// How one done picking ended in this round.
enum Shipped {
    Confirmed,
    Already,
    /// Waits for a person; the cursor may pass it (an edit brings it back).
    Waiting,
    /// Nothing to send (marketplace-fulfilled, not this channel's…).
    Skipped,
    /// Try again next round; the cursor stops before it.
    Retry(String),
}

pub(crate) async fn shipments(
    ctx: &Ctx<'_>,
    report: &mut OutboundReport,
) -> Result<(), OutboundError> {
    let domain = Domain::leaf("state", "=", "done")
        .and(Domain::leaf("picking_type_code", "=", "outgoing"))
        .and(Domain::leaf("return_id", "=", false))
        .and(ctx.order_domain("sale_id.").await);
    let mut cursor = OdooCursor::open(ctx, "odoo:shipments").await?;
    let mut fatal = None;
    while let Some(rows) = cursor
        .next_page(ctx, "stock.picking", &domain, PICKING_FIELDS)
        .await?
    {
        for row in rows {
            let key = format!("ship:{}:{}", ctx.id(), row_id(&row));
            if matches!(ctx.store.peek(&key).await?, Some(Begin::Done { .. })) {
                cursor.settle(&row, true);
                continue;
            }
            if fatal.is_some() {
                cursor.settle(&row, false);
                continue;
            }
            match ship_one(ctx, &row, &key).await {
                Ok(Shipped::Confirmed) => {
                    report.shipped += 1;
                    cursor.settle(&row, true);
                }
                Ok(Shipped::Already) => {
                    report.already_shipped += 1;
                    cursor.settle(&row, true);
                }
                Ok(Shipped::Waiting) => {
                    report.waiting += 1;
                    cursor.settle(&row, true);
                }
                Ok(Shipped::Skipped) => cursor.settle(&row, true),
                Ok(Shipped::Retry(why)) => {
                    report.errors.push(format!(
                        "shipment of {}: {why}",
                        row_str(&row, "name").unwrap_or("?")
                    ));
                    cursor.settle(&row, false);
                }
                Err(e) => {
                    // Odoo or the store failed: stop here, the cursor keeps this row.
                    cursor.settle(&row, false);
                    fatal = Some(e);
                }
            }
        }
    }
    cursor.close(ctx).await?;
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn ship_one(ctx: &Ctx<'_>, picking: &Value, key: &str) -> Result<Shipped, OutboundError> {
    let pk = row_id(picking);
    let pname = row_str(picking, "name").unwrap_or("?").to_owned();
    let Some((so_id, _)) = row_m2o(picking, "sale_id") else {
        return Ok(Shipped::Skipped);
    };
    let mut fields = vec!["name"];
    fields.extend(ctx.order_ref_fields());
    let so = ctx
        .odoo
        .read("sale.order", &[so_id], &fields, None)
        .await?
        .into_iter()
        .next();
    let Some(external) = so.as_ref().and_then(|so| ctx.external_id_of(so)) else {
        return Ok(Shipped::Skipped);
    };
    let so_name = so
        .as_ref()
        .and_then(|s| row_str(s, "name"))
        .unwrap_or("?")
        .to_owned();
    let wait_key = |what: &str| {
        format!(
            "note:ship-wait:{}:{pk}:{what}:{}",
            ctx.id(),
            row_str(picking, "write_date").unwrap_or_default()
        )
    };
    let (ext_r, pname_r) = (external.as_str(), pname.as_str());
    let wait = move |what: &'static str, text: String| async move {
        ctx.note_once(&wait_key(what), "stock.picking", pk, &text)
            .await?;
        ctx.emit("held", ext_r, format!("{pname_r}: {text}"));
        Ok::<_, OutboundError>(Shipped::Waiting)
    };

    // Tracking and carrier first: they are the common reasons to wait, and cost no call.
    let rules = ctx.rules();
    let tracking = row_str(picking, "carrier_tracking_ref")
        .and_then(|t| t.split([',', ';']).map(str::trim).find(|t| !t.is_empty()))
        .map(str::to_owned);
    let tracking = match (tracking, rules.require_tracking) {
        (Some(t), _) => t,
        (None, false) => pname.clone(),
        (None, true) => {
            return wait(
                "tracking",
                format!(
                    "odoo-channels has not confirmed this delivery on channel {}: the channel needs a tracking number. Enter it in Tracking Reference; the shipment is sent as soon as it is saved.",
                    ctx.id()
                ),
            )
            .await;
        }
    };
    let carrier = match row_m2o(picking, "carrier_id") {
        Some((_, name)) if !name.is_empty() => {
            let (code, name) = rules.carrier_code(&name);
            Carrier { code, name }
        }
        _ => match &rules.default_carrier {
            Some(code) => Carrier {
                code: code.clone(),
                name: None,
            },
            None => {
                return wait(
                    "carrier",
                    format!(
                        "odoo-channels has not confirmed this delivery on channel {}: it has no carrier. Set the Carrier (or a default_carrier for the channel); the shipment is sent as soon as it is saved.",
                        ctx.id()
                    ),
                )
                .await;
            }
        },
    };

    let begun = ctx.store.peek(key).await?;
    let order = match ctx.channel_order(&external).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return wait(
                "missing",
                format!(
                    "odoo-channels cannot confirm this delivery: order {external} is not on channel {}.",
                    ctx.id()
                ),
            )
            .await;
        }
        Err(e) if e.is_retryable() => return Ok(Shipped::Retry(e.to_string())),
        Err(e) => {
            return wait(
                "read",
                format!(
                    "odoo-channels cannot confirm this delivery: reading order {external} on channel {} failed: {e}",
                    ctx.id()
                ),
            )
            .await;
        }
    };
    if matches!(order.fulfilled_by, FulfilledBy::Marketplace { .. }) {
        return Ok(Shipped::Skipped);
    }
    if begun.is_none() {
        match order.status {
            OrderStatus::Cancelled => {
                ctx.store.finish(key, "skipped:cancelled").await?;
                return wait(
                    "cancelled",
                    format!(
                        "odoo-channels did not confirm this delivery: order {external} is cancelled on channel {}. Contact the buyer; the goods left the warehouse.",
                        ctx.id()
                    ),
                )
                .await;
            }
            OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Returned => {
                // Already shipped there (by an earlier run whose state was lost, or by hand).
                ctx.store.finish(key, "already:channel-status").await?;
                ctx.log
                    .note(
                        "sale.order",
                        so_id,
                        &format!(
                            "Delivery {pname}: channel {} already shows order {external} as {:?}; nothing was sent again.",
                            ctx.id(),
                            order.status
                        ),
                    )
                    .await;
                return Ok(Shipped::Already);
            }
            _ => {}
        }
    }

    // What this picking shipped, per marketplace line.
    let qty_field = ctx.odoo.map().move_done_qty_field;
    let moves = ctx
        .odoo
        .search_read(
            "stock.move",
            &Domain::leaf("picking_id", "=", pk).and(Domain::leaf("state", "=", "done")),
            &["product_id", qty_field, "sale_line_id"],
            &SearchOpts::default().load_none(),
        )
        .await?;
    let map = line_map(ctx, so_id, &order).await?;
    let mut per_line: Vec<(String, String, Decimal)> = Vec::new();
    let mut unmapped = Vec::new();
    for m in &moves {
        let qty = row_qty(m, qty_field);
        if qty <= Decimal::ZERO {
            continue;
        }
        let sol = row_m2o(m, "sale_line_id").map(|(id, _)| id);
        match sol.and_then(|s| map.by_sol.get(&s)) {
            Some((line, sku)) => match per_line.iter_mut().find(|(l, _, _)| l == line) {
                Some(e) => e.2 += qty,
                None => per_line.push((line.clone(), sku.clone(), qty)),
            },
            None => unmapped.push(
                row_m2o(m, "product_id")
                    .and_then(|(p, _)| ctx.catalog.product(p))
                    .map(|p| p.sku.clone())
                    .unwrap_or_else(|| "a product without SKU".into()),
            ),
        }
    }
    if !unmapped.is_empty() || per_line.is_empty() {
        return wait(
            "lines",
            format!(
                "odoo-channels cannot confirm this delivery on channel {}: {} is not a line of order {external} there. Ship it under a separate delivery or confirm the shipment on the marketplace.",
                ctx.id(),
                if unmapped.is_empty() {
                    "nothing shipped".to_owned()
                } else {
                    unmapped.join(", ")
                }
            ),
        )
        .await;
    }
    let shipped_at = row_str(picking, "date_done")
        .and_then(odoo_wire::datetime::parse_datetime)
        .unwrap_or_else(Timestamp::now);
    let shipment = Shipment {
        order_external_id: external.clone(),
        lines: per_line
            .iter()
            .map(|(l, s, q)| ItemQuantity {
                external_line_id: l.clone(),
                sku: Some(s.clone()),
                quantity: *q,
            })
            .collect(),
        carrier: carrier.clone(),
        service: None,
        tracking_number: tracking.clone(),
        tracking_url: row_str(picking, "carrier_tracking_url")
            .filter(|u| u.starts_with("http"))
            .map(str::to_owned),
        shipped_at,
    };
    let lines_text = per_line
        .iter()
        .map(|(_, s, q)| format!("{q} × {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    match ctx.store.begin(key).await? {
        Begin::Done { .. } => return Ok(Shipped::Already),
        Begin::Fresh | Begin::Pending { .. } => {}
    }
    match ctx.ch.channel.confirm_shipment(&shipment).await {
        Ok(ack) => {
            let remote = ack
                .external_id
                .clone()
                .unwrap_or_else(|| format!("tracking:{tracking}"));
            ctx.store.finish(key, &remote).await?;
            ctx.log
                .note(
                    "sale.order",
                    so_id,
                    &format!(
                        "Delivery {pname} confirmed on channel {} (order {external}): carrier {}{}, tracking {tracking}, shipped {lines_text}.{}",
                        ctx.id(),
                        carrier.code,
                        carrier
                            .name
                            .as_deref()
                            .filter(|n| *n != carrier.code)
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default(),
                        if ack.already_existed {
                            " The channel already had this shipment."
                        } else {
                            ""
                        }
                    ),
                )
                .await;
            ctx.emit(
                "shipment",
                &external,
                format!(
                    "{so_name} {pname}: {} {tracking}: {lines_text}",
                    carrier.code
                ),
            );
            Ok(if ack.already_existed {
                Shipped::Already
            } else {
                Shipped::Confirmed
            })
        }
        // May have been applied: the key stays pending and the next round re-checks.
        Err(ChannelError::Ambiguous { message }) => Ok(Shipped::Retry(format!(
            "outcome unknown, re-checked next round: {message}"
        ))),
        Err(e @ (ChannelError::Transient { .. } | ChannelError::RateLimited { .. })) => {
            ctx.store.forget(key).await?;
            Ok(Shipped::Retry(e.to_string()))
        }
        Err(ChannelError::Unsupported(op)) => {
            ctx.store.finish(key, "unsupported").await?;
            wait(
                "unsupported",
                format!(
                    "Channel {} takes no shipment confirmations through its API ({op}): confirm order {external} on the marketplace.",
                    ctx.id()
                ),
            )
            .await
        }
        Err(e @ (ChannelError::Auth { .. } | ChannelError::Config(_))) => {
            ctx.store.forget(key).await?;
            Err(OutboundError::Channel(e))
        }
        Err(e) => {
            // Refused (or unreadable): nothing was applied; a person fixes the picking.
            ctx.store.forget(key).await?;
            wait(
                "refused",
                format!(
                    "Channel {} refused the shipment of order {external} (carrier {}, tracking {tracking}): {e}. Correct the delivery (carrier, tracking) and save: it is sent again.",
                    ctx.id(),
                    carrier.code
                ),
            )
            .await
        }
    }
}
