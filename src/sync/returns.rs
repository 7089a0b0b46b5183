//! Marketplace returns into Odoo: the goods back (or scrapped) and the money credited.
//!
//! Returns are pulled by cursor (`pull_returns`, 10-minute overlap) and **staged in the inbox**
//! (kind `return`) before anything touches Odoo, like orders. A staged return is acted on once
//! the channel says the goods are back (`received` or `refunded`); earlier states are closed
//! without action (the next state is a new payload, staged anew). For a return of an order in
//! Odoo, under the channel's policy (`[channels.fulfilment]`):
//!
//! 1. **Window.** Requested more than `return_window_days` after the delivery was done → held:
//!    quarantined (shown in Odoo) with a note on the order; a person releases it to process
//!    it anyway.
//! 2. **Odoo return.** Per delivery the returned units left from, the `stock.return.picking`
//!    wizard with the returned quantities (`to_refund`, so `qty_delivered` drops), then the
//!    return receipt validated: the goods are back in stock. Its `origin` carries a marker
//!    (`odoo-channels:<channel>:return:<id>`) so that an interrupted run finds it again.
//! 3. **Scrap** (policy `scrap`, or a reason in `scrap_reasons`): a `stock.scrap` from where the
//!    receipt put them, validated, with the same marker as origin.
//! 4. **Money.** If the order has a posted customer invoice for the returned lines: a **credit
//!    note** for the returned units at the invoiced price — the `account.move.reversal` wizard
//!    on that invoice (reason = the marker), the draft credit note's lines cut to the returned
//!    quantities, then posted. If it was **not invoiced yet**, no credit note: the return
//!    already lowers what Odoo will invoice for products invoiced on delivered quantities, and
//!    for products invoiced on ordered quantities (Odoo's default) the daemon lowers the sale
//!    line's quantity by the returned units, so the invoice, when made, bills only what the
//!    buyer kept. (After a credit note the same lowering keeps an ordered-quantity line from
//!    showing "to invoice" again.)
//!
//! Every step is keyed under `return:<channel>:<id>` and re-checked by its marker after an
//! interruption, so a return is applied once; a note on the order says what was done, and the
//! marketplace's refund amount beside Odoo's credit note.

use std::collections::BTreeMap;

use channels_core::{
    ChannelError, FulfilledBy, Operation, PageQuery, Pulled, Return, ReturnLine, ReturnStatus,
};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use super::fulfilment::{
    Ctx, OutboundError, OutboundReport, line_map, row_id, row_m2o, row_qty, row_str,
};
use super::odoo_log::QuarantineNote;
use crate::odoo::{CallKind, Domain, SearchOpts};
use crate::store::{Begin, QuarantineState, Staged};

const STREAM: &str = "returns";
const KIND: &str = "return";
/// Marketplaces stamp returns late too: pull a little behind the cursor.
const OVERLAP: SignedDuration = SignedDuration::from_secs(10 * 60);
const BATCH: u32 = 100;

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut OutboundReport) -> Result<(), OutboundError> {
    if !ctx
        .ch
        .channel
        .capabilities()
        .supports(Operation::PullReturns)
    {
        return Ok(());
    }
    let pulled = pull(ctx).await;
    let processed = process(ctx, report).await;
    let released = released(ctx, report).await;
    pulled.and(processed).and(released)
}

/// Page through the channel's returns and stage them.
async fn pull(ctx: &Ctx<'_>) -> Result<(), OutboundError> {
    let cursor = ctx
        .store
        .get_cursor(ctx.id(), STREAM)
        .await?
        .and_then(|c| c.value.parse::<Timestamp>().ok());
    let mut high = cursor;
    let mut q = PageQuery {
        updated_after: cursor.map(|c| c - OVERLAP),
        page: None,
        page_size: None,
    };
    loop {
        let page = match ctx.ch.channel.pull_returns(&q).await {
            Ok(p) => p,
            Err(ChannelError::Unsupported(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for item in &page.items {
            match item {
                Pulled::Ok(r) => {
                    let payload = serde_json::to_string(r)
                        .map_err(|e| ChannelError::Config(e.to_string()))?;
                    ctx.store
                        .stage(ctx.id(), KIND, &r.external_id, &payload)
                        .await?;
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
                    if let Staged::New(id) = ctx.store.stage(ctx.id(), KIND, &ext, &payload).await?
                    {
                        hold_row(
                            ctx,
                            id,
                            &ext,
                            &format!("cannot read the return: {error}"),
                            &payload,
                            None,
                        )
                        .await?;
                    }
                }
            }
        }
        if let Some(h) = page.high_water_mark {
            high = Some(high.map_or(h, |c| c.max(h)));
        }
        match page.next {
            Some(n) => q.page = Some(n),
            None => break,
        }
    }
    if let Some(h) = high
        && Some(h) != cursor
    {
        ctx.store
            .set_cursor(ctx.id(), STREAM, &h.to_string())
            .await?;
    }
    Ok(())
}

/// Quarantine a staged return and show it in Odoo (on the order when there is one). Returns
/// where Odoo shows it: the order's own chatter without the addon, the addon's quarantine
/// model with it (`None` when it was already held, or Odoo could not be told).
async fn hold_row(
    ctx: &Ctx<'_>,
    inbox_id: i64,
    external_ref: &str,
    reason: &str,
    payload: &str,
    record: Option<(&str, i64)>,
) -> Result<Option<(String, i64)>, OutboundError> {
    let Some(qid) = ctx.store.inbox_quarantine(inbox_id, reason).await? else {
        return Ok(None);
    };
    let place = ctx
        .log
        .quarantine(&QuarantineNote {
            daemon_id: qid,
            channel: ctx.id(),
            kind: KIND,
            external_ref,
            reason,
            payload,
            record,
        })
        .await;
    if let Some((model, id)) = &place {
        ctx.store.set_quarantine_odoo(qid, model, *id).await?;
    }
    ctx.emit("held", external_ref, reason.to_owned());
    Ok(place)
}

enum Outcome {
    Done(i64),
    NotYet,
    Held(String, Option<i64>),
    Skipped,
}

async fn process(ctx: &Ctx<'_>, report: &mut OutboundReport) -> Result<(), OutboundError> {
    let items = ctx.store.inbox_new(ctx.id(), KIND, BATCH).await?;
    for item in items {
        let r: Return = match serde_json::from_str(&item.payload) {
            Ok(r) => r,
            Err(e) => {
                hold_row(
                    ctx,
                    item.id,
                    &item.external_id,
                    &format!("staged payload is not a normalised return: {e}"),
                    &item.payload,
                    None,
                )
                .await?;
                report.returns_held += 1;
                continue;
            }
        };
        match apply(ctx, &r, false).await {
            Ok(Outcome::Done(pk)) => {
                ctx.store.inbox_done(item.id, Some(pk)).await?;
                report.returns += 1;
            }
            Ok(Outcome::NotYet | Outcome::Skipped) => {
                ctx.store.inbox_done(item.id, None).await?;
            }
            Ok(Outcome::Held(reason, so)) => {
                let place = hold_row(
                    ctx,
                    item.id,
                    &r.external_id,
                    &reason,
                    &item.payload,
                    so.map(|id| ("sale.order", id)),
                )
                .await?;
                // With the addon the quarantine is its own record: the order's chatter gets a
                // pointer too, so that whoever opens the order sees it (once).
                let on_order =
                    matches!(&place, Some((m, id)) if m == "sale.order" && Some(*id) == so);
                if let Some(so) = so.filter(|_| !on_order) {
                    ctx.note_once(
                        &format!("note:return-held:{}:{}", ctx.id(), r.external_id),
                        "sale.order",
                        so,
                        &format!(
                            "odoo-channels held return {} of channel {}: {reason}",
                            r.external_id,
                            ctx.id()
                        ),
                    )
                    .await?;
                }
                report.returns_held += 1;
            }
            Err(e) => {
                // Left in the inbox: the next round re-checks every step by its marker.
                report.errors.push(format!("return {}: {e}", r.external_id));
            }
        }
    }
    Ok(())
}

/// Returns a person released from quarantine in Odoo: processed without the window check.
async fn released(ctx: &Ctx<'_>, report: &mut OutboundReport) -> Result<(), OutboundError> {
    for q in ctx
        .store
        .quarantined(Some(ctx.id()), QuarantineState::Released)
        .await?
    {
        if q.kind != KIND {
            continue;
        }
        let Ok(r) = serde_json::from_str::<Return>(&q.payload) else {
            continue;
        };
        if matches!(
            ctx.store.peek(&main_key(ctx, &r.external_id)).await?,
            Some(Begin::Done { .. })
        ) {
            continue;
        }
        match apply(ctx, &r, true).await {
            Ok(Outcome::Done(_)) => report.returns += 1,
            Ok(_) => {}
            Err(e) => report
                .errors
                .push(format!("released return {}: {e}", r.external_id)),
        }
    }
    Ok(())
}

fn main_key(ctx: &Ctx<'_>, rid: &str) -> String {
    format!("return:{}:{rid}", ctx.id())
}

fn marker(ctx: &Ctx<'_>, rid: &str) -> String {
    format!("odoo-channels:{}:return:{rid}", ctx.id())
}

/// One returned quantity, resolved to Odoo.
#[derive(Debug, Clone)]
struct Unit {
    sol: i64,
    product: i64,
    sku: String,
    qty: Decimal,
    reason: Option<String>,
}

async fn apply(ctx: &Ctx<'_>, r: &Return, released: bool) -> Result<Outcome, OutboundError> {
    let key = main_key(ctx, &r.external_id);
    if matches!(ctx.store.peek(&key).await?, Some(Begin::Done { .. })) {
        return Ok(Outcome::Skipped);
    }
    if !matches!(r.status, ReturnStatus::Received | ReturnStatus::Refunded) {
        return Ok(Outcome::NotYet);
    }
    let Some(so) = ctx.find_order(&r.order_external_id).await? else {
        return Ok(Outcome::Held(
            format!(
                "return {} is for order {}, which is not in Odoo",
                r.external_id, r.order_external_id
            ),
            None,
        ));
    };
    let so_id = row_id(&so);
    let so_name = row_str(&so, "name").unwrap_or("?").to_owned();
    let order = match ctx.channel_order(&r.order_external_id).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Ok(Outcome::Held(
                format!(
                    "order {} is not on the channel any more",
                    r.order_external_id
                ),
                Some(so_id),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if matches!(order.fulfilled_by, FulfilledBy::Marketplace { .. }) {
        return Ok(Outcome::Skipped); // The goods go back to the marketplace's warehouse.
    }
    let map = line_map(ctx, so_id, &order).await?;

    // The delivered moves of the order, newest first: what can come back from where.
    let qty_field = ctx.odoo.map().move_done_qty_field;
    let moves = ctx
        .odoo
        .search_read(
            "stock.move",
            &Domain::leaf("sale_line_id.order_id", "=", so_id)
                .and(Domain::leaf("state", "=", "done"))
                .and(Domain::leaf(
                    "picking_id.picking_type_code",
                    "=",
                    "outgoing",
                ))
                .and(Domain::leaf("picking_id.return_id", "=", false)),
            &[
                "picking_id",
                "sale_line_id",
                "product_id",
                qty_field,
                "date",
            ],
            &SearchOpts::default()
                .order("date desc, id desc")
                .load_none(),
        )
        .await?;
    if moves.is_empty() {
        return Ok(Outcome::Held(
            format!(
                "return {}: nothing of order {so_name} was delivered from Odoo",
                r.external_id
            ),
            Some(so_id),
        ));
    }
    // Window: from the last delivery of the order.
    let shipped_at = latest_delivery(ctx, so_id).await?;
    let window = ctx.rules().return_window_days;
    if !released
        && window > 0
        && let Some(t) = shipped_at
        && r.requested_at > t + SignedDuration::from_hours(24 * i64::from(window))
    {
        let days = r.requested_at.duration_since(t).as_hours() / 24;
        return Ok(Outcome::Held(
            format!(
                "requested {days} days after shipping, outside channel {}'s {window}-day return window: release it in Channels → Quarantine to accept it anyway",
                ctx.id()
            ),
            Some(so_id),
        ));
    }
    // Returned lines → sale order lines.
    let mut units: Vec<Unit> = Vec::new();
    for (i, l) in r.lines.iter().enumerate() {
        match resolve(ctx, &map, l) {
            Some(u) if l.quantity > Decimal::ZERO => units.push(u),
            Some(_) => {}
            None => {
                return Ok(Outcome::Held(
                    format!(
                        "return {} line {} ({}) is not a line of order {so_name}",
                        r.external_id,
                        i + 1,
                        l.sku
                            .as_deref()
                            .or(l.external_line_id.as_deref())
                            .unwrap_or("no SKU")
                    ),
                    Some(so_id),
                ));
            }
        }
    }
    if units.is_empty() {
        return Ok(Outcome::Skipped);
    }
    // Allocate each line's units over the deliveries that carried them, newest first, less
    // what earlier returns already brought back (never this return's own receipts).
    let mark = marker(ctx, &r.external_id);
    let returned = already_returned(ctx, so_id, &mark).await?;
    let mut per_picking: BTreeMap<i64, Vec<(i64, i64, Decimal)>> = BTreeMap::new(); // picking → (move, product, qty)
    for u in &units {
        let mut left = u.qty;
        for m in &moves {
            if left <= Decimal::ZERO {
                break;
            }
            if row_m2o(m, "sale_line_id").map(|x| x.0) != Some(u.sol) {
                continue;
            }
            let mv = row_id(m);
            let avail = row_qty(m, qty_field) - returned.get(&mv).copied().unwrap_or_default();
            if avail <= Decimal::ZERO {
                continue;
            }
            let take = avail.min(left);
            let pk = row_m2o(m, "picking_id").map(|x| x.0).unwrap_or(0);
            per_picking
                .entry(pk)
                .or_default()
                .push((mv, u.product, take));
            left -= take;
        }
        if left > Decimal::ZERO {
            return Ok(Outcome::Held(
                format!(
                    "return {} brings back {} × {} but only {} left Odoo's warehouse unreturned",
                    r.external_id,
                    u.qty.normalize(),
                    u.sku,
                    (u.qty - left).normalize()
                ),
                Some(so_id),
            ));
        }
    }

    ctx.store.begin(&key).await?;
    // 2. Return receipts, validated.
    let mut receipts: Vec<(i64, String, i64)> = Vec::new(); // (picking, name, destination)
    for (delivery, lines) in &per_picking {
        let (pk, name, dest) = return_receipt(ctx, r, *delivery, lines, &mark).await?;
        receipts.push((pk, name, dest));
    }
    // 3. Scrap what the policy or the reason says.
    let mut scrapped: Vec<String> = Vec::new();
    let dest = receipts.first().map(|x| x.2).unwrap_or(0);
    let first_receipt = receipts.first().map(|x| x.0).unwrap_or(0);
    let mut to_scrap: BTreeMap<i64, Decimal> = BTreeMap::new();
    for u in &units {
        if ctx.rules().scraps(u.reason.as_deref()) {
            *to_scrap.entry(u.product).or_default() += u.qty;
        }
    }
    for (product, qty) in &to_scrap {
        scrapped.push(scrap(ctx, *product, *qty, dest, first_receipt, &mark).await?);
    }
    // 4. Money.
    let money = credit(ctx, r, so_id, &units, &mark).await?;
    // The note, then the key: a crash between them repeats only the note.
    let mut text = format!(
        "Return {} from channel {} (order {}): {} received back ({}).",
        r.external_id,
        ctx.id(),
        r.order_external_id,
        units
            .iter()
            .map(|u| format!(
                "{} × {}{}",
                u.qty.normalize(),
                u.sku,
                u.reason
                    .as_deref()
                    .map(|x| format!(" [{x}]"))
                    .unwrap_or_default()
            ))
            .collect::<Vec<_>>()
            .join(", "),
        receipts
            .iter()
            .map(|x| x.1.clone())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if scrapped.is_empty() {
        text.push_str(" Restocked.");
    } else {
        text.push_str(&format!(" Scrapped ({}).", scrapped.join(", ")));
    }
    text.push(' ');
    text.push_str(&money);
    if let Some(refund) = &r.refund {
        text.push_str(&format!(
            " The marketplace refunded {} {}.",
            refund.amount, refund.currency
        ));
    }
    ctx.log.note("sale.order", so_id, &text).await;
    ctx.store.finish(&key, &first_receipt.to_string()).await?;
    ctx.emit("return", &r.external_id, format!("{so_name}: {text}"));
    Ok(Outcome::Done(first_receipt))
}

fn resolve(ctx: &Ctx<'_>, map: &super::fulfilment::LineMap, l: &ReturnLine) -> Option<Unit> {
    let sol = map
        .sol_for(l.external_line_id.as_deref(), None)
        .or_else(|| map.sol_for(None, l.sku.as_deref()))?;
    let product = *map.product.get(&sol)?;
    let sku = map
        .by_sol
        .get(&sol)
        .map(|x| x.1.clone())
        .or_else(|| ctx.catalog.product(product).map(|p| p.sku.clone()))
        .unwrap_or_default();
    Some(Unit {
        sol,
        product,
        sku,
        qty: l.quantity,
        reason: l.reason.clone(),
    })
}

async fn latest_delivery(ctx: &Ctx<'_>, so_id: i64) -> Result<Option<Timestamp>, OutboundError> {
    let rows = ctx
        .odoo
        .search_read(
            "stock.picking",
            &Domain::leaf("sale_id", "=", so_id)
                .and(Domain::leaf("state", "=", "done"))
                .and(Domain::leaf("picking_type_code", "=", "outgoing")),
            &["date_done"],
            &SearchOpts::default().order("date_done desc").limit(1),
        )
        .await?;
    Ok(rows
        .first()
        .and_then(|r| row_str(r, "date_done"))
        .and_then(odoo_wire::datetime::parse_datetime))
}

/// Units already returned per delivered move (returns not cancelled), except by receipts
/// carrying `mark` (this return's own, from an interrupted run).
async fn already_returned(
    ctx: &Ctx<'_>,
    so_id: i64,
    mark: &str,
) -> Result<BTreeMap<i64, Decimal>, OutboundError> {
    let qty_field = ctx.odoo.map().move_done_qty_field;
    let rows = ctx
        .odoo
        .search_read(
            "stock.move",
            &Domain::leaf("origin_returned_move_id.sale_line_id.order_id", "=", so_id)
                .and(Domain::leaf("state", "!=", "cancel"))
                .and(Domain::leaf("picking_id.origin", "not ilike", mark)),
            &["origin_returned_move_id", "product_uom_qty", qty_field],
            &SearchOpts::default().load_none(),
        )
        .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        if let Some((orig, _)) = row_m2o(&r, "origin_returned_move_id") {
            *out.entry(orig).or_default() += row_qty(&r, "product_uom_qty");
        }
    }
    Ok(out)
}

/// The return receipt of `delivery` for this return: found by its marker, else made with the
/// wizard; validated either way. (picking id, name, destination location).
async fn return_receipt(
    ctx: &Ctx<'_>,
    r: &Return,
    delivery: i64,
    lines: &[(i64, i64, Decimal)],
    mark: &str,
) -> Result<(i64, String, i64), OutboundError> {
    let find = || async {
        ctx.odoo
            .search(
                "stock.picking",
                &Domain::leaf("return_id", "=", delivery)
                    .and(Domain::leaf("origin", "ilike", mark))
                    .and(Domain::leaf("state", "!=", "cancel")),
                &SearchOpts::default().limit(1),
            )
            .await
    };
    let pk = match find().await?.first().copied() {
        Some(pk) => pk,
        None => {
            let mut ctxv = Map::new();
            ctxv.insert("active_id".into(), json!(delivery));
            ctxv.insert("active_ids".into(), json!([delivery]));
            ctxv.insert("active_model".into(), json!("stock.picking"));
            let cmds: Vec<Value> = lines
                .iter()
                .map(|(mv, product, q)| {
                    json!([0, 0, {"product_id": product, "move_id": mv,
                                  "quantity": q.to_f64().unwrap_or_default(), "to_refund": true}])
                })
                .collect();
            let mut vals = Map::new();
            vals.insert("picking_id".into(), json!(delivery));
            vals.insert("product_return_moves".into(), Value::Array(cmds));
            let wiz = ctx
                .odoo
                .create("stock.return.picking", vals, Some(&ctxv))
                .await?;
            let action = ctx
                .odoo
                .call(
                    "stock.return.picking",
                    "action_create_returns",
                    Some(&[wiz]),
                    Map::new(),
                    Some(&ctxv),
                    CallKind::Write,
                )
                .await;
            let pk = match action {
                Ok(a) => a.get("res_id").and_then(Value::as_i64),
                Err(e) if e.is_ambiguous() => None,
                Err(e) => return Err(e.into()),
            };
            let pk = match pk {
                Some(pk) => pk,
                // The answer was lost: the newest unmarked return of this delivery is ours.
                None => ctx
                    .odoo
                    .search(
                        "stock.picking",
                        &Domain::leaf("return_id", "=", delivery).and(Domain::leaf(
                            "origin",
                            "not ilike",
                            "odoo-channels:",
                        )),
                        &SearchOpts::default().order("id desc").limit(1),
                    )
                    .await?
                    .first()
                    .copied()
                    .ok_or_else(|| {
                        OutboundError::Channel(ChannelError::Transient {
                            message: "the return receipt was not created".into(),
                        })
                    })?,
            };
            let origin = ctx
                .odoo
                .read("stock.picking", &[pk], &["origin"], None)
                .await?
                .first()
                .and_then(|x| row_str(x, "origin").map(str::to_owned))
                .unwrap_or_default();
            let mut v = Map::new();
            v.insert(
                "origin".into(),
                json!(format!("{origin} ({mark}: {})", r.external_id)),
            );
            ctx.odoo.write("stock.picking", &[pk], v, None).await?;
            pk
        }
    };
    let row = ctx
        .odoo
        .read(
            "stock.picking",
            &[pk],
            &["name", "state", "location_dest_id", "move_ids"],
            None,
        )
        .await?
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    let name = row_str(&row, "name").unwrap_or("?").to_owned();
    let dest = row_m2o(&row, "location_dest_id").map(|x| x.0).unwrap_or(0);
    if row_str(&row, "state") != Some("done") {
        // Receive what the marketplace says came back: every move done in full.
        let qty_field = ctx.odoo.map().move_done_qty_field;
        let moves = ctx
            .odoo
            .search_read(
                "stock.move",
                &Domain::leaf("picking_id", "=", pk).and(Domain::leaf("state", "!=", "cancel")),
                &["product_uom_qty"],
                &SearchOpts::default(),
            )
            .await?;
        for m in &moves {
            let mut v = Map::new();
            v.insert(
                qty_field.into(),
                json!(row_qty(m, "product_uom_qty").to_f64()),
            );
            if qty_field == "quantity" {
                v.insert("picked".into(), json!(true));
            }
            ctx.odoo.write("stock.move", &[row_id(m)], v, None).await?;
        }
        let mut c = Map::new();
        c.insert("skip_sms".into(), json!(true));
        c.insert("skip_backorder".into(), json!(true));
        c.insert("picking_ids_not_to_backorder".into(), json!([pk]));
        let v = ctx
            .odoo
            .call(
                "stock.picking",
                "button_validate",
                Some(&[pk]),
                Map::new(),
                Some(&c),
                CallKind::Write,
            )
            .await;
        if let Err(e) = v
            && !e.is_ambiguous()
        {
            return Err(e.into());
        }
    }
    Ok((pk, name, dest))
}

/// A validated scrap of `qty` of `product` from `location`, found by its marker first.
async fn scrap(
    ctx: &Ctx<'_>,
    product: i64,
    qty: Decimal,
    location: i64,
    receipt: i64,
    mark: &str,
) -> Result<String, OutboundError> {
    let found = ctx
        .odoo
        .search_read(
            "stock.scrap",
            &Domain::leaf("origin", "=", mark).and(Domain::leaf("product_id", "=", product)),
            &["name", "state"],
            &SearchOpts::default().limit(1),
        )
        .await?;
    let (id, state) = match found.first() {
        Some(s) => (row_id(s), row_str(s, "state").unwrap_or("draft").to_owned()),
        None => {
            let mut v = Map::new();
            v.insert("product_id".into(), json!(product));
            v.insert("scrap_qty".into(), json!(qty.to_f64()));
            if location > 0 {
                v.insert("location_id".into(), json!(location));
            }
            if receipt > 0 {
                v.insert("picking_id".into(), json!(receipt));
            }
            v.insert("origin".into(), json!(mark));
            (
                ctx.odoo.create("stock.scrap", v, None).await?,
                "draft".into(),
            )
        }
    };
    if state != "done" {
        let res = ctx
            .odoo
            .call(
                "stock.scrap",
                "action_validate",
                Some(&[id]),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await?;
        if res.get("res_model").is_some() {
            return Err(OutboundError::Channel(ChannelError::Rejected {
                message: format!(
                    "Odoo could not scrap {qty} of product {product}: not enough stock where the return was received"
                ),
                code: None,
            }));
        }
    }
    Ok(ctx
        .odoo
        .read("stock.scrap", &[id], &["name"], None)
        .await?
        .first()
        .and_then(|x| row_str(x, "name").map(str::to_owned))
        .unwrap_or_else(|| format!("scrap #{id}")))
}

/// The money side: a credit note against the posted invoice(s), and ordered quantities of
/// ordered-quantity lines lowered. A sentence for the note.
async fn credit(
    ctx: &Ctx<'_>,
    r: &Return,
    so_id: i64,
    units: &[Unit],
    mark: &str,
) -> Result<String, OutboundError> {
    let sols: Vec<i64> = units.iter().map(|u| u.sol).collect();
    // Posted customer invoices carrying the returned lines, newest first.
    let inv_lines = ctx
        .odoo
        .search_read(
            "account.move.line",
            &Domain::leaf("sale_line_ids", "in", sols.clone())
                .and(Domain::leaf("move_id.move_type", "=", "out_invoice"))
                .and(Domain::leaf("move_id.state", "=", "posted")),
            &["move_id", "sale_line_ids"],
            &SearchOpts::default().order("id desc").load_none(),
        )
        .await?;
    let mut invoice_of: BTreeMap<i64, i64> = BTreeMap::new(); // sol → invoice
    for l in &inv_lines {
        let Some((inv, _)) = row_m2o(l, "move_id") else {
            continue;
        };
        for s in l
            .get("sale_line_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
        {
            invoice_of.entry(s).or_insert(inv);
        }
    }
    let mut sentence = Vec::new();
    let mut by_invoice: BTreeMap<i64, Vec<&Unit>> = BTreeMap::new();
    for u in units {
        if let Some(inv) = invoice_of.get(&u.sol) {
            by_invoice.entry(*inv).or_default().push(u);
        }
    }
    for (inv, us) in &by_invoice {
        sentence.push(credit_note(ctx, r, *inv, us, mark).await?);
    }
    if by_invoice.is_empty() {
        sentence.push(
            "Not invoiced yet: no credit note; the invoice will bill only what the buyer kept."
                .to_owned(),
        );
    }
    // Ordered-quantity lines: lower the ordered quantity by the returned units, once.
    let policies = ctx
        .odoo
        .read(
            "product.product",
            &units.iter().map(|u| u.product).collect::<Vec<_>>(),
            &["invoice_policy"],
            None,
        )
        .await?;
    let mut lowered = Vec::new();
    for u in units {
        let policy = policies
            .iter()
            .find(|p| row_id(p) == u.product)
            .and_then(|p| row_str(p, "invoice_policy"))
            .unwrap_or("order");
        if policy != "order" {
            continue;
        }
        let key = format!("return:{}:{}:lower:{}", ctx.id(), r.external_id, u.sol);
        if matches!(ctx.store.peek(&key).await?, Some(Begin::Done { .. })) {
            continue;
        }
        // The quantity before, recorded first so that a retry writes the same absolute value.
        let from_key = format!("{key}:from");
        let before = match ctx.store.peek(&from_key).await? {
            Some(Begin::Done { remote_id }) => remote_id.parse::<Decimal>().unwrap_or_default(),
            _ => {
                let row = ctx
                    .odoo
                    .read("sale.order.line", &[u.sol], &["product_uom_qty"], None)
                    .await?;
                let q = row
                    .first()
                    .map(|x| row_qty(x, "product_uom_qty"))
                    .unwrap_or_default();
                ctx.store.finish(&from_key, &q.to_string()).await?;
                q
            }
        };
        let target = (before - u.qty).max(Decimal::ZERO);
        let mut v = Map::new();
        v.insert("product_uom_qty".into(), json!(target.to_f64()));
        ctx.odoo.write("sale.order.line", &[u.sol], v, None).await?;
        ctx.store.finish(&key, &target.to_string()).await?;
        lowered.push(format!(
            "{} {} → {}",
            u.sku,
            before.normalize(),
            target.normalize()
        ));
    }
    if !lowered.is_empty() {
        sentence.push(format!(
            "Ordered quantity lowered to what the buyer kept ({}).",
            lowered.join(", ")
        ));
    }
    let _ = so_id;
    Ok(sentence.join(" "))
}

/// One credit note on `invoice` for `units`, through the reversal wizard; found by its marker
/// (`ref` carries the wizard's reason) after an interruption.
async fn credit_note(
    ctx: &Ctx<'_>,
    r: &Return,
    invoice: i64,
    units: &[&Unit],
    mark: &str,
) -> Result<String, OutboundError> {
    let reason = format!("{mark} ({} return {})", ctx.id(), r.external_id);
    let find = || async {
        ctx.odoo
            .search_read(
                "account.move",
                &Domain::leaf("move_type", "=", "out_refund")
                    .and(Domain::leaf("reversed_entry_id", "=", invoice))
                    .and(Domain::leaf("ref", "ilike", mark))
                    .and(Domain::leaf("state", "!=", "cancel")),
                &["name", "state", "amount_total"],
                &SearchOpts::default().limit(1),
            )
            .await
    };
    let mut found = find().await?.into_iter().next();
    if found.is_none() {
        let mut c = Map::new();
        c.insert("active_model".into(), json!("account.move"));
        c.insert("active_ids".into(), json!([invoice]));
        let mut v = Map::new();
        v.insert("reason".into(), json!(reason));
        let wiz = ctx
            .odoo
            .create("account.move.reversal", v, Some(&c))
            .await?;
        match ctx
            .odoo
            .call(
                "account.move.reversal",
                "reverse_moves",
                Some(&[wiz]),
                Map::new(),
                Some(&c),
                CallKind::Write,
            )
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_ambiguous() => {}
            Err(e) => return Err(e.into()),
        }
        found = find().await?.into_iter().next();
    }
    let Some(refund) = found else {
        return Err(OutboundError::Channel(ChannelError::Transient {
            message: format!("the credit note on invoice {invoice} was not created"),
        }));
    };
    let refund_id = row_id(&refund);
    if row_str(&refund, "state") == Some("draft") {
        // Cut the copy of the invoice down to the returned units.
        let lines = ctx
            .odoo
            .search_read(
                "account.move.line",
                &Domain::leaf("move_id", "=", refund_id).and(Domain::leaf(
                    "display_type",
                    "=",
                    "product",
                )),
                &["sale_line_ids", "quantity"],
                &SearchOpts::default().order("id asc").load_none(),
            )
            .await?;
        let mut want: BTreeMap<i64, Decimal> = BTreeMap::new();
        for u in units {
            *want.entry(u.sol).or_default() += u.qty;
        }
        let mut cmds = Vec::new();
        for l in &lines {
            let sol = l
                .get("sale_line_ids")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_i64);
            match sol.and_then(|s| want.get_mut(&s)) {
                Some(w) if *w > Decimal::ZERO => {
                    let q = row_qty(l, "quantity").min(*w);
                    *w -= q;
                    cmds.push(json!([1, row_id(l), {"quantity": q.to_f64()}]));
                }
                _ => cmds.push(json!([2, row_id(l)])),
            }
        }
        let mut v = Map::new();
        v.insert("invoice_line_ids".into(), Value::Array(cmds));
        ctx.odoo
            .write("account.move", &[refund_id], v, None)
            .await?;
        let posted = ctx
            .odoo
            .call(
                "account.move",
                "action_post",
                Some(&[refund_id]),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await;
        if let Err(e) = posted
            && !e.is_ambiguous()
        {
            return Err(e.into());
        }
    }
    let row = ctx
        .odoo
        .read(
            "account.move",
            &[refund_id],
            &["name", "amount_total", "state"],
            None,
        )
        .await?
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    Ok(format!(
        "Credit note {} ({}) for {}.",
        row_str(&row, "name").unwrap_or("?"),
        row_str(&row, "state").unwrap_or("?"),
        row_qty(&row, "amount_total")
    ))
}
