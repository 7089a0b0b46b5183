//! The daemon with the real marketplace connectors, Shopify and Amazon, against their sandboxes
//! and the Odoo sandbox, all over HTTP: orders from both land in Odoo once, a stock change in
//! Odoo reaches both, and neither sandbox ever saw the published rate limits exceeded.

use std::sync::Arc;

use channel_amazon::sandbox::{
    AmazonSandbox, NewItem, NewOrder as AmzOrder, SandboxConfig as AmzCfg,
};
use channel_shopify::sandbox::{
    CatalogItem, NewLine as ShopLine, NewOrder as ShopOrder, SandboxConfig as ShopCfg,
    ShopifySandbox,
};
use odoo_channels::embedded::EmbeddedOptions;
use odoo_channels::odoo::{Domain, SearchOpts};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const SKUS: usize = 5;

fn sku(i: usize) -> String {
    format!("SKU-{i:06}")
}

mod common;

/// The common world (Odoo sandbox, store, engine) plus the two marketplaces' sandboxes.
struct World {
    base: common::World,
    amazon: AmazonSandbox,
    shop: ShopifySandbox,
}

impl std::ops::Deref for World {
    type Target = common::World;
    fn deref(&self) -> &common::World {
        &self.base
    }
}

/// The embedded Odoo (and its generic sandbox marketplace, which these tests ignore) plus an
/// Amazon and a Shopify sandbox listing the same SKUs, wired into one daemon configuration
/// exactly as a merchant would write it.
async fn world() -> World {
    let amazon = AmazonSandbox::start(AmzCfg {
        currency: "EUR".into(),
        feed_delay: std::time::Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    for i in 1..=SKUS {
        amazon.add_listing(&sku(i), 0, Decimal::new(2500, 2));
    }
    let shop = ShopifySandbox::start(ShopCfg {
        catalog: (1..=SKUS)
            .map(|i| CatalogItem {
                sku: sku(i),
                title: format!("Product {i}"),
                price: Decimal::new(2500, 2),
                available: 0,
            })
            .collect(),
        // The Odoo sandbox's company currency, so orders are not held for a missing one.
        currency: "USD".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    let amz = amazon.connection();
    let channels = format!(
        r#"
[[channels]]
id = "amz"
kind = "amazon"
priority = 50
buffer_percent = 10
stock_schedule = "realtime"
order_schedule = "realtime"
[channels.connection]
endpoint = "{endpoint}"
lwa_endpoint = "{lwa}"
client_id = "{client_id}"
seller_id = "{seller_id}"
marketplace_id = "{marketplace_id}"
[channels.secrets]
refresh_token = "{refresh}"
client_secret = "{amz_secret}"

[[channels]]
id = "shopify"
kind = "shopify"
priority = 100
buffer_percent = 5
stock_schedule = "realtime"
order_schedule = "realtime"
[channels.connection]
shop = "{shop_domain}"
base_url = "{shop_url}"
[channels.secrets]
access_token = "{shop_token}"
client_secret = "{shop_secret}"
"#,
        endpoint = amz.endpoint,
        lwa = amz.lwa_endpoint,
        client_id = amz.client_id,
        seller_id = amz.seller_id,
        marketplace_id = amz.marketplace_id,
        refresh = amazon.config().refresh_token,
        amz_secret = amazon.config().client_secret,
        shop_domain = shop.shop_domain(),
        shop_url = shop.url(),
        shop_token = shop.access_token(),
        shop_secret = shop.client_secret(),
    );
    let options = EmbeddedOptions {
        products: SKUS,
        ..Default::default()
    };
    let base = common::start(options, |t| t + &channels).await;
    World { base, amazon, shop }
}

impl World {
    async fn orders_for(&self, channel: &str, external_id: &str) -> Vec<serde_json::Value> {
        self.odoo
            .search_read(
                "sale.order",
                &Domain::leaf("client_order_ref", "=", format!("{channel}:{external_id}")),
                &["state", "order_line"],
                &SearchOpts::default(),
            )
            .await
            .unwrap()
    }

    /// Units of `product` Odoo has neither reserved nor promised, over every warehouse: per
    /// warehouse, on hand less what is committed (its reservations, or its open outgoing moves
    /// when more: a confirmed order not reserved yet), never below zero; less what a
    /// warehouse promised beyond its stock and incoming (a backorder must be served from
    /// somewhere).
    async fn pool(&self, product: i64) -> i64 {
        let whole = |d: Decimal| d.floor().to_i64().unwrap();
        let mut total = 0;
        let mut short = 0;
        for l in self.odoo.stock_levels(Some(&[product]), &[]).await.unwrap() {
            let moves = |from: &str, to: &str| {
                Domain::leaf("product_id", "=", product)
                    .and(Domain::leaf(
                        "state",
                        "in",
                        vec!["waiting", "confirmed", "partially_available", "assigned"],
                    ))
                    .and(Domain::leaf(
                        format!("{from}.warehouse_id"),
                        "=",
                        l.warehouse_id,
                    ))
                    .and(Domain::leaf(format!("{to}.usage"), "!=", "internal"))
            };
            let sum = |rows: Vec<serde_json::Value>| -> Decimal {
                rows.iter()
                    .filter_map(|m| m["product_qty"].as_f64())
                    .map(|q| Decimal::try_from(q).unwrap())
                    .sum()
            };
            let read = |d: Domain| async move {
                self.odoo
                    .search_read("stock.move", &d, &["product_qty"], &SearchOpts::default())
                    .await
                    .unwrap()
            };
            let outgoing = sum(read(moves("location_id", "location_dest_id")).await);
            let incoming = sum(read(moves("location_dest_id", "location_id")).await);
            let committed = l.reserved.ceil().max(outgoing.ceil());
            total += whole((l.on_hand.floor() - committed).max(Decimal::ZERO));
            short += whole((committed - l.on_hand.floor() - incoming.floor()).max(Decimal::ZERO));
        }
        total - short
    }

    /// Cycles until the Amazon push has nothing in flight (a feed is applied after a delay).
    async fn settle_amazon_feeds(&self) {
        for _ in 0..50 {
            let r = self.engine.cycle().await;
            assert!(r.errors.is_empty(), "{:?}", r.errors);
            if r.pushed.get("amz").is_none_or(|p| p.pending == 0) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the Amazon feed never settled");
    }

    /// Neither sandbox refused a request because the connector went over the published rate.
    fn assert_within_rate_limits(&self) {
        let a = self.amazon.counters();
        assert!(
            a.violations.is_empty(),
            "Amazon usage plan exceeded: {:?}",
            a.violations
        );
        let s = self.shop.counters();
        assert_eq!(s.throttled, 0, "Shopify cost bucket exceeded");
        assert_eq!(s.invalid_documents, 0, "Shopify refused a GraphQL document");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_from_shopify_and_amazon_land_in_odoo_exactly_once() {
    let w = world().await;
    let info = w.emb.odoo.catalog().unwrap();
    w.emb
        .odoo
        .handle()
        .set_stock(info.first_product_id, info.stock_location_ids[0], 40.0)
        .unwrap();

    let amz_id = w
        .amazon
        .create_order(AmzOrder {
            items: vec![NewItem {
                sku: sku(1),
                title: "Product 1".into(),
                quantity: 2,
                price: Decimal::new(2500, 2),
                ..Default::default()
            }],
            buyer_email: Some("buyer@marketplace.example".into()),
            ..Default::default()
        })
        .unwrap();
    let shop_id = w
        .shop
        .create_order(ShopOrder {
            lines: vec![ShopLine::sku(&sku(1), 3)],
            email: Some("shopper@example.com".into()),
            ..Default::default()
        })
        .unwrap();

    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.imported["amz"].imported, 1, "{:?}", r.imported);
    assert_eq!(r.imported["shopify"].imported, 1, "{:?}", r.imported);

    let amz = w.orders_for("amz", &amz_id).await;
    assert_eq!(amz.len(), 1, "Amazon order {amz_id}: {amz:?}");
    // Shopify's external id is the order's numeric id (legacyResourceId).
    let shop_ext = shop_id.to_string();
    let shop = w.orders_for("shopify", &shop_ext).await;
    assert_eq!(shop.len(), 1, "Shopify order {shop_ext}: {shop:?}");
    assert_eq!(amz[0]["order_line"].as_array().map(Vec::len), Some(1));

    // A second cycle re-reads both channels' overlap windows: nothing new, nothing twice.
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(w.orders_for("amz", &amz_id).await.len(), 1);
    assert_eq!(w.orders_for("shopify", &shop_ext).await.len(), 1);
    w.assert_within_rate_limits();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_change_in_odoo_reaches_shopify_and_amazon() {
    let w = world().await;
    let info = w.emb.odoo.catalog().unwrap();
    let (product, loc) = (info.first_product_id, info.stock_location_ids[0]);
    w.emb.odoo.handle().set_stock(product, loc, 60.0).unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let pool = w.pool(product).await;
    let shop_expect = pool - (pool * 5 + 99) / 100;
    let amz_expect = pool - (pool * 10 + 99) / 100;
    assert_eq!(w.shop.available(&sku(1)), Some(shop_expect));
    // Every SKU changed at once, so Amazon got one JSON_LISTINGS_FEED, applied a little later:
    // the next cycles poll it until its processing report settles every SKU.
    w.settle_amazon_feeds().await;
    assert_eq!(w.amazon.quantity(&sku(1)), Some(amz_expect));

    // A change in Odoo: both channels follow, and only the changed SKU is written.
    w.emb.odoo.handle().set_stock(product, loc, 20.0).unwrap();
    let shop_writes = w.shop.counters().mutation("inventorySetQuantities");
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let pool = w.pool(product).await;
    assert_eq!(
        w.shop.available(&sku(1)),
        Some(pool - (pool * 5 + 99) / 100)
    );
    assert_eq!(
        w.amazon.quantity(&sku(1)),
        Some(pool - (pool * 10 + 99) / 100)
    );
    assert_eq!(
        w.shop.counters().mutation("inventorySetQuantities"),
        shop_writes + 1,
        "one batched stock mutation for one changed SKU"
    );
    w.assert_within_rate_limits();
}

/// Shopify's webhooks into the daemon's sink: a genuine delivery is accepted; the same
/// delivery again (Shopify retries when it missed the answer) is answered 200 without being
/// acted on twice, so Shopify does not keep retrying and drop the subscription; a forged one
/// is refused as unauthorised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_webhooks_genuine_duplicate_and_forged() {
    use odoo_channels::server::{WebhookError, WebhookRequest, WebhookSink};
    use odoo_channels::sync::webhooks::ChannelWebhooks;

    let w = world().await;
    let cell = Arc::new(tokio::sync::OnceCell::new());
    cell.set(w.engine.clone()).ok().unwrap();
    let sink = ChannelWebhooks::new(cell);
    w.shop
        .create_order(ShopOrder {
            lines: vec![ShopLine::sku(&sku(2), 1)],
            ..Default::default()
        })
        .unwrap();
    let genuine = w.shop.last_webhook("orders/create").unwrap();
    let request = |body: Vec<u8>| WebhookRequest {
        channel: "shopify".into(),
        headers: genuine.header_map(),
        query: None,
        body: body.into(),
    };
    let first = sink.deliver(request(genuine.body.clone())).await.unwrap();
    assert!(first.status.is_success());
    let again = sink.deliver(request(genuine.body.clone())).await.unwrap();
    assert!(
        again.status.is_success(),
        "a duplicate must be answered 2xx"
    );

    let mut forged = genuine.body.clone();
    forged.extend_from_slice(b" ");
    let mut req = request(forged);
    req.headers
        .insert("x-shopify-webhook-id", "another-delivery".parse().unwrap());
    match sink.deliver(req).await {
        Err(WebhookError::Unauthorized(_)) => {}
        other => panic!("a forged webhook was not refused: {other:?}"),
    }
}

/// A unit the merchant cancels on Shopify before it ships (a refund with `restockType:
/// CANCEL`) comes off the Odoo order line, once; a refund of a shipped unit would not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_partial_cancellation_lowers_the_odoo_line() {
    let w = world().await;
    let info = w.emb.odoo.catalog().unwrap();
    w.emb
        .odoo
        .handle()
        .set_stock(info.first_product_id, info.stock_location_ids[0], 40.0)
        .unwrap();
    // Sold at the Odoo price, so the audit has nothing to hold.
    let price = w
        .odoo
        .search_read(
            "product.product",
            &Domain::leaf("id", "=", info.first_product_id),
            &["lst_price"],
            &SearchOpts::default(),
        )
        .await
        .unwrap()[0]["lst_price"]
        .to_string();
    let mut line = ShopLine::sku(&sku(1), 3);
    line.price = Some(price.parse().unwrap());
    let shop_id = w
        .shop
        .create_order(ShopOrder {
            lines: vec![line],
            email: Some("shopper@example.com".into()),
            shipping_address: Some(channel_shopify::sandbox::Address {
                first_name: Some("Jo".into()),
                last_name: Some("Martin".into()),
                address1: Some("3 rue des Lilas".into()),
                city: Some("Lyon".into()),
                zip: Some("69001".into()),
                country_code: Some("FR".into()),
                phone: Some("+33 4 72 00 00 00".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .unwrap();
    let r = w.engine.cycle().await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let so = w.orders_for("shopify", &shop_id.to_string()).await;
    assert_eq!(so.len(), 1, "{so:?}");
    let so_id = so[0]["id"].as_i64().unwrap();
    let notes = w
        .odoo
        .search_read(
            "mail.message",
            &Domain::leaf("model", "=", "sale.order").and(Domain::leaf("res_id", "=", so_id)),
            &["body"],
            &SearchOpts::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        so[0]["state"],
        serde_json::json!("sale"),
        "{so:?} {notes:?}"
    );
    let line_qty = || async {
        w.odoo
            .search_read(
                "sale.order.line",
                &Domain::leaf("order_id", "=", so_id).and(Domain::leaf("display_type", "=", false)),
                &["product_uom_qty"],
                &SearchOpts::default(),
            )
            .await
            .unwrap()
            .iter()
            .filter_map(|l| l["product_uom_qty"].as_f64())
            .collect::<Vec<_>>()
    };
    assert_eq!(line_qty().await, vec![3.0]);

    let line_id = w.shop.order(shop_id).unwrap().lines[0].id;
    let answer = w.shop.execute(
        r#"mutation CancelOne($input: RefundInput!) {
  refundCreate(input: $input) { refund { id } userErrors { field message } }
}"#,
        serde_json::json!({"input": {
            "orderId": format!("gid://shopify/Order/{shop_id}"),
            "refundLineItems": [{"lineItemId": format!("gid://shopify/LineItem/{line_id}"),
                                 "quantity": 1, "restockType": "CANCEL"}]}}),
    );
    assert_eq!(
        answer["data"]["refundCreate"]["userErrors"],
        serde_json::json!([]),
        "{answer}"
    );
    for _ in 0..2 {
        let r = w.engine.cycle().await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    assert_eq!(line_qty().await, vec![2.0], "one unit cancelled, once");
    assert_eq!(w.orders_for("shopify", &shop_id.to_string()).await.len(), 1);
    w.assert_within_rate_limits();
}
