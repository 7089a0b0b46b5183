//! Cancellations, both ways.
//!
//! **Marketplace → Odoo** ([`from_channel`]). A cancellation arrives as an order payload
//! whose status became `cancelled` (a pull, or a pull woken by `OrderCancelled`): the order
//! job stages it in the inbox like any other version of the order, and this step follows the
//! inbox in arrival order (without touching it: the importer owns its states). Once the order
//! is in Odoo:
//! * nothing shipped → `sale.order.action_cancel` (Odoo cancels the delivery and releases the
//!   reservation; in 19 there is no wizard), and a note says why;
//! * something shipped → the order is left alone and a note in its chatter tells a person to
//!   stop or recall the parcel (an Odoo order cannot be cancelled once goods left);
//! * lines the marketplace cancelled on an open order (`OrderLine::quantity_cancelled`) → the
//!   sale line's quantity is lowered by what is still to deliver (Odoo lowers the delivery),
//!   else the same alert.
//!
//! Each is keyed (`cancel-in:<channel>:<order>[:<line>:<qty>]`) so it happens once.
//!
//! **Odoo → marketplace** ([`to_channel`]). A channel order a person moved to `cancel` in Odoo
//! is cancelled on the channel with a reason (`[channels.fulfilment].cancel_reason`, or the
//! reason mapped from one of the order's sales tags by `cancel_reasons`), exactly once
//! (`cancel-out:<channel>:<order>`): skipped when the cancellation came from the channel
//! itself, when the channel already shows it cancelled, or when it shows it shipped (a note
//! says so). A channel without a cancellation API (`Unsupported`) gets a note telling the
//! person where to cancel instead. The echo test looks at how the inbound step settled: an
//! inbound cancellation that found the Odoo order already cancelled (`already`) is the echo of
//! ours, not the reason for it.
//!
//! When the channel order carries a buyer's cancellation request
//! (`Order::buyer_cancel_request`; the importer asked a person about it), the reason sent is
//! `BuyerRequest` with the buyer's words, whatever the tags or the default say.
//!
//! A channel that takes the cancellation for later processing (Amazon's order-acknowledgement
//! feed answers `CancelAck::pending`) keeps the key open and its handle, with the reason sent,
//! under `cancel-out:<channel>:<order>:pending`. Each later round re-reads the order first (shown
//! cancelled → done), then polls the handle: still processing → wait; accepted → done;
//! refused or unreadable → a note for a person. Only a feed the channel dropped before
//! processing it is sent again, and only after the re-read showed the order still open.

use channels_core::{
    CancelAck, CancelInitiator, CancelReason, Cancellation, ChannelError, FulfilledBy, Operation,
    Order, OrderStatus, PendingHandle, PushOutcome,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::fulfilment::{
    Ctx, OdooCursor, OutboundError, OutboundReport, line_map, row_id, row_qty, row_str,
};
use crate::odoo::{CallKind, Domain, OdooError, SearchOpts};
use crate::store::{Begin, InboxState};

const INBOX_BATCH: u32 = 200;

/// Follow the channel's staged order payloads and apply the cancellations among them.
pub(crate) async fn from_channel(
    ctx: &Ctx<'_>,
    report: &mut OutboundReport,
) -> Result<(), OutboundError> {
    let stream = "inbox:cancellations";
    let mut after = ctx
        .store
        .get_cursor(ctx.id(), stream)
        .await?
        .and_then(|c| c.value.parse::<i64>().ok())
        .unwrap_or(0);
    loop {
        let rows = ctx
            .store
            .inbox_since(ctx.id(), "order", after, INBOX_BATCH)
            .await?;
        let n = rows.len();
        let mut stop = false;
        for row in rows {
            if row.state == InboxState::New {
                // Not imported yet: wait for the importer, in order.
                stop = true;
                break;
            }
            if row.state == InboxState::Done
                && let Ok(order) = serde_json::from_str::<Order>(&row.payload)
            {
                let r = apply(ctx, &order, report).await;
                if let Err(e) = r {
                    ctx.store
                        .set_cursor(ctx.id(), stream, &after.to_string())
                        .await?;
                    return Err(e);
                }
            }
            after = row.id;
        }
        ctx.store
            .set_cursor(ctx.id(), stream, &after.to_string())
            .await?;
        if stop || n < INBOX_BATCH as usize {
            return Ok(());
        }
    }
}

/// The sale order's delivery state: (any delivered, lines as (id, ordered, delivered)).
async fn delivered(
    ctx: &Ctx<'_>,
    so_id: i64,
) -> Result<(bool, Vec<(i64, Decimal, Decimal)>), OdooError> {
    let uom_qty = "product_uom_qty";
    let lines = ctx
        .odoo
        .search_read(
            "sale.order.line",
            &Domain::leaf("order_id", "=", so_id),
            &[uom_qty, "qty_delivered"],
            &SearchOpts::default().load_none(),
        )
        .await?;
    let lines: Vec<(i64, Decimal, Decimal)> = lines
        .iter()
        .map(|l| (row_id(l), row_qty(l, uom_qty), row_qty(l, "qty_delivered")))
        .collect();
    let done_out = ctx
        .odoo
        .search_count(
            "stock.picking",
            &Domain::leaf("sale_id", "=", so_id)
                .and(Domain::leaf("state", "=", "done"))
                .and(Domain::leaf("picking_type_code", "=", "outgoing")),
            None,
        )
        .await?;
    let any = done_out > 0 || lines.iter().any(|(_, _, d)| *d > Decimal::ZERO);
    Ok((any, lines))
}

async fn apply(
    ctx: &Ctx<'_>,
    order: &Order,
    report: &mut OutboundReport,
) -> Result<(), OutboundError> {
    let ext = order.external_id.as_str();
    let whole = order.status == OrderStatus::Cancelled;
    let lines_cancelled: Vec<_> = order
        .lines
        .iter()
        .filter(|l| l.quantity_cancelled > Decimal::ZERO)
        .collect();
    if !whole && lines_cancelled.is_empty() {
        return Ok(());
    }
    if matches!(order.fulfilled_by, FulfilledBy::Marketplace { .. }) && !whole {
        return Ok(());
    }
    let Some(so) = ctx.find_order(ext).await? else {
        return Ok(()); // Never reached Odoo (quarantined, or never imported): nothing to undo.
    };
    let so_id = row_id(&so);
    let so_name = row_str(&so, "name").unwrap_or("?").to_owned();
    if whole {
        let key = format!("cancel-in:{}:{ext}", ctx.id());
        if matches!(ctx.store.peek(&key).await?, Some(Begin::Done { .. })) {
            return Ok(());
        }
        if row_str(&so, "state") == Some("cancel") {
            ctx.store.finish(&key, "already").await?;
            return Ok(());
        }
        let (shipped, _) = delivered(ctx, so_id).await?;
        if shipped {
            let text = format!(
                "ALERT: channel {} cancelled order {ext}{}, but Odoo already shipped goods for it, so {so_name} was not cancelled. Stop or recall the parcel, or arrange a return with the buyer, then settle the order here.",
                ctx.id(),
                reason_suffix(order)
            );
            ctx.log.note("sale.order", so_id, &text).await;
            ctx.store.finish(&key, "alert:shipped").await?;
            report.cancel_alerts += 1;
            ctx.emit(
                "alert",
                ext,
                format!("{so_name}: cancelled on the channel after shipping"),
            );
            return Ok(());
        }
        ctx.store.begin(&key).await?;
        let res = ctx
            .odoo
            .call(
                "sale.order",
                "action_cancel",
                Some(&[so_id]),
                Map::new(),
                None,
                CallKind::Write,
            )
            .await;
        match res {
            Ok(_) => {}
            Err(e) if e.is_ambiguous() || e.is_retryable() => {
                // Re-check before anything else: did it commit?
                let st = ctx.find_order(ext).await?;
                if st.as_ref().and_then(|s| row_str(s, "state")) != Some("cancel") {
                    if e.is_retryable() {
                        ctx.store.forget(&key).await?;
                    }
                    return Err(OutboundError::Odoo(e));
                }
            }
            Err(e) => {
                let text = format!(
                    "ALERT: channel {} cancelled order {ext}{}, but Odoo refused to cancel {so_name}: {e}. Cancel it by hand.",
                    ctx.id(),
                    reason_suffix(order)
                );
                ctx.log.note("sale.order", so_id, &text).await;
                ctx.store.finish(&key, "alert:refused").await?;
                report.cancel_alerts += 1;
                ctx.emit("alert", ext, format!("{so_name}: {e}"));
                return Ok(());
            }
        }
        ctx.store.finish(&key, &so_id.to_string()).await?;
        ctx.log
            .note(
                "sale.order",
                so_id,
                &format!(
                    "Cancelled by odoo-channels: channel {} cancelled order {ext}{}. Nothing had shipped; the delivery is cancelled and its reservation released.",
                    ctx.id(),
                    reason_suffix(order)
                ),
            )
            .await;
        report.cancelled_in_odoo += 1;
        ctx.emit("cancelled_in_odoo", ext, so_name);
        return Ok(());
    }
    // Lines cancelled on an order that stays open.
    if row_str(&so, "state") != Some("sale") {
        return Ok(());
    }
    let map = line_map(ctx, so_id, order).await?;
    let (_, lines) = delivered(ctx, so_id).await?;
    for l in lines_cancelled {
        let key = format!(
            "cancel-in:{}:{ext}:{}:{}",
            ctx.id(),
            l.external_line_id,
            l.quantity_cancelled.normalize()
        );
        if matches!(ctx.store.peek(&key).await?, Some(Begin::Done { .. })) {
            continue;
        }
        let Some(sol) = map.sol_for(Some(&l.external_line_id), l.sku.as_deref()) else {
            continue;
        };
        let Some((_, ordered, done)) = lines.iter().find(|(id, _, _)| *id == sol).copied() else {
            continue;
        };
        // The marketplace's net quantity is what Odoo should still deliver in all.
        let target = (l.quantity - l.quantity_cancelled).max(Decimal::ZERO);
        if target >= ordered {
            ctx.store.finish(&key, "already").await?;
            continue;
        }
        let sku = l.sku.clone().unwrap_or_else(|| l.external_line_id.clone());
        if target < done {
            let text = format!(
                "ALERT: channel {} cancelled {} × {sku} of order {ext}, but Odoo already shipped {done} of {ordered}. Recall the parcel or arrange a return.",
                ctx.id(),
                l.quantity_cancelled.normalize()
            );
            ctx.log.note("sale.order", so_id, &text).await;
            ctx.store.finish(&key, "alert:shipped").await?;
            report.cancel_alerts += 1;
            ctx.emit(
                "alert",
                ext,
                format!("{so_name}: line {sku} cancelled after shipping"),
            );
            continue;
        }
        ctx.store.begin(&key).await?;
        let mut vals = Map::new();
        vals.insert(
            "product_uom_qty".into(),
            json!(target.to_f64().unwrap_or_default()),
        );
        // Absolute quantity: writing it again after an unknown outcome is harmless.
        ctx.odoo
            .write("sale.order.line", &[sol], vals, None)
            .await?;
        ctx.store.finish(&key, &sol.to_string()).await?;
        ctx.log
            .note(
                "sale.order",
                so_id,
                &format!(
                    "Channel {} cancelled {} × {sku} of order {ext}: the line now asks for {} (the delivery follows).",
                    ctx.id(),
                    l.quantity_cancelled.normalize(),
                    target.normalize()
                ),
            )
            .await;
        report.cancelled_in_odoo += 1;
        ctx.emit(
            "cancelled_in_odoo",
            ext,
            format!("{so_name}: {sku} −{}", l.quantity_cancelled.normalize()),
        );
    }
    Ok(())
}

fn reason_suffix(order: &Order) -> String {
    order
        .raw
        .get("cancel_reason")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty())
        .map(|r| format!(" (reason given: {r})"))
        .unwrap_or_default()
}

/// Orders a person cancelled in Odoo → cancelled on the channel, once, with a reason.
pub(crate) async fn to_channel(
    ctx: &Ctx<'_>,
    report: &mut OutboundReport,
) -> Result<(), OutboundError> {
    let domain = Domain::leaf("state", "=", "cancel").and(ctx.order_domain("").await);
    let mut fields = vec!["name", "tag_ids"];
    fields.extend(ctx.order_ref_fields());
    let mut cursor = OdooCursor::open(ctx, "odoo:cancelled-orders").await?;
    let mut fatal = None;
    while let Some(rows) = cursor
        .next_page(ctx, "sale.order", &domain, &fields)
        .await?
    {
        for row in rows {
            if fatal.is_some() {
                cursor.settle(&row, false);
                continue;
            }
            match cancel_one(ctx, &row, report).await {
                Ok(settled) => cursor.settle(&row, settled),
                Err(e) => {
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

/// `Ok(false)`: try again next round.
async fn cancel_one(
    ctx: &Ctx<'_>,
    so: &Value,
    report: &mut OutboundReport,
) -> Result<bool, OutboundError> {
    let Some(ext) = ctx.external_id_of(so) else {
        return Ok(true);
    };
    let so_id = row_id(so);
    let so_name = row_str(so, "name").unwrap_or("?").to_owned();
    let key = format!("cancel-out:{}:{ext}", ctx.id());
    let begun = ctx.store.peek(&key).await?;
    if matches!(begun, Some(Begin::Done { .. })) {
        return Ok(true);
    }
    // The channel cancelled it first: this Odoo cancel is the echo, not a request. An inbound
    // cancellation that found the order already cancelled here (`already`) proves nothing:
    // it may be the echo of ours.
    if let Some(Begin::Done { remote_id }) = ctx
        .store
        .peek(&format!("cancel-in:{}:{ext}", ctx.id()))
        .await?
        && remote_id != "already"
    {
        ctx.store.finish(&key, "from-channel").await?;
        return Ok(true);
    }
    let key_r = key.as_str();
    let refuse = move |text: String, remote: &'static str| async move {
        ctx.log.note("sale.order", so_id, &text).await;
        ctx.store.finish(key_r, remote).await?;
        Ok::<_, OutboundError>(())
    };
    if !ctx
        .ch
        .channel
        .capabilities()
        .supports(Operation::CancelOrder)
    {
        refuse(unsupported_text(ctx, &ext, &so_name), "unsupported").await?;
        report.cancel_refused += 1;
        ctx.emit(
            "alert",
            &ext,
            format!("{so_name}: the channel takes no cancellations"),
        );
        return Ok(true);
    }
    let order = match ctx.channel_order(&ext).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            refuse(
                format!(
                    "Order {so_name} was cancelled in Odoo, but order {ext} is not on channel {}: nothing was sent.",
                    ctx.id()
                ),
                "missing",
            )
            .await?;
            report.cancel_refused += 1;
            return Ok(true);
        }
        Err(e) if e.is_retryable() => {
            report
                .errors
                .push(format!("cancellation of {so_name}: {e}"));
            return Ok(false);
        }
        Err(e) => return Err(OutboundError::Channel(e)),
    };
    // A buyer's request on the channel decides the reason, whatever the tags or the default
    // say: any other reason would count against the seller there.
    let (reason, reason_text, detail) = match &order.buyer_cancel_request {
        Some(req) => (
            CancelReason::BuyerRequest,
            req.reason.clone(),
            Some(match &req.reason {
                Some(r) => format!("the buyer asked: {r}"),
                None => "the buyer asked".to_string(),
            }),
        ),
        None => {
            let tags = tag_names(ctx, so).await?;
            let (reason, tag) = ctx.rules().reason_for(&tags);
            let detail = tag.as_ref().map(|t| format!("tag {t}"));
            (reason, tag, detail)
        }
    };
    // A request sent earlier and not yet answered: its confirmation states what was sent,
    // even if the order no longer shows why (a buyer's request is gone once it is cancelled).
    let pending_key = format!("{key}:pending");
    let sent: Option<Sent> = match &begun {
        Some(_) => match ctx.store.peek(&pending_key).await? {
            Some(Begin::Done { remote_id }) => serde_json::from_str(&remote_id).ok(),
            _ => None,
        },
        None => None,
    };
    let done = match &sent {
        Some(s) => Done {
            so_id,
            so_name: &so_name,
            ext: &ext,
            reason: s.reason,
            detail: s.detail.as_deref(),
        },
        None => Done {
            so_id,
            so_name: &so_name,
            ext: &ext,
            reason,
            detail: detail.as_deref(),
        },
    };
    match order.status {
        OrderStatus::Cancelled => {
            // Cancelled there: by our own request (a feed processed, a run that crashed after
            // sending), or by the buyer.
            ctx.store.finish(&key, "already").await?;
            if begun.is_some() {
                done.record(ctx, report, "").await;
            }
            return Ok(true);
        }
        OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Returned => {
            refuse(
                format!(
                    "Order {so_name} was cancelled in Odoo, but channel {} shows order {ext} as {:?}: it cannot be cancelled there. Arrange a return or refund on the marketplace.",
                    ctx.id(),
                    order.status
                ),
                "refused:shipped",
            )
            .await?;
            report.cancel_refused += 1;
            ctx.emit(
                "alert",
                &ext,
                format!("{so_name}: cancelled in Odoo after shipping"),
            );
            return Ok(true);
        }
        _ => {}
    }
    // A request the channel is still processing: its answer, not a second request.
    if let Some(s) = &sent {
        let polled = ctx
            .ch
            .channel
            .poll_pending(&[PendingHandle(s.handle.clone())])
            .await;
        match polled {
            Err(e) if e.is_retryable() => {
                report
                    .errors
                    .push(format!("cancellation of {so_name}: {e}"));
                report.cancel_pending += 1;
                return Ok(false);
            }
            Err(e @ ChannelError::Auth { .. }) => return Err(OutboundError::Channel(e)),
            Err(e) => {
                refuse(
                    unconfirmed_text(ctx, &ext, &so_name, &e.to_string()),
                    "unknown",
                )
                .await?;
                report.cancel_refused += 1;
                ctx.emit("alert", &ext, format!("{so_name}: {e}"));
                return Ok(true);
            }
            Ok(outcomes) => match outcomes.into_iter().next() {
                None | Some(PushOutcome::Pending { .. }) => {
                    report.cancel_pending += 1;
                    return Ok(false);
                }
                Some(PushOutcome::Applied { .. }) => {
                    ctx.store.finish(&key, "cancelled").await?;
                    done.record(ctx, report, "").await;
                    return Ok(true);
                }
                Some(PushOutcome::Rejected {
                    retryable: true,
                    reason: why,
                    ..
                }) => {
                    // Dropped before processing (Amazon cancelled the feed), and the re-read
                    // above shows the order still open: send it again below.
                    tracing::warn!(order = %ext, "cancellation not processed, sending again: {why}");
                }
                Some(PushOutcome::Rejected { reason: why, .. }) => {
                    refuse(
                        format!(
                            "Order {so_name} was cancelled in Odoo, but channel {} refused to cancel order {ext}: {why}. Cancel it on the marketplace.",
                            ctx.id()
                        ),
                        "refused",
                    )
                    .await?;
                    report.cancel_refused += 1;
                    ctx.emit("alert", &ext, format!("{so_name}: {why}"));
                    return Ok(true);
                }
                Some(other) => {
                    let why = match other {
                        PushOutcome::Unknown { reason, .. } => reason,
                        _ => "the channel gave no usable answer".to_string(),
                    };
                    refuse(unconfirmed_text(ctx, &ext, &so_name, &why), "unknown").await?;
                    report.cancel_refused += 1;
                    ctx.emit("alert", &ext, format!("{so_name}: {why}"));
                    return Ok(true);
                }
            },
        }
    }
    let cancellation = Cancellation {
        order_external_id: ext.clone(),
        lines: Vec::new(),
        reason,
        reason_text,
        initiated_by: CancelInitiator::Seller,
    };
    ctx.store.begin(&key).await?;
    match ctx.ch.channel.cancel_order(&cancellation).await {
        Ok(CancelAck {
            pending: Some(handle),
            ..
        }) => {
            // Taken for later: the handle is kept, the key stays open, the next rounds
            // re-read the order and poll the handle.
            let sent = Sent {
                handle: handle.0,
                reason,
                detail: detail.clone(),
            };
            // Strings and a unit enum: serialising cannot fail.
            let record = serde_json::to_string(&sent).unwrap_or_default();
            ctx.store.finish(&pending_key, &record).await?;
            report.cancel_pending += 1;
            ctx.emit(
                "cancel_sent",
                &ext,
                format!("{so_name}: waiting for the channel"),
            );
            Ok(false)
        }
        Ok(ack) => {
            ctx.store.finish(&key, "cancelled").await?;
            let suffix = if ack.already_cancelled {
                " The channel had already cancelled it."
            } else {
                ""
            };
            done.record(ctx, report, suffix).await;
            Ok(true)
        }
        Err(ChannelError::Ambiguous { message }) => {
            report.errors.push(format!(
                "cancellation of {so_name}: outcome unknown, re-checked next round: {message}"
            ));
            Ok(false)
        }
        Err(e @ (ChannelError::Transient { .. } | ChannelError::RateLimited { .. })) => {
            ctx.store.forget(&key).await?;
            report
                .errors
                .push(format!("cancellation of {so_name}: {e}"));
            Ok(false)
        }
        Err(ChannelError::Unsupported(_)) => {
            refuse(unsupported_text(ctx, &ext, &so_name), "unsupported").await?;
            report.cancel_refused += 1;
            ctx.emit(
                "alert",
                &ext,
                format!("{so_name}: the channel takes no cancellations"),
            );
            Ok(true)
        }
        Err(e @ (ChannelError::Auth { .. } | ChannelError::Config(_))) => {
            ctx.store.forget(&key).await?;
            Err(OutboundError::Channel(e))
        }
        Err(e) => {
            refuse(
                format!(
                    "Order {so_name} was cancelled in Odoo, but channel {} refused to cancel order {ext}: {e}. Cancel it on the marketplace.",
                    ctx.id()
                ),
                "refused",
            )
            .await?;
            report.cancel_refused += 1;
            ctx.emit("alert", &ext, format!("{so_name}: {e}"));
            Ok(true)
        }
    }
}

/// What a cancellation the channel took for later sent, kept under `cancel-out:…:pending`.
#[derive(Serialize, Deserialize)]
struct Sent {
    handle: String,
    reason: CancelReason,
    detail: Option<String>,
}

/// A cancellation the channel confirmed: the note on the order, the count and the event.
struct Done<'a> {
    so_id: i64,
    so_name: &'a str,
    ext: &'a str,
    reason: CancelReason,
    /// Why that reason: the sales tag that mapped to it, or the buyer's request.
    detail: Option<&'a str>,
}

impl Done<'_> {
    async fn record(&self, ctx: &Ctx<'_>, report: &mut OutboundReport, suffix: &str) {
        let reason_name = serde_json::to_value(self.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        ctx.log
            .note(
                "sale.order",
                self.so_id,
                &format!(
                    "Cancelled on channel {} (order {}) by odoo-channels, reason {reason_name}{}.{suffix}",
                    ctx.id(),
                    self.ext,
                    self.detail.map(|d| format!(" ({d})")).unwrap_or_default(),
                ),
            )
            .await;
        report.cancelled_on_channel += 1;
        ctx.emit(
            "cancelled_on_channel",
            self.ext,
            format!("{}: {reason_name}", self.so_name),
        );
    }
}

fn unconfirmed_text(ctx: &Ctx<'_>, ext: &str, so_name: &str, why: &str) -> String {
    format!(
        "Order {so_name} was cancelled in Odoo and the cancellation was sent to channel {}, but its answer could not be read ({why}) and the channel still shows order {ext} open. Check it on the marketplace and cancel it there if needed.",
        ctx.id()
    )
}

fn unsupported_text(ctx: &Ctx<'_>, ext: &str, so_name: &str) -> String {
    format!(
        "Order {so_name} was cancelled in Odoo, but channel {} ({}) takes no cancellations through its API: cancel order {ext} in the marketplace's seller portal too.",
        ctx.id(),
        ctx.ch.config.kind
    )
}

/// The names of the order's sales tags, when a reason mapping could use them.
async fn tag_names(ctx: &Ctx<'_>, so: &Value) -> Result<Vec<String>, OutboundError> {
    if ctx.rules().cancel_reasons.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = so
        .get("tag_ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = ctx.odoo.read("crm.tag", &ids, &["name"], None).await?;
    Ok(rows
        .iter()
        .filter_map(|r| row_str(r, "name").map(str::to_owned))
        .collect())
}
