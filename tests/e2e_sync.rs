//! The sync engine against the embedded sandboxes over real HTTP: what a merchant relies on.

use odoo_channels::embedded::EmbeddedOptions;
use odoo_channels::odoo::{Domain, SearchOpts};
use odoo_channels::store::{QuarantineState, Store};
use odoo_sandbox::Fault;

mod common;
use common::{World, engine, first, order};

async fn world(products: usize) -> World {
    world_on(products, odoo_sandbox::OdooVersion::V19).await
}

async fn world_on(products: usize, version: odoo_sandbox::OdooVersion) -> World {
    world_with(products, version, "").await
}

/// `extra` is appended to the configuration (e.g. an `[orders]` table).
async fn world_with(products: usize, version: odoo_sandbox::OdooVersion, extra: &str) -> World {
    let options = EmbeddedOptions {
        products,
        odoo_version: version,
        ..Default::default()
    };
    common::start(options, |t| format!("{t}\n{extra}")).await
}

async fn sale_orders_for(w: &World, external_id: &str) -> u64 {
    w.odoo
        .search_count(
            "sale.order",
            &Domain::leaf("client_order_ref", "=", format!("shop:{external_id}")),
            None,
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_change_in_odoo_reaches_the_channel_and_an_unchanged_cycle_writes_nothing() {
    let w = world(10).await;
    let (product, loc) = first(&w);
    w.emb.odoo.handle().set_stock(product, loc, 80.0).unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // 80 units (plus whatever WH2 holds) less the channel's 10 % buffer, rounded down.
    let pool: i64 = w
        .odoo
        .stock_levels(Some(&[product]), &[])
        .await
        .unwrap()
        .iter()
        .map(|l| {
            (l.on_hand - l.reserved)
                .floor()
                .to_string()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    let expect = pool - (pool * 10 + 99) / 100;
    assert_eq!(w.emb.market.quantity("SKU-000001"), Some(expect));

    w.emb.odoo.handle().set_stock(product, loc, 180.0).unwrap();
    w.engine.cycle().await;
    assert_eq!(w.emb.market.quantity("SKU-000001"), Some(expect + 90));

    let market_writes = w.emb.market.counters().writes_total();
    let odoo_writes = w.emb.odoo.stats().writes();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        w.emb.market.counters().writes_total(),
        market_writes,
        "unchanged cycle wrote to the marketplace"
    );
    assert_eq!(
        w.emb.odoo.stats().writes(),
        odoo_writes,
        "unchanged cycle wrote to Odoo"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_is_imported_once_reserved_in_odoo_and_lowers_the_offer() {
    let w = world(10).await;
    let (product, loc) = first(&w);
    w.emb.odoo.handle().set_stock(product, loc, 50.0).unwrap();
    w.engine.cycle().await;
    let before = w.emb.market.quantity("SKU-000001").unwrap();

    let o = w.emb.market.create_order(order("SKU-000001", 7)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.imported["shop"].imported, 1);
    assert_eq!(sale_orders_for(&w, &ext).await, 1);
    let so = w
        .odoo
        .search_read(
            "sale.order",
            &Domain::leaf("client_order_ref", "=", format!("shop:{ext}")),
            &["state", "origin"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        so[0]["state"], "sale",
        "imported orders are confirmed: {so:?}"
    );
    // Odoo reserved 7; the channel's offer is recomputed from Odoo's stock.
    let after = w.emb.market.quantity("SKU-000001").unwrap();
    assert!(after < before, "offer did not drop: {before} -> {after}");

    // Pulled again (the overlap re-reads it; a webhook may re-announce it): still one order.
    w.store
        .set_cursor("shop", "orders", "2000-01-01T00:00:00Z")
        .await
        .unwrap();
    w.engine.cycle().await;
    assert_eq!(sale_orders_for(&w, &ext).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_odoo_create_loses_nothing_and_duplicates_nothing() {
    let w = world(5).await;
    let (product, loc) = first(&w);
    w.emb.odoo.handle().set_stock(product, loc, 50.0).unwrap();

    // The create commits in Odoo, then the connection dies: the daemon cannot know.
    w.emb.odoo.faults().on(
        Some("sale.order"),
        Some("create"),
        Some(1),
        Fault::CommitThenDrop,
    );
    let o = w.emb.market.create_order(order("SKU-000001", 1)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    // The answer was lost, so it searched again, found the order (a draft, which it then
    // confirmed: the import finished), and did not create another.
    let rep = &r.imported["shop"];
    assert_eq!(rep.imported + rep.already, 1, "{:?}", r.imported);
    assert_eq!(w.emb.odoo.stats().count("sale.order", "create"), 1);
    assert_eq!(sale_orders_for(&w, &ext).await, 1, "{:?}", r);

    // A crash before the local commit: the daemon restarts on an empty state store, pulls the
    // order again and must find it in Odoo rather than create it again.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fresh.db", dir.path().display());
    let fresh = Store::open(&url).await.unwrap();
    let (restarted, _) = engine(&w.config, fresh, Vec::new()).await;
    let r = restarted.cycle().await;
    assert_eq!(r.imported["shop"].already, 1, "{:?}", r.imported);
    assert_eq!(r.imported["shop"].imported, 0);
    assert_eq!(sale_orders_for(&w, &ext).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sku_is_held_and_shown_in_odoo_never_a_dummy_product() {
    let w = world(5).await;
    // The job's own service products (shipping, rounding) may be created on its first run;
    // they are not stand-ins for the unknown SKU.
    let not_service = || {
        Domain::leaf(
            "default_code",
            "not in",
            serde_json::json!(["CHANNEL-SHIPPING", "CHANNEL-ROUNDING"]),
        )
    };
    let products_before = w
        .odoo
        .search_count("product.product", &not_service(), None)
        .await
        .unwrap();
    let o = w.emb.market.create_order(order("NOT-IN-ODOO", 1)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].quarantined, 1, "{:?}", r.imported);
    assert_eq!(sale_orders_for(&w, &ext).await, 0);
    let held = w
        .store
        .quarantined(Some("shop"), QuarantineState::Held)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert!(
        held[0].reason.contains("unknown SKU \"NOT-IN-ODOO\""),
        "{}",
        held[0].reason
    );
    // Without the addon it is an ir.logging record a person can find in Odoo.
    assert_eq!(held[0].odoo_model.as_deref(), Some("ir.logging"));
    let logs = w
        .odoo
        .search_read(
            "ir.logging",
            &Domain::leaf("path", "=", "odoo-channels/shop/quarantine"),
            &["message", "level"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0]["message"].as_str().unwrap().contains(&ext));
    assert_eq!(
        w.odoo
            .search_count("product.product", &not_service(), None)
            .await
            .unwrap(),
        products_before,
        "a product was created for an unknown SKU"
    );
    // A later pass does not hold it twice.
    w.engine.cycle().await;
    assert_eq!(
        w.store
            .quarantined(Some("shop"), QuarantineState::Held)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_odoo_16_orders_are_imported_and_annotated_in_plain_text() {
    let w = world_with(
        5,
        odoo_sandbox::OdooVersion::V16,
        "[orders]\nimport_note = true\n",
    )
    .await;
    let (product, loc) = first(&w);
    w.emb.odoo.handle().set_stock(product, loc, 20.0).unwrap();
    let o = w.emb.market.create_order(order("SKU-000001", 2)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.imported["shop"].imported, 1, "{:?}", r.imported);
    let so = w
        .odoo
        .search(
            "sale.order",
            &Domain::leaf("client_order_ref", "=", format!("shop:{ext}")),
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    let notes = w
        .odoo
        .search_read(
            "mail.message",
            &Domain::leaf("model", "=", "sale.order")
                .and(Domain::leaf("res_id", "=", so[0]))
                .and(Domain::leaf("message_type", "=", "comment")),
            &["body"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    let body = notes
        .iter()
        .filter_map(|n| n["body"].as_str())
        .find(|b| b.contains("Imported by odoo-channels"))
        .unwrap_or_else(|| panic!("no import note: {notes:?}"));
    assert!(
        !body.contains("&lt;p&gt;"),
        "markup shown literally: {body}"
    );
}
