//! Version personalities, fault injection, stats and the clock, over real HTTP.

use odoo_sandbox::{Fault, OdooSandbox, OdooVersion, SandboxConfig};
use odoo_wire::xmlrpc;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn start(v: OdooVersion) -> OdooSandbox {
    OdooSandbox::start(SandboxConfig::default().version(v))
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// JSON-RPC `execute_kw` as admin with the API key; returns the whole envelope.
async fn jsonrpc(sb: &OdooSandbox, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
        "service": "object", "method": "execute_kw",
        "args": [sb.database(), 2, sb.api_key(), model, method, args, kwargs]}});
    http()
        .post(format!("{}/jsonrpc", sb.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn json2(sb: &OdooSandbox, model: &str, method: &str, body: Value) -> (u16, Value) {
    let r = http()
        .post(format!("{}/json/2/{model}/{method}", sb.url()))
        .bearer_auth(sb.api_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn xmlrpc_call(sb: &OdooSandbox, model: &str, method: &str, args: Value) -> xmlrpc::Response {
    let params = vec![
        json!(sb.database()),
        json!(2),
        json!(sb.password()),
        json!(model),
        json!(method),
        args,
    ];
    let body = xmlrpc::encode_call("execute_kw", &params).unwrap();
    let text = http()
        .post(format!("{}/xmlrpc/2/object", sb.url()))
        .header("Content-Type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xmlrpc::decode_response(&text).unwrap()
}

// ------------------------------------------------------------------------- personalities

#[tokio::test]
async fn v18_renames_fields_has_no_json2_and_uses_code_200() {
    let sb = start(OdooVersion::V18).await;
    let fg = jsonrpc(
        &sb,
        "sale.order.line",
        "fields_get",
        json!([]),
        json!({"attributes": ["type"]}),
    )
    .await;
    let fields = &fg["result"];
    assert!(fields.get("tax_id").is_some() && fields.get("tax_ids").is_none());
    assert!(fields.get("product_uom").is_some() && fields.get("product_uom_id").is_none());
    // Reading the 19 name is an invalid field on 18.
    let err = jsonrpc(
        &sb,
        "sale.order.line",
        "search_read",
        json!([[]]),
        json!({"fields": ["tax_ids"], "limit": 1}),
    )
    .await;
    assert_eq!(err["error"]["code"], json!(200));
    assert_eq!(err["error"]["data"]["name"], "builtins.ValueError");
    let ok = jsonrpc(
        &sb,
        "sale.order.line",
        "search_read",
        json!([[]]),
        json!({"fields": ["tax_id", "product_uom"], "limit": 1}),
    )
    .await;
    assert!(ok["result"][0].get("tax_id").is_some());
    // Writes with the old names land on the same columns.
    let so = jsonrpc(&sb, "sale.order", "create", json!([{"partner_id": 15, "order_line": [[0, 0, {"product_id": 20, "product_uom": 1, "tax_id": [[6, 0, [1]]]}]]}]), json!({})).await;
    assert!(so["result"].is_i64(), "{so}");
    // No JSON-2 before saas-18.4.
    let r = http()
        .post(format!("{}/json/2/res.partner/search", sb.url()))
        .bearer_auth(sb.api_key())
        .json(&json!({"domain": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // formatted_read_group does not exist; read_group does.
    let e = jsonrpc(
        &sb,
        "stock.quant",
        "formatted_read_group",
        json!([[]]),
        json!({"groupby": ["product_id"]}),
    )
    .await;
    assert_eq!(e["error"]["data"]["name"], "builtins.AttributeError");
    let g = jsonrpc(
        &sb,
        "stock.quant",
        "read_group",
        json!([[], ["quantity:sum"], ["product_id"]]),
        json!({"lazy": false}),
    )
    .await;
    assert!(g["result"][0].get("__count").is_some());
    // message_post returns a bare id before 19.
    let m = jsonrpc(
        &sb,
        "sale.order",
        "message_post",
        json!([[so["result"]]]),
        json!({"body": "hi"}),
    )
    .await;
    assert!(m["result"].is_i64(), "{m}");
    // version()
    let v = jsonrpc_common(&sb, "version", json!([])).await;
    assert_eq!(v["result"]["server_version_info"][0], json!(18));
}

async fn jsonrpc_common(sb: &OdooSandbox, method: &str, args: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "common", "method": method, "args": args}});
    http()
        .post(format!("{}/jsonrpc", sb.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn v17_storable_marker_and_warehouse_key() {
    let sb = start(OdooVersion::V17).await;
    let p = jsonrpc(
        &sb,
        "product.product",
        "create",
        json!([{"name": "Legacy", "type": "product"}]),
        json!({}),
    )
    .await;
    let pid = p["result"]
        .as_i64()
        .expect("type='product' is storable on 17");
    let r = jsonrpc(
        &sb,
        "product.product",
        "read",
        json!([[pid], ["type"]]),
        json!({}),
    )
    .await;
    assert_eq!(r["result"][0]["type"], "product");
    let e = jsonrpc(
        &sb,
        "product.product",
        "read",
        json!([[pid], ["is_storable"]]),
        json!({}),
    )
    .await;
    assert_eq!(e["error"]["data"]["name"], "builtins.ValueError");
    let n = jsonrpc(
        &sb,
        "product.product",
        "search_count",
        json!([[["type", "=", "product"], ["id", "=", pid]]]),
        json!({}),
    )
    .await;
    assert_eq!(n["result"], json!(1));
    // 16–17 honour `warehouse`; `warehouse_id` means nothing to them.
    sb.handle().set_stock(pid, 5, 7.0).unwrap();
    let q = |ctx: Value| {
        let sb = &sb;
        async move {
            jsonrpc(
                sb,
                "product.product",
                "read",
                json!([[pid], ["qty_available"]]),
                json!({"context": ctx}),
            )
            .await["result"][0]["qty_available"]
                .clone()
        }
    };
    assert_eq!(q(json!({"warehouse": 1})).await, json!(7.0));
    assert_eq!(q(json!({"warehouse": 2})).await, json!(0.0));
    assert_eq!(
        q(json!({"warehouse_id": 2})).await,
        json!(7.0),
        "ignored: all warehouses"
    );
}

#[tokio::test]
async fn v16_moves_use_quantity_done() {
    let sb = start(OdooVersion::V16).await;
    let fg = jsonrpc(
        &sb,
        "stock.move",
        "fields_get",
        json!([]),
        json!({"attributes": ["type"]}),
    )
    .await;
    assert!(fg["result"].get("quantity_done").is_some());
    assert!(fg["result"].get("quantity").is_none() && fg["result"].get("picked").is_none());
    // Datetimes compare by the stored microseconds before 19: '=' on a second never matches.
    let so = jsonrpc(
        &sb,
        "sale.order",
        "create",
        json!([{"partner_id": 15}]),
        json!({}),
    )
    .await["result"]
        .clone();
    let w = jsonrpc(
        &sb,
        "sale.order",
        "read",
        json!([[so], ["write_date"]]),
        json!({}),
    )
    .await["result"][0]["write_date"]
        .clone();
    let n = jsonrpc(
        &sb,
        "sale.order",
        "search_count",
        json!([[["id", "=", so], ["write_date", "=", w]]]),
        json!({}),
    )
    .await;
    let exact = sb.clock().now_us() % 1_000_000 == 0;
    if !exact {
        assert_eq!(n["result"], json!(0));
    }
}

#[tokio::test]
async fn v19_json2_and_code_0() {
    let sb = start(OdooVersion::V19).await;
    let (s, body) = json2(
        &sb,
        "res.partner",
        "search_read",
        json!({"domain": [["id", "=", 15]], "fields": ["name"]}),
    )
    .await;
    assert_eq!((s, body[0]["name"].clone()), (200, json!("Azure Interior")));
    let (s, body) = json2(
        &sb,
        "sale.order",
        "create",
        json!({"vals_list": [{"client_order_ref": "x"}]}),
    )
    .await;
    assert_eq!(
        (s, body["name"].clone()),
        (422, json!("odoo.exceptions.ValidationError"))
    );
    let e = jsonrpc(&sb, "no.such", "search", json!([[]]), json!({})).await;
    assert_eq!(e["error"]["code"], json!(0));
    let (s, body) = json2(&sb, "stock.picking", "do_unreserve", json!({"ids": []})).await;
    assert_eq!((s, body), (200, Value::Null));
}

// --------------------------------------------------------------------------- faults

#[tokio::test]
async fn proxy_errors_and_serialization_failures() {
    let sb = start(OdooVersion::V19).await;
    sb.faults().next_calls(1, Fault::Http(503));
    let (s, _) = json2(&sb, "res.partner", "search_count", json!({"domain": []})).await;
    assert_eq!(s, 503);
    let (s, _) = json2(&sb, "res.partner", "search_count", json!({"domain": []})).await;
    assert_eq!(s, 200, "only the next call");
    sb.faults().on(
        Some("res.partner"),
        Some("create"),
        Some(1),
        Fault::SerializationFailure,
    );
    let r = jsonrpc(
        &sb,
        "res.partner",
        "create",
        json!([{"name": "Retry Me"}]),
        json!({}),
    )
    .await;
    assert_eq!(
        r["error"]["data"]["name"],
        "psycopg2.errors.SerializationFailure"
    );
    let n = jsonrpc(
        &sb,
        "res.partner",
        "search_count",
        json!([[["name", "=", "Retry Me"]]]),
        json!({}),
    )
    .await;
    assert_eq!(n["result"], json!(0), "nothing committed");
    let x = xmlrpc_call(&sb, "res.partner", "search_count", json!([[]])).await;
    assert!(matches!(x, xmlrpc::Response::Success(_)));
    sb.faults().next_calls(1, Fault::Http(502));
    let r = http()
        .post(format!("{}/xmlrpc/2/object", sb.url()))
        .body(xmlrpc::encode_call("execute_kw", &[json!("demo")]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 502);
}

#[tokio::test]
async fn ambiguous_writes_commit_then_fail_to_answer() {
    let sb = start(OdooVersion::V19).await;
    // The connection dies after the commit.
    sb.faults().on(
        Some("sale.order"),
        Some("create"),
        Some(1),
        Fault::CommitThenDrop,
    );
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object", "method": "execute_kw",
        "args": [sb.database(), 2, sb.api_key(), "sale.order", "create", [{"partner_id": 15, "client_order_ref": "SHOPIFY:7"}]]}});
    let sent = http()
        .post(format!("{}/jsonrpc", sb.url()))
        .json(&body)
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(r) => r.text().await.is_err(),
    };
    assert!(failed, "the client must not get an answer");
    let n = jsonrpc(
        &sb,
        "sale.order",
        "search_count",
        json!([[["client_order_ref", "=", "SHOPIFY:7"]]]),
        json!({}),
    )
    .await;
    assert_eq!(n["result"], json!(1), "but the order was committed");
    // The answer comes too late for the client.
    sb.faults().on(
        Some("sale.order"),
        Some("create"),
        Some(1),
        Fault::CommitThenHang(Duration::from_secs(3)),
    );
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let r = quick
        .post(format!("{}/json/2/sale.order/create", sb.url()))
        .bearer_auth(sb.api_key())
        .json(&json!({"vals_list": [{"partner_id": 15, "client_order_ref": "SHOPIFY:8"}]}))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let n = jsonrpc(
        &sb,
        "sale.order",
        "search_count",
        json!([[["client_order_ref", "=", "SHOPIFY:8"]]]),
        json!({}),
    )
    .await;
    assert_eq!(n["result"], json!(1));
    // XML-RPC's own ambiguity: None cannot be marshalled, after the commit.
    let x = xmlrpc_call(&sb, "stock.picking", "do_unreserve", json!([[57]])).await;
    match x {
        xmlrpc::Response::Fault { code, string } => {
            assert_eq!(code, json!(1));
            assert!(
                string
                    .trim_end()
                    .ends_with("TypeError: cannot marshal None unless allow_none is enabled")
            );
        }
        other => panic!("{other:?}"),
    }
    let state = jsonrpc(
        &sb,
        "stock.picking",
        "read",
        json!([[57], ["state"]]),
        json!({}),
    )
    .await;
    assert_eq!(
        state["result"][0]["state"], "confirmed",
        "the unreserve committed"
    );
}

#[tokio::test]
async fn latency_and_expired_keys() {
    let sb = start(OdooVersion::V19).await;
    sb.faults()
        .next_calls(1, Fault::Latency(Duration::from_millis(250)));
    let t = Instant::now();
    let (s, _) = json2(&sb, "res.partner", "search_count", json!({"domain": []})).await;
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(250));
    sb.faults().next_calls(1, Fault::AuthFailure);
    assert_eq!(
        json2(&sb, "res.partner", "search_count", json!({"domain": []}))
            .await
            .0,
        401
    );
    sb.expire_api_key();
    let r = http()
        .post(format!("{}/json/2/res.partner/search_count", sb.url()))
        .bearer_auth(sb.api_key())
        .json(&json!({"domain": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let e = jsonrpc(&sb, "res.partner", "search_count", json!([[]]), json!({})).await;
    assert_eq!(e["error"]["data"]["name"], "odoo.exceptions.AccessDenied");
    // Passwords still work, and a new key can be rotated in without a restart.
    assert!(matches!(
        xmlrpc_call(&sb, "res.partner", "search_count", json!([[]])).await,
        xmlrpc::Response::Success(_)
    ));
    sb.add_api_key("ffffffffffffffffffffffffffffffffffffffff");
    let r = http()
        .post(format!("{}/json/2/res.partner/search_count", sb.url()))
        .bearer_auth("ffffffffffffffffffffffffffffffffffffffff")
        .json(&json!({"domain": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn stats_count_calls_and_writes() {
    let sb = start(OdooVersion::V19).await;
    for _ in 0..3 {
        json2(
            &sb,
            "product.product",
            "search_read",
            json!({"domain": [], "fields": ["name"], "limit": 2}),
        )
        .await;
    }
    assert_eq!(sb.stats().count("product.product", "search_read"), 3);
    assert_eq!(sb.stats().writes(), 0, "reads only");
    json2(
        &sb,
        "res.partner",
        "create",
        json!({"vals_list": [{"name": "W"}]}),
    )
    .await;
    assert_eq!(sb.stats().writes(), 1);
    sb.stats().reset();
    assert_eq!(sb.stats().total(), 0);
}

#[tokio::test]
async fn the_clock_moves_write_dates_without_sleeping() {
    let sb = start(OdooVersion::V19).await;
    let (_, a) = json2(
        &sb,
        "res.partner",
        "create",
        json!({"vals_list": [{"name": "A"}]}),
    )
    .await;
    sb.clock().advance(Duration::from_secs(3600));
    let (_, b) = json2(
        &sb,
        "res.partner",
        "create",
        json!({"vals_list": [{"name": "B"}]}),
    )
    .await;
    let (_, rows) = json2(
        &sb,
        "res.partner",
        "read",
        json!({"ids": [a[0], b[0]], "fields": ["write_date"]}),
    )
    .await;
    let wa = rows[0]["write_date"].as_str().unwrap().to_owned();
    let wb = rows[1]["write_date"].as_str().unwrap().to_owned();
    let pa = odoo_wire::datetime::parse_datetime(&wa).unwrap();
    let pb = odoo_wire::datetime::parse_datetime(&wb).unwrap();
    assert!(pb.duration_since(pa).as_secs() >= 3599, "{wa} → {wb}");
}
