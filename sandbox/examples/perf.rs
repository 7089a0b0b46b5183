//! Rough performance figures of the sandbox (run in release):
//! `cargo run -p odoo-sandbox --release --example perf -- 100000 3`
//!
//! Seeds a generated catalog, then times over HTTP (JSON-2 and JSON-RPC) the reads the daemon
//! makes: all internal quants with `load=None`, a 30,000-quant page with display names,
//! `formatted_read_group` per product and warehouse, and product quantities per warehouse.

use odoo_sandbox::{OdooSandbox, SandboxConfig, Seed};
use serde_json::{Value, json};
use std::time::Instant;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let products: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let warehouses: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let t = Instant::now();
    let sb = OdooSandbox::start(SandboxConfig::default().seed(Seed::Catalog {
        products,
        warehouses,
        seed: 42,
    }))
    .await
    .expect("sandbox starts");
    let info = sb.catalog().cloned().unwrap_or_default();
    println!(
        "seed {products} products x {warehouses} warehouses: {} quants in {:.2?}, RSS {} MB",
        info.quants,
        t.elapsed(),
        rss_mb()
    );
    let http = reqwest::Client::new();
    let json2 = |model: &str, method: &str, body: Value| {
        let req = http
            .post(format!("{}/json/2/{model}/{method}", sb.url()))
            .bearer_auth(sb.api_key())
            .json(&body);
        async move {
            let t = Instant::now();
            let text = req.send().await.expect("send").text().await.expect("body");
            (
                t.elapsed(),
                text.len(),
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let (d, bytes, v) = json2(
        "stock.quant",
        "search_read",
        json!({"domain": [["location_id.usage", "=", "internal"]], "fields": ["product_id", "warehouse_id", "quantity", "reserved_quantity"], "load": null}),
    )
    .await;
    println!(
        "JSON-2 search_read all internal quants, load=None: {} rows, {bytes} bytes, {d:.2?}",
        v.as_array().map_or(0, Vec::len)
    );
    let (d, bytes, v) = json2(
        "stock.quant",
        "search_read",
        json!({"domain": [["location_id.usage", "=", "internal"]], "fields": ["product_id", "location_id", "warehouse_id", "quantity", "reserved_quantity"], "limit": 30000}),
    )
    .await;
    println!(
        "JSON-2 search_read 30,000 quants with display names: {} rows, {bytes} bytes, {d:.2?}",
        v.as_array().map_or(0, Vec::len)
    );
    let (d, _, v) = json2(
        "stock.quant",
        "formatted_read_group",
        json!({"domain": [["location_id.usage", "=", "internal"]], "groupby": ["product_id", "warehouse_id"], "aggregates": ["quantity:sum", "reserved_quantity:sum"]}),
    )
    .await;
    println!(
        "JSON-2 formatted_read_group product x warehouse: {} groups, {d:.2?}",
        v.as_array().map_or(0, Vec::len)
    );
    for wh in info.warehouse_ids.iter().take(1) {
        let (d, _, v) = json2(
            "product.product",
            "search_read",
            json!({"domain": [["default_code", "=like", "SKU-%"]], "fields": ["default_code", "qty_available", "free_qty"], "context": {"warehouse_id": wh}}),
        )
        .await;
        println!(
            "JSON-2 product search_read qty_available/free_qty, warehouse {wh}: {} rows, {d:.2?}",
            v.as_array().map_or(0, Vec::len)
        );
    }
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object", "method": "execute_kw",
        "args": [sb.database(), 2, sb.api_key(), "stock.quant", "search_read", [[["location_id.usage", "=", "internal"]]],
                 {"fields": ["product_id", "warehouse_id", "quantity", "reserved_quantity"], "load": null}]}});
    let t = Instant::now();
    let text = http
        .post(format!("{}/jsonrpc", sb.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    println!(
        "JSON-RPC search_read all internal quants, load=None: {} bytes, {:.2?}",
        text.len(),
        t.elapsed()
    );
    let t = Instant::now();
    let n = 200;
    for i in 0..n {
        json2("product.product", "read", json!({"ids": [info.first_product_id + i], "fields": ["qty_available"], "context": {"warehouse_id": 1}})).await;
    }
    println!(
        "JSON-2 single-product read, {n} calls: {:.2?} per call",
        t.elapsed() / n as u32
    );
    println!("RSS at the end: {} MB", rss_mb());
    sb.shutdown().await;
}

/// Resident memory of this process (Linux), in MB.
fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
