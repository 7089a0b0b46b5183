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
use odoo_channels::config::Config;
use odoo_channels::embedded::{Embedded, EmbeddedOptions};
use odoo_channels::odoo::{Domain, OdooClient, SearchOpts};
use odoo_channels::store::Store;
use odoo_channels::sync::{Engine, EventBus, channels};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const SKUS: usize = 5;

fn sku(i: usize) -> String {
    format!("SKU-{i:06}")
}

struct World {
    emb: Embedded,
    amazon: AmazonSandbox,
    shop: ShopifySandbox,
    engine: Arc<Engine>,
    odoo: OdooClient,
    _dir: tempfile::TempDir,
}

/// The embedded Odoo (and its generic sandbox marketplace, which these tests ignore) plus an
/// Amazon and a Shopify sandbox listing the same SKUs, wired into one daemon configuration
/// exactly as a merchant would write it.
async fn world() -> World {
    let emb = Embedded::start(&EmbeddedOptions {
        products: SKUS,
        ..Default::default()
    })
    .await
    .unwrap();
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
        ..Default::default()
    })
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/state.db", dir.path().display());
    let amz = amazon.connection();
    let toml = format!(
        r#"{base}
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
        base = emb.config_toml(&url),
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
    let config = Config::from_toml_str(&toml).unwrap();
    let store = Store::open(&url).await.unwrap();
    let odoo = OdooClient::connect(config.odoo.client_settings().unwrap())
        .await
        .unwrap();
    let handles = channels::build_all(&config, &channels::registry()).unwrap();
    let engine = Engine::start(&config, store, odoo.clone(), handles, EventBus::new())
        .await
        .unwrap();
    World {
        emb,
        amazon,
        shop,
        engine,
        odoo,
        _dir: dir,
    }
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

    /// Units of `product` Odoo holds unreserved, over every warehouse. A warehouse reserved
    /// beyond its stock counts as zero: its shortfall does not eat another's stock.
    async fn pool(&self, product: i64) -> i64 {
        self.odoo
            .stock_levels(Some(&[product]), &[])
            .await
            .unwrap()
            .iter()
            .map(|l| {
                (l.on_hand - l.reserved)
                    .max(Decimal::ZERO)
                    .floor()
                    .to_i64()
                    .unwrap()
            })
            .sum()
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
