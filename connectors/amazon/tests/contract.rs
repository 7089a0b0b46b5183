//! Contract tests against the official SP-API models in `../shared/marketplace-specs/amazon-sp-api`:
//!
//! * the embedded usage-plan table equals the shared derived table;
//! * every operation the connector calls exists in its model at the same method and path, and
//!   every query parameter it sends is declared there;
//! * a full workflow of the connector against the sandbox is recorded, and **every request body
//!   the connector sent and every response body the sandbox returned** validates against the
//!   operation's Swagger 2.0 schema (definitions converted to a draft-4 JSON Schema with their
//!   `$ref`s resolved in place) for that HTTP status — an undeclared status fails;
//! * the feed documents validate against `listings-feed-schema-v2.json`, the processing reports
//!   against the processing-report schema, the ORDER_CHANGE notifications against theirs.
//!
//! Without `../shared` these tests say so loudly and pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use channel_amazon::AmazonChannel;
use channel_amazon::config::operations;
use channel_amazon::sandbox::{
    AmazonSandbox, Fault, FbaRow, NewItem, NewOrder, NewReturn, SandboxConfig,
};
use channels_core::*;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

fn amazon_dir() -> Option<PathBuf> {
    odoo_wire::reference::require_shared("channel-amazon SP-API contract")
        .map(|s| s.join("marketplace-specs").join("amazon-sp-api"))
        .filter(|d| d.is_dir())
}

fn load(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A draft-4 validator for `schema` (a `$ref` or inline schema) inside a Swagger model: the
/// model's `definitions` become the root document's, so `#/definitions/X` resolves as is.
fn validator(model: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Value::Object(m) = &mut root {
        m.insert("definitions".into(), model["definitions"].clone());
    }
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(5)
        .collect()
}

struct Spec {
    model: Value,
    op: Value,
    path_params: Vec<Value>,
}

fn spec_of(dir: &Path, op_id: &str) -> Spec {
    let o = operations()
        .iter()
        .find(|o| o.operation_id == op_id)
        .unwrap_or_else(|| panic!("{op_id} is not in the embedded table"));
    let model = load(&dir.join("models").join(&o.spec));
    let path_item = model["paths"][&o.path].clone();
    let op = path_item[o.method.to_ascii_lowercase()].clone();
    assert_eq!(
        op["operationId"], op_id,
        "{} {} in {} is not {op_id}",
        o.method, o.path, o.spec
    );
    let path_params = path_item["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Spec {
        model,
        op,
        path_params,
    }
}

#[test]
fn embedded_usage_plans_match_the_shared_table() {
    let Some(dir) = amazon_dir() else { return };
    let shared = load(&dir.join("operations-and-rate-limits.json"));
    for o in operations() {
        let found = shared["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["operationId"] == o.operation_id.as_str() && s["spec"] == o.spec.as_str())
            .unwrap_or_else(|| panic!("{} ({}) not in the shared table", o.operation_id, o.spec));
        assert_eq!(found["method"], o.method.as_str());
        assert_eq!(found["path"], o.path.as_str());
        assert_eq!(
            found["rate_per_second"].as_f64(),
            Some(o.rate_per_second),
            "{}",
            o.operation_id
        );
        assert_eq!(found["burst"].as_f64(), Some(o.burst), "{}", o.operation_id);
    }
    assert_eq!(operations().len(), 19);
}

#[test]
fn operations_and_query_parameters_are_declared_in_the_models() {
    let Some(dir) = amazon_dir() else { return };
    // What the connector sends (client.rs / lib.rs), per operation.
    let sent: BTreeMap<&str, &[&str]> = BTreeMap::from([
        (
            "getOrders",
            &[
                "MarketplaceIds",
                "LastUpdatedAfter",
                "MaxResultsPerPage",
                "NextToken",
            ][..],
        ),
        ("getOrder", &[][..]),
        ("getOrderItems", &["NextToken"][..]),
        ("confirmShipment", &[][..]),
        ("createRestrictedDataToken", &[][..]),
        ("getListingsItem", &["marketplaceIds", "includedData"][..]),
        ("patchListingsItem", &["marketplaceIds"][..]),
        ("putListingsItem", &["marketplaceIds", "includedData"][..]),
        (
            "searchListingsItems",
            &[
                "marketplaceIds",
                "identifiers",
                "identifiersType",
                "includedData",
                "pageSize",
            ][..],
        ),
        ("createFeedDocument", &[][..]),
        ("createFeed", &[][..]),
        ("getFeed", &[][..]),
        ("getFeedDocument", &[][..]),
        (
            "getInventorySummaries",
            &[
                "details",
                "granularityType",
                "granularityId",
                "marketplaceIds",
                "sellerSkus",
                "nextToken",
            ][..],
        ),
        (
            "listFinancialEventGroups",
            &[
                "MaxResultsPerPage",
                "FinancialEventGroupStartedAfter",
                "NextToken",
            ][..],
        ),
        (
            "listFinancialEventsByGroupId",
            &["MaxResultsPerPage", "NextToken"][..],
        ),
        ("createReport", &[][..]),
        ("getReport", &[][..]),
        ("getReportDocument", &[][..]),
    ]);
    for o in operations() {
        let s = spec_of(&dir, &o.operation_id);
        let declared: Vec<&Value> = s.op["parameters"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let names: Vec<&str> = declared
            .iter()
            .copied()
            .chain(s.path_params.iter())
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for q in sent[o.operation_id.as_str()] {
            assert!(
                names.contains(q),
                "{}: query parameter {q} is not declared ({names:?})",
                o.operation_id
            );
        }
        // Every required query parameter is sent.
        for p in declared
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
        {
            let n = p["name"].as_str().unwrap();
            assert!(
                sent[o.operation_id.as_str()].contains(&n),
                "{}: required {n} not sent",
                o.operation_id
            );
        }
    }
}

fn body_schema(s: &Spec) -> Option<Value> {
    s.op["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["in"] == "body")
        .map(|p| p["schema"].clone())
}

async fn workflow(sb: &AmazonSandbox) {
    let mut cfg = sb.amazon_config();
    cfg.connection.retry.min_delay_ms = 10;
    cfg.connection.restricted_data = true;
    let ch = AmazonChannel::new(ChannelId::new("amz").unwrap(), cfg).unwrap();
    let mut plain_cfg = sb.amazon_config();
    plain_cfg.connection.retry.min_delay_ms = 10;
    let plain = AmazonChannel::new(ChannelId::new("amz2").unwrap(), plain_cfg).unwrap();
    let mfn = sb
        .create_order(NewOrder {
            prime: true,
            items: vec![
                NewItem {
                    promotion: dec!(1),
                    shipping: dec!(2.5),
                    ..NewItem::default()
                },
                NewItem {
                    sku: "SKU-2".into(),
                    quantity: 2,
                    ..NewItem::default()
                },
            ],
            ..NewOrder::default()
        })
        .unwrap();
    let afn = sb
        .create_order(NewOrder {
            fulfillment: "AFN".into(),
            ..NewOrder::default()
        })
        .unwrap();
    let after = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_mins(5))
        .unwrap();
    let q = PageQuery {
        updated_after: Some(after),
        page: None,
        page_size: Some(1),
    };
    let p1 = ch.pull_orders(&q).await.unwrap();
    ch.pull_orders(&PageQuery {
        page: p1.next,
        ..q.clone()
    })
    .await
    .unwrap();
    plain.pull_orders(&q).await.unwrap();
    ch.get_order(&afn).await.unwrap();
    assert!(plain.get_order("111-0000000-0000000").await.is_err(), "404");
    ch.confirm_shipment(&Shipment {
        order_external_id: mfn.clone(),
        lines: vec![],
        carrier: Carrier {
            code: "Colis Privé".into(),
            name: None,
        },
        service: Some("Standard".into()),
        tracking_number: "CP-1".into(),
        tracking_url: None,
        shipped_at: jiff::Timestamp::now(),
    })
    .await
    .unwrap();
    // Refused (already shipped): a 400 with the model's error body, then re-checked.
    let (_, items) = sb.order(&mfn).unwrap();
    let first = items[0]["OrderItemId"].as_str().unwrap().to_string();
    ch.confirm_shipment(&Shipment {
        order_external_id: mfn.clone(),
        lines: vec![ItemQuantity {
            external_line_id: first,
            sku: None,
            quantity: dec!(1),
        }],
        carrier: Carrier {
            code: "UPS".into(),
            name: None,
        },
        service: None,
        tracking_number: "1Z".into(),
        tracking_url: None,
        shipped_at: jiff::Timestamp::now(),
    })
    .await
    .unwrap();
    for i in 0..30 {
        sb.add_listing(&format!("C-{i:02}"), 0, dec!(5));
    }
    sb.reject_sku(
        "C-07",
        "90220",
        "'[batteries_required]' is required but not supplied.",
    );
    let few: Vec<StockUpdate> = (0..3)
        .map(|i| StockUpdate {
            sku: format!("C-{i:02}"),
            quantity: 4,
            version: 1,
            expected: None,
            location: None,
        })
        .collect();
    ch.push_stock(&few).await.unwrap();
    ch.push_prices(&[PriceUpdate {
        sku: "C-01".into(),
        price: Money::new(dec!(12.5), Currency::USD),
        compare_at: Some(Money::new(dec!(15), Currency::USD)),
        version: 2,
    }])
    .await
    .unwrap();
    let many: Vec<StockUpdate> = (0..30)
        .map(|i| StockUpdate {
            sku: format!("C-{i:02}"),
            quantity: i,
            version: 3,
            expected: None,
            location: None,
        })
        .chain(std::iter::once(StockUpdate {
            sku: "NOPE".into(),
            quantity: 1,
            version: 3,
            expected: None,
            location: None,
        }))
        .collect();
    let out = ch.push_stock(&many).await.unwrap();
    let handles: Vec<PendingHandle> = out
        .iter()
        .filter_map(|o| match o {
            PushOutcome::Pending { handle, .. } => Some(handle.clone()),
            _ => None,
        })
        .collect();
    for _ in 0..50 {
        let r = ch.poll_pending(&handles).await.unwrap();
        if r.iter().all(|o| !matches!(o, PushOutcome::Pending { .. })) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ch.read_stock(&["C-01".into(), "C-02".into()])
        .await
        .unwrap();
    let mut attributes = BTreeMap::new();
    attributes.insert("amazon_bullet_1".to_string(), json!("Strong"));
    let listing = Listing {
        sku: "NEW-9".into(),
        version: 1,
        title: "Kettle".into(),
        description: Some("Boils".into()),
        brand: Some("Acme".into()),
        barcode: Some("012345678905".into()),
        weight: None,
        images: vec![
            "https://img.example/k.jpg".into(),
            "https://img.example/k2.jpg".into(),
        ],
        price: Some(Money::new(dec!(30), Currency::USD)),
        compare_at: None,
        attributes,
    };
    ch.upsert_listing(&listing).await.unwrap();
    ch.upsert_listing(&listing).await.unwrap();
    sb.set_fba(FbaRow {
        sku: "C-01".into(),
        asin: "B0C".into(),
        fulfillable: 3,
        ..FbaRow::default()
    });
    ch.read_fba_inventory(&[]).await.unwrap();
    ch.read_fba_inventory(&["C-01".into()]).await.unwrap();
    sb.settle(&[mfn.clone(), afn.clone()], Some(&mfn), Some(dec!(-1.5)))
        .unwrap();
    sb.open_settlement_group();
    ch.pull_settlements(&PageQuery::default()).await.unwrap();
    // Returns: a report requested, polled until done, its document read.
    sb.add_return(NewReturn {
        order_id: mfn.clone(),
        rma: "RMA-C".into(),
        sku: "C-01".into(),
        quantity: 1,
        reason: "AMZ-PG-BAD-DESC".into(),
        status: "Closed".into(),
        requested: jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24),
        delivered: Some(jiff::Timestamp::now()),
        refunded: Some(dec!(30)),
    });
    let mut returned = Vec::new();
    for _ in 0..40 {
        returned = ch.pull_returns(&PageQuery::default()).await.unwrap().items;
        if !returned.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(returned.len(), 1, "the returns report was never read");
    // A cancellation: the order-acknowledgement feed, polled until processed.
    let doomed = sb.create_order(NewOrder::default()).unwrap();
    sb.buyer_requests_cancel(&doomed, "Changed my mind")
        .unwrap();
    match ch.get_order(&doomed).await.unwrap() {
        Pulled::Ok(o) => assert!(o.buyer_cancel_request.is_some()),
        other => panic!("{other:?}"),
    }
    let ack = ch
        .cancel_order(&Cancellation {
            order_external_id: doomed.clone(),
            lines: vec![],
            reason: CancelReason::OutOfStock,
            reason_text: None,
            initiated_by: CancelInitiator::Seller,
        })
        .await
        .unwrap();
    let handle = ack.pending.expect("pending");
    let mut out = Vec::new();
    for _ in 0..40 {
        out = ch
            .poll_pending(std::slice::from_ref(&handle))
            .await
            .unwrap();
        if !matches!(out[0], PushOutcome::Pending { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(matches!(out[0], PushOutcome::Applied { .. }), "{out:?}");
    // A throttle and an auth failure, answered in the models' error shapes.
    sb.inject_fault("getOrder", Fault::QuotaExceeded, 1);
    plain.get_order(&afn).await.unwrap();
    sb.revoke_access_tokens();
    plain.get_order(&afn).await.unwrap();
    sb.revoke_access_tokens();
    plain.poll_pending(&handles[..1]).await.unwrap();
}

#[tokio::test]
async fn every_exchange_validates_against_the_official_models() {
    let Some(dir) = amazon_dir() else { return };
    let sb = AmazonSandbox::start(SandboxConfig {
        rate_scale: 100.0,
        feed_delay: Duration::from_millis(100),
        items_per_page: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    sb.record();
    workflow(&sb).await;
    let journal = sb.journal();
    let mut specs: BTreeMap<String, Spec> = BTreeMap::new();
    let mut checked_requests = 0;
    let mut checked_responses = 0;
    let mut failures = Vec::new();
    let mut statuses: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for e in &journal {
        let s = specs
            .entry(e.op.clone())
            .or_insert_with(|| spec_of(&dir, &e.op));
        statuses.entry(e.op.clone()).or_default().push(e.status);
        if let Some(req) = &e.request {
            let schema =
                body_schema(s).unwrap_or_else(|| panic!("{} sent a body but takes none", e.op));
            let errs = errors(&validator(&s.model, &schema), req);
            if !errs.is_empty() {
                failures.push(format!("{} request: {errs:?}\n{req}", e.op));
            }
            checked_requests += 1;
        }
        let declared = &s.op["responses"][e.status.to_string()];
        if declared.is_null() {
            failures.push(format!(
                "{} answered {}, a status its model does not declare",
                e.op, e.status
            ));
            continue;
        }
        match (&e.response, declared.get("schema")) {
            (Some(body), Some(schema)) => {
                let errs = errors(&validator(&s.model, schema), body);
                if !errs.is_empty() {
                    failures.push(format!("{} {} response: {errs:?}\n{body}", e.op, e.status));
                }
                checked_responses += 1;
            }
            (None, None) => checked_responses += 1,
            (Some(_), None) => failures.push(format!(
                "{} {}: body where the model has none",
                e.op, e.status
            )),
            (None, Some(_)) => failures.push(format!(
                "{} {}: no body where the model has one",
                e.op, e.status
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} contract violations:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The workflow covered every operation, and the error paths.
    for o in operations() {
        assert!(
            statuses.contains_key(&o.operation_id),
            "workflow never called {}",
            o.operation_id
        );
    }
    let all: Vec<u16> = statuses.values().flatten().copied().collect();
    for code in [200, 201, 202, 204, 400, 401, 403, 404, 429] {
        assert!(
            all.contains(&code),
            "no {code} answer was checked: {statuses:?}"
        );
    }
    eprintln!(
        "validated {checked_requests} request bodies and {checked_responses} responses over {} operations",
        statuses.len()
    );

    // Feed documents and processing reports against their JSON Schemas (draft-07).
    let feed_schema = jsonschema::draft7::new(&load(
        &dir.join("schemas/feeds/listings-feed-schema-v2.json"),
    ))
    .unwrap();
    let docs = sb.feed_documents();
    assert!(!docs.is_empty());
    for d in &docs {
        let errs = errors(&feed_schema, d);
        assert!(errs.is_empty(), "feed document: {errs:?}");
    }
    let report_schema = jsonschema::draft7::new(&load(
        &dir.join("schemas/feeds/listings-feed-processing-report-schema-v2.json"),
    ))
    .unwrap();
    let reports = sb.processing_reports();
    assert!(!reports.is_empty());
    for r in &reports {
        let errs = errors(&report_schema, r);
        assert!(errs.is_empty(), "processing report: {errs:?}");
        assert!(
            r["issues"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["sku"] == "C-07")
        );
    }
}

#[tokio::test]
async fn notifications_and_the_schemas_examples() {
    let Some(dir) = amazon_dir() else { return };
    let sb = AmazonSandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let id = sb.create_order(NewOrder::default()).unwrap();
    let schema = load(&dir.join("schemas/notifications/OrderChangeNotification.json"));
    let v = jsonschema::draft7::new(&schema).unwrap();
    let n = sb.order_change_notification(&id).unwrap();
    let errs = errors(&v, &n);
    assert!(errs.is_empty(), "sandbox ORDER_CHANGE: {errs:?}");
    // The schema's own examples parse into events.
    let mut cfg = sb.amazon_config();
    cfg.connection.retry.min_delay_ms = 10;
    let ch = AmazonChannel::new(ChannelId::new("amz").unwrap(), cfg).unwrap();
    for ex in schema["examples"].as_array().into_iter().flatten() {
        assert!(v.is_valid(ex));
        let ev = ch
            .parse_webhook(&http::HeaderMap::new(), &serde_json::to_vec(ex).unwrap())
            .unwrap();
        assert!(matches!(
            ev[0].kind,
            WebhookEventKind::OrderChanged { .. } | WebhookEventKind::OrderCancelled { .. }
        ));
    }
    // The feed schema's example and the report example are read the way ours are.
    let report =
        load(&dir.join("schemas/feeds/listings-feed-processing-report-schema-v2.example.json"));
    let msgs: Vec<(u32, String)> = vec![
        (4, "My-SKU-B".into()),
        (5, "My-SKU-C".into()),
        (1, "My-SKU-A".into()),
    ];
    let res = channel_amazon::mapping::feed_results(&report, 5, &msgs);
    assert!(
        matches!(&res[&4], channel_amazon::mapping::MessageResult::Rejected { code: Some(c), .. } if c == "90220")
    );
    assert!(
        matches!(&res[&5], channel_amazon::mapping::MessageResult::Rejected { code: Some(c), .. } if c == "99022")
    );
    // messagesAccepted (2) is not the 3 messages without errors out of 5: say "unknown", never "applied".
    assert!(matches!(
        &res[&1],
        channel_amazon::mapping::MessageResult::Unknown { .. }
    ));
}

/// The validator is not a rubber stamp: an order without its required id fails.
#[test]
fn the_schema_check_can_fail() {
    let Some(dir) = amazon_dir() else { return };
    let s = spec_of(&dir, "getOrders");
    let v = validator(&s.model, &s.op["responses"]["200"]["schema"]);
    let bad = json!({"payload": {"Orders": [{"OrderStatus": "Unshipped", "PurchaseDate": "2025-01-01T00:00:00Z", "LastUpdateDate": "2025-01-01T00:00:00Z"}]}});
    assert!(!v.is_valid(&bad));
    let bad_status = json!({"payload": {"Orders": [{"AmazonOrderId": "1", "OrderStatus": "Lost", "PurchaseDate": "x", "LastUpdateDate": "y"}]}});
    assert!(!v.is_valid(&bad_status));
}
