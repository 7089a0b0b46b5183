//! The daemon with the `channel_sync` addon installed in the Odoo sandbox, over real HTTP,
//! logged in as the addon's least-privilege technical user: sync runs and channel status,
//! quarantine shown in Odoo and Release / Discard honoured, the SQL unique on
//! `(channel_id, channel_order_ref)` resolving a concurrent duplicate, and bindings becoming
//! listings and prices with their state written back. And without the addon, the same
//! daemon still imports through `client_order_ref`.

use std::sync::Arc;
use std::time::Duration;

use odoo_channels::config::Config;
use odoo_channels::embedded::{Embedded, EmbeddedOptions};
use odoo_channels::odoo::{CallKind, Domain, OdooClient, OdooError, SearchOpts};
use odoo_channels::store::{QuarantineState, Store};
use odoo_channels::sync::{Engine, EventBus, channels};
use odoo_sandbox::Fault;
use serde_json::{Map, Value, json};

struct World {
    emb: Embedded,
    engine: Arc<Engine>,
    store: Store,
    /// The daemon's connection (technical user).
    odoo: OdooClient,
    /// A person's connection (the admin, channel manager).
    admin: OdooClient,
    _dir: tempfile::TempDir,
}

async fn world(addon: bool, create_channel: bool) -> World {
    let emb = Embedded::start(&EmbeddedOptions {
        products: 5,
        addon,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/state.db", dir.path().display());
    let admin_toml = emb.config_toml(&url);
    let admin_cfg = Config::from_toml_str(&admin_toml).unwrap();
    let admin = OdooClient::connect(admin_cfg.odoo.client_settings().unwrap())
        .await
        .unwrap();
    if create_channel {
        admin
            .create(
                "channel.channel",
                obj(json!({"name": "Sandbox shop", "code": emb.channel_id, "kind": "sandbox"})),
                None,
            )
            .await
            .unwrap();
    }
    // The daemon logs in as the addon's technical user, as its README says to configure it.
    let toml = if addon {
        admin_toml
            .replace(
                &format!("login = \"{}\"", emb.odoo.login()),
                &format!("login = \"{}\"", emb.odoo.daemon_login()),
            )
            .replace(emb.odoo.api_key(), emb.odoo.daemon_api_key())
    } else {
        admin_toml
    };
    let config = Config::from_toml_str(&toml).unwrap();
    let store = Store::open(&url).await.unwrap();
    let odoo = OdooClient::connect(config.odoo.client_settings().unwrap())
        .await
        .unwrap();
    let handles = channels::build_all(&config, &channels::registry()).unwrap();
    let engine = Engine::start(
        &config,
        store.clone(),
        odoo.clone(),
        handles,
        EventBus::new(),
    )
    .await
    .unwrap();
    World {
        emb,
        engine,
        store,
        odoo,
        admin,
        _dir: dir,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

mod common;
use common::order;

fn stock_first(w: &World, qty: f64) -> i64 {
    let info = w.emb.odoo.catalog().unwrap();
    w.emb
        .odoo
        .handle()
        .set_stock(info.first_product_id, info.stock_location_ids[0], qty)
        .unwrap();
    info.first_product_id
}

async fn channel_id(w: &World) -> i64 {
    w.admin
        .search(
            "channel.channel",
            &Domain::leaf("code", "=", w.emb.channel_id.as_str()),
            &SearchOpts::default(),
        )
        .await
        .unwrap()[0]
}

async fn rows(w: &World, model: &str, domain: Domain, fields: &[&str]) -> Vec<Value> {
    w.admin
        .search_read(model, &domain, fields, &SearchOpts::default().order("id"))
        .await
        .unwrap()
}

async fn orders_for(w: &World, ext: &str) -> Vec<Value> {
    rows(
        w,
        "sale.order",
        Domain::leaf("client_order_ref", "=", format!("shop:{ext}")),
        &["name", "channel_id", "channel_order_ref"],
    )
    .await
}

async fn decide(w: &World, quarantine: i64, method: &str) {
    w.admin
        .call(
            "channel.quarantine",
            method,
            Some(&[quarantine]),
            Map::new(),
            None,
            CallKind::Write,
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_runs_and_channel_status_appear_in_odoo() {
    let w = world(true, true).await;
    assert!(w.engine.log.addon(), "the addon is detected");
    stock_first(&w, 20.0);
    let o = w.emb.market.create_order(order("SKU-000001", 2)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let so = orders_for(&w, &ext).await;
    assert_eq!(so.len(), 1);
    let ch = channel_id(&w).await;
    assert_eq!(so[0]["channel_id"][0], json!(ch), "tagged with its channel");
    assert_eq!(so[0]["channel_order_ref"], json!(ext));
    let runs = rows(
        &w,
        "channel.sync.run",
        Domain::leaf("channel_id", "=", ch),
        &["job", "state", "count_written"],
    )
    .await;
    let jobs: Vec<&str> = runs.iter().filter_map(|r| r["job"].as_str()).collect();
    assert!(
        jobs.contains(&"orders") && jobs.contains(&"stock"),
        "{runs:?}"
    );
    let orders_run = runs.iter().find(|r| r["job"] == json!("orders")).unwrap();
    assert_eq!(orders_run["count_written"], json!(1));
    let c = rows(
        &w,
        "channel.channel",
        Domain::leaf("id", "=", ch),
        &["last_order_sync", "last_stock_sync", "last_sync_state"],
    )
    .await;
    assert_ne!(c[0]["last_order_sync"], json!(false), "{c:?}");
    assert_ne!(c[0]["last_stock_sync"], json!(false), "{c:?}");
    assert_eq!(c[0]["last_sync_state"], json!("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_order_is_imported_after_release_in_odoo_and_dropped_after_discard() {
    let w = world(true, true).await;
    let product = stock_first(&w, 20.0);
    let ch = channel_id(&w).await;
    let a = w.emb.market.create_order(order("NEW-SKU", 1)).unwrap();
    let a = a["id"].as_str().unwrap().to_owned();
    let b = w.emb.market.create_order(order("OTHER-SKU", 1)).unwrap();
    let b = b["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    assert_eq!(r.imported["shop"].quarantined, 2, "{:?}", r.imported);
    let held = rows(
        &w,
        "channel.quarantine",
        Domain::leaf("channel_id", "=", ch),
        &["external_ref", "state", "kind", "reason", "payload"],
    )
    .await;
    assert_eq!(held.len(), 2, "{held:?}");
    let qa = held.iter().find(|q| q["external_ref"] == json!(a)).unwrap();
    let qb = held.iter().find(|q| q["external_ref"] == json!(b)).unwrap();
    assert_eq!(qa["state"], json!("held"));
    assert_eq!(qa["kind"], json!("order"));
    assert!(qa["reason"].as_str().unwrap().contains("NEW-SKU"));
    assert!(
        qa["payload"].as_str().unwrap().contains(&a),
        "the staged payload is shown"
    );
    // Another pass holds nothing twice.
    w.engine.cycle().await;
    assert_eq!(
        rows(
            &w,
            "channel.quarantine",
            Domain::leaf("channel_id", "=", ch),
            &["id"]
        )
        .await
        .len(),
        2
    );

    // The merchant binds the channel's SKU to a product, then releases A and discards B.
    w.admin
        .create(
            "channel.product.binding",
            obj(json!({"channel_id": ch, "product_id": product, "external_sku": "NEW-SKU"})),
            None,
        )
        .await
        .unwrap();
    w.engine.reload_catalog().await.unwrap();
    let qa_id = qa["id"].as_i64().unwrap();
    let qb_id = qb["id"].as_i64().unwrap();
    decide(&w, qa_id, "action_release").await;
    decide(&w, qb_id, "action_discard").await;
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let so = orders_for(&w, &a).await;
    assert_eq!(so.len(), 1, "released → imported once");
    assert!(
        orders_for(&w, &b).await.is_empty(),
        "discarded → never imported"
    );
    let after = rows(
        &w,
        "channel.quarantine",
        Domain::leaf("channel_id", "=", ch),
        &["external_ref", "state", "resolved", "resolution_note"],
    )
    .await;
    let qa = after.iter().find(|q| q["id"] == json!(qa_id)).unwrap();
    let qb = after.iter().find(|q| q["id"] == json!(qb_id)).unwrap();
    assert_eq!(qa["resolved"], json!(true), "{qa:?}");
    let note = qa["resolution_note"].as_str().unwrap_or_default();
    assert!(note.contains(so[0]["name"].as_str().unwrap()), "{note}");
    assert_eq!(qb["resolved"], json!(true), "{qb:?}");
    // In the store: A released, B discarded; nothing is held any more.
    assert!(
        w.store
            .quarantined(Some("shop"), QuarantineState::Held)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        w.store
            .quarantined(Some("shop"), QuarantineState::Discarded)
            .await
            .unwrap()
            .len(),
        1
    );
    // Later cycles change nothing (idempotent).
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(orders_for(&w, &a).await.len(), 1);
    assert!(orders_for(&w, &b).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_duplicate_hits_the_sql_unique_and_resolves_to_the_existing_order() {
    let w = Arc::new(world(true, true).await);
    let product = stock_first(&w, 20.0);
    let ch = channel_id(&w).await;
    let o = w.emb.market.create_order(order("SKU-000001", 1)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    // The daemon's create waits; meanwhile "another importer" creates the same channel order
    // (without the daemon's client_order_ref), so the daemon's create hits the SQL unique.
    w.emb.odoo.faults().on(
        Some("sale.order"),
        Some("create"),
        Some(1),
        Fault::Latency(Duration::from_millis(1500)),
    );
    let w2 = w.clone();
    let cycle = tokio::spawn(async move { w2.engine.cycle().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let partner = rows(&w, "res.partner", Domain::new(), &["id"]).await[0]["id"]
        .as_i64()
        .unwrap();
    let other = w
        .admin
        .create(
            "sale.order",
            obj(json!({
                "partner_id": partner,
                "channel_id": ch,
                "channel_order_ref": ext,
                "order_line": [[0, 0, {"product_id": product, "product_uom_qty": 1}]],
            })),
            None,
        )
        .await
        .unwrap();
    let r = cycle.await.unwrap();
    // The daemon's create was refused; it found the existing order and took it as the
    // binding (a draft found by its binding is finished like one of its own interrupted
    // imports), with no failure and no second order.
    let rep = &r.imported["shop"];
    assert_eq!((rep.failed, rep.quarantined), (0, 0), "{:?}", r.imported);
    assert!(rep.errors.is_empty(), "{:?}", r.imported);
    let same = rows(
        &w,
        "sale.order",
        Domain::leaf("channel_id", "=", ch).and(Domain::leaf(
            "channel_order_ref",
            "=",
            ext.as_str(),
        )),
        &["id"],
    )
    .await;
    assert_eq!(same.len(), 1, "no duplicate: {same:?}");
    assert_eq!(same[0]["id"], json!(other));
    // The unique itself, as Odoo words it.
    let dup = w
        .admin
        .create(
            "sale.order",
            obj(json!({"partner_id": partner, "channel_id": ch, "channel_order_ref": ext})),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, OdooError::ValidationError(_)), "{dup:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bindings_become_listings_and_prices_with_state_written_back() {
    let w = world(true, true).await;
    let product = stock_first(&w, 20.0);
    let ch = channel_id(&w).await;
    let binding = w
        .admin
        .create(
            "channel.product.binding",
            obj(json!({
                "channel_id": ch,
                "product_id": product,
                "external_sku": "SHOP-MUG-1",
                "price": 42.5,
                "shopify_seo_title": "The blue mug",
                "shopify_collections": "Kitchen, Gifts",
                "amazon_asin": "B0TEST0001",
                "amazon_bullet_1": "Dishwasher safe",
            })),
            None,
        )
        .await
        .unwrap();
    w.engine.reload_catalog().await.unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let l = &r.listings["shop"];
    assert_eq!((l.upserted, l.prices_applied), (1, 1), "{l:?}");
    // On the channel: the listing with its channel-specific fields, and the price.
    let body = w.emb.market.listing("SHOP-MUG-1").expect("listing sent");
    assert_eq!(body["attributes"]["seo_title"], json!("The blue mug"));
    assert_eq!(
        body["attributes"]["collections"],
        json!(["Kitchen", "Gifts"])
    );
    assert_eq!(body["attributes"]["asin"], json!("B0TEST0001"));
    assert_eq!(
        w.emb
            .market
            .price("SHOP-MUG-1")
            .unwrap()
            .normalize()
            .to_string(),
        "42.5"
    );
    // Back in Odoo: listing state and reference, the pushed price.
    let b = rows(
        &w,
        "channel.product.binding",
        Domain::leaf("id", "=", binding),
        &[
            "listing_state",
            "listing_ref",
            "last_pushed_price",
            "last_error",
        ],
    )
    .await;
    assert_eq!(b[0]["listing_state"], json!("active"), "{b:?}");
    assert!(
        b[0]["listing_ref"].as_str().is_some_and(|s| !s.is_empty()),
        "{b:?}"
    );
    assert_eq!(b[0]["last_pushed_price"], json!(42.5));
    assert_eq!(b[0]["last_error"], json!(false));
    let c = rows(
        &w,
        "channel.channel",
        Domain::leaf("id", "=", ch),
        &["last_price_sync"],
    )
    .await;
    assert_ne!(c[0]["last_price_sync"], json!(false));
    // Nothing changed: nothing is sent again.
    let r = w.engine.cycle().await;
    let l = &r.listings["shop"];
    assert_eq!(
        (l.upserted, l.unchanged, l.prices_queued),
        (0, 1, 0),
        "{l:?}"
    );
    // The addon itself refuses metafields that are not a JSON list (so the daemon never
    // meets them).
    let e = w
        .admin
        .write(
            "channel.product.binding",
            &[binding],
            obj(json!({"shopify_metafields_json": "{oops"})),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, OdooError::ValidationError(_)), "{e:?}");
    // A new price in Odoo reaches the channel; a listing the channel refuses (a title over
    // its 255 characters) shows as an error on the binding, with the channel's reason.
    w.admin
        .write(
            "channel.product.binding",
            &[binding],
            obj(json!({"price": 39.9})),
            None,
        )
        .await
        .unwrap();
    w.admin
        .write(
            "product.product",
            &[product],
            obj(json!({"name": "M".repeat(300)})),
            None,
        )
        .await
        .unwrap();
    let r = w.engine.cycle().await;
    let l = &r.listings["shop"];
    assert_eq!((l.rejected, l.prices_applied), (1, 1), "{l:?}");
    assert_eq!(
        w.emb
            .market
            .price("SHOP-MUG-1")
            .unwrap()
            .normalize()
            .to_string(),
        "39.9"
    );
    let b = rows(
        &w,
        "channel.product.binding",
        Domain::leaf("id", "=", binding),
        &["listing_state", "last_error"],
    )
    .await;
    assert_eq!(b[0]["listing_state"], json!("error"));
    assert!(
        b[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("255")),
        "{b:?}"
    );
    // The quantity the channel acknowledged for the binding's SKU is shown on the binding.
    let shown = w.emb.market.quantity("SHOP-MUG-1").expect("stock pushed");
    let b = rows(
        &w,
        "channel.product.binding",
        Domain::leaf("id", "=", binding),
        &["last_pushed_qty", "last_pushed_at"],
    )
    .await;
    assert_eq!(
        b[0]["last_pushed_qty"].as_f64(),
        Some(shown as f64),
        "{b:?}"
    );
    assert_ne!(b[0]["last_pushed_at"], json!(false), "{b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_addon_but_no_channel_record_orders_still_import() {
    let w = world(true, false).await;
    stock_first(&w, 20.0);
    let o = w.emb.market.create_order(order("SKU-000001", 1)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let so = orders_for(&w, &ext).await;
    assert_eq!(so.len(), 1);
    assert_eq!(
        so[0]["channel_id"],
        json!(false),
        "no channel record to tag it with"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_addon_everything_works_through_client_order_ref_and_logs() {
    let w = world(false, false).await;
    assert!(!w.engine.log.addon());
    stock_first(&w, 20.0);
    let o = w.emb.market.create_order(order("SKU-000001", 1)).unwrap();
    let ext = o["id"].as_str().unwrap().to_owned();
    w.emb.market.create_order(order("NOPE", 1)).unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.listings.is_empty() && r.decisions.iter().all(|d| d.pending == 0));
    let so = w
        .odoo
        .search(
            "sale.order",
            &Domain::leaf("client_order_ref", "=", format!("shop:{ext}")),
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    assert_eq!(so.len(), 1);
    let held = w
        .store
        .quarantined(Some("shop"), QuarantineState::Held)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].odoo_model.as_deref(), Some("ir.logging"));
    // And the addon's models are not there to be used.
    let e = w
        .odoo
        .search("channel.channel", &Domain::new(), &SearchOpts::default())
        .await
        .unwrap_err();
    assert!(matches!(e, OdooError::UnknownModel(_)), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_sent_in_an_amazon_feed_is_settled_when_the_feed_is_done() {
    use channel_amazon::sandbox::{AmazonSandbox, SandboxConfig};
    use channels_core::ChannelId;
    use odoo_channels::sync::channels::ChannelHandle;
    let w = world(true, true).await;
    let product = stock_first(&w, 20.0);
    let sku = "SKU-000001".to_string();
    let amz_sb = AmazonSandbox::start(SandboxConfig {
        feed_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    amz_sb.add_listing(&sku, 0, rust_decimal::Decimal::new(1000, 2));
    // Every update goes through a JSON_LISTINGS_FEED: accepted now, applied later.
    let mut cfg = amz_sb.amazon_config();
    cfg.connection.feed_threshold = 0;
    let amz_cfg = Config::from_toml_str(&format!(
        "{}\n[[channels]]\nid = \"amz\"\nkind = \"amazon\"\n",
        w.emb.config_toml("sqlite:///unused.db")
    ))
    .unwrap();
    let mut handles = channels::build_all(
        &Config::from_toml_str(&w.emb.config_toml("sqlite:///unused.db")).unwrap(),
        &channels::registry(),
    )
    .unwrap();
    handles.push(ChannelHandle {
        id: ChannelId::new("amz").unwrap(),
        config: amz_cfg.channel("amz").unwrap().clone(),
        channel: Arc::new(
            channel_amazon::AmazonChannel::new(ChannelId::new("amz").unwrap(), cfg).unwrap(),
        ),
    });
    let engine = Engine::start(
        &amz_cfg,
        w.store.clone(),
        w.odoo.clone(),
        handles,
        EventBus::new(),
    )
    .await
    .unwrap();
    let ch = w
        .admin
        .create(
            "channel.channel",
            obj(json!({"name": "Amazon US", "code": "amz", "kind": "amazon"})),
            None,
        )
        .await
        .unwrap();
    let binding = w
        .admin
        .create(
            "channel.product.binding",
            obj(json!({"channel_id": ch, "product_id": product, "external_sku": sku, "price": 42.5})),
            None,
        )
        .await
        .unwrap();
    engine.reload_catalog().await.unwrap();
    let mut applied = 0;
    for _ in 0..20 {
        let r = engine.cycle().await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        applied += r.listings["amz"].prices_applied;
        if applied > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert_eq!(applied, 1, "the feed's price was settled once");
    assert_eq!(amz_sb.price(&sku).unwrap().normalize().to_string(), "42.5");
    let b = rows(
        &w,
        "channel.product.binding",
        Domain::leaf("id", "=", binding),
        &["last_pushed_price"],
    )
    .await;
    assert_eq!(b[0]["last_pushed_price"], json!(42.5), "{b:?}");
    // Settled: later rounds send no price again.
    let feeds = amz_sb.counters().request_count("createFeed");
    for _ in 0..3 {
        let r = engine.cycle().await;
        assert_eq!(r.listings["amz"].prices_queued, 0);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let later = amz_sb.counters();
    assert!(
        later.request_count("createFeed") <= feeds + 1,
        "no price re-sent: {:?}",
        later.requests
    );
    assert_eq!(later.total_violations(), 0);
}
