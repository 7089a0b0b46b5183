//! The daemon's view of Odoo's stock: on hand, reserved and incoming per product and
//! warehouse, kept in memory and refreshed incrementally.
//!
//! * **Full read** (at start and every `full_reconcile_every`): one aggregated `stock.quant`
//!   read per batch of products (`OdooClient::stock_levels`), the open incoming moves in
//!   keyset pages, and the high-water marks of both models' `write_date` taken *before*, so
//!   that anything written during the read is seen again by the next incremental read.
//! * **Incremental read** (every cycle): quants and moves whose `write_date` is at or after the
//!   cursor less an overlap (`write_date` is the *start* of the writing transaction, read back
//!   in whole seconds; a transaction that started before the cursor may commit after it).
//!   Pages use the safe keyset of scenario 05, spelled so that it means the same on every
//!   version: `(write_date ≥ W+1s) OR (W ≤ write_date < W+1s AND id > last)` — on 19 that is
//!   exactly `(write_date > W) OR (write_date = W AND id > last)`, and 16–18, which compare
//!   the stored microseconds, page the same way instead of looping on the second W. A row
//!   re-read inside the overlap is recognised by `(id, write_date, values)` and ignored; the
//!   products of the others are re-read whole (their quants summed again), so only they are
//!   recomputed. `product.product.write_date` does not move with stock (scenario 05), so it
//!   is never used.
//! * What incremental reads cannot see (a deleted quant, a computed field, a transaction
//!   longer than the overlap) is repaired by the next full read.
//!
//! Also here, because they feed the same computation: units pending in orders Odoo has not
//! reserved (`pending_units`) and recent sales per channel (`sales_velocity`).

use std::collections::{HashMap, HashSet};

use channels_core::{FulfilledBy, Order};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use super::catalog::Catalog;
use crate::odoo::{Domain, OdooClient, OdooError, Record, SearchOpts};
use crate::store::{QuarantineState, Store, StoreError};

/// A warehouse as the stock job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    pub id: i64,
    pub code: String,
    /// Bit position in `ChannelRule::warehouses`.
    pub slot: usize,
    /// Its stock location (`lot_stock_id`) and internal operation type (`int_type_id`), for
    /// draft transfers.
    pub lot_stock_id: Option<i64>,
    pub int_type_id: Option<i64>,
}

/// Whole units of one product in one warehouse: on hand floored, reservations and outgoing
/// demand rounded up (a fractional unit is never listed), incoming floored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cell {
    pub on_hand: i64,
    pub reserved: i64,
    pub incoming: i64,
    /// Open moves leaving the warehouse (to a customer, another warehouse, production),
    /// reserved or not. A confirmed order Odoo could not reserve (a backorder, or a
    /// `waiting` delivery behind a pick) is only visible here: quants know nothing of it.
    pub outgoing: i64,
}

impl Cell {
    /// Units promised out of this warehouse: its reservations, or its outgoing demand when
    /// that is larger (part of it is not reserved yet). Reservations for moves inside the
    /// warehouse (a pick towards the output bay) and the outgoing move they feed are the same
    /// units, so the two are not added: the larger one holds both.
    pub fn committed(&self) -> i64 {
        self.reserved.max(self.outgoing)
    }
}

/// Open move states: what is still to arrive.
const OPEN_MOVE_STATES: [&str; 4] = ["waiting", "confirmed", "partially_available", "assigned"];

/// What one read did (for events, reports and the benchmark).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadReport {
    pub full: bool,
    /// Products whose stock was (re-)read.
    pub products: usize,
    /// Quant and move rows the incremental read returned (overlap included).
    pub changed_rows: usize,
    pub odoo_calls: u64,
}

/// The in-memory stock table and the cursors that keep it current.
#[derive(Debug)]
pub struct StockView {
    warehouses: Vec<Warehouse>,
    /// Internal location → warehouse slot (incoming moves name their destination location,
    /// outgoing ones their source).
    location_slot: HashMap<i64, usize>,
    /// Product ids in table order.
    products: Vec<i64>,
    index: HashMap<i64, usize>,
    cells: Vec<Cell>,
    quant_cursor: Option<Timestamp>,
    move_cursor: Option<Timestamp>,
    seen_quants: HashMap<i64, Seen>,
    seen_moves: HashMap<i64, Seen>,
    overlap: SignedDuration,
}

/// What a row looked like when last read, to skip it when the overlap returns it unchanged.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    at: Timestamp,
    product: i64,
    a: Value,
    b: Value,
}

impl StockView {
    pub fn new(warehouses: Vec<Warehouse>, overlap: std::time::Duration) -> Self {
        StockView {
            warehouses,
            location_slot: HashMap::new(),
            products: Vec::new(),
            index: HashMap::new(),
            cells: Vec::new(),
            quant_cursor: None,
            move_cursor: None,
            seen_quants: HashMap::new(),
            seen_moves: HashMap::new(),
            overlap: SignedDuration::try_from(overlap).unwrap_or(SignedDuration::from_secs(120)),
        }
    }

    pub fn warehouses(&self) -> &[Warehouse] {
        &self.warehouses
    }

    pub fn products(&self) -> &[i64] {
        &self.products
    }

    /// Table position of a product.
    pub fn position(&self, product: i64) -> Option<usize> {
        self.index.get(&product).copied()
    }

    /// The cells of product position `p`, one per warehouse slot.
    pub fn cells(&self, p: usize) -> &[Cell] {
        let nw = self.warehouses.len();
        &self.cells[p * nw..(p + 1) * nw]
    }

    /// The `write_date` cursors (quants, moves), for inspection.
    pub fn cursors(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        (self.quant_cursor, self.move_cursor)
    }

    /// Re-index the table on `products` (a new catalogue): kept products keep their cells,
    /// new ones start empty. Returns the new products (they must be read).
    pub fn reindex(&mut self, products: &[i64]) -> Vec<i64> {
        let nw = self.warehouses.len();
        let mut cells = vec![Cell::default(); products.len() * nw];
        let mut fresh = Vec::new();
        for (p, id) in products.iter().enumerate() {
            match self.index.get(id) {
                Some(&old) => cells[p * nw..(p + 1) * nw]
                    .copy_from_slice(&self.cells[old * nw..(old + 1) * nw]),
                None => fresh.push(*id),
            }
        }
        self.cells = cells;
        self.products = products.to_vec();
        self.index = products
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        fresh
    }

    /// Everything, from scratch: the catalogue's `products`. The cursors are taken first:
    /// each model's latest `write_date`, and the rows written within the overlap before it
    /// are remembered, so that the next incremental read does not take them for changes
    /// (they committed before the stock read below, which reflects them; anything that
    /// commits later is new to the next read and gets its product re-read).
    pub async fn full_read(
        &mut self,
        odoo: &OdooClient,
        products: &[i64],
    ) -> Result<ReadReport, OdooError> {
        let calls = odoo.call_count();
        self.seen_quants.clear();
        self.seen_moves.clear();
        let mut ignored = HashSet::new();
        let quant_mark = high_water(odoo, "stock.quant", quant_domain()).await?;
        let (rows, _) = changed_rows(
            odoo,
            "stock.quant",
            quant_domain(),
            &QUANT_CHANGE_FIELDS,
            quant_mark.map(|m| m - self.overlap),
        )
        .await?;
        collect_changes(
            "stock.quant",
            &rows,
            QUANT_CHANGE_KEYS,
            &mut self.seen_quants,
            &mut ignored,
        )?;
        let move_mark = high_water(odoo, "stock.move", move_domain()).await?;
        let (rows, _) = changed_rows(
            odoo,
            "stock.move",
            move_domain(),
            &MOVE_CHANGE_FIELDS,
            move_mark.map(|m| m - self.overlap),
        )
        .await?;
        collect_changes(
            "stock.move",
            &rows,
            MOVE_CHANGE_KEYS,
            &mut self.seen_moves,
            &mut ignored,
        )?;
        self.load_locations(odoo).await?;
        self.reindex(products);
        self.cells.iter_mut().for_each(|c| *c = Cell::default());
        self.read_quants(odoo, products).await?;
        self.read_moves(odoo, None).await?;
        // Nothing written yet: everything the next read finds is new.
        self.quant_cursor = Some(quant_mark.unwrap_or(Timestamp::UNIX_EPOCH));
        self.move_cursor = Some(move_mark.unwrap_or(Timestamp::UNIX_EPOCH));
        Ok(ReadReport {
            full: true,
            products: products.len(),
            changed_rows: 0,
            odoo_calls: odoo.call_count() - calls,
        })
    }

    /// Products of the table whose quants or moves changed since the cursors (then the
    /// cursors move forward). Call [`StockView::reread`] with them.
    pub async fn changed_products(
        &mut self,
        odoo: &OdooClient,
    ) -> Result<(HashSet<i64>, usize), OdooError> {
        let mut changed = HashSet::new();
        let mut rows_seen = 0;
        let since = self.quant_cursor.map(|c| c - self.overlap);
        let (rows, mark) = changed_rows(
            odoo,
            "stock.quant",
            quant_domain(),
            &QUANT_CHANGE_FIELDS,
            since,
        )
        .await?;
        rows_seen += rows.len();
        collect_changes(
            "stock.quant",
            &rows,
            QUANT_CHANGE_KEYS,
            &mut self.seen_quants,
            &mut changed,
        )?;
        if mark.is_some() {
            self.quant_cursor = mark.max(self.quant_cursor);
        }
        let since = self.move_cursor.map(|c| c - self.overlap);
        let (rows, mark) = changed_rows(
            odoo,
            "stock.move",
            move_domain(),
            &MOVE_CHANGE_FIELDS,
            since,
        )
        .await?;
        rows_seen += rows.len();
        collect_changes(
            "stock.move",
            &rows,
            MOVE_CHANGE_KEYS,
            &mut self.seen_moves,
            &mut changed,
        )?;
        if mark.is_some() {
            self.move_cursor = mark.max(self.move_cursor);
        }
        // Rows older than the next read's start will not come back: forget them.
        if let Some(c) = self.quant_cursor {
            let keep_from = c - self.overlap;
            self.seen_quants.retain(|_, s| s.at >= keep_from);
        }
        if let Some(c) = self.move_cursor {
            let keep_from = c - self.overlap;
            self.seen_moves.retain(|_, s| s.at >= keep_from);
        }
        changed.retain(|p| self.index.contains_key(p));
        Ok((changed, rows_seen))
    }

    /// Read `products` again, whole (quants summed per warehouse, incoming and outgoing moves).
    pub async fn reread(&mut self, odoo: &OdooClient, products: &[i64]) -> Result<(), OdooError> {
        if products.is_empty() {
            return Ok(());
        }
        for id in products {
            if let Some(p) = self.position(*id) {
                let nw = self.warehouses.len();
                self.cells[p * nw..(p + 1) * nw].fill(Cell::default());
            }
        }
        self.read_quants(odoo, products).await?;
        self.read_moves(odoo, Some(products)).await
    }

    async fn load_locations(&mut self, odoo: &OdooClient) -> Result<(), OdooError> {
        let slot_of: HashMap<i64, usize> = self.warehouses.iter().map(|w| (w.id, w.slot)).collect();
        let rows = odoo
            .search_read_all(
                "stock.location",
                &Domain::leaf("usage", "in", vec!["internal", "transit"]),
                &["warehouse_id"],
                &SearchOpts::default().load_none(),
            )
            .await?;
        self.location_slot.clear();
        for row in &rows {
            let rec = Record::new("stock.location", row)?;
            if let Some(w) = rec.m2o("warehouse_id")?
                && let Some(&slot) = slot_of.get(&w.id)
            {
                self.location_slot.insert(rec.id()?, slot);
            }
        }
        Ok(())
    }

    async fn read_quants(&mut self, odoo: &OdooClient, products: &[i64]) -> Result<(), OdooError> {
        let wh_ids: Vec<i64> = self.warehouses.iter().map(|w| w.id).collect();
        let slot_of: HashMap<i64, usize> = self.warehouses.iter().map(|w| (w.id, w.slot)).collect();
        let nw = self.warehouses.len();
        let (index, cells) = (&self.index, &mut self.cells);
        odoo.stock_levels_each(products, &wh_ids, |level| {
            if let (Some(&p), Some(&w)) = (
                index.get(&level.product_id),
                slot_of.get(&level.warehouse_id),
            ) {
                let cell = &mut cells[p * nw + w];
                cell.on_hand = level.on_hand.floor().to_i64().unwrap_or(0);
                cell.reserved = level.reserved.ceil().to_i64().unwrap_or(0);
            }
        })
        .await
    }

    /// Open moves crossing a warehouse's boundary, of `products` or all of them (keyset
    /// pages), in one read: incoming (from outside the company's internal locations into a
    /// warehouse) and outgoing (from a warehouse's internal location to anything that is not
    /// internal: customers, transit, production, scrap).
    async fn read_moves(
        &mut self,
        odoo: &OdooClient,
        products: Option<&[i64]>,
    ) -> Result<(), OdooError> {
        let base = Domain::leaf("state", "in", OPEN_MOVE_STATES.to_vec()).and(boundary_domain());
        let fields = [
            "product_id",
            "product_qty",
            "location_id",
            "location_dest_id",
        ];
        let opts = SearchOpts::default().load_none();
        let mut incoming: HashMap<(usize, usize), Decimal> = HashMap::new();
        let mut outgoing: HashMap<(usize, usize), Decimal> = HashMap::new();
        let mut add = |rows: &[Value], view: &StockView| -> Result<(), OdooError> {
            for row in rows {
                let rec = Record::new("stock.move", row)?;
                let product = rec.req_m2o("product_id")?.id;
                let Some(&p) = view.index.get(&product) else {
                    continue;
                };
                let slot = |field: &str| -> Result<Option<usize>, OdooError> {
                    Ok(rec
                        .m2o(field)?
                        .and_then(|l| view.location_slot.get(&l.id).copied()))
                };
                let (src, dest) = (slot("location_id")?, slot("location_dest_id")?);
                let qty = rec.quantity("product_qty")?;
                match (src, dest) {
                    (None, Some(w)) => *incoming.entry((p, w)).or_default() += qty,
                    (Some(w), None) => *outgoing.entry((p, w)).or_default() += qty,
                    // Between two internal locations (the domain lets through transit ones),
                    // or outside every warehouse read: not this table's business.
                    _ => tracing::trace!(product, "move outside the warehouses read"),
                }
            }
            Ok(())
        };
        match products {
            Some(ids) => {
                for chunk in ids.chunks(odoo.batch_size().max(1)) {
                    let d = base.clone().and_in("product_id", chunk.to_vec());
                    let rows = odoo
                        .search_read_all("stock.move", &d, &fields, &opts)
                        .await?;
                    add(&rows, self)?;
                }
            }
            None => {
                let mut pages = odoo.search_read_pages("stock.move", &base, &fields, &opts);
                while let Some(rows) = pages.next_page().await? {
                    add(&rows, self)?;
                }
            }
        }
        let nw = self.warehouses.len();
        for ((p, w), qty) in incoming {
            self.cells[p * nw + w].incoming = qty.floor().to_i64().unwrap_or(0);
        }
        for ((p, w), qty) in outgoing {
            self.cells[p * nw + w].outgoing = qty.ceil().to_i64().unwrap_or(0);
        }
        Ok(())
    }
}

const QUANT_CHANGE_FIELDS: [&str; 4] =
    ["product_id", "quantity", "reserved_quantity", "write_date"];
const QUANT_CHANGE_KEYS: (&str, &str) = ("quantity", "reserved_quantity");
const MOVE_CHANGE_FIELDS: [&str; 4] = ["product_id", "state", "product_qty", "write_date"];
const MOVE_CHANGE_KEYS: (&str, &str) = ("state", "product_qty");

fn quant_domain() -> Domain {
    Domain::leaf("location_id.usage", "=", "internal")
}

/// Moves that may cross a warehouse's boundary: into or out of an internal location. The
/// change read tracks all of them (a move between two internal locations changes nothing in
/// the table, but filtering it out would cost a second domain leaf on every page).
fn move_domain() -> Domain {
    Domain::leaf("location_dest_id.usage", "=", "internal").or(Domain::leaf(
        "location_id.usage",
        "=",
        "internal",
    ))
}

/// Into an internal location from outside, or out of one to outside (transit counts as
/// outside for the source: goods in transit have left the warehouse).
fn boundary_domain() -> Domain {
    Domain::leaf("location_dest_id.usage", "=", "internal")
        .and(Domain::leaf(
            "location_id.usage",
            "not in",
            vec!["internal", "transit"],
        ))
        .or(
            Domain::leaf("location_id.usage", "=", "internal").and(Domain::leaf(
                "location_dest_id.usage",
                "!=",
                "internal",
            )),
        )
}

/// The latest `write_date` of `model` within `domain` (one call), or `None` when empty.
async fn high_water(
    odoo: &OdooClient,
    model: &str,
    domain: Domain,
) -> Result<Option<Timestamp>, OdooError> {
    let rows = odoo
        .search_read(
            model,
            &domain,
            &["write_date"],
            &SearchOpts::default()
                .order("write_date desc, id desc")
                .limit(1),
        )
        .await?;
    match rows.first() {
        Some(row) => Ok(Record::new(model, row)?.datetime("write_date")?),
        None => Ok(None),
    }
}

/// Rows of `model` within `domain` written at or after `since` (none when `None`: nothing
/// was ever written there), in (write_date, id) keyset pages; and the latest `write_date`
/// seen.
async fn changed_rows(
    odoo: &OdooClient,
    model: &str,
    domain: Domain,
    fields: &[&str],
    since: Option<Timestamp>,
) -> Result<(Vec<Value>, Option<Timestamp>), OdooError> {
    let Some(since) = since else {
        return Ok((Vec::new(), None));
    };
    let page = odoo.batch_size().max(1);
    let opts = SearchOpts::default()
        .order("write_date asc, id asc")
        .limit(page)
        .load_none();
    let mut all = Vec::new();
    let mut mark: Option<Timestamp> = None;
    let mut after: Option<(Timestamp, i64)> = None;
    loop {
        let d = match after {
            None => domain.clone().and(Domain::leaf("write_date", ">=", since)),
            Some((w, last)) => domain.clone().and(keyset_after(w, last)),
        };
        let rows = odoo.search_read(model, &d, fields, &opts).await?;
        let n = rows.len();
        if let Some(row) = rows.last() {
            let rec = Record::new(model, row)?;
            let w = rec.datetime("write_date")?.ok_or_else(|| {
                OdooError::Decode(rec.err("write_date", "a written record has no write_date"))
            })?;
            let next = (w, rec.id()?);
            if after.is_some_and(|a| next <= a) {
                return Err(OdooError::Decode(rec.err(
                    "write_date",
                    "keyset paging did not move forward (rows not in write_date, id order)",
                )));
            }
            after = Some(next);
        }
        for row in &rows {
            if let Some(w) = Record::new(model, row)?.datetime("write_date")? {
                mark = mark.max(Some(w));
            }
        }
        all.extend(rows);
        if n < page {
            break;
        }
    }
    Ok((all, mark))
}

/// The keyset after the row `(w, last)`, `w` in whole seconds (see the module documentation).
pub fn keyset_after(w: Timestamp, last: i64) -> Domain {
    let next_second = w + SignedDuration::from_secs(1);
    Domain::leaf("write_date", ">=", next_second).or(Domain::leaf("write_date", ">=", w)
        .and(Domain::leaf("write_date", "<", next_second))
        .and(Domain::leaf("id", ">", last)))
}

/// Products of rows that are new or differ from what was seen; remembers them.
fn collect_changes(
    model: &str,
    rows: &[Value],
    (fa, fb): (&str, &str),
    seen: &mut HashMap<i64, Seen>,
    changed: &mut HashSet<i64>,
) -> Result<(), OdooError> {
    for row in rows {
        let rec = Record::new(model, row)?;
        let id = rec.id()?;
        let now = Seen {
            at: rec.datetime("write_date")?.unwrap_or(Timestamp::UNIX_EPOCH),
            product: rec.req_m2o("product_id")?.id,
            a: rec.value(fa)?.clone(),
            b: rec.value(fb)?.clone(),
        };
        if seen.get(&id) != Some(&now) {
            changed.insert(now.product);
            if let Some(old) = seen.get(&id)
                && old.product != now.product
            {
                changed.insert(old.product);
            }
            seen.insert(id, now);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pending units
// ---------------------------------------------------------------------------------------------

/// Orders a marketplace accepted that Odoo has not reserved, known to the daemon: staged in
/// the inbox and not imported yet, held in the daemon's quarantine (a person decides; the
/// buyer has paid), or imported as a draft quotation (held by the order audit:
/// `sale.order` in state `draft` with `client_order_ref = "<channel>:<order id>"`). Each order
/// counts once (keyed by channel and order id), in the product's units. Merchant-fulfilled,
/// open orders only: a marketplace-fulfilled order never touches the merchant's stock.
pub async fn pending_units(
    odoo: &OdooClient,
    store: &Store,
    channels: &[String],
    catalog: &Catalog,
) -> Result<HashMap<i64, i64>, PendingError> {
    let mut by_order: HashMap<(String, String), Vec<(i64, Decimal)>> = HashMap::new();
    for ch in channels {
        for item in store.inbox_new(ch, "order", 10_000).await? {
            if let Some(lines) = order_lines(ch, &item.payload, catalog) {
                by_order.insert((ch.clone(), item.external_id), lines);
            }
        }
        for q in store
            .quarantined(Some(ch), QuarantineState::Held)
            .await?
            .into_iter()
            .filter(|q| q.kind == "order")
        {
            if let Some(lines) = order_lines(ch, &q.payload, catalog) {
                by_order.insert((ch.clone(), q.external_ref), lines);
            }
        }
    }
    for ((ch, ext), lines) in draft_channel_orders(odoo, channels).await? {
        by_order.insert((ch, ext), lines);
    }
    let mut pending: HashMap<i64, i64> = HashMap::new();
    for lines in by_order.into_values() {
        for (product, qty) in lines {
            *pending.entry(product).or_default() += qty.ceil().to_i64().unwrap_or(0);
        }
    }
    pending.retain(|_, q| *q > 0);
    Ok(pending)
}

#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error("Odoo: {0}")]
    Odoo(#[from] OdooError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

/// (product, quantity) of an open, merchant-fulfilled normalised order; `None` when the
/// payload is not one (a raw payload quarantined because it could not be read).
fn order_lines(channel: &str, payload: &str, catalog: &Catalog) -> Option<Vec<(i64, Decimal)>> {
    let order: Order = serde_json::from_str(payload).ok()?;
    if !order.status.is_open() || order.fulfilled_by != FulfilledBy::Merchant {
        return None;
    }
    Some(
        order
            .lines
            .iter()
            .filter_map(|l| {
                let p = catalog.product_for(channel, l.sku.as_deref()?)?;
                // What is still to ship: a line the marketplace partly cancelled counts less.
                Some((p.id, (l.quantity - l.quantity_cancelled).max(Decimal::ZERO)))
            })
            .collect(),
    )
}

/// Draft `sale.order`s bound to a channel order (`client_order_ref = "<channel>:<id>"`) and
/// their lines: two calls (orders, then lines), one when there are none.
async fn draft_channel_orders(
    odoo: &OdooClient,
    channels: &[String],
) -> Result<Vec<((String, String), Vec<(i64, Decimal)>)>, OdooError> {
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let mut refs = Domain::new();
    for (i, ch) in channels.iter().enumerate() {
        let leaf = Domain::leaf("client_order_ref", "=like", format!("{ch}:%"));
        refs = if i == 0 { leaf } else { refs.or(leaf) };
    }
    let orders = odoo
        .search_read_all(
            "sale.order",
            &Domain::leaf("state", "=", "draft").and(refs),
            &["client_order_ref"],
            &SearchOpts::default(),
        )
        .await?;
    let mut key_of: HashMap<i64, (String, String)> = HashMap::new();
    for row in &orders {
        let rec = Record::new("sale.order", row)?;
        let Some(r) = rec.string("client_order_ref")? else {
            continue;
        };
        // `=like` treats `_` as a wildcard: keep only exact channel prefixes.
        if let Some((ch, ext)) = r.split_once(':')
            && channels.iter().any(|c| c == ch)
            && !ext.is_empty()
        {
            key_of.insert(rec.id()?, (ch.to_owned(), ext.to_owned()));
        }
    }
    if key_of.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = key_of.keys().copied().collect();
    let lines = odoo
        .search_read_all(
            "sale.order.line",
            &Domain::is_in("order_id", ids),
            &["order_id", "product_id", "product_uom_qty"],
            &SearchOpts::default().load_none(),
        )
        .await?;
    let mut out: HashMap<i64, Vec<(i64, Decimal)>> = HashMap::new();
    for row in &lines {
        let rec = Record::new("sale.order.line", row)?;
        let (Some(order), Some(product)) = (rec.m2o("order_id")?, rec.m2o("product_id")?) else {
            continue;
        };
        out.entry(order.id)
            .or_default()
            .push((product.id, rec.quantity("product_uom_qty")?));
    }
    Ok(out
        .into_iter()
        .filter_map(|(order, lines)| key_of.remove(&order).map(|k| (k, lines)))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Sales velocity
// ---------------------------------------------------------------------------------------------

/// Units each channel sold per product since `since`: the lines of that channel's orders in
/// Odoo (`client_order_ref = "<channel>:…"`, not cancelled, ordered since `since`), one
/// grouped sum per channel. Returns (product → units) per channel, in `channels` order.
pub async fn sales_velocity(
    odoo: &OdooClient,
    channels: &[String],
    since: Timestamp,
) -> Result<Vec<HashMap<i64, u32>>, OdooError> {
    let mut out = Vec::with_capacity(channels.len());
    for ch in channels {
        let domain = Domain::leaf("order_id.client_order_ref", "=like", format!("{ch}:%"))
            .and(Domain::leaf("order_id.state", "!=", "cancel"))
            .and(Domain::leaf("order_id.date_order", ">=", since));
        let rows = odoo
            .grouped_sums(
                "sale.order.line",
                &domain,
                &["product_id"],
                &["product_uom_qty"],
            )
            .await?;
        let mut m = HashMap::new();
        for r in rows {
            let (Some(product), Some(q)) = (
                r.keys.get("product_id").and_then(|k| k.id()),
                r.sums.get("product_uom_qty"),
            ) else {
                continue;
            };
            let units = q.ceil().to_u32().unwrap_or(u32::MAX);
            if units > 0 {
                m.insert(product, units);
            }
        }
        out.push(m);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyset_is_spelled_with_ge_and_lt_only() {
        let w: Timestamp = "2026-11-22T22:54:40Z".parse().unwrap();
        assert_eq!(
            keyset_after(w, 49).to_value(),
            json!([
                "|",
                ["write_date", ">=", "2026-11-22 22:54:41"],
                "&",
                "&",
                ["write_date", ">=", "2026-11-22 22:54:40"],
                ["write_date", "<", "2026-11-22 22:54:41"],
                ["id", ">", 49]
            ])
        );
    }

    #[test]
    fn rows_seen_again_unchanged_are_not_changes() {
        let mut seen = HashMap::new();
        let mut changed = HashSet::new();
        let rows = vec![
            json!({"id": 1, "product_id": 10, "quantity": 5.0, "reserved_quantity": 0.0, "write_date": "2026-01-01 10:00:00"}),
            json!({"id": 2, "product_id": 11, "quantity": 5.0, "reserved_quantity": 0.0, "write_date": "2026-01-01 10:00:00"}),
        ];
        let f = ("quantity", "reserved_quantity");
        collect_changes("stock.quant", &rows, f, &mut seen, &mut changed).unwrap();
        assert_eq!(changed, HashSet::from([10, 11]));
        changed.clear();
        collect_changes("stock.quant", &rows, f, &mut seen, &mut changed).unwrap();
        assert!(changed.is_empty());
        // Same second, another value (two transactions in one second): a change.
        let again = vec![
            json!({"id": 2, "product_id": 11, "quantity": 5.0, "reserved_quantity": 1.0, "write_date": "2026-01-01 10:00:00"}),
        ];
        collect_changes("stock.quant", &again, f, &mut seen, &mut changed).unwrap();
        assert_eq!(changed, HashSet::from([11]));
    }
}
