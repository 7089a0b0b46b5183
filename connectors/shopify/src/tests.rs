//! Unit tests: mapping (with a proptest that no JSON panics the mapper), search quoting,
//! listing attributes, configuration, webhook signatures, document costs.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use channels_core::{
    ChannelId, ConnectorSecrets, Currency, FeeKind, Listing, Money, OrderStatus, Pulled,
    ServiceLevel, SettlementLineKind, TaxCollector, WebhookError, WebhookEventKind,
};
use http::HeaderMap;
use jiff::Timestamp;
use proptest::prelude::*;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::mapping::{self, gid_number, to_gid};
use crate::sandbox::search::SearchQuery;
use crate::{config::ShopifyConfig, documents, listing_collections, listing_metafields, webhooks};

fn chan() -> ChannelId {
    ChannelId::new("shopify-eu").unwrap()
}

fn bag(a: &str) -> Value {
    json!({"shopMoney": {"amount": a, "currencyCode": "EUR"}, "presentmentMoney": {"amount": a, "currencyCode": "USD"}})
}

fn sample_order() -> Value {
    json!({
        "id": "gid://shopify/Order/5001", "legacyResourceId": "5001", "name": "#1001",
        "email": "buyer@example.com", "phone": null, "note": null, "tags": [], "test": false,
        "createdAt": "2025-01-02T10:00:00Z", "updatedAt": "2025-01-02T10:05:00Z",
        "processedAt": "2025-01-02T10:00:00Z", "cancelledAt": null, "cancelReason": null,
        "closedAt": null, "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED", "returnStatus": "NO_RETURN",
        "currencyCode": "EUR", "presentmentCurrencyCode": "USD", "taxesIncluded": false,
        "discountCodes": ["WELCOME"],
        "customer": {"id": "gid://shopify/Customer/77", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phone": null},
        "shippingAddress": {"name": "Ada Lovelace", "firstName": "Ada", "lastName": "Lovelace", "company": null,
            "address1": "12 Rue X", "address2": null, "city": "Paris", "provinceCode": null,
            "zip": "75001", "countryCodeV2": "FR", "phone": "+331"},
        "billingAddress": null,
        "subtotalPriceSet": bag("39.00"), "totalDiscountsSet": bag("1.00"),
        "totalShippingPriceSet": bag("4.90"), "totalTaxSet": bag("8.78"), "totalPriceSet": bag("52.68"),
        "taxLines": [],
        "shippingLines": {"nodes": [{"title": "Express 24h", "code": "express", "source": "shopify",
            "originalPriceSet": bag("4.90"), "discountedPriceSet": bag("4.90"),
            "taxLines": [{"title": "VAT", "rate": 0.2, "channelLiable": false, "priceSet": bag("0.98")}]}]},
        "lineItems": {"pageInfo": {"hasNextPage": false, "endCursor": "x"}, "nodes": [
            {"id": "gid://shopify/LineItem/9001", "sku": "SKU-1", "name": "Shoe - 42", "title": "Shoe",
             "variantTitle": "42", "quantity": 2, "currentQuantity": 2,
             "originalUnitPriceSet": bag("20.00"), "discountedTotalSet": bag("39.00"),
             "discountAllocations": [{"allocatedAmountSet": bag("1.00"),
                 "discountApplication": {"__typename": "DiscountCodeApplication", "code": "WELCOME"}}],
             "taxLines": [{"title": "State tax", "rate": 0.2, "channelLiable": true, "priceSet": bag("7.80")}]},
            {"id": "gid://shopify/LineItem/9002", "sku": "", "name": "Gift wrap", "title": "Gift wrap",
             "variantTitle": null, "quantity": 1, "currentQuantity": 0,
             "originalUnitPriceSet": bag("0.00"), "discountedTotalSet": bag("0.00"),
             "discountAllocations": [], "taxLines": []}
        ]}
    })
}

#[test]
fn maps_an_order_in_shop_money() {
    let Pulled::Ok(o) = mapping::map_order(&chan(), &sample_order()) else {
        panic!("{:?}", mapping::map_order(&chan(), &sample_order()))
    };
    assert_eq!(o.external_id, "5001");
    assert_eq!(o.external_number.as_deref(), Some("#1001"));
    assert_eq!(o.currency, Currency::EUR, "shop money, not the buyer's USD");
    assert_eq!(o.order_total, Money::new(dec!(52.68), Currency::EUR));
    assert_eq!(o.status, OrderStatus::Unshipped);
    assert_eq!(o.raw_status, "PAID/UNFULFILLED");
    assert_eq!(o.buyer.external_id.as_deref(), Some("77"));
    assert_eq!(o.buyer.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        o.buyer.email.as_deref(),
        Some("buyer@example.com"),
        "the order's email first"
    );
    let a = o.shipping_address.as_ref().unwrap();
    assert_eq!(
        (a.street.as_deref(), a.country_code.as_deref()),
        (Some("12 Rue X"), Some("FR"))
    );
    let l = &o.lines[0];
    assert_eq!(l.external_line_id, "9001");
    assert_eq!(l.sku.as_deref(), Some("SKU-1"));
    assert_eq!(l.quantity, dec!(2));
    assert_eq!(l.unit_price.amount, dec!(20.00));
    assert_eq!(l.line_total.amount, dec!(39.00));
    assert_eq!(l.discounts[0].code.as_deref(), Some("WELCOME"));
    assert_eq!(
        l.taxes[0].collected_by,
        TaxCollector::Marketplace,
        "channelLiable"
    );
    assert_eq!(l.taxes[0].rate, Some(dec!(0.2)));
    assert_eq!(
        o.lines[1].sku, None,
        "an empty SKU is data (a custom line), not an error"
    );
    assert_eq!(
        (o.lines[1].quantity, o.lines[1].quantity_cancelled),
        (dec!(1), dec!(1)),
        "ordered 1, removed by an order edit (no refund): cancelled"
    );
    assert_eq!(
        o.shipping_charge,
        Some(Money::new(dec!(4.90), Currency::EUR))
    );
    assert_eq!(o.shipping_taxes[0].collected_by, TaxCollector::Seller);
    assert_eq!(o.service_level, ServiceLevel::NextDay);
    assert_eq!(o.raw_service_level.as_deref(), Some("Express 24h"));
    assert_eq!(
        o.updated_at,
        "2025-01-02T10:05:00Z".parse::<Timestamp>().unwrap()
    );
}

fn malformed_field(raw: &Value) -> (Option<String>, String, String) {
    match mapping::map_order(&chan(), raw) {
        Pulled::Malformed {
            external_id, error, ..
        } => (external_id, error.record, error.field),
        Pulled::Ok(_) => panic!("mapped: {raw}"),
    }
}

#[test]
fn malformed_orders_name_the_record_and_the_field() {
    let mut o = sample_order();
    o["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"]["amount"] = json!("12,50");
    assert_eq!(
        malformed_field(&o),
        (
            Some("5001".into()),
            "order 5001".into(),
            "lineItems[0].originalUnitPriceSet.shopMoney.amount".into()
        )
    );
    let mut o = sample_order();
    o["lineItems"]["nodes"][1]["discountedTotalSet"]["shopMoney"]["currencyCode"] = json!("USD");
    assert_eq!(
        malformed_field(&o).2,
        "lineItems[1].discountedTotalSet.shopMoney.currencyCode"
    );
    let mut o = sample_order();
    o["updatedAt"] = json!("yesterday");
    assert_eq!(malformed_field(&o).2, "updatedAt");
    let mut o = sample_order();
    o["lineItems"]["nodes"][0]["currentQuantity"] = json!(-1);
    assert_eq!(malformed_field(&o).2, "lineItems[0].currentQuantity");
    let mut o = sample_order();
    o["currencyCode"] = json!("€€");
    assert_eq!(malformed_field(&o).2, "currencyCode");
    let mut o = sample_order();
    o.as_object_mut().unwrap().remove("legacyResourceId");
    o["id"] = json!("gid://shopify/Product/1");
    assert_eq!(
        malformed_field(&o),
        (None, "order (no id)".into(), "id".into())
    );
    assert_eq!(malformed_field(&json!([1, 2])).2, "id");
    // Unknown but well-shaped currency: data for the audit.
    let mut o = sample_order();
    o["currencyCode"] = json!("XTS");
    for l in o["lineItems"]["nodes"].as_array_mut().unwrap() {
        for k in ["originalUnitPriceSet", "discountedTotalSet"] {
            l[k]["shopMoney"]["currencyCode"] = json!("XTS");
        }
        l["taxLines"] = json!([]);
        l["discountAllocations"] = json!([]);
    }
    o["shippingLines"] = json!({"nodes": []});
    o["totalPriceSet"]["shopMoney"]["currencyCode"] = json!("XTS");
    let Pulled::Ok(m) = mapping::map_order(&chan(), &o) else {
        panic!()
    };
    assert!(!m.currency.is_known());
}

#[test]
fn order_statuses() {
    use mapping::order_status as s;
    assert_eq!(
        s(true, Some("PAID"), "FULFILLED", None),
        OrderStatus::Cancelled
    );
    assert_eq!(
        s(false, Some("PAID"), "FULFILLED", None),
        OrderStatus::Shipped
    );
    assert_eq!(
        s(false, Some("PAID"), "PARTIALLY_FULFILLED", None),
        OrderStatus::PartiallyShipped
    );
    assert_eq!(
        s(false, Some("PENDING"), "UNFULFILLED", None),
        OrderStatus::Pending
    );
    assert_eq!(
        s(false, Some("PAID"), "ON_HOLD", None),
        OrderStatus::Pending
    );
    assert_eq!(
        s(false, Some("PAID"), "FULFILLED", Some("RETURNED")),
        OrderStatus::Returned
    );
    assert_eq!(
        s(false, Some("PAID"), "SOMETHING_NEW", None),
        OrderStatus::Unknown
    );
}

#[test]
fn settlement_lines_add_up_and_fees_are_negative() {
    let payout = json!({"id": "gid://shopify/ShopifyPaymentsPayout/31", "legacyResourceId": "31",
        "issuedAt": "2025-02-01T00:00:00Z", "status": "PAID", "transactionType": "DEPOSIT",
        "net": {"amount": "88.10", "currencyCode": "EUR"}});
    let t = |id: u64, ty: &str, amount: &str, fee: &str, net: &str| {
        json!({"id": format!("gid://shopify/ShopifyPaymentsBalanceTransaction/{id}"), "type": ty,
               "test": false, "transactionDate": "2025-01-20T00:00:00Z", "sourceType": ty,
               "sourceId": "1", "adjustmentReason": null,
               "amount": {"amount": amount, "currencyCode": "EUR"},
               "fee": {"amount": fee, "currencyCode": "EUR"},
               "net": {"amount": net, "currencyCode": "EUR"},
               "associatedOrder": {"id": "gid://shopify/Order/5", "name": "#1005"},
               "associatedPayout": {"id": "gid://shopify/ShopifyPaymentsPayout/31", "status": "PAID"}})
    };
    let txns = vec![
        t(1, "CHARGE", "100.00", "3.20", "96.80"),
        t(2, "REFUND", "-10.00", "0.00", "-10.00"),
        t(3, "ADJUSTMENT", "1.30", "0.00", "1.30"),
        t(4, "TRANSFER", "-88.10", "0.00", "-88.10"),
    ];
    let Pulled::Ok(s) = mapping::map_settlement(&payout, &txns) else {
        panic!()
    };
    assert!(s.is_balanced(), "{:?}", s.lines_total());
    assert_eq!(
        s.lines.len(),
        4,
        "sale, fee, refund, adjustment; the transfer is the payout"
    );
    assert_eq!(
        s.lines[1].kind,
        SettlementLineKind::Fee {
            fee: FeeKind::PaymentProcessing
        }
    );
    assert_eq!(s.lines[1].amount.amount, dec!(-3.20));
    assert_eq!(s.lines[1].external_line_id, "1:fee");
    assert_eq!(s.lines[0].order_external_id.as_deref(), Some("5"));
    assert!(s.payout_date.is_some());
    // A transaction in another currency is malformed, named.
    let mut bad = txns.clone();
    bad[0]["fee"]["currencyCode"] = json!("USD");
    match mapping::map_settlement(&payout, &bad) {
        Pulled::Malformed { error, .. } => {
            assert_eq!(error.record, "payout 31");
            assert_eq!(error.field, "balanceTransactions[0].fee.currencyCode");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn return_mapping_names_lines_and_reasons() {
    let order = json!({"id": "gid://shopify/Order/5", "legacyResourceId": "5", "name": "#1005", "updatedAt": "2025-01-03T00:00:00Z"});
    let ret = json!({"id": "gid://shopify/Return/8", "name": "#1005-R1", "status": "OPEN", "totalQuantity": 1,
        "returnLineItems": {"nodes": [{"__typename": "ReturnLineItem", "id": "gid://shopify/ReturnLineItem/1",
            "quantity": 1, "returnReason": "DEFECTIVE", "returnReasonNote": "odoo-channels:RMA1", "customerNote": null,
            "fulfillmentLineItem": {"lineItem": {"id": "gid://shopify/LineItem/9001", "sku": "SKU-1"}}}]},
        "refunds": {"nodes": []}});
    let Pulled::Ok(r) = mapping::map_return(&order, &ret) else {
        panic!()
    };
    assert_eq!(
        (r.external_id.as_str(), r.order_external_id.as_str()),
        ("8", "5")
    );
    assert_eq!(r.lines[0].external_line_id.as_deref(), Some("9001"));
    assert_eq!(
        r.lines[0].reason.as_deref(),
        Some("DEFECTIVE: odoo-channels:RMA1")
    );
    assert_eq!(r.status, channels_core::ReturnStatus::Approved);
    assert_eq!(r.raw["order"]["name"], "#1005");
}

#[test]
fn gids() {
    assert_eq!(
        gid_number("gid://shopify/Order/123", "Order").as_deref(),
        Some("123")
    );
    assert_eq!(gid_number("123", "Order").as_deref(), Some("123"));
    assert_eq!(gid_number("gid://shopify/Product/123", "Order"), None);
    assert_eq!(
        gid_number(
            "gid://shopify/InventoryLevel/9?inventory_item_id=1",
            "InventoryLevel"
        )
        .as_deref(),
        Some("9")
    );
    assert_eq!(gid_number("gid://shopify/Order/12a", "Order"), None);
    assert_eq!(to_gid("Order", "5"), "gid://shopify/Order/5");
    assert_eq!(
        to_gid("Order", "gid://shopify/Order/5"),
        "gid://shopify/Order/5"
    );
}

#[test]
fn sku_search_values_survive_shopifys_search_syntax() {
    for sku in [
        "A-1",
        "a b",
        "we\"ird",
        "back\\slash",
        "x:y OR z",
        "-neg",
        "ünï",
    ] {
        let q = format!(
            "sku:{} OR sku:{}",
            crate::search_value(sku),
            crate::search_value("other")
        );
        let parsed = SearchQuery::parse(&q).unwrap();
        assert_eq!(
            parsed.values_of("sku"),
            vec![sku.to_string(), "other".into()],
            "{q}"
        );
    }
}

fn listing(attrs: Value) -> Listing {
    Listing {
        sku: "S".into(),
        version: 1,
        title: "T".into(),
        description: None,
        brand: None,
        barcode: None,
        weight: None,
        images: vec![],
        price: None,
        compare_at: None,
        attributes: serde_json::from_value::<BTreeMap<String, Value>>(attrs).unwrap(),
    }
}

#[test]
fn listing_attributes_from_the_odoo_binding() {
    let l = listing(json!({
        "shopify_collections": " summer-sale, shoes ,,",
        "shopify_metafields_json": r#"[{"namespace":"custom","key":"a","value":"x"},
            {"namespace":"custom","key":"b","value":3},{"namespace":"custom","key":"c","value":2.5},
            {"namespace":"custom","key":"d","value":true},{"namespace":"custom","key":"e","value":{"k":1}},
            {"namespace":"custom","key":"f","value":"l1\nl2"},
            {"namespace":"custom","key":"g","type":"number_integer","value":"7"}]"#,
    }));
    assert_eq!(
        listing_collections(&l),
        Some(vec!["summer-sale".into(), "shoes".into()])
    );
    let m = listing_metafields(&l).unwrap();
    let types: Vec<&str> = m.iter().map(|x| x["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        vec![
            "single_line_text_field",
            "number_integer",
            "number_decimal",
            "boolean",
            "json",
            "multi_line_text_field",
            "number_integer"
        ]
    );
    assert!(m.iter().all(|x| x["value"].is_string()));
    assert_eq!(
        listing_collections(&listing(json!({"collections": ["a", "b"]}))),
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        listing_collections(&listing(json!({}))),
        None,
        "absent: collections untouched"
    );
    for bad in [
        json!("{not json"),
        json!("{\"a\":1}"),
        json!(r#"[{"namespace":"x"}]"#),
        json!(r#"[{"namespace":"x","key":"y"}]"#),
    ] {
        assert!(
            listing_metafields(&listing(json!({"shopify_metafields_json": bad}))).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        listing_metafields(&listing(json!({"shopify_metafields_json": "  "}))).unwrap(),
        Vec::<Value>::new()
    );
}

#[test]
fn config_is_validated_all_at_once_and_never_shows_secrets() {
    let secrets = ConnectorSecrets::new()
        .with(
            "access_token",
            SecretString::from("shpat_supersecret".to_string()),
        )
        .with("client_secret", SecretString::from("hush-hush".to_string()));
    let c = ShopifyConfig::from_parts(&json!({"shop": "acme"}), &secrets).unwrap();
    assert_eq!(
        c.graphql_url(),
        "https://acme.myshopify.com/admin/api/2025-01/graphql.json"
    );
    let dbg = format!("{c:?}");
    assert!(
        !dbg.contains("supersecret") && !dbg.contains("hush-hush"),
        "{dbg}"
    );
    let e = ShopifyConfig::from_parts(
        &json!({"shop": "a b", "api_version": "2024-04", "page_size": 0, "rate_margin": 2.0,
                "location_id": "Location 1", "inventory_reason": "whim"}),
        &secrets,
    )
    .unwrap_err()
    .to_string();
    for k in [
        "shop",
        "api_version",
        "page_size",
        "rate_margin",
        "location_id",
        "inventory_reason",
    ] {
        assert!(e.contains(k), "{k} not reported: {e}");
    }
    assert!(ShopifyConfig::from_parts(&json!({"shop": "acme", "typo": 1}), &secrets).is_err());
    let e = ShopifyConfig::from_parts(&json!({"shop": "acme"}), &ConnectorSecrets::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("access_token"), "{e}");
    let f = crate::factory();
    assert_eq!(f.kind, channels_core::ChannelKind::Shopify);
    assert_eq!(f.required_secrets, &["access_token"]);
    let ch = (f.build)(chan(), &json!({"shop": "acme.myshopify.com"}), &secrets).unwrap();
    assert!(ch.capabilities().stock_cas);
    assert!(!ch.capabilities().partial_cancellation);
}

fn signed(body: &[u8], secret: &str, shop: &str, triggered: Timestamp) -> HeaderMap {
    let mac = channels_core::webhook::hmac_sha256(secret.as_bytes(), &[body]);
    let mut h = HeaderMap::new();
    h.insert(
        webhooks::HMAC,
        base64::engine::general_purpose::STANDARD
            .encode(mac)
            .parse()
            .unwrap(),
    );
    h.insert(webhooks::SHOP_DOMAIN, shop.parse().unwrap());
    h.insert(
        webhooks::TRIGGERED_AT,
        triggered.to_string().parse().unwrap(),
    );
    h.insert(
        webhooks::WEBHOOK_ID,
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".parse().unwrap(),
    );
    h.insert(webhooks::TOPIC, "orders/create".parse().unwrap());
    h
}

#[test]
fn webhook_verification_over_raw_bytes() {
    let secret = SecretString::from("hush".to_string());
    let now = Timestamp::now();
    let body = br#"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508"}"#;
    let v = |h: &HeaderMap, b: &[u8]| {
        webhooks::verify(
            h,
            b,
            &secret,
            Some("acme.myshopify.com"),
            now,
            Duration::from_secs(300),
            1024,
        )
    };
    let h = signed(body, "hush", "acme.myshopify.com", now);
    assert_eq!(v(&h, body), Ok(()));
    // Same JSON, re-serialised with other spacing: the signature is over bytes, so it fails.
    let reserialised =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(body).unwrap()).unwrap();
    assert_eq!(v(&h, &reserialised), Err(WebhookError::BadSignature));
    assert_eq!(
        v(&signed(body, "guess", "acme.myshopify.com", now), body),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        v(&signed(body, "hush", "evil.myshopify.com", now), body),
        Err(WebhookError::InvalidHeader(webhooks::SHOP_DOMAIN))
    );
    assert!(matches!(
        v(
            &signed(
                body,
                "hush",
                "acme.myshopify.com",
                now - jiff::SignedDuration::from_mins(10)
            ),
            body
        ),
        Err(WebhookError::Stale { .. })
    ));
    let big = vec![b' '; 2048];
    assert!(matches!(
        v(&signed(&big, "hush", "acme.myshopify.com", now), &big),
        Err(WebhookError::TooLarge { .. })
    ));
    let mut no_sig = h.clone();
    no_sig.remove(webhooks::HMAC);
    assert_eq!(
        v(&no_sig, body),
        Err(WebhookError::MissingHeader(webhooks::HMAC))
    );

    let ev = webhooks::parse(&h, body, now, |_| None).unwrap();
    assert_eq!(
        ev[0].kind,
        WebhookEventKind::OrderChanged {
            external_id: "820982911946154508".into()
        }
    );
    assert_eq!(ev[0].event_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    let mut inv = h.clone();
    inv.insert(webhooks::TOPIC, "inventory_levels/update".parse().unwrap());
    let body = br#"{"inventory_item_id":271878346596884015,"location_id":24826418,"available":6}"#;
    let known = webhooks::parse(&inv, body, now, |i| {
        (i == "271878346596884015").then(|| "SKU-1".to_string())
    })
    .unwrap();
    assert_eq!(
        known[0].kind,
        WebhookEventKind::InventoryChanged {
            sku: "SKU-1".into()
        }
    );
    assert_eq!(
        webhooks::parse(&inv, body, now, |_| None).unwrap()[0].kind,
        WebhookEventKind::Other
    );
    let mut refund = h.clone();
    refund.insert(webhooks::TOPIC, "refunds/create".parse().unwrap());
    assert_eq!(
        webhooks::parse(&refund, br#"{"id":1,"order_id":450789469}"#, now, |_| None).unwrap()[0]
            .kind,
        WebhookEventKind::OrderChanged {
            external_id: "450789469".into()
        }
    );
    let mut gone = h;
    gone.insert(webhooks::TOPIC, "app/uninstalled".parse().unwrap());
    assert_eq!(
        webhooks::parse(&gone, b"{}", now, |_| None).unwrap()[0].kind,
        WebhookEventKind::Uninstalled
    );
    assert!(matches!(
        webhooks::parse(&refund, b"{}", now, |_| None),
        Err(WebhookError::Malformed(_))
    ));
    assert!(matches!(
        webhooks::parse(&refund, b"not json", now, |_| None),
        Err(WebhookError::Malformed(_))
    ));
}

#[test]
fn default_pages_stay_under_the_single_query_cost_limit() {
    use crate::sandbox::{cost, schema};
    let s = schema::bundled();
    let cost_of = |d: &documents::Document, vars: Value| {
        let doc = schema::validate_document(s, d.text).unwrap();
        let op = doc.operations.get(Some(d.name)).unwrap();
        cost::requested(s, &doc, op, &vars)
    };
    let c = crate::config::Connection::default();
    let orders = cost_of(
        &documents::ORDERS_PAGE,
        json!({"first": c.page_size, "lineItems": c.line_items_per_order}),
    );
    assert!((500..1000).contains(&orders), "{orders}");
    assert!(
        cost_of(
            &documents::ORDERS_PAGE,
            json!({"first": 10, "lineItems": 10})
        ) > 1000
    );
    for (d, vars) in [
        (&documents::RETURNS_PAGE, json!({"first": 5})),
        (&documents::RETURN_CONTEXT, json!({})),
        (&documents::FULFILLMENT_STATE, json!({})),
        (&documents::REFUND_CONTEXT, json!({})),
        (&documents::PAYOUTS_PAGE, json!({"first": 50})),
        (&documents::PAYOUT_TRANSACTIONS, json!({"first": 100})),
        (&documents::VARIANTS_BY_SKU, json!({"first": 100})),
        (&documents::ORDER_LINE_ITEMS, json!({"first": 50})),
        (&documents::ORDER_BY_ID, json!({"lineItems": 50})),
    ] {
        let c = cost_of(d, vars);
        assert!(c <= 1000, "{} costs {c}", d.name);
    }
    assert_eq!(
        cost_of(&documents::SET_AVAILABLE, json!({})),
        10,
        "mutations cost 10"
    );
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-zA-Z0-9:/._ -]{0,12}".prop_map(Value::String),
        Just(json!("gid://shopify/Order/1")),
        Just(json!("2025-01-01T00:00:00Z")),
        Just(json!("EUR")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("legacyResourceId".to_string()),
                    Just("lineItems".to_string()),
                    Just("nodes".to_string()),
                    Just("shopMoney".to_string()),
                    Just("amount".to_string()),
                    Just("currencyCode".to_string()),
                    Just("quantity".to_string()),
                    "[a-zA-Z]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Paths of every value in a JSON tree, to mutate one.
fn paths(v: &Value, here: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = here.clone();
                p.push(k.clone());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = here.clone();
                p.push(i.to_string());
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

fn set(v: &mut Value, path: &[String], new: Value) {
    let mut cur = v;
    for k in path {
        cur = match cur {
            Value::Object(m) => m.entry(k.clone()).or_insert(Value::Null),
            Value::Array(a) => match k.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(x) => x,
                None => return,
            },
            _ => return,
        };
    }
    *cur = new;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_never_panics_the_mappers(v in arb_json(), w in arb_json()) {
        let _ = mapping::map_order(&chan(), &v);
        let _ = mapping::map_return(&v, &w);
        let _ = mapping::map_settlement(&v, std::slice::from_ref(&w));
        if let Pulled::Malformed { error, .. } = mapping::map_order(&chan(), &v) {
            prop_assert!(!error.record.is_empty() && !error.field.is_empty());
        }
    }

    /// A valid order with any one value replaced by arbitrary JSON maps or is malformed
    /// naming a field; it never panics and never loses the id when the id is intact.
    #[test]
    fn a_damaged_order_is_mapped_or_named(pick in any::<prop::sample::Index>(), junk in arb_json()) {
        let mut o = sample_order();
        let mut all = Vec::new();
        paths(&o, vec![], &mut all);
        let path = pick.get(&all).clone();
        set(&mut o, &path, junk);
        let id_touched = matches!(path.first().map(String::as_str), Some("legacyResourceId" | "id"))
            || path.is_empty();
        match mapping::map_order(&chan(), &o) {
            Pulled::Ok(m) => prop_assert!(id_touched || m.external_id == "5001"),
            Pulled::Malformed { error, external_id, .. } => {
                prop_assert!(!error.field.is_empty());
                if !id_touched {
                    prop_assert_eq!(external_id.as_deref(), Some("5001"));
                }
            }
        }
    }
}

/// Units that left a line: an order edit's removal or a `CANCEL` refund is a cancellation;
/// a refund of shipped units (`RETURN`, `NO_RESTOCK`) is not.
#[test]
fn removed_units_are_cancelled_only_when_they_never_shipped() {
    let mut o = sample_order();
    let line = |id: u32, qty: i64, current: i64| {
        json!({"id": format!("gid://shopify/LineItem/{id}"), "sku": format!("SKU-{id}"),
            "name": "x", "title": "x", "variantTitle": null, "quantity": qty,
            "currentQuantity": current, "originalUnitPriceSet": bag("10.00"),
            "discountedTotalSet": bag(&format!("{}.00", qty * 10)),
            "discountAllocations": [], "taxLines": []})
    };
    o["lineItems"]["nodes"] = json!([line(1, 3, 1), line(2, 2, 1), line(3, 2, 1), line(4, 4, 0)]);
    let refund =
        |items: Value| json!({"id": "gid://shopify/Refund/1", "refundLineItems": {"nodes": items}});
    let item = |id: u32, qty: i64, kind: &str| json!({"quantity": qty, "restockType": kind, "lineItem": {"id": format!("gid://shopify/LineItem/{id}")}});
    o["refunds"] = json!([
        refund(json!([item(1, 1, "CANCEL"), item(2, 1, "RETURN")])),
        refund(json!([item(4, 1, "NO_RESTOCK"), item(4, 2, "CANCEL")])),
    ]);
    let Pulled::Ok(m) = mapping::map_order(&chan(), &o) else {
        panic!("{:?}", mapping::map_order(&chan(), &o))
    };
    let got: Vec<_> = m
        .lines
        .iter()
        .map(|l| (l.quantity, l.quantity_cancelled))
        .collect();
    assert_eq!(
        got,
        vec![
            // 1 removed by an edit + 1 refunded as CANCEL
            (dec!(3), dec!(2)),
            // refunded after shipping: a return, not a cancellation
            (dec!(2), dec!(0)),
            // removed, no refund: an edit
            (dec!(2), dec!(1)),
            // 1 refunded without restock, 2 cancelled, 1 removed by an edit
            (dec!(4), dec!(3)),
        ]
    );
    // A refund line naming no line item is a malformed payload, named.
    o["refunds"][0]["refundLineItems"]["nodes"][0]
        .as_object_mut()
        .unwrap()
        .remove("lineItem");
    assert_eq!(
        malformed_field(&o).2,
        "refunds[0].refundLineItems.nodes[0].lineItem"
    );
}
