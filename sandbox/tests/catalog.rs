//! The generated catalog seed: deterministic, consistent with the stock reads the daemon makes.

use odoo_sandbox::{OdooSandbox, SandboxConfig, Seed};
use serde_json::{Value, json};
use std::collections::HashMap;

async fn catalog(products: usize, warehouses: usize, seed: u64) -> OdooSandbox {
    OdooSandbox::start(SandboxConfig::default().seed(Seed::Catalog {
        products,
        warehouses,
        seed,
    }))
    .await
    .unwrap()
}

#[tokio::test]
async fn catalog_is_deterministic_and_consistent() {
    let a = catalog(2_000, 3, 7).await;
    let b = catalog(2_000, 3, 7).await;
    let info = a.catalog().unwrap().clone();
    assert_eq!(info.products, 2_000);
    assert_eq!(info.warehouse_ids.len(), 3);
    assert!(
        info.quants > 4_000 && info.quants <= 6_000,
        "{}",
        info.quants
    );
    let ha = a.handle();
    let hb = b.handle();
    // Same seed, same catalog.
    let qa = ha
        .call("stock.quant", "search_read", json!([[["product_id", ">=", info.first_product_id]]]), json!({"fields": ["product_id", "location_id", "quantity", "reserved_quantity"], "load": null, "order": "id"}))
        .unwrap();
    let qb = hb
        .call("stock.quant", "search_read", json!([[["product_id", ">=", info.first_product_id]]]), json!({"fields": ["product_id", "location_id", "quantity", "reserved_quantity"], "load": null, "order": "id"}))
        .unwrap();
    assert_eq!(qa, qb);
    // SKUs and ordering.
    let first = ha
        .call(
            "product.product",
            "search_read",
            json!([[["default_code", "=like", "SKU-%"]]]),
            json!({"fields": ["default_code", "is_storable", "type"], "limit": 2}),
        )
        .unwrap();
    assert_eq!(first[0]["default_code"], "SKU-000001");
    assert_eq!(first[1]["default_code"], "SKU-000002");
    assert_eq!(first[0]["is_storable"], true);
    // Three ways to read stock per product and warehouse agree.
    let mut by_quant: HashMap<(i64, i64), f64> = HashMap::new();
    for q in qa.as_array().unwrap() {
        let wh = info
            .stock_location_ids
            .iter()
            .position(|&l| l == q["location_id"].as_i64().unwrap())
            .map(|i| info.warehouse_ids[i])
            .unwrap();
        *by_quant
            .entry((q["product_id"].as_i64().unwrap(), wh))
            .or_default() += q["quantity"].as_f64().unwrap();
    }
    let groups = ha
        .call(
            "stock.quant",
            "formatted_read_group",
            json!([[["product_id", ">=", info.first_product_id], ["location_id.usage", "=", "internal"]]]),
            json!({"groupby": ["product_id", "warehouse_id"], "aggregates": ["quantity:sum", "reserved_quantity:sum"]}),
        )
        .unwrap();
    assert_eq!(groups.as_array().unwrap().len(), by_quant.len());
    for g in groups.as_array().unwrap() {
        let key = (
            g["product_id"][0].as_i64().unwrap(),
            g["warehouse_id"][0].as_i64().unwrap(),
        );
        assert_eq!(g["quantity:sum"].as_f64().unwrap(), by_quant[&key]);
    }
    let wh = info.warehouse_ids[1];
    let products = ha
        .call(
            "product.product",
            "search_read",
            json!([[["default_code", "=like", "SKU-00001_"]]]),
            json!({"fields": ["qty_available", "free_qty"], "context": {"warehouse_id": wh}}),
        )
        .unwrap();
    assert_eq!(products.as_array().unwrap().len(), 10);
    for p in products.as_array().unwrap() {
        let expected = by_quant
            .get(&(p["id"].as_i64().unwrap(), wh))
            .copied()
            .unwrap_or(0.0);
        assert_eq!(p["qty_available"].as_f64().unwrap(), expected);
        assert!(p["free_qty"].as_f64().unwrap() <= expected);
    }
    // A different seed gives a different catalog.
    let c = catalog(50, 1, 8).await;
    let qc = c
        .handle()
        .call(
            "stock.quant",
            "search_read",
            json!([[["product_id", ">=", info.first_product_id]]]),
            json!({"fields": ["quantity"], "limit": 20, "order": "id"}),
        )
        .unwrap();
    let qa20: Vec<Value> = qa
        .as_array()
        .unwrap()
        .iter()
        .take(20)
        .map(|r| r["quantity"].clone())
        .collect();
    let qc20: Vec<Value> = qc
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["quantity"].clone())
        .collect();
    assert_ne!(qa20, qc20);
}

#[tokio::test]
async fn orders_on_the_catalog_reserve_and_ship() {
    let sb = catalog(100, 2, 1).await;
    let info = sb.catalog().unwrap().clone();
    let h = sb.handle();
    let p = info.first_product_id;
    h.set_stock(p, info.stock_location_ids[0], 10.0).unwrap();
    let so = h
        .create(
            "sale.order",
            json!({"partner_id": 15, "client_order_ref": "SHOPIFY:42", "warehouse_id": info.warehouse_ids[0], "order_line": [[0, 0, {"product_id": p, "product_uom_qty": 3}]]}),
        )
        .unwrap();
    h.call("sale.order", "action_confirm", json!([[so]]), json!({}))
        .unwrap();
    let q = |field: &str| {
        h.call(
            "product.product",
            "read",
            json!([[p], [field]]),
            json!({"context": {"warehouse_id": info.warehouse_ids[0]}}),
        )
        .unwrap()[0][field]
            .as_f64()
            .unwrap()
    };
    assert_eq!(
        (q("qty_available"), q("free_qty"), q("virtual_available")),
        (10.0, 7.0, 7.0)
    );
    let pick = h.read("sale.order", &[so], &["picking_ids"]).unwrap()[0]["picking_ids"][0]
        .as_i64()
        .unwrap();
    let r = h
        .call(
            "stock.picking",
            "button_validate",
            json!([[pick]]),
            json!({"context": {"skip_sms": true}}),
        )
        .unwrap();
    assert_eq!(r, json!(true));
    assert_eq!((q("qty_available"), q("free_qty")), (7.0, 7.0));
}
