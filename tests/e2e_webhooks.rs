//! Webhooks into a running daemon, over HTTP: the daemon's own server and every job on its
//! own task (as `run` wires them), the sandbox marketplaces delivering signed webhooks to it
//! the way marketplaces do: every event twice, late, out of order.
//!
//! What must hold: each order lands in Odoo exactly once and in its newest state, only the
//! webhooks bring it (the order job's fallback poll is a minute away), every delivery,
//! duplicates included, is answered 2xx (a marketplace that keeps getting errors retries and
//! then drops the subscription), and a forged delivery is refused.

use std::time::{Duration, Instant};

use channel_sandbox::sandbox::{NewLine, NewOrder, WebhookBehaviour};
use odoo_channels::config::Config;
use odoo_channels::embedded::{Embedded, EmbeddedOptions, Serving};
use odoo_channels::odoo::OdooClient;
use odoo_channels::store::Store;
use odoo_channels::sync::{Engine, EventBus, channels};
use serde_json::{Value, json};

const MARKET: &str = "market2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_late_and_reordered_webhooks_import_each_order_once_in_its_newest_state() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let emb = Embedded::start(&EmbeddedOptions {
        products: 5,
        marketplaces: 2,
        daemon_listen: Some(addr),
        ..Default::default()
    })
    .await
    .unwrap();
    let info = emb.odoo.catalog().unwrap();
    emb.odoo
        .handle()
        .set_stock(info.first_product_id, info.stock_location_ids[0], 100.0)
        .unwrap();
    let market = emb.market_of(MARKET).unwrap();
    market.set_webhooks(WebhookBehaviour {
        url: Some(format!("http://{addr}/webhooks/{MARKET}")),
        duplicate_rate: 1.0,
        max_delay_ms: 300,
        max_attempts: 0,
    });

    // The daemon, as `run` starts it.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/state.db", dir.path().display());
    let config = Config::from_toml_str(&emb.config_toml(&url)).unwrap();
    let store = Store::open(&url).await.unwrap();
    let odoo = OdooClient::connect(config.odoo.client_settings().unwrap())
        .await
        .unwrap();
    let handles = channels::build_all(&config, &channels::registry()).unwrap();
    let engine = Engine::start(&config, store, odoo.clone(), handles, EventBus::new())
        .await
        .unwrap();
    let daemon = Serving::start(engine, listener, &config.server);
    // Let the first rounds (everything at start) pass, so that what follows is the webhooks'.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Three orders: one created paid; two created unpaid, then paid (two events each, both
    // delivered twice and in any order).
    let new_order = |status: &str| NewOrder {
        lines: vec![NewLine {
            sku: "SKU-000001".into(),
            quantity: 1,
            ..Default::default()
        }],
        status: Some(status.into()),
        ..Default::default()
    };
    let mut ids = Vec::new();
    ids.push(id_of(&market.create_order(new_order("unshipped")).unwrap()));
    for _ in 0..2 {
        let id = id_of(&market.create_order(new_order("pending")).unwrap());
        market.set_order_status(&id, "unshipped").unwrap();
        ids.push(id);
    }

    // Only webhooks can bring them now: the order job's own poll is a minute away.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found: Vec<Vec<Value>> = Vec::new();
    while Instant::now() < deadline {
        found = Vec::new();
        for id in &ids {
            found.push(orders_for(&emb, id));
        }
        if found
            .iter()
            .all(|o| o.len() == 1 && o[0]["state"] == json!("sale"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (id, orders) in ids.iter().zip(&found) {
        assert_eq!(orders.len(), 1, "order {id}: {orders:?}");
        assert_eq!(orders[0]["state"], json!("sale"), "order {id}: {orders:?}");
    }
    // The webhooks arrive after the imports they caused: let the late ones land, then check
    // nothing more happened.
    tokio::time::sleep(Duration::from_millis(800)).await;
    for id in &ids {
        assert_eq!(orders_for(&emb, id).len(), 1, "order {id} imported again");
    }
    let all = emb
        .odoo
        .handle()
        .search_read(
            "sale.order",
            json!([["client_order_ref", "=like", format!("{MARKET}:%")]]),
            &["id"],
        )
        .unwrap();
    assert_eq!(all.len(), 3, "{all:?}");

    let deliveries = market.deliveries();
    let order_events = deliveries
        .iter()
        .filter(|d| d.topic.starts_with("order."))
        .count();
    // 3 created + 2 updated, each twice.
    assert!(order_events >= 10, "{deliveries:?}");
    assert!(deliveries.iter().any(|d| d.duplicate), "{deliveries:?}");
    let refused: Vec<_> = deliveries
        .iter()
        .filter(|d| !d.status.is_some_and(|s| (200..300).contains(&s)))
        .collect();
    assert!(
        refused.is_empty(),
        "deliveries not answered 2xx: {refused:?}"
    );

    // A forged delivery (wrong signature) over the same HTTP endpoint is refused.
    let forged = reqwest::Client::new()
        .post(format!("http://{addr}/webhooks/{MARKET}"))
        .header("x-sandbox-event-id", "forged-1")
        .header("x-sandbox-topic", "order.created")
        .header(
            "x-sandbox-timestamp",
            jiff::Timestamp::now().as_second().to_string(),
        )
        .header("x-sandbox-signature", format!("sha256={}", "0".repeat(64)))
        .body(r#"{"id":"forged-1","topic":"order.created","data":{"order_id":"X"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401, "{:?}", forged.text().await);

    daemon.stop().await;
    emb.shutdown().await;
}

fn id_of(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

/// The Odoo orders bound to the marketplace order `id`.
fn orders_for(emb: &Embedded, id: &str) -> Vec<Value> {
    emb.odoo
        .handle()
        .search_read(
            "sale.order",
            json!([["client_order_ref", "=", format!("{MARKET}:{id}")]]),
            &["state", "name"],
        )
        .unwrap()
        .into_iter()
        .map(Value::Object)
        .collect()
}
