//! Inbound orders end to end, in process: the engine against the embedded sandboxes over real
//! HTTP. Audit holds and their release in Odoo, marketplace-fulfilled orders, split routing,
//! SLA priority and carrier, out-of-order payloads. (Crashes of the real process are in
//! `e2e_orders_in_crash.rs`.)

use channel_sandbox::sandbox::{NewLine, NewOrder};
use odoo_channels::embedded::EmbeddedOptions;
use odoo_channels::odoo::{Domain, SearchOpts};
use odoo_channels::store::Staged;
use rust_decimal::Decimal;
use serde_json::Value;

mod common;
use common::World;

/// `orders` is appended to the configuration (an `[orders]` table and its sub-tables).
async fn world(orders: &str) -> World {
    let options = EmbeddedOptions {
        products: 5,
        ..Default::default()
    };
    common::start(options, |t| format!("{t}\n{orders}")).await
}

fn line(sku: &str, quantity: u32) -> NewLine {
    NewLine {
        sku: sku.into(),
        quantity,
        ..Default::default()
    }
}

/// Product id and the stock location of each warehouse (WH, WH2).
fn ids(w: &World) -> (i64, Vec<i64>) {
    let info = w.emb.odoo.catalog().unwrap();
    (info.first_product_id, info.stock_location_ids.clone())
}

async fn orders_of(w: &World, ext: &str) -> Vec<Value> {
    w.odoo
        .search_read(
            "sale.order",
            &Domain::leaf("client_order_ref", "=", format!("shop:{ext}")),
            &[
                "state",
                "tag_ids",
                "warehouse_id",
                "carrier_id",
                "commitment_date",
                "name",
            ],
            &SearchOpts::default().load_none(),
        )
        .await
        .unwrap()
}

async fn pickings_of(w: &World, so: i64) -> Vec<Value> {
    w.odoo
        .search_read(
            "stock.picking",
            &Domain::leaf("sale_id", "=", so),
            &[
                "state",
                "location_id",
                "priority",
                "scheduled_date",
                "carrier_id",
            ],
            &SearchOpts::default().load_none(),
        )
        .await
        .unwrap()
}

async fn notes_of(w: &World, so: i64) -> String {
    w.odoo
        .search_read(
            "mail.message",
            &Domain::leaf("model", "=", "sale.order").and(Domain::leaf("res_id", "=", so)),
            &["body"],
            &SearchOpts::default(),
        )
        .await
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn open_activities(w: &World, so: i64) -> Vec<Value> {
    w.odoo
        .search_read(
            "mail.activity",
            &Domain::leaf("res_model", "=", "sale.order").and(Domain::leaf("res_id", "=", so)),
            &["summary", "user_id"],
            &SearchOpts::default(),
        )
        .await
        .unwrap()
}

/// Make `free` units of `product` available in the `wh`-th warehouse (on hand = what the
/// seeded demo reservations hold + `free`).
async fn set_free(w: &World, product: i64, wh: usize, free: i64) {
    let info = w.emb.odoo.catalog().unwrap();
    let reserved: Decimal = w
        .odoo
        .stock_levels(Some(&[product]), &[])
        .await
        .unwrap()
        .iter()
        .filter(|l| l.warehouse_id == info.warehouse_ids[wh])
        .map(|l| l.reserved)
        .sum();
    let on_hand = reserved + Decimal::from(free);
    w.emb
        .odoo
        .handle()
        .set_stock(
            product,
            info.stock_location_ids[wh],
            on_hand.to_string().parse().unwrap(),
        )
        .unwrap();
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_address_holds_the_order_until_a_person_confirms_it_in_odoo() {
    let w = world("").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 50.0)
        .unwrap();
    let o = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 1)],
            missing_address: true,
            ..Default::default()
        })
        .unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    let rep = &r.imported["shop"];
    assert_eq!((rep.imported, rep.held), (1, 1), "{rep:?}");

    let so = orders_of(&w, &ext).await;
    assert_eq!(so.len(), 1);
    let so_id = id(&so[0]);
    assert_eq!(so[0]["state"], "draft", "a held order stays a draft");
    assert!(
        !so[0]["tag_ids"].as_array().unwrap().is_empty(),
        "held orders are tagged"
    );
    assert!(
        pickings_of(&w, so_id).await.is_empty(),
        "nothing to pick yet"
    );
    let notes = notes_of(&w, so_id).await;
    assert!(notes.to_lowercase().contains("address"), "{notes}");
    assert_eq!(open_activities(&w, so_id).await.len(), 1);

    // Nothing changes on the next cycles: not confirmed behind the person's back, no second
    // note or activity.
    w.engine.cycle().await;
    assert_eq!(orders_of(&w, &ext).await[0]["state"], "draft");
    assert_eq!(open_activities(&w, so_id).await.len(), 1);

    // A person completes and confirms it in Odoo: the daemon treats it as released.
    w.odoo
        .call(
            "sale.order",
            "action_confirm",
            Some(&[so_id]),
            serde_json::Map::new(),
            None,
            odoo_channels::odoo::CallKind::Write,
        )
        .await
        .unwrap();
    w.engine.cycle().await;
    let so = orders_of(&w, &ext).await;
    assert_eq!(so[0]["state"], "sale");
    assert!(
        so[0]["tag_ids"].as_array().unwrap().is_empty(),
        "the hold tag is removed on release: {:?}",
        so[0]
    );
    assert_eq!(pickings_of(&w, so_id).await.len(), 1);
    assert!(
        open_activities(&w, so_id).await.is_empty(),
        "the person's activity is closed once the order is released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_far_from_the_odoo_price_is_held_and_a_normal_one_is_not() {
    let w = world("[orders.audit]\nmax_price_deviation_percent = \"30\"\n").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 50.0)
        .unwrap();
    let price = w.emb.market.price("SKU-000001").unwrap();
    assert!(price > Decimal::ONE);
    let cheap = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![NewLine {
                unit_price: Some((price / Decimal::from(4)).round_dp(2)),
                ..line("SKU-000001", 1)
            }],
            ..Default::default()
        })
        .unwrap();
    let fine = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 1)],
            buyer: None,
            ..Default::default()
        })
        .unwrap();
    let r = w.engine.cycle().await;
    assert!(r.imported["shop"].held >= 1, "{:?}", r.imported);
    let held = orders_of(&w, cheap["id"].as_str().unwrap()).await;
    assert_eq!(held[0]["state"], "draft");
    let notes = notes_of(&w, id(&held[0])).await.to_lowercase();
    assert!(notes.contains("price"), "{notes}");
    // The order at the catalogue price is confirmed (unless it is the same buyer and items
    // within the duplicate window: then it is held for *that* reason, never for its price).
    let other = orders_of(&w, fine["id"].as_str().unwrap()).await;
    assert_eq!(other.len(), 1);
    if other[0]["state"] == "draft" {
        let n = notes_of(&w, id(&other[0])).await.to_lowercase();
        assert!(!n.contains("price"), "{n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketplace_fulfilled_order_is_delivered_from_the_marketplace_warehouse_never_picked() {
    let w = world("").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 7.0)
        .unwrap();
    let wh_own = w.emb.odoo.catalog().unwrap().warehouse_ids[0];
    let o = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 2)],
            marketplace_program: Some("FBA".into()),
            ..Default::default()
        })
        .unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let own_before = w.odoo.stock_levels(Some(&[product]), &[]).await.unwrap();
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].imported, 1, "{:?}", r.imported);
    let so = orders_of(&w, &ext).await;
    assert_eq!(so[0]["state"], "sale");
    let whs = w
        .odoo
        .search_read(
            "stock.warehouse",
            &Domain::leaf("id", "=", so[0]["warehouse_id"].as_i64().unwrap()),
            &["code", "lot_stock_id"],
            &SearchOpts::default().load_none(),
        )
        .await
        .unwrap();
    assert_eq!(whs[0]["code"], "MKTF");
    let picks = pickings_of(&w, id(&so[0])).await;
    assert_eq!(picks.len(), 1);
    assert_eq!(picks[0]["state"], "done", "delivered at once");
    assert_eq!(picks[0]["location_id"], whs[0]["lot_stock_id"]);
    // The merchant's own stock was neither moved nor reserved.
    let own = |levels: Vec<odoo_channels::odoo::StockLevel>| {
        levels
            .into_iter()
            .filter(|l| l.warehouse_id == wh_own)
            .map(|l| (l.on_hand, l.reserved))
            .collect::<Vec<_>>()
    };
    let own_after = w.odoo.stock_levels(Some(&[product]), &[]).await.unwrap();
    assert_eq!(own(own_before), own(own_after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_no_warehouse_can_ship_whole_is_split_between_two() {
    let w = world(
        "[[orders.routes]]\nwarehouses = [\"WH\", \"WH2\"]\nsplit = true\n\n[orders.audit]\nduplicate_window_minutes = 0\n",
    )
    .await;
    let info = w.emb.odoo.catalog().unwrap();
    let (a, b) = (info.first_product_id, info.first_product_id + 1);
    let sku_b = w
        .odoo
        .read("product.product", &[b], &["default_code"], None)
        .await
        .unwrap()[0]["default_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let (wh, wh2) = (info.stock_location_ids[0], info.stock_location_ids[1]);
    set_free(&w, a, 0, 10).await;
    set_free(&w, a, 1, 0).await;
    set_free(&w, b, 0, 0).await;
    set_free(&w, b, 1, 10).await;
    let o = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 3), line(&sku_b, 4)],
            ..Default::default()
        })
        .unwrap();
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].imported, 1, "{:?}", r.imported);
    assert_eq!(r.imported["shop"].held, 0, "{:?}", r.imported);
    let so = orders_of(&w, o["id"].as_str().unwrap()).await;
    assert_eq!(so[0]["state"], "sale");
    let mut from: Vec<i64> = pickings_of(&w, id(&so[0]))
        .await
        .iter()
        .map(|p| p["location_id"].as_i64().unwrap())
        .collect();
    from.sort();
    let mut want = vec![wh, wh2];
    want.sort();
    assert_eq!(from, want, "one delivery from each warehouse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ship_by_deadline_dates_and_prioritises_the_delivery_and_picks_the_carrier() {
    let w = world(
        "[[orders.carriers]]\nname = \"Standard delivery\"\nservice_levels = [\"standard\", \"economy\"]\ncost = \"4\"\ntransit_days = 4\n\n\
         [[orders.carriers]]\nname = \"Normal Delivery Charges\"\ncost = \"12\"\ntransit_days = 1\n",
    )
    .await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 50.0)
        .unwrap();
    let carriers = w
        .odoo
        .search_read(
            "delivery.carrier",
            &Domain::new(),
            &["name"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    let carrier = |name: &str| carriers.iter().find(|c| c["name"] == name).map(id).unwrap();
    let fast = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 1)],
            service_level: Some("next_day".into()),
            ship_by_hours: Some(6),
            ..Default::default()
        })
        .unwrap();
    let slow = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 2)],
            service_level: Some("standard".into()),
            ship_by_hours: Some(72),
            ..Default::default()
        })
        .unwrap();
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].imported, 2, "{:?}", r.imported);

    let f = &orders_of(&w, fast["id"].as_str().unwrap()).await[0];
    let s = &orders_of(&w, slow["id"].as_str().unwrap()).await[0];
    assert_eq!(f["carrier_id"], carrier("Normal Delivery Charges"));
    assert_eq!(s["carrier_id"], carrier("Standard delivery"));
    let fp = &pickings_of(&w, id(f)).await[0];
    let sp = &pickings_of(&w, id(s)).await[0];
    assert_eq!(fp["priority"], "1", "next-day is picked first");
    assert_eq!(sp["priority"], "0");
    let ship_by = |o: &Value| -> jiff::Timestamp {
        o["ship_by"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let dt = |p: &Value| -> jiff::Timestamp {
        let s = p["scheduled_date"].as_str().unwrap().replace(' ', "T") + "Z";
        s.parse().unwrap()
    };
    for (order, pick) in [(&fast, fp), (&slow, sp)] {
        let d = dt(pick).duration_since(ship_by(order)).abs();
        assert!(d.as_secs() <= 60, "scheduled {pick:?} vs ship-by {order:?}");
    }
}

/// "Paid" arrives before "created": whatever order the payloads of one marketplace order are
/// staged in, Odoo ends with one order, in the newest state, never moved backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_out_of_order_and_repeated_import_one_order_in_the_newest_state() {
    let w = world("").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 50.0)
        .unwrap();
    let o = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 1)],
            status: Some("pending".into()),
            ..Default::default()
        })
        .unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    // Created, unpaid: staged, not imported.
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].deferred, 1, "{:?}", r.imported);
    assert!(orders_of(&w, &ext).await.is_empty());
    let created = w
        .store
        .inbox_new_after("shop", "order", 0, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.external_id == ext)
        .unwrap()
        .payload;

    // Paid: imported and confirmed.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    w.emb.market.set_order_status(&ext, "unshipped").unwrap();
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].imported, 1, "{:?}", r.imported);
    let so = orders_of(&w, &ext).await;
    assert_eq!((so.len(), so[0]["state"].as_str()), (1, Some("sale")));

    // The "created" event delivered late, and the "paid" one again (a duplicate webhook or
    // an overlapping pull): nothing changes.
    let mut late: Value = serde_json::from_str(&created).unwrap();
    late["raw"]["_late_redelivery"] = Value::Bool(true);
    let late = serde_json::to_string(&late).unwrap();
    assert!(matches!(
        w.store.stage("shop", "order", &ext, &late).await.unwrap(),
        Staged::New(_)
    ));
    let r = w.engine.cycle().await;
    let rep = &r.imported["shop"];
    assert_eq!(rep.imported, 0, "{rep:?}");
    assert_eq!(rep.superseded, 1, "{rep:?}");
    let so = orders_of(&w, &ext).await;
    assert_eq!((so.len(), so[0]["state"].as_str()), (1, Some("sale")));
    assert_eq!(w.emb.odoo.stats().count("sale.order", "create"), 1);
}

/// A webhook repeated many times (as marketplaces do) wakes the job, and the order is still
/// imported once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_deliveries_of_one_order_import_it_once() {
    let w = world("").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 50.0)
        .unwrap();
    let o = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 1)],
            ..Default::default()
        })
        .unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    // Run two rounds concurrently (a webhook burst waking the job while a scheduled round
    // runs), then more rounds.
    let (a, b) = tokio::join!(
        w.engine.orders_round(w.engine.channel("shop").unwrap()),
        w.engine.orders_round(w.engine.channel("shop").unwrap())
    );
    let _ = (a, b);
    for _ in 0..3 {
        w.engine.cycle().await;
    }
    assert_eq!(orders_of(&w, &ext).await.len(), 1);
    assert_eq!(w.emb.odoo.stats().count("sale.order", "create"), 1);
}

/// `odoo-channels queue` lists open deliveries by ship-by deadline and flags the one at risk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_command_lists_deliveries_by_deadline_and_flags_those_at_risk() {
    let w = world("[orders]\nat_risk_hours = 4\n\n[orders.audit]\nduplicate_window_minutes = 0\n")
        .await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 500.0)
        .unwrap();
    let mut ext = Vec::new();
    for hours in [72, 2, 30] {
        let o = w
            .emb
            .market
            .create_order(NewOrder {
                lines: vec![line("SKU-000001", 1)],
                ship_by_hours: Some(hours),
                ..Default::default()
            })
            .unwrap();
        ext.push(o["id"].as_str().unwrap().to_owned());
    }
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].imported, 3, "{:?}", r.imported);

    // The same configuration, in a file, for the real binary.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let url = format!("sqlite://{}/s.db", dir.path().display());
    std::fs::write(
        &path,
        format!("{}\n[orders]\nat_risk_hours = 4\n", w.emb.config_toml(&url)),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_odoo-channels"))
        .arg("--config")
        .arg(&path)
        .args(["queue", "--json"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ours: Vec<&Value> = q
        .iter()
        .filter(|e| ext.iter().any(|x| e["external_id"] == x.as_str()))
        .collect();
    let order: Vec<&str> = ours
        .iter()
        .map(|e| e["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec![&ext[1], &ext[2], &ext[0]], "by deadline: {q:?}");
    assert_eq!(ours[0]["risk"], "at_risk");
    assert_eq!(ours[1]["risk"], "ok");
    assert_eq!(ours[2]["risk"], "ok");

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_odoo-channels"))
        .arg("--config")
        .arg(&path)
        .args(["queue", "--at-risk"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("AT-RISK"), "{text}");
    assert!(text.contains("1 at risk"), "{text}");
}

/// A repeat buyer is one customer; a gift address becomes a delivery contact of it, reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_buyer_is_one_customer_and_a_gift_address_a_delivery_contact() {
    use channel_sandbox::sandbox::{SbAddress, SbBuyer};
    let w = world("[orders.audit]\nduplicate_window_minutes = 0\n").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 500.0)
        .unwrap();
    let buyer = |email: &str| SbBuyer {
        id: None,
        name: Some("Ada Lovelace".into()),
        email: Some(email.into()),
        phone: Some("+33 1 23 45 67 89".into()),
    };
    let addr = |street: &str| SbAddress {
        name: Some("Ada Lovelace".into()),
        line1: Some(street.into()),
        city: Some("Paris".into()),
        postal_code: Some("75002".into()),
        country: Some("FR".into()),
        ..Default::default()
    };
    let mut ext = Vec::new();
    for (email, street) in [
        ("ada@example.com", "1 rue de la Paix"),
        ("ADA@example.com ", "1 rue de la Paix"),
        ("ada@example.com", "9 avenue Foch"),
        ("ada@example.com", "9, Avenue  Foch"),
    ] {
        let o = w
            .emb
            .market
            .create_order(NewOrder {
                lines: vec![line("SKU-000001", 1)],
                buyer: Some(buyer(email)),
                shipping_address: Some(addr(street)),
                ..Default::default()
            })
            .unwrap();
        ext.push(o["id"].as_str().unwrap().to_owned());
    }
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].imported, 4, "{:?}", r.imported);
    let mut partners = Vec::new();
    for e in &ext {
        let so = w
            .odoo
            .search_read(
                "sale.order",
                &Domain::leaf("client_order_ref", "=", format!("shop:{e}")),
                &["partner_id", "partner_shipping_id"],
                &SearchOpts::default().load_none(),
            )
            .await
            .unwrap();
        partners.push((
            so[0]["partner_id"].as_i64().unwrap(),
            so[0]["partner_shipping_id"].as_i64().unwrap(),
        ));
    }
    let customer = partners[0].0;
    assert!(
        partners.iter().all(|p| p.0 == customer),
        "one customer: {partners:?}"
    );
    assert_eq!(
        partners[0].1, customer,
        "first address is the customer's own"
    );
    assert_eq!(partners[1].1, customer);
    assert_ne!(partners[2].1, customer, "gift address: a delivery contact");
    assert_eq!(
        partners[2].1, partners[3].1,
        "the same address written differently is the same contact"
    );
}

/// Amounts as the marketplace charged them: a discount that cannot be spread over the units in
/// whole cents leaves a cent, which a rounding line absorbs; shipping is its own line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_totals_match_the_marketplace_to_the_cent_with_a_rounding_line() {
    let w = world("[orders.audit]\nduplicate_window_minutes = 0\n").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 500.0)
        .unwrap();
    let o = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![NewLine {
                discount: Some(Decimal::new(1, 2)),
                unit_price: w.emb.market.price("SKU-000001"),
                ..line("SKU-000001", 3)
            }],
            shipping_price: Some(Decimal::new(495, 2)),
            ..Default::default()
        })
        .unwrap();
    let total: Decimal = o["total"].as_str().unwrap().parse().unwrap();
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].imported, 1, "{:?}", r.imported);
    assert_eq!(r.imported["shop"].held, 0, "{:?}", r.imported);
    let so = w
        .odoo
        .search_read(
            "sale.order",
            &Domain::leaf(
                "client_order_ref",
                "=",
                format!("shop:{}", o["id"].as_str().unwrap()),
            ),
            &["amount_total", "order_line"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    let odoo_total = Decimal::try_from(so[0]["amount_total"].as_f64().unwrap())
        .unwrap()
        .round_dp(2);
    assert_eq!(odoo_total, total);
    let lines = w
        .odoo
        .search_read(
            "sale.order.line",
            &Domain::leaf("order_id", "=", id(&so[0])),
            &["product_id", "price_subtotal"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    let codes: Vec<String> = {
        let ids: Vec<i64> = lines
            .iter()
            .map(|l| l["product_id"][0].as_i64().unwrap())
            .collect();
        w.odoo
            .read("product.product", &ids, &["default_code"], None)
            .await
            .unwrap()
            .iter()
            .map(|p| p["default_code"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert!(codes.iter().any(|c| c == "CHANNEL-SHIPPING"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "CHANNEL-ROUNDING"), "{codes:?}");
}

/// Item 10 for orders that fail rather than hold: before an Odoo record exists the run's own
/// record names the orders that wait (an `ir.logging` entry without the addon); on an existing
/// order, a note in its chatter, posted once however many rounds retry it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_order_is_shown_in_odoo_on_its_record_or_in_the_run_log() {
    use odoo_sandbox::Fault;
    let w = world("").await;
    let (product, locs) = ids(&w);
    w.emb
        .odoo
        .handle()
        .set_stock(product, locs[0], 50.0)
        .unwrap();
    let o = w
        .emb
        .market
        .create_order(NewOrder {
            lines: vec![line("SKU-000001", 1)],
            ..Default::default()
        })
        .unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();

    // Odoo unavailable for the create: no record, the run log says which order waits.
    w.emb.odoo.faults().on(
        Some("sale.order"),
        Some("create"),
        Some(1),
        Fault::Http(503),
    );
    w.engine.cycle().await;
    assert!(orders_of(&w, &ext).await.is_empty());
    let logs = w
        .odoo
        .search_read(
            "ir.logging",
            &Domain::leaf("path", "=", "odoo-channels/shop")
                .and(Domain::leaf("func", "=", "orders")),
            &["level", "message"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    assert!(
        logs.iter().any(|l| {
            let m = l["message"].as_str().unwrap_or("");
            l["level"] != "INFO" && m.contains(&ext)
        }),
        "no run record names order {ext}: {logs:?}"
    );
    w.engine.cycle().await;
    let so = orders_of(&w, &ext).await;
    assert_eq!(so.len(), 1);
    let so = id(&so[0]);

    // A newer payload of the imported order that Odoo refuses to apply, two rounds running.
    w.emb.market.set_order_status(&ext, "unshipped").unwrap();
    w.emb.odoo.faults().on(
        Some("stock.picking"),
        Some("search_count"),
        Some(2),
        Fault::AuthFailure,
    );
    w.engine.cycle().await;
    w.engine.cycle().await;
    let notes = notes_of(&w, so).await;
    assert_eq!(
        notes.matches("could not apply").count(),
        1,
        "one note for a failure retried twice: {notes}"
    );
    assert!(notes.contains(&ext), "{notes}");
    // Odoo accepts it again: applied, nothing more said, still one order.
    w.engine.cycle().await;
    assert_eq!(notes_of(&w, so).await.matches("could not apply").count(), 1);
    assert_eq!(orders_of(&w, &ext).await.len(), 1);
}
