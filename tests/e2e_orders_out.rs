//! Orders back to the channels, end to end over real HTTP against the embedded sandboxes:
//! shipments, cancellations both ways and returns, each exactly once.
//!
//! The tests play the people around the daemon: the buyer and the marketplace (the sandbox
//! marketplace's control API), the warehouse and the accountant (the Odoo sandbox's
//! in-process handle, as a person clicking in Odoo would).

use std::sync::Arc;

use channel_amazon::AmazonChannel;
use channel_sandbox::sandbox::Fault;
use channels_core::{Carrier, ChannelId, ItemQuantity, Shipment};
use odoo_channels::config::Config;
use odoo_channels::embedded::EmbeddedOptions;
use odoo_channels::store::{Begin, QuarantineState, Store};
use odoo_channels::sync::channels::ChannelHandle;
use rust_decimal::Decimal;
use serde_json::{Value, json};

mod common;
use common::{World, engine, first, h};

/// The embedded sandboxes, with `fulfilment` appended to the channel's table.
async fn world(fulfilment: &str) -> World {
    let options = EmbeddedOptions {
        products: 5,
        warehouses: 1,
        ..Default::default()
    };
    let w = common::start(options, |t| {
        format!(
            "{t}\n[channels.fulfilment]\ncarriers = {{ \"Standard delivery\" = \"USPS\" }}\n{fulfilment}\n"
        )
    })
    .await;
    // The demo database's own orders already reserve some of it: plenty, so that every
    // delivery here is reserved and can be validated.
    let (p, loc) = first(&w);
    h(&w).set_stock(p, loc, 500.0).unwrap();
    w
}

const SKU: &str = "SKU-000001";

/// A marketplace order for `qty` of the first SKU, imported into Odoo by a cycle:
/// (marketplace id, sale order, delivery).
async fn sold(w: &World, qty: u32) -> (String, i64, i64) {
    let ext = market_sale(w, qty);
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let so = h(w)
        .search_read(
            "sale.order",
            json!([["client_order_ref", "=", format!("shop:{ext}")]]),
            &["picking_ids", "state"],
        )
        .unwrap();
    assert_eq!(so.len(), 1, "the order was imported once");
    assert_eq!(so[0]["state"], "sale");
    let pk = so[0]["picking_ids"][0].as_i64().unwrap();
    (ext, so[0]["id"].as_i64().unwrap(), pk)
}

/// A sandbox-marketplace order for `qty` of the first SKU: its marketplace id.
fn market_sale(w: &World, qty: u32) -> String {
    let o = w.emb.market.create_order(common::order(SKU, qty)).unwrap();
    o["id"].as_str().unwrap().to_owned()
}

/// An Amazon (merchant-fulfilled) order for `qty` of the first SKU: its AmazonOrderId.
fn amazon_sale(sb: &channel_amazon::sandbox::AmazonSandbox, qty: u32) -> String {
    use channel_amazon::sandbox::{NewItem, NewOrder};
    sb.create_order(NewOrder {
        items: vec![NewItem {
            sku: SKU.into(),
            quantity: qty,
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap()
}

/// The warehouse ships `qty` (all when `None`) with carrier "Standard delivery" and
/// `tracking`, and validates (a partial validation leaves a backorder, as in Odoo).
fn ship(w: &World, pk: i64, tracking: Option<&str>, qty: Option<f64>) {
    let h = h(w);
    h.write(
        "stock.picking",
        &[pk],
        json!({"carrier_id": 1, "carrier_tracking_ref": tracking.map_or(json!(false), |t| json!(t))}),
    )
    .unwrap();
    if let Some(q) = qty {
        for m in h
            .search_read("stock.move", json!([["picking_id", "=", pk]]), &["id"])
            .unwrap()
        {
            h.write(
                "stock.move",
                &[m["id"].as_i64().unwrap()],
                json!({"quantity": q, "picked": true}),
            )
            .unwrap();
        }
    }
    h.call(
        "stock.picking",
        "button_validate",
        json!([[pk]]),
        json!({"context": {"skip_sms": true, "skip_backorder": true}}),
    )
    .unwrap();
    assert_eq!(
        h.read("stock.picking", &[pk], &["state"]).unwrap()[0]["state"],
        "done"
    );
}

fn market_order(w: &World, ext: &str) -> Value {
    w.emb.market.order(ext).unwrap()
}

fn shipments(w: &World, ext: &str) -> Vec<Value> {
    market_order(w, ext)["shipments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn notes(w: &World, model: &str, id: i64) -> Vec<String> {
    h(w).search_read(
        "mail.message",
        json!([["model", "=", model], ["res_id", "=", id]]),
        &["body"],
    )
    .unwrap()
    .iter()
    .map(|m| m["body"].as_str().unwrap_or("").to_owned())
    .collect()
}

fn notes_with(w: &World, model: &str, id: i64, needle: &str) -> usize {
    notes(w, model, id)
        .iter()
        .filter(|b| b.contains(needle))
        .count()
}

fn on_hand(w: &World, product: i64) -> f64 {
    h(w).read("product.product", &[product], &["qty_available"])
        .unwrap()[0]["qty_available"]
        .as_f64()
        .unwrap()
}

fn reserved(w: &World, product: i64) -> f64 {
    h(w).search_read(
        "stock.quant",
        json!([
            ["product_id", "=", product],
            ["location_id.usage", "=", "internal"]
        ]),
        &["reserved_quantity"],
    )
    .unwrap()
    .iter()
    .map(|q| q["reserved_quantity"].as_f64().unwrap())
    .sum()
}

// ---------------------------------------------------------------------------------------------
// Shipments
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_reaches_the_channel_exactly_once_through_lost_answers_crashes_and_restarts() {
    let w = world("").await;
    let (ext, so, pk) = sold(&w, 2).await;
    ship(&w, pk, Some("1Z999AA10123456784"), None);

    // The marketplace applies the shipment, then the gateway loses the answer (502).
    w.emb
        .market
        .inject_fault("shipments.create", Fault::ApplyThen502, 1);
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let s = shipments(&w, &ext);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0]["tracking_number"], "1Z999AA10123456784");
    assert_eq!(s[0]["carrier"]["code"], "USPS", "carrier mapped by config");
    assert_eq!(s[0]["lines"][0]["quantity"], 2);
    assert_eq!(market_order(&w, &ext)["status"], "shipped");
    assert_eq!(
        w.store
            .peek(&format!("ship:shop:{pk}"))
            .await
            .unwrap()
            .map(|b| matches!(b, Begin::Done { .. })),
        Some(true)
    );
    assert_eq!(
        notes_with(&w, "sale.order", so, "confirmed on channel shop"),
        1
    );

    // The cycle runs again (and again): nothing is sent.
    let writes = w.emb.market.counters().write_count("shipments.create");
    w.engine.cycle().await;
    w.engine.cycle().await;
    assert_eq!(
        w.emb.market.counters().write_count("shipments.create"),
        writes
    );
    assert_eq!(shipments(&w, &ext).len(), 1);

    // The daemon restarts on an empty state store (crash before the local commit, disk
    // lost): it finds the delivery again, sees the channel shipped it, and sends nothing.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fresh.db", dir.path().display());
    let fresh = Store::open(&url).await.unwrap();
    let (restarted, _) = engine(&w.config, fresh, Vec::new()).await;
    let r = restarted.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].shipped, 0, "{:?}", r.outbound);
    assert_eq!(r.outbound["shop"].already_shipped, 1, "{:?}", r.outbound);
    assert_eq!(shipments(&w, &ext).len(), 1);
    assert_eq!(
        w.emb.market.counters().write_count("shipments.create"),
        writes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_shipment_is_rechecked_on_the_channel_not_sent_twice() {
    let w = world("").await;
    let (ext, _so, pk) = sold(&w, 1).await;
    ship(&w, pk, Some("TRACK-PENDING-1"), None);
    // The daemon died after the channel applied the shipment and before it recorded it: the
    // key is pending and the channel has the shipment.
    let key = format!("ship:shop:{pk}");
    assert_eq!(w.store.begin(&key).await.unwrap(), Begin::Fresh);
    let line = market_order(&w, &ext)["line_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shop = w.engine.channel("shop").unwrap().channel.clone();
    shop.confirm_shipment(&Shipment {
        order_external_id: ext.clone(),
        lines: vec![ItemQuantity {
            external_line_id: line,
            sku: Some(SKU.into()),
            quantity: Decimal::ONE,
        }],
        carrier: Carrier {
            code: "USPS".into(),
            name: Some("Standard delivery".into()),
        },
        service: None,
        tracking_number: "TRACK-PENDING-1".into(),
        tracking_url: None,
        shipped_at: jiff::Timestamp::now(),
    })
    .await
    .unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].already_shipped, 1, "{:?}", r.outbound);
    assert_eq!(shipments(&w, &ext).len(), 1, "re-checked, not duplicated");
    assert!(matches!(
        w.store.peek(&key).await.unwrap(),
        Some(Begin::Done { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_shipment_then_its_backorder_are_two_shipments() {
    let w = world("").await;
    let (ext, so, pk) = sold(&w, 3).await;
    ship(&w, pk, Some("PART-1"), Some(1.0));
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].shipped, 1);
    let s = shipments(&w, &ext);
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0]["lines"][0]["quantity"], 1,
        "only what this picking shipped"
    );
    assert_eq!(market_order(&w, &ext)["status"], "partially_shipped");

    // The backorder Odoo left for the rest ships later under its own tracking number.
    let bo = h(&w)
        .search_read(
            "stock.picking",
            json!([["backorder_id", "=", pk]]),
            &["state", "sale_id"],
        )
        .unwrap();
    assert_eq!(bo.len(), 1, "{bo:?}");
    assert_eq!(bo[0]["sale_id"][0], so);
    let bo = bo[0]["id"].as_i64().unwrap();
    ship(&w, bo, Some("PART-2"), None);
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].shipped, 1);
    let s = shipments(&w, &ext);
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(s[1]["tracking_number"], "PART-2");
    assert_eq!(s[1]["lines"][0]["quantity"], 2);
    assert_eq!(market_order(&w, &ext)["status"], "shipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_without_tracking_waits_with_one_note_and_ships_once_tracking_is_entered() {
    let w = world("").await;
    let (ext, _so, pk) = sold(&w, 1).await;
    ship(&w, pk, None, None);
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].waiting, 1, "{:?}", r.outbound);
    assert!(shipments(&w, &ext).is_empty());
    assert_eq!(
        notes_with(&w, "stock.picking", pk, "needs a tracking number"),
        1
    );
    w.engine.cycle().await;
    assert_eq!(
        notes_with(&w, "stock.picking", pk, "needs a tracking number"),
        1,
        "one note, not one per cycle"
    );
    // The warehouse enters it: the write moves the picking's write_date, the cursor sees it.
    h(&w)
        .write(
            "stock.picking",
            &[pk],
            json!({"carrier_tracking_ref": "LATE-TRACK"}),
        )
        .unwrap();
    let r = w.engine.cycle().await;
    assert_eq!(r.outbound["shop"].shipped, 1, "{:?}", r.outbound);
    assert_eq!(shipments(&w, &ext)[0]["tracking_number"], "LATE-TRACK");
}

// ---------------------------------------------------------------------------------------------
// Cancellations
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketplace_cancel_before_shipping_cancels_the_odoo_order_and_releases_stock() {
    let w = world("").await;
    let (product, _) = first(&w);
    let base = reserved(&w, product);
    let (ext, so, pk) = sold(&w, 4).await;
    assert_eq!(reserved(&w, product), base + 4.0);
    w.emb.market.cancel_order(&ext, "buyer_request").unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].cancelled_in_odoo, 1, "{:?}", r.outbound);
    let row = h(&w).read("sale.order", &[so], &["state"]).unwrap();
    assert_eq!(row[0]["state"], "cancel");
    let pick = h(&w).read("stock.picking", &[pk], &["state"]).unwrap();
    assert_eq!(pick[0]["state"], "cancel");
    assert_eq!(reserved(&w, product), base, "the reservation is released");
    assert_eq!(notes_with(&w, "sale.order", so, "buyer_request"), 1);
    // Once: and the Odoo cancel is not echoed back to the channel as a seller cancellation.
    w.engine.cycle().await;
    assert_eq!(
        notes_with(&w, "sale.order", so, "Cancelled by odoo-channels"),
        1
    );
    assert_eq!(w.emb.market.counters().write_count("orders.cancel"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketplace_cancel_after_shipping_alerts_in_the_chatter_and_keeps_the_order() {
    let w = world("").await;
    let (ext, so, pk) = sold(&w, 1).await;
    ship(&w, pk, Some("GONE-1"), None);
    w.engine.cycle().await;
    w.emb.market.set_order_status(&ext, "cancelled").unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].cancel_alerts, 1, "{:?}", r.outbound);
    let row = h(&w).read("sale.order", &[so], &["state"]).unwrap();
    assert_eq!(row[0]["state"], "sale", "a shipped order is not cancelled");
    assert_eq!(notes_with(&w, "sale.order", so, "ALERT"), 1);
    w.engine.cycle().await;
    assert_eq!(notes_with(&w, "sale.order", so, "ALERT"), 1, "alerted once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_cancellation_on_the_marketplace_lowers_the_odoo_line_and_its_delivery() {
    let w = world("").await;
    let (product, _) = first(&w);
    let base = reserved(&w, product);
    let (ext, so, pk) = sold(&w, 3).await;
    let line = market_order(&w, &ext)["line_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.emb
        .market
        .cancel_lines(&ext, &[(line, 1)], "out_of_stock")
        .unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].cancelled_in_odoo, 1, "{:?}", r.outbound);
    let sol = h(&w)
        .search_read(
            "sale.order.line",
            json!([["order_id", "=", so]]),
            &["product_uom_qty"],
        )
        .unwrap();
    assert_eq!(sol[0]["product_uom_qty"], 2.0);
    let mv = h(&w)
        .search_read(
            "stock.move",
            json!([["picking_id", "=", pk]]),
            &["product_uom_qty"],
        )
        .unwrap();
    assert_eq!(mv[0]["product_uom_qty"], 2.0);
    assert_eq!(reserved(&w, product), base + 2.0);
    assert_eq!(
        h(&w).read("sale.order", &[so], &["state"]).unwrap()[0]["state"],
        "sale"
    );
    w.engine.cycle().await;
    assert_eq!(
        h(&w)
            .search_read(
                "sale.order.line",
                json!([["order_id", "=", so]]),
                &["product_uom_qty"]
            )
            .unwrap()[0]["product_uom_qty"],
        2.0,
        "applied once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_odoo_cancel_reaches_the_channel_once_with_the_mapped_reason() {
    let w = world("cancel_reasons = { \"Buyer asked\" = \"buyer_request\" }").await;
    let (ext, so, _pk) = sold(&w, 1).await;
    // A person tags the order and cancels it in Odoo.
    let tag = h(&w)
        .create("crm.tag", json!({"name": "Buyer asked"}))
        .unwrap();
    h(&w)
        .write("sale.order", &[so], json!({"tag_ids": [[6, 0, [tag]]]}))
        .unwrap();
    h(&w)
        .call("sale.order", "action_cancel", json!([[so]]), json!({}))
        .unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        r.outbound["shop"].cancelled_on_channel, 1,
        "{:?}",
        r.outbound
    );
    let o = market_order(&w, &ext);
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancel_reason"], "buyer_request: Buyer asked");
    assert_eq!(notes_with(&w, "sale.order", so, "reason buyer_request"), 1);
    w.engine.cycle().await;
    assert_eq!(w.emb.market.counters().write_count("orders.cancel"), 1);

    // Without a tag, the channel's default reason.
    let (ext2, so2, _) = sold(&w, 1).await;
    h(&w)
        .call("sale.order", "action_cancel", json!([[so2]]), json!({}))
        .unwrap();
    w.engine.cycle().await;
    assert_eq!(market_order(&w, &ext2)["cancel_reason"], "out_of_stock");
}

/// Amazon cancels by an order-acknowledgement feed, processed minutes later on its own clock:
/// the daemon sends it once, waits without sending again, sees the order cancelled (the
/// order pull sees it first: the echo of our own request, not a reason to skip the note),
/// and tells a person when Amazon cannot or did not cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_odoo_cancel_of_an_amazon_order_goes_out_in_one_acknowledgement_feed() {
    use channel_amazon::sandbox::Fault;
    const DELAY: std::time::Duration = std::time::Duration::from_millis(1000);
    let w = world("").await;
    let (amz_sb, amz, engine) = with_amazon(&w, DELAY, |_| {}).await;
    let new_order = || amazon_sale(&amz_sb, 1);
    let cancel = |so: i64| {
        h(&w)
            .call("sale.order", "action_cancel", json!([[so]]), json!({}))
            .unwrap();
    };
    let round = || async {
        let r = engine.outbound_round(&amz).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r
    };
    let status = |ext: &str| amz_sb.order(ext).unwrap().0["OrderStatus"].clone();
    let feeds = || amz_sb.counters().write_count("createFeed");

    // A person cancels an Amazon order in Odoo: one feed goes out, and while Amazon has not
    // processed it, a round waits and sends nothing more.
    let ext = new_order();
    let (so, _) = bound_order(&w, "amz", &ext, 1.0);
    cancel(so);
    let r = round().await;
    assert_eq!((r.cancel_pending, r.cancelled_on_channel), (1, 0), "{r:?}");
    let r = round().await;
    assert_eq!((r.cancel_pending, r.cancelled_on_channel), (1, 0), "{r:?}");
    assert_eq!(feeds(), 1);
    assert_eq!(status(&ext), "Unshipped");
    let doc = amz_sb.acknowledgement_documents().pop().unwrap();
    assert!(
        doc.contains(&format!("<AmazonOrderID>{ext}</AmazonOrderID>")),
        "{doc}"
    );
    assert!(
        doc.contains("<CancelReason>NoInventory</CancelReason>"),
        "{doc}"
    );
    assert_eq!(
        notes_with(&w, "sale.order", so, "Cancelled on channel amz"),
        0
    );

    // Amazon processes it; the order pull sees the cancellation before the outbound round.
    tokio::time::sleep(DELAY + std::time::Duration::from_millis(100)).await;
    engine.orders_round(&amz).await.unwrap();
    assert_eq!(status(&ext), "Canceled");
    let r = round().await;
    assert_eq!((r.cancel_pending, r.cancelled_on_channel), (0, 1), "{r:?}");
    assert_eq!(
        notes_with(&w, "sale.order", so, "Cancelled on channel amz"),
        1
    );
    assert_eq!(notes_with(&w, "sale.order", so, "reason out_of_stock"), 1);
    let r = round().await;
    assert_eq!((r.cancel_pending, r.cancelled_on_channel), (0, 0), "{r:?}");
    assert_eq!(feeds(), 1, "exactly one feed");
    assert_eq!(
        notes_with(&w, "sale.order", so, "Cancelled on channel amz"),
        1,
        "one note"
    );

    // Shipped on Amazon before the daemon's turn: nothing is sent, a person is told.
    let ext2 = new_order();
    let (so2, _) = bound_order(&w, "amz", &ext2, 1.0);
    amz_sb.set_order_status(&ext2, "Shipped").unwrap();
    cancel(so2);
    let r = round().await;
    assert_eq!(r.cancel_refused, 1, "{r:?}");
    assert_eq!(
        notes_with(&w, "sale.order", so2, "cannot be cancelled there"),
        1
    );
    assert_eq!(feeds(), 1);

    // A feed Amazon fails as a whole (FATAL): the order is still open on Amazon, and a note
    // says the answer could not be read; nothing is resent blindly.
    let ext3 = new_order();
    let (so3, _) = bound_order(&w, "amz", &ext3, 1.0);
    cancel(so3);
    assert_eq!(round().await.cancel_pending, 1);
    assert_eq!(feeds(), 2);
    amz_sb.inject_fault("processFeed", Fault::FeedFatal, 1);
    assert_eq!(round().await.cancel_pending, 1, "polled before it is due");
    tokio::time::sleep(DELAY + std::time::Duration::from_millis(100)).await;
    let r = round().await;
    assert_eq!((r.cancel_pending, r.cancel_refused), (0, 1), "{r:?}");
    assert_eq!(
        notes_with(&w, "sale.order", so3, "its answer could not be read"),
        1
    );
    assert_eq!(status(&ext3), "Unshipped");
    round().await;
    assert_eq!(feeds(), 2);
    assert_eq!(
        notes_with(&w, "sale.order", so3, "its answer could not be read"),
        1
    );
}

/// An Amazon buyer asks to cancel an unshipped order: Amazon leaves it to the seller. A person
/// is asked once, in Odoo; when they cancel there, the cancellation goes to Amazon as the
/// buyer's request (`BuyerCanceled`), not the channel's default reason, which would count
/// against the seller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amazon_buyers_cancel_request_asks_a_person_once_and_goes_out_as_the_buyers() {
    let w = world("").await;
    let (amz_sb, amz, engine) = with_amazon(&w, std::time::Duration::from_millis(50), |_| {}).await;
    let ext = amazon_sale(&amz_sb, 1);
    let (so, _) = bound_order(&w, "amz", &ext, 1.0);
    let asks = |w: &World| {
        h(w).search_read(
            "mail.activity",
            json!([
                ["res_id", "=", so],
                ["summary", "=like", "Buyer asked to cancel%"]
            ]),
            &["id"],
        )
        .unwrap()
        .len()
    };
    engine.orders_round(&amz).await.unwrap();
    assert_eq!(asks(&w), 0, "no request yet");

    amz_sb
        .buyer_requests_cancel(&ext, "Found it cheaper elsewhere")
        .unwrap();
    engine.orders_round(&amz).await.unwrap();
    assert_eq!(asks(&w), 1);
    assert_eq!(
        notes_with(&w, "sale.order", so, "reason: Found it cheaper elsewhere"),
        1
    );
    // The order changes again on Amazon (still asking): nobody is asked twice.
    amz_sb.set_order_status(&ext, "Unshipped").unwrap();
    engine.orders_round(&amz).await.unwrap();
    assert_eq!(asks(&w), 1);
    assert_eq!(notes_with(&w, "sale.order", so, "The buyer asked"), 1);

    // The person cancels in Odoo: Amazon gets BuyerCanceled, whatever the default reason.
    h(&w)
        .call("sale.order", "action_cancel", json!([[so]]), json!({}))
        .unwrap();
    let r = engine.outbound_round(&amz).await.unwrap();
    assert_eq!(r.cancel_pending, 1, "{r:?}");
    let doc = amz_sb.acknowledgement_documents().pop().unwrap();
    assert!(
        doc.contains("<CancelReason>BuyerCanceled</CancelReason>"),
        "{doc}"
    );
    let mut confirmed = 0;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let r = engine.outbound_round(&amz).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        confirmed += r.cancelled_on_channel;
        if confirmed > 0 {
            break;
        }
    }
    assert_eq!(confirmed, 1);
    assert_eq!(
        notes_with(
            &w,
            "sale.order",
            so,
            "reason buyer_request (the buyer asked: Found it cheaper elsewhere)"
        ),
        1
    );
}

/// The buyer asked Amazon to cancel before the order reached Odoo: the audit holds it as a
/// draft (nothing reserved, nothing picked), asking once; cancelling the draft sends the
/// buyer's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amazon_order_the_buyer_already_asked_to_cancel_is_held_before_any_picking() {
    let w = world("").await;
    let (amz_sb, amz, engine) = with_amazon(&w, std::time::Duration::from_millis(50), |_| {}).await;
    let ext = amazon_sale(&amz_sb, 1);
    amz_sb.buyer_requests_cancel(&ext, "Wrong size").unwrap();
    let (_, imported) = engine.orders_round(&amz).await.unwrap();
    assert_eq!((imported.imported, imported.held), (1, 1), "{imported:?}");
    let so = h(&w)
        .search_read(
            "sale.order",
            json!([["client_order_ref", "=", format!("amz:{ext}")]]),
            &["state", "picking_ids"],
        )
        .unwrap();
    assert_eq!(so.len(), 1);
    assert_eq!(so[0]["state"], "draft", "held: nothing reserved");
    assert_eq!(so[0]["picking_ids"], json!([]), "nothing to pick");
    let so = so[0]["id"].as_i64().unwrap();
    let activities = |w: &World| {
        h(w).search_read("mail.activity", json!([["res_id", "=", so]]), &["summary"])
            .unwrap()
    };
    let a = activities(&w);
    assert_eq!(a.len(), 1, "one question, not two: {a:?}");
    assert!(
        a[0]["summary"]
            .as_str()
            .unwrap()
            .contains("buyer asked to cancel")
    );
    assert_eq!(notes_with(&w, "sale.order", so, "(reason: Wrong size)"), 1);
    // The order changes on Amazon: still one question.
    amz_sb.set_order_status(&ext, "Unshipped").unwrap();
    engine.orders_round(&amz).await.unwrap();
    assert_eq!(activities(&w).len(), 1);

    // The person agrees with the buyer: the draft is cancelled, and so is the Amazon order.
    h(&w)
        .call("sale.order", "action_cancel", json!([[so]]), json!({}))
        .unwrap();
    engine.outbound_round(&amz).await.unwrap();
    let doc = amz_sb.acknowledgement_documents().pop().unwrap();
    assert!(
        doc.contains("<CancelReason>BuyerCanceled</CancelReason>"),
        "{doc}"
    );
}

/// The sandbox marketplace with its cancellation API taken away: a channel whose
/// marketplace has none.
struct NoCancelApi(Arc<dyn channels_core::Channel>);

#[async_trait::async_trait]
impl channels_core::Channel for NoCancelApi {
    fn id(&self) -> &ChannelId {
        self.0.id()
    }
    fn kind(&self) -> channels_core::ChannelKind {
        self.0.kind()
    }
    fn capabilities(&self) -> channels_core::Capabilities {
        let mut c = self.0.capabilities();
        c.operations
            .retain(|op| *op != channels_core::Operation::CancelOrder);
        c
    }
    async fn pull_orders(
        &self,
        q: &channels_core::OrderQuery,
    ) -> Result<channels_core::OrderPage, channels_core::ChannelError> {
        self.0.pull_orders(q).await
    }
    async fn get_order(
        &self,
        ext: &str,
    ) -> Result<channels_core::Pulled<channels_core::Order>, channels_core::ChannelError> {
        self.0.get_order(ext).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_a_cancellation_api_gets_one_note_and_no_call() {
    let w = world("").await;
    let inner = w.engine.channel("shop").unwrap().channel.clone();
    let ch = handle(&w, "nocancel", "sandbox", Arc::new(NoCancelApi(inner)));
    let (engine, _) = engine(&w.config, w.store.clone(), vec![ch.clone()]).await;
    let ext = market_sale(&w, 1);
    let (so, _) = bound_order(&w, "nocancel", &ext, 1.0);
    h(&w)
        .call("sale.order", "action_cancel", json!([[so]]), json!({}))
        .unwrap();
    for expected in [1, 0] {
        let r = engine.outbound_round(&ch).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.cancel_refused, expected, "{r:?}");
        assert_eq!(
            notes_with(&w, "sale.order", so, "takes no cancellations"),
            1
        );
    }
    assert_eq!(w.emb.market.counters().write_count("orders.cancel"), 0);
    assert_eq!(market_order(&w, &ext)["status"], "unshipped", "untouched");
}

// ---------------------------------------------------------------------------------------------
// Returns
// ---------------------------------------------------------------------------------------------

/// The accountant invoices the order and posts the invoice.
fn invoice(w: &World, so: i64) -> i64 {
    let h = h(w);
    let wiz = h
        .call(
            "sale.advance.payment.inv",
            "create",
            json!([{}]),
            json!({"context": {"active_model": "sale.order", "active_ids": [so]}}),
        )
        .unwrap();
    let act = h
        .call(
            "sale.advance.payment.inv",
            "create_invoices",
            json!([[wiz]]),
            json!({}),
        )
        .unwrap();
    let inv = act["res_id"].as_i64().unwrap();
    h.call("account.move", "action_post", json!([[inv]]), json!({}))
        .unwrap();
    inv
}

/// The buyer returns `qty` with `reason`; the marketplace receives it.
fn returned(w: &World, ext: &str, qty: u32, reason: &str) -> String {
    let line = market_order(w, ext)["line_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = w
        .emb
        .market
        .create_return(ext, &[(line, qty, Some(reason.into()))])
        .unwrap();
    let rid = r["id"].as_str().unwrap().to_owned();
    w.emb
        .market
        .set_return_status(&rid, "received", None)
        .unwrap();
    rid
}

fn return_pickings(w: &World, pk: i64) -> Vec<serde_json::Map<String, Value>> {
    h(w).search_read(
        "stock.picking",
        json!([["return_id", "=", pk]]),
        &["state", "origin", "name"],
    )
    .unwrap()
}

fn credit_notes(w: &World) -> Vec<serde_json::Map<String, Value>> {
    h(w).search_read(
        "account.move",
        json!([["move_type", "=", "out_refund"]]),
        &["state", "amount_total", "ref", "name"],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_under_the_restock_policy_restocks_and_credits_the_invoiced_units_once() {
    let w = world("").await;
    let (product, _) = first(&w);
    let (ext, so, pk) = sold(&w, 2).await;
    ship(&w, pk, Some("RET-TRACK-1"), None);
    w.engine.cycle().await;
    let inv = invoice(&w, so);
    // The returned product's own invoice line (the invoice also bills the shipping charge,
    // which a returned unit does not give back).
    let inv_total: f64 = h(&w)
        .search_read(
            "account.move.line",
            json!([["move_id", "=", inv], ["product_id", "=", product]]),
            &["price_total"],
        )
        .unwrap()
        .iter()
        .map(|l| l["price_total"].as_f64().unwrap())
        .sum();
    let before = on_hand(&w, product);
    // A return requested but not received yet: nothing happens in Odoo.
    let line = market_order(&w, &ext)["line_items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let early = w
        .emb
        .market
        .create_return(&ext, &[(line, 1, Some("customer_changed_mind".into()))])
        .unwrap();
    let rid = early["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(return_pickings(&w, pk).is_empty());
    // Received: the goods are back and the returned unit is credited.
    w.emb
        .market
        .set_return_status(&rid, "received", None)
        .unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].returns, 1, "{:?}", r.outbound);
    let rp = return_pickings(&w, pk);
    assert_eq!(rp.len(), 1, "{rp:?}");
    assert_eq!(rp[0]["state"], "done");
    assert!(rp[0]["origin"].as_str().unwrap().contains(&rid));
    assert_eq!(on_hand(&w, product), before + 1.0, "restocked");
    let cn = credit_notes(&w);
    assert_eq!(cn.len(), 1, "{cn:?}");
    assert_eq!(cn[0]["state"], "posted");
    assert!(cn[0]["name"].as_str().unwrap().starts_with("RINV/"));
    let credited = cn[0]["amount_total"].as_f64().unwrap();
    assert!(
        (credited * 2.0 - inv_total).abs() < 0.02,
        "one of two units credited: {credited} of {inv_total}"
    );
    let sol = h(&w)
        .search_read(
            "sale.order.line",
            json!([["order_id", "=", so]]),
            &[
                "qty_delivered",
                "qty_invoiced",
                "product_uom_qty",
                "qty_to_invoice",
            ],
        )
        .unwrap();
    assert_eq!(sol[0]["qty_delivered"], 1.0);
    assert_eq!(sol[0]["qty_invoiced"], 1.0);
    assert_eq!(
        sol[0]["qty_to_invoice"], 0.0,
        "nothing left to invoice again"
    );
    assert_eq!(
        notes_with(&w, "sale.order", so, &format!("Return {rid}")),
        1
    );
    // Refunded later (a new state of the same return) and cycles again: nothing more.
    w.emb
        .market
        .set_return_status(&rid, "refunded", None)
        .unwrap();
    w.engine.cycle().await;
    w.engine.cycle().await;
    assert_eq!(return_pickings(&w, pk).len(), 1);
    assert_eq!(credit_notes(&w).len(), 1);
    assert_eq!(on_hand(&w, product), before + 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_under_the_scrap_policy_is_received_then_scrapped_and_not_invoiced_lowers_the_order()
 {
    let w = world("return_policy = \"scrap\"").await;
    let (product, _) = first(&w);
    let (ext, so, pk) = sold(&w, 2).await;
    ship(&w, pk, Some("SCRAP-TRACK"), None);
    w.engine.cycle().await;
    let before = on_hand(&w, product);
    let rid = returned(&w, &ext, 1, "damaged");
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].returns, 1, "{:?}", r.outbound);
    assert_eq!(return_pickings(&w, pk)[0]["state"], "done");
    assert_eq!(on_hand(&w, product), before, "received, then scrapped");
    let scraps = h(&w)
        .search_read(
            "stock.scrap",
            json!([["origin", "ilike", rid.as_str()]]),
            &["state", "scrap_qty"],
        )
        .unwrap();
    assert_eq!(scraps.len(), 1, "{scraps:?}");
    assert_eq!(scraps[0]["state"], "done");
    // Not invoiced: no credit note, the order asks for what the buyer kept.
    assert!(credit_notes(&w).is_empty());
    let sol = h(&w)
        .search_read(
            "sale.order.line",
            json!([["order_id", "=", so]]),
            &["product_uom_qty"],
        )
        .unwrap();
    assert_eq!(sol[0]["product_uom_qty"], 1.0);
    assert_eq!(notes_with(&w, "sale.order", so, "Not invoiced yet"), 1);
    w.engine.cycle().await;
    let sol = h(&w)
        .search_read(
            "sale.order.line",
            json!([["order_id", "=", so]]),
            &["product_uom_qty"],
        )
        .unwrap();
    assert_eq!(sol[0]["product_uom_qty"], 1.0, "lowered once");
    assert_eq!(
        h(&w)
            .search_count("stock.scrap", json!([["origin", "ilike", rid.as_str()]]))
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_outside_the_window_is_held_for_a_person_and_changes_nothing() {
    let w = world("return_window_days = 30").await;
    let (product, _) = first(&w);
    let (ext, so, pk) = sold(&w, 1).await;
    ship(&w, pk, Some("OLD-TRACK"), None);
    w.engine.cycle().await;
    // Shipped 90 days ago.
    h(&w)
        .write(
            "stock.picking",
            &[pk],
            json!({"date_done": "2020-01-01 10:00:00"}),
        )
        .unwrap();
    let before = on_hand(&w, product);
    let rid = returned(&w, &ext, 1, "customer_changed_mind");
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].returns_held, 1, "{:?}", r.outbound);
    assert!(return_pickings(&w, pk).is_empty());
    assert_eq!(on_hand(&w, product), before);
    let held = w
        .store
        .quarantined(Some("shop"), QuarantineState::Held)
        .await
        .unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].kind, "return");
    assert_eq!(held[0].external_ref, rid);
    assert!(
        held[0].reason.contains("return window"),
        "{}",
        held[0].reason
    );
    assert_eq!(notes_with(&w, "sale.order", so, "return window"), 1);
    w.engine.cycle().await;
    assert_eq!(
        w.store
            .quarantined(Some("shop"), QuarantineState::Held)
            .await
            .unwrap()
            .len(),
        1,
        "held once"
    );
    // A person releases it (Channels → Quarantine): it is processed, window or not.
    w.store
        .resolve_quarantine(held[0].id, QuarantineState::Released)
        .await
        .unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.outbound["shop"].returns, 1, "{:?}", r.outbound);
    assert_eq!(on_hand(&w, product), before + 1.0);
    w.engine.cycle().await;
    assert_eq!(return_pickings(&w, pk).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_writes_nothing_when_nothing_happened() {
    let w = world("").await;
    let (_ext, _so, pk) = sold(&w, 1).await;
    ship(&w, pk, Some("QUIET-1"), None);
    w.engine.cycle().await;
    // The shipment changed the marketplace order: the next order pull reads it back once.
    w.engine.cycle().await;
    let odoo_writes = w.emb.odoo.stats().writes();
    let snap = w.emb.odoo.stats().snapshot();
    let market_writes = w.emb.market.counters().writes_total();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let after = w.emb.odoo.stats().snapshot();
    let changed: Vec<_> = after
        .iter()
        .filter(|(k, v)| snap.get(*k) != Some(*v) && !odoo_sandbox::stats::is_read_only(&k.1))
        .collect();
    assert_eq!(
        w.emb.odoo.stats().writes(),
        odoo_writes,
        "an idle round wrote to Odoo: {changed:?}"
    );
    assert_eq!(w.emb.market.counters().writes_total(), market_writes);
}

// ---------------------------------------------------------------------------------------------
// The real connectors, through the same trait
// ---------------------------------------------------------------------------------------------

/// An order of `channel` (marketplace id `ext`) in Odoo as the import leaves it, confirmed:
/// (sale order, delivery).
fn bound_order(w: &World, channel: &str, ext: &str, qty: f64) -> (i64, i64) {
    let (product, _) = first(w);
    let h = h(w);
    let partner = h
        .create("res.partner", json!({"name": "Jane Doe"}))
        .unwrap();
    let so = h
        .create(
            "sale.order",
            json!({"partner_id": partner, "client_order_ref": format!("{channel}:{ext}"),
                   "order_line": [[0, 0, {"product_id": product, "product_uom_qty": qty}]]}),
        )
        .unwrap();
    h.call("sale.order", "action_confirm", json!([[so]]), json!({}))
        .unwrap();
    let pk = h.read("sale.order", &[so], &["picking_ids"]).unwrap()[0]["picking_ids"][0]
        .as_i64()
        .unwrap();
    (so, pk)
}

/// An Amazon sandbox whose feeds are processed `feed_delay` after they are sent, wired as
/// channel `amz` (its configuration passed through `tweak`), and an engine over it.
async fn with_amazon(
    w: &World,
    feed_delay: std::time::Duration,
    tweak: impl FnOnce(&mut channel_amazon::AmazonConfig),
) -> (
    channel_amazon::sandbox::AmazonSandbox,
    ChannelHandle,
    Arc<odoo_channels::sync::Engine>,
) {
    let sb =
        channel_amazon::sandbox::AmazonSandbox::start(channel_amazon::sandbox::SandboxConfig {
            feed_delay,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut cfg = sb.amazon_config();
    tweak(&mut cfg);
    let ch = amazon_handle(w, cfg);
    let (engine, _) = engine(&w.config, w.store.clone(), vec![ch.clone()]).await;
    (sb, ch, engine)
}

/// Channel `amz`: the real Amazon connector on `cfg` (a sandbox's `amazon_config()`).
fn amazon_handle(w: &World, cfg: channel_amazon::AmazonConfig) -> ChannelHandle {
    let id = ChannelId::new("amz").unwrap();
    handle(
        w,
        "amz",
        "amazon",
        Arc::new(AmazonChannel::new(id, cfg).unwrap()),
    )
}

fn handle(
    w: &World,
    id: &str,
    kind: &str,
    channel: Arc<dyn channels_core::Channel>,
) -> ChannelHandle {
    let cfg = Config::from_toml_str(&format!(
        "{}\n[[channels]]\nid = \"{id}\"\nkind = \"{kind}\"\n[channels.fulfilment]\ncarriers = {{ \"Standard delivery\" = \"USPS\" }}\n",
        w.emb.config_toml("sqlite:///unused.db")
    ))
    .unwrap();
    ChannelHandle {
        id: ChannelId::new(id).unwrap(),
        config: cfg.channel(id).unwrap().clone(),
        channel,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_fulfils_and_cancels_and_amazon_confirms_the_shipment_once_each() {
    use channel_shopify::sandbox as shopify;
    let w = world("").await;

    // Shopify: fulfillmentCreate with the tracking number, once; orderCancel with a reason.
    let shop_sb = shopify::ShopifySandbox::start(Default::default())
        .await
        .unwrap();
    shop_sb.add_product(SKU, "Catalog Product 000001", Decimal::new(1999, 2), 10);
    let shop_ext = shop_sb
        .create_order(shopify::NewOrder {
            lines: vec![shopify::NewLine::sku(SKU, 2)],
            ..Default::default()
        })
        .unwrap();
    let shp = handle(
        &w,
        "shp",
        "shopify",
        Arc::new(
            channel_shopify::ShopifyChannel::new(
                ChannelId::new("shp").unwrap(),
                shop_sb.connector_config(),
            )
            .unwrap(),
        ),
    );
    // Amazon: confirmShipment with the mapped carrier, once.
    let amz_sb = channel_amazon::sandbox::AmazonSandbox::start(Default::default())
        .await
        .unwrap();
    let amz_ext = amz_sb
        .create_order(channel_amazon::sandbox::NewOrder {
            items: vec![channel_amazon::sandbox::NewItem {
                sku: SKU.into(),
                quantity: 1,
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap();
    let amz = amazon_handle(&w, amz_sb.amazon_config());
    let (engine, _) = engine(&w.config, w.store.clone(), vec![shp.clone(), amz.clone()]).await;

    let (_, shop_pk) = bound_order(&w, "shp", &shop_ext.to_string(), 2.0);
    ship(&w, shop_pk, Some("1ZSHOPIFY0001"), None);
    let (_, amz_pk) = bound_order(&w, "amz", &amz_ext, 1.0);
    ship(&w, amz_pk, Some("1ZAMAZON0001"), None);
    for _ in 0..2 {
        for ch in [&shp, &amz] {
            let r = engine.outbound_round(ch).await.unwrap();
            assert!(r.errors.is_empty(), "{}: {:?}", ch.id, r.errors);
        }
    }
    let o = shop_sb.order(shop_ext).unwrap();
    assert_eq!(o.fulfillments.len(), 1, "{:?}", o.fulfillments);
    assert_eq!(
        o.fulfillments[0].tracking[0].number.as_deref(),
        Some("1ZSHOPIFY0001")
    );
    assert_eq!(shop_sb.counters().write("fulfillmentCreate"), 1);
    assert_eq!(
        amz_sb.counters().writes.get("confirmShipment").copied(),
        Some(1),
        "{:?}",
        amz_sb.counters().writes
    );
    let (amz_order, _) = amz_sb.order(&amz_ext).unwrap();
    assert_eq!(amz_order["OrderStatus"], "Shipped");

    // An Odoo cancel of another Shopify order reaches Shopify, once.
    let shop_ext2 = shop_sb
        .create_order(shopify::NewOrder {
            lines: vec![shopify::NewLine::sku(SKU, 1)],
            ..Default::default()
        })
        .unwrap();
    let (so2, _) = bound_order(&w, "shp", &shop_ext2.to_string(), 1.0);
    h(&w)
        .call("sale.order", "action_cancel", json!([[so2]]), json!({}))
        .unwrap();
    for _ in 0..2 {
        let r = engine.outbound_round(&shp).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    assert!(shop_sb.order(shop_ext2).unwrap().cancelled_at.is_some());
    assert_eq!(shop_sb.counters().write("orderCancel"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amazon_return_read_from_the_returns_report_restocks_once() {
    use channel_amazon::sandbox::NewReturn;
    let w = world("").await;
    let (product, _) = first(&w);
    let (amz_sb, amz, engine) = with_amazon(&w, std::time::Duration::from_millis(50), |c| {
        c.connection.returns_interval_secs = 0
    })
    .await;
    let ext = amazon_sale(&amz_sb, 2);
    let (so, pk) = bound_order(&w, "amz", &ext, 2.0);
    ship(&w, pk, Some("1ZAMAZONRET1"), None);
    let round = || async {
        let r = engine.outbound_round(&amz).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        r
    };
    round().await;
    let before = on_hand(&w, product);

    // The buyer asks to return one unit: Seller Central lists it, nothing is back yet.
    amz_sb.add_return(NewReturn {
        order_id: ext.clone(),
        rma: "DfqRyqfBRRMA".into(),
        sku: SKU.into(),
        quantity: 1,
        reason: "AMZ-PG-BAD-DESC".into(),
        status: "Approved".into(),
        // A report ends two minutes before it is requested (Amazon refuses a future end).
        requested: jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1),
        delivered: None,
        refunded: None,
    });
    for _ in 0..4 {
        round().await;
    }
    assert!(return_pickings(&w, pk).is_empty());
    let reports = amz_sb.counters().request_count("getReportDocument");
    assert!(reports >= 1, "the returns report was read");

    // The parcel reaches the seller: the next report says so, and Odoo gets the unit back.
    amz_sb
        .deliver_return(
            "DfqRyqfBRRMA",
            SKU,
            jiff::Timestamp::now(),
            Some(Decimal::new(1999, 2)),
        )
        .unwrap();
    let mut done = 0;
    for _ in 0..20 {
        done += round().await.returns;
        if !return_pickings(&w, pk).is_empty() {
            break;
        }
    }
    assert_eq!(done, 1);
    let rp = return_pickings(&w, pk);
    assert_eq!(rp.len(), 1, "{rp:?}");
    assert_eq!(rp[0]["state"], "done");
    assert!(
        rp[0]["origin"]
            .as_str()
            .unwrap()
            .contains("DfqRyqfBRRMA/SKU-000001")
    );
    assert_eq!(on_hand(&w, product), before + 1.0, "restocked");
    assert_eq!(
        notes_with(&w, "sale.order", so, "Return DfqRyqfBRRMA/SKU-000001"),
        1
    );
    // Later reports list the same row again: nothing more happens.
    for _ in 0..4 {
        round().await;
    }
    assert_eq!(return_pickings(&w, pk).len(), 1);
    assert_eq!(on_hand(&w, product), before + 1.0);
    assert_eq!(amz_sb.counters().total_violations(), 0);
}
