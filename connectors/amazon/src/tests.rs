//! Unit tests: order mapping (fixtures, malformed records, proptest), processing-report
//! attribution, settlements, configuration.

use channels_core::webhook::DedupeSet;
use channels_core::*;
use proptest::prelude::*;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::mapping::{
    MessageResult, feed_results, map_inventory_summary, map_order, map_settlement, service_level,
};
use crate::{AmazonConfig, package_reference, webhooks};

const MKT: &str = "ATVPDKIKX0DER";

fn chan() -> ChannelId {
    ChannelId::new("amazon_us").unwrap()
}

fn order_json() -> Value {
    json!({
        "AmazonOrderId": "113-1234567-7654321",
        "PurchaseDate": "2025-03-01T10:00:00Z",
        "LastUpdateDate": "2025-03-01T10:05:00Z",
        "OrderStatus": "Unshipped",
        "FulfillmentChannel": "MFN",
        "OrderTotal": {"CurrencyCode": "USD", "Amount": "53.47"},
        "MarketplaceId": MKT,
        "ShipmentServiceLevelCategory": "Standard",
        "IsPrime": false,
        "IsBusinessOrder": true,
        "LatestShipDate": "2025-03-03T06:59:59Z",
        "LatestDeliveryDate": "2025-03-08T06:59:59Z",
        "BuyerInfo": {"BuyerEmail": "x@marketplace.amazon.com", "BuyerName": "Ada"},
        "ShippingAddress": {"Name": "Ada", "AddressLine1": "1 Main St", "AddressLine2": "Apt 2",
                            "City": "Seattle", "StateOrRegion": "WA", "PostalCode": "98109",
                            "CountryCode": "us", "Phone": "555"}
    })
}

fn items_json() -> Vec<Value> {
    vec![
        json!({"ASIN": "B0A", "SellerSKU": "SKU-1", "OrderItemId": "11", "Title": "Mug",
               "QuantityOrdered": 3, "QuantityShipped": 0,
               "ItemPrice": {"CurrencyCode": "USD", "Amount": "30.00"},
               "ItemTax": {"CurrencyCode": "USD", "Amount": "2.70"},
               "PromotionDiscount": {"CurrencyCode": "USD", "Amount": "3.00"},
               "PromotionDiscountTax": {"CurrencyCode": "USD", "Amount": "0.27"},
               "PromotionIds": ["P1", "P2"],
               "ShippingPrice": {"CurrencyCode": "USD", "Amount": "5.99"},
               "ShippingDiscount": {"CurrencyCode": "USD", "Amount": "1.00"},
               "ShippingTax": {"CurrencyCode": "USD", "Amount": "0.50"},
               "TaxCollection": {"Model": "MarketplaceFacilitator", "ResponsibleParty": "Amazon Services, Inc."}}),
        json!({"ASIN": "B0B", "OrderItemId": "12", "QuantityOrdered": 1,
               "ItemPrice": {"CurrencyCode": "USD", "Amount": "17.55"}}),
    ]
}

fn malformed(p: &Pulled<Order>) -> (Option<String>, String, String) {
    match p {
        Pulled::Malformed {
            external_id, error, ..
        } => (
            external_id.clone(),
            error.record.clone(),
            error.field.clone(),
        ),
        Pulled::Ok(_) => panic!("expected malformed"),
    }
}

#[test]
fn maps_a_complete_order() {
    let o = map_order(&chan(), MKT, &order_json(), &items_json())
        .into_ok()
        .expect("maps");
    assert_eq!(o.external_id, "113-1234567-7654321");
    assert_eq!(o.status, OrderStatus::Unshipped);
    assert_eq!(o.currency, Currency::USD);
    assert_eq!(o.order_total.amount, dec!(53.47));
    assert!(o.is_business);
    assert_eq!(o.fulfilled_by, FulfilledBy::Merchant);
    assert_eq!(o.service_level, ServiceLevel::Standard);
    assert_eq!(o.ship_by.unwrap().to_string(), "2025-03-03T06:59:59Z");
    assert_eq!(o.deliver_by.unwrap().to_string(), "2025-03-08T06:59:59Z");
    let a = &o.shipping_address.as_ref().unwrap();
    assert_eq!(a.country_code.as_deref(), Some("US"));
    assert_eq!(a.street2.as_deref(), Some("Apt 2"));
    assert_eq!(o.buyer.email.as_deref(), Some("x@marketplace.amazon.com"));
    let l = &o.lines[0];
    assert_eq!(l.quantity, dec!(3));
    assert_eq!(l.unit_price.amount, dec!(10));
    assert_eq!(l.line_total.amount, dec!(27.00));
    assert_eq!(l.discounts[0].code.as_deref(), Some("P1,P2"));
    assert_eq!(l.taxes.len(), 2);
    assert_eq!(l.taxes[0].collected_by, TaxCollector::Marketplace);
    assert_eq!(
        l.taxes[1].amount.amount,
        dec!(-0.27),
        "tax on the promotion reduces the tax"
    );
    assert_eq!(o.shipping_charge.unwrap().amount, dec!(4.99));
    assert_eq!(o.shipping_taxes[0].amount.amount, dec!(0.50));
    assert_eq!(
        o.lines[1].sku, None,
        "a line without SKU is data for the audit"
    );
    assert_eq!(
        o.raw["OrderItems"].as_array().unwrap().len(),
        2,
        "raw keeps the items"
    );
}

#[test]
fn statuses_service_levels_and_fulfilment() {
    let mut v = order_json();
    for (s, want) in [
        ("Pending", OrderStatus::Pending),
        ("PartiallyShipped", OrderStatus::PartiallyShipped),
        ("Shipped", OrderStatus::Shipped),
        ("Canceled", OrderStatus::Cancelled),
        ("Unfulfillable", OrderStatus::Unknown),
    ] {
        v["OrderStatus"] = json!(s);
        let o = map_order(&chan(), MKT, &v, &[]).into_ok().unwrap();
        assert_eq!((o.status, o.raw_status.as_str()), (want, s));
    }
    v["FulfillmentChannel"] = json!("AFN");
    let o = map_order(&chan(), MKT, &v, &[]).into_ok().unwrap();
    assert_eq!(
        o.fulfilled_by,
        FulfilledBy::Marketplace {
            program: "FBA".into()
        }
    );
    assert_eq!(service_level(Some("Standard"), true), ServiceLevel::Prime);
    assert_eq!(service_level(Some("SameDay"), true), ServiceLevel::SameDay);
    assert_eq!(
        service_level(Some("FreeEconomy"), false),
        ServiceLevel::Economy
    );
    assert_eq!(service_level(Some("Weird"), false), ServiceLevel::Unknown);
}

#[test]
fn a_pending_order_without_amounts_takes_the_marketplace_currency() {
    let v = json!({"AmazonOrderId": "1", "PurchaseDate": "2025-03-01T10:00:00Z",
                   "LastUpdateDate": "2025-03-01T10:00:00Z", "OrderStatus": "Pending",
                   "MarketplaceId": "A1PA6795UKMFR9"});
    let o = map_order(&chan(), MKT, &v, &[]).into_ok().unwrap();
    assert_eq!(o.currency, Currency::EUR);
    assert!(o.order_total.amount.is_zero());
    let unknown = json!({"AmazonOrderId": "1", "PurchaseDate": "2025-03-01T10:00:00Z",
                   "LastUpdateDate": "2025-03-01T10:00:00Z", "OrderStatus": "Pending",
                   "MarketplaceId": "XX"});
    let (_, _, field) = malformed(&map_order(&chan(), "XX", &unknown, &[]));
    assert_eq!(field, "OrderTotal.CurrencyCode");
}

#[test]
fn malformed_records_name_record_and_field() {
    let cases: Vec<(Value, Vec<Value>, &str)> = vec![
        (json!("nope"), vec![], "AmazonOrderId"),
        (
            {
                let mut v = order_json();
                v.as_object_mut().unwrap().remove("LastUpdateDate");
                v
            },
            vec![],
            "LastUpdateDate",
        ),
        (
            {
                let mut v = order_json();
                v["PurchaseDate"] = json!("yesterday");
                v
            },
            vec![],
            "PurchaseDate",
        ),
        (
            {
                let mut v = order_json();
                v["OrderTotal"]["Amount"] = json!("12,5");
                v
            },
            vec![],
            "OrderTotal.Amount",
        ),
        (
            {
                let mut v = order_json();
                v["FulfillmentChannel"] = json!("XFN");
                v
            },
            vec![],
            "FulfillmentChannel",
        ),
        (
            {
                let mut v = order_json();
                v["OrderTotal"]["CurrencyCode"] = json!("dollars");
                v
            },
            vec![],
            "OrderTotal.CurrencyCode",
        ),
        (
            order_json(),
            {
                let mut i = items_json();
                i[1]["ItemPrice"]["Amount"] = json!("abc");
                i
            },
            "OrderItems[1].ItemPrice.Amount",
        ),
        (
            order_json(),
            {
                let mut i = items_json();
                i[0]["QuantityOrdered"] = json!(-2);
                i
            },
            "OrderItems[0].QuantityOrdered",
        ),
        (
            order_json(),
            {
                let mut i = items_json();
                i[0].as_object_mut().unwrap().remove("QuantityOrdered");
                i
            },
            "OrderItems[0].QuantityOrdered",
        ),
        (
            order_json(),
            {
                let mut i = items_json();
                i[1].as_object_mut().unwrap().remove("OrderItemId");
                i
            },
            "OrderItems[1].OrderItemId",
        ),
        (order_json(), vec![json!(7)], "OrderItems[0]"),
    ];
    for (order, items, field) in cases {
        let p = map_order(&chan(), MKT, &order, &items);
        let (id, record, f) = malformed(&p);
        assert_eq!(f, field);
        if field != "AmazonOrderId" {
            assert_eq!(id.as_deref(), Some("113-1234567-7654321"));
            assert_eq!(record, "order 113-1234567-7654321");
        }
        if let Pulled::Malformed { raw, .. } = &p {
            assert!(
                raw == &order || raw.get("OrderItems").is_some(),
                "raw kept whole"
            );
        }
    }
}

fn report(issues: Value, accepted: u64) -> Value {
    json!({"header": {"sellerId": "S", "version": "2.0", "feedId": "1"},
           "issues": issues,
           "summary": {"errors": 0, "warnings": 0, "messagesProcessed": 4, "messagesAccepted": accepted, "messagesInvalid": 0}})
}

fn msgs() -> Vec<(u32, String)> {
    (1..=4).map(|i| (i, format!("S{i}"))).collect()
}

#[test]
fn report_errors_are_attributed_to_their_messages() {
    let r = report(
        json!([
            {"messageId": 2, "sku": "S2", "code": "90220", "severity": "ERROR", "message": "missing"},
            {"messageId": 2, "sku": "S2", "code": "90221", "severity": "ERROR", "message": "also"},
            {"messageId": 3, "sku": "S3", "code": "18448", "severity": "WARNING", "message": "only a warning"},
        ]),
        3,
    );
    let res = feed_results(&r, 4, &msgs());
    assert_eq!(res[&1], MessageResult::Accepted);
    assert_eq!(res[&3], MessageResult::Accepted, "warnings do not reject");
    match &res[&2] {
        MessageResult::Rejected { code, message } => {
            assert_eq!(code.as_deref(), Some("90220"));
            assert!(message.contains("90221: also"));
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn an_unclear_report_gives_unknown_never_applied() {
    // A feed-level error without messageId: who was accepted is not said.
    let r = report(
        json!([{"severity": "ERROR", "code": "X", "message": "bad header"}]),
        0,
    );
    let res = feed_results(&r, 4, &msgs());
    assert!(
        res.values()
            .all(|r| matches!(r, MessageResult::Unknown { .. }))
    );
    // A summary that does not add up.
    let r = report(
        json!([{"messageId": 1, "severity": "ERROR", "message": "x"}]),
        1,
    );
    let res = feed_results(&r, 4, &msgs());
    assert!(matches!(res[&1], MessageResult::Rejected { .. }));
    assert!(matches!(res[&2], MessageResult::Unknown { .. }));
    // An issue naming another SKU than the one sent under that messageId.
    let r = report(
        json!([{"messageId": 4, "sku": "OTHER", "severity": "ERROR", "message": "x"}]),
        3,
    );
    let res = feed_results(&r, 4, &msgs());
    assert!(matches!(&res[&4], MessageResult::Unknown { reason } if reason.contains("OTHER")));
    // Asking about a slice of a bigger feed: errors elsewhere still count for the summary.
    let r = report(
        json!([{"messageId": 9, "sku": "S9", "severity": "ERROR", "message": "x"}]),
        9,
    );
    let res = feed_results(&r, 10, &[(1, "S1".into())]);
    assert_eq!(res[&1], MessageResult::Accepted);
    assert_eq!(res.len(), 1);
}

#[test]
fn settlement_lines_add_up_and_keep_stable_ids() {
    let cur = |a: f64| json!({"CurrencyCode": "USD", "CurrencyAmount": a});
    let group = json!({"FinancialEventGroupId": "G1", "ProcessingStatus": "Closed",
        "OriginalTotal": cur(6.5), "FinancialEventGroupStart": "2025-01-01T00:00:00Z",
        "FinancialEventGroupEnd": "2025-01-15T00:00:00Z", "FundTransferDate": "2025-01-16T00:00:00Z"});
    let events = json!({
        "ShipmentEventList": [{"AmazonOrderId": "O1", "PostedDate": "2025-01-02T00:00:00Z", "ShipmentItemList": [{
            "SellerSKU": "A", "OrderItemId": "I1",
            "ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": cur(10.0)}, {"ChargeType": "Tax", "ChargeAmount": cur(0.8)}],
            "ItemFeeList": [{"FeeType": "Commission", "FeeAmount": cur(-1.5)}, {"FeeType": "FBAPerUnitFulfillmentFee", "FeeAmount": cur(-2.0)}],
            "ItemTaxWithheldList": [{"TaxCollectionModel": "MarketplaceFacilitator", "TaxesWithheld": [{"ChargeType": "MarketplaceFacilitatorTax-Principal", "ChargeAmount": cur(-0.8)}]}]
        }]}],
        "ServiceFeeEventList": [{"FeeList": [{"FeeType": "Subscription", "FeeAmount": cur(-39.99)}]}],
        "AdjustmentEventList": [{"AdjustmentType": "ReserveCredit", "AdjustmentAmount": cur(39.99)}]
    });
    let s = map_settlement(&group, std::slice::from_ref(&events))
        .into_ok()
        .unwrap();
    assert!(s.is_balanced(), "{:?}", s.lines_total());
    assert_eq!(s.payout_date.unwrap().to_string(), "2025-01-16T00:00:00Z");
    assert!(s.lines.iter().any(|l| l.kind
        == SettlementLineKind::Fee {
            fee: FeeKind::Fulfilment
        }));
    let again = map_settlement(&group, &[events]).into_ok().unwrap();
    let ids = |s: &Settlement| {
        s.lines
            .iter()
            .map(|l| l.external_line_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&s), ids(&again), "stable line ids");
    // An unsupported event list leaves the settlement unbalanced for the audit to hold.
    let odd = json!({"FBALiquidationEventList": [{"LiquidationProceedsAmount": cur(5.0)}]});
    let g2 = json!({"FinancialEventGroupId": "G2", "OriginalTotal": cur(5.0), "FinancialEventGroupStart": "2025-01-01T00:00:00Z"});
    assert!(!map_settlement(&g2, &[odd]).into_ok().unwrap().is_balanced());
    let bad = json!({"ShipmentEventList": [{"ShipmentItemList": [{"ItemChargeList": [{"ChargeType": "Principal", "ChargeAmount": {"CurrencyCode": "USD", "CurrencyAmount": "ten"}}]}]}]});
    match map_settlement(&group, &[bad]) {
        Pulled::Malformed { error, .. } => {
            assert_eq!(error.record, "settlement G1");
            assert_eq!(
                error.field,
                "FinancialEvents[0].ShipmentEventList[0].ShipmentItemList[0].ItemChargeList[0].ChargeAmount.CurrencyAmount"
            );
        }
        Pulled::Ok(_) => panic!("expected malformed"),
    }
}

#[test]
fn inventory_summary_maps_and_names_bad_fields() {
    let v = json!({"sellerSku": "A", "asin": "B0", "totalQuantity": 9,
        "inventoryDetails": {"fulfillableQuantity": 5, "reservedQuantity": {"totalReservedQuantity": 4}}});
    let r = map_inventory_summary(&v).unwrap();
    assert_eq!((r.fulfillable, r.reserved, r.total), (5, 4, 9));
    let e = map_inventory_summary(
        &json!({"sellerSku": "A", "inventoryDetails": {"fulfillableQuantity": "x"}}),
    )
    .unwrap_err();
    assert_eq!(e.field, "inventoryDetails.fulfillableQuantity");
    assert!(map_inventory_summary(&json!({})).is_err());
}

#[test]
fn config_is_validated_all_at_once_and_secrets_stay_hidden() {
    let secrets = ConnectorSecrets::new()
        .with(
            "refresh_token",
            SecretString::from("Atzr|top-secret".to_string()),
        )
        .with("client_secret", SecretString::from("cs-secret".to_string()));
    let e = AmazonConfig::from_parts(&json!({"endpoint": "ftp://x", "page_size": 500, "rate_limits": {"getFoo": {"rate_per_sec": 1.0, "burst": 1.0}}}), &secrets)
        .unwrap_err()
        .to_string();
    for needle in [
        "endpoint must be http(s)",
        "client_id is required",
        "seller_id is required",
        "marketplace_id is required",
        "page_size",
        "unknown operation \"getFoo\"",
    ] {
        assert!(e.contains(needle), "{needle}: {e}");
    }
    let e = AmazonConfig::from_parts(&json!({"bogus": 1}), &secrets)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bogus"), "{e}");
    let ok = AmazonConfig::from_parts(
        &json!({"client_id": "c", "seller_id": "S", "marketplace_id": MKT}),
        &secrets,
    )
    .unwrap();
    let dbg = format!("{ok:?}");
    assert!(
        !dbg.contains("top-secret") && !dbg.contains("cs-secret"),
        "{dbg}"
    );
    let limits = ok.limits();
    assert!((limits["getOrders"].rate_per_sec - 0.0167 * 0.9).abs() < 1e-9);
    assert_eq!(limits["getOrders"].burst, 18.0);
    assert_eq!(limits["patchListingsItem"].burst, 4.0);
    assert!(AmazonConfig::from_parts(&json!({}), &ConnectorSecrets::new()).is_err());
    let f = crate::factory();
    assert_eq!(f.kind, ChannelKind::Amazon);
    assert_eq!(f.required_secrets, &["refresh_token", "client_secret"]);
}

#[test]
fn package_reference_is_stable_numeric_and_positive() {
    let a = package_reference("1Z999AA10123456784");
    assert_eq!(a, package_reference(" 1Z999AA10123456784 "));
    assert_ne!(a, package_reference("1Z999AA10123456785"));
    assert!(a.chars().all(|c| c.is_ascii_digit()) && a != "0");
}

#[test]
fn notifications_need_an_id_and_a_type() {
    let seen = DedupeSet::new(10);
    let now = jiff::Timestamp::now();
    assert!(webhooks::parse(b"[]", &seen, now).is_err());
    assert!(webhooks::parse(br#"{"NotificationType":"ORDER_CHANGE"}"#, &seen, now).is_err());
    let other = br#"{"NotificationType":"FEED_PROCESSING_FINISHED","NotificationMetadata":{"NotificationId":"n1"}}"#;
    let ev = webhooks::parse(other, &seen, now).unwrap();
    assert_eq!(ev[0].kind, WebhookEventKind::Other);
    assert!(webhooks::parse(&vec![b' '; webhooks::MAX_BODY + 1], &seen, now).is_err());
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("2025-01-01T00:00:00Z"),
            Just("12.50"),
            Just("USD"),
            Just("AFN"),
            Just("-3")
        ]
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("AmazonOrderId".to_string()),
            Just("OrderStatus".to_string()),
            Just("PurchaseDate".to_string()),
            Just("LastUpdateDate".to_string()),
            Just("OrderTotal".to_string()),
            Just("Amount".to_string()),
            Just("CurrencyCode".to_string()),
            Just("QuantityOrdered".to_string()),
            Just("OrderItemId".to_string()),
            Just("ItemPrice".to_string()),
            Just("FulfillmentChannel".to_string()),
            Just("ShippingAddress".to_string()),
            Just("ShipmentEventList".to_string()),
            Just("ItemChargeList".to_string()),
            Just("ChargeAmount".to_string()),
            Just("CurrencyAmount".to_string()),
            Just("FinancialEventGroupId".to_string()),
            Just("OriginalTotal".to_string()),
            Just("messageId".to_string()),
            Just("severity".to_string()),
            Just("issues".to_string()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary JSON never panics a mapper; a malformed order names a field.
    #[test]
    fn arbitrary_json_never_panics(order in arb_json(), items in prop::collection::vec(arb_json(), 0..3), other in arb_json()) {
        match map_order(&chan(), MKT, &order, &items) {
            Pulled::Ok(o) => prop_assert!(!o.external_id.is_empty()),
            Pulled::Malformed { error, .. } => prop_assert!(!error.field.is_empty() && !error.record.is_empty()),
        }
        let _ = map_settlement(&order, &items);
        let _ = map_inventory_summary(&other);
        let _ = feed_results(&other, 3, &[(1, "A".into()), (2, "B".into())]);
        let _ = crate::mapping::stock_level(&other);
        let _ = webhooks::parse(other.to_string().as_bytes(), &DedupeSet::new(4), jiff::Timestamp::now());
    }

    /// Replacing any field of a valid order with arbitrary JSON gives Ok or a Malformed that
    /// keeps the id and names a field.
    #[test]
    fn corrupting_one_field_is_named(key in prop::sample::select(vec!["OrderStatus", "PurchaseDate", "LastUpdateDate", "OrderTotal", "FulfillmentChannel", "ShippingAddress", "IsPrime", "LatestShipDate"]), value in arb_json(), item_key in prop::sample::select(vec!["QuantityOrdered", "ItemPrice", "OrderItemId", "ItemTax", "TaxCollection", "PromotionIds"]), item_value in arb_json()) {
        let mut o = order_json();
        o[key] = value;
        let mut items = items_json();
        items[0][item_key] = item_value;
        match map_order(&chan(), MKT, &o, &items) {
            Pulled::Ok(ord) => prop_assert_eq!(ord.external_id, "113-1234567-7654321"),
            Pulled::Malformed { external_id, error, .. } => {
                prop_assert_eq!(external_id.as_deref(), Some("113-1234567-7654321"));
                prop_assert!(error.field.starts_with(key) || error.field.starts_with("OrderItems[0]") || error.field.starts_with("OrderTotal"), "{}", error.field);
            }
        }
    }
}

// ---------------------------------------------------------------- returns report

mod returns_report {
    use super::*;
    use crate::returns::{decode_text, parse_date, parse_report, status_of};

    const HEADER: &str = "Order ID\tOrder date\tReturn request date\tReturn request status\tAmazon RMA ID\tMerchant RMA ID\tLabel type\tLabel cost\tCurrency code\tReturn carrier\tTracking ID\tLabel to be paid by\tA-to-Z Claim\tIs prime\tASIN\tMerchant SKU\tItem Name\tReturn quantity\tReturn Reason\tIn policy\tReturn type\tResolution\tInvoice number\tReturn delivery date\tOrder Amount\tOrder quantity\tSafeT Action reason\tSafeT claim id\tSafeT claim state\tSafeT claim creation time\tSafeT claim reimbursement amount\tRefunded Amount";

    /// One row in Amazon's layout; blanks as Amazon writes them (a single space).
    fn row(
        order: &str,
        rma: &str,
        sku: &str,
        qty: &str,
        status: &str,
        delivered: &str,
        refunded: &str,
    ) -> String {
        format!(
            "{order}\t10-Jul-2025\t14-Jul-2025\t{status}\t{rma}\t \tAmazonPrePaidLabel\t4.14\tUSD\tUSPS\t9202090339598363834190\tSeller\tN\tN\tB0DFN2HN9N\t{sku}\tNecklace - 925 Sterling Silver\t{qty}\tAMZ-PG-WJ-TOO-SMALL\tY\tC-Returns\tStandardRefund\t \t{delivered}\t21.38\t2\t\t\t\t\t\t{refunded}"
        )
    }

    fn report(rows: &[String]) -> String {
        format!("{HEADER}\n{}\n", rows.join("\n"))
    }

    fn ok(p: &Pulled<Return>) -> &Return {
        p.ok().unwrap_or_else(|| panic!("malformed: {p:?}"))
    }

    #[test]
    fn a_row_in_amazons_layout_maps_to_one_return_per_item() {
        let text = report(&[
            row(
                "113-6277818-6289068",
                "DfqRyqfBRRMA",
                "PANEC-925SS-IT",
                "2",
                "Approved",
                " ",
                " ",
            ),
            row(
                "113-6277818-6289068",
                "DfqRyqfBRRMA",
                "CHAIN-18",
                "1",
                "Approved",
                "20-Jul-2025",
                "21.38",
            ),
        ]);
        let items = parse_report(&text, "returns report 1").unwrap();
        assert_eq!(items.len(), 2);
        let a = ok(&items[0]);
        assert_eq!(a.external_id, "DfqRyqfBRRMA/PANEC-925SS-IT");
        assert_eq!(a.order_external_id, "113-6277818-6289068");
        assert_eq!(a.status, ReturnStatus::Approved);
        assert_eq!(a.raw_status, "Approved");
        assert_eq!(a.lines.len(), 1);
        assert_eq!(a.lines[0].sku.as_deref(), Some("PANEC-925SS-IT"));
        assert_eq!(a.lines[0].quantity, dec!(2));
        assert_eq!(a.lines[0].reason.as_deref(), Some("AMZ-PG-WJ-TOO-SMALL"));
        assert_eq!(a.requested_at.to_string(), "2025-07-14T00:00:00Z");
        assert_eq!(a.received_at, None);
        assert_eq!(a.refund, None);
        // The second item came back (and was refunded) on its own day.
        let b = ok(&items[1]);
        assert_eq!(b.external_id, "DfqRyqfBRRMA/CHAIN-18");
        assert_eq!(b.status, ReturnStatus::Refunded);
        assert_eq!(b.received_at.unwrap().to_string(), "2025-07-20T00:00:00Z");
        assert_eq!(b.updated_at, b.received_at.unwrap());
        let m = b.refund.as_ref().unwrap();
        assert_eq!((m.amount, m.currency.code()), (dec!(21.38), "USD"));
        // The raw row keeps every column by name.
        assert_eq!(b.raw["Label cost"], "4.14");
    }

    #[test]
    fn the_same_report_maps_to_the_same_payloads() {
        // The daemon drops a row it has staged before by its payload hash: a re-read must
        // produce byte-identical returns.
        let text = report(&[row("1", "R1", "A", "1", "Approved", "", "")]);
        let a = serde_json::to_string(&parse_report(&text, "r").unwrap()).unwrap();
        let b = serde_json::to_string(&parse_report(&text, "r").unwrap()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rows_of_one_item_add_up() {
        let text = report(&[
            row("1", "R1", "A", "1", "Approved", "20-Jul-2025", ""),
            row("1", "R1", "A", "2", "Approved", "20-Jul-2025", ""),
        ]);
        let items = parse_report(&text, "r").unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(ok(&items[0]).lines[0].quantity, dec!(3));
        assert_eq!(ok(&items[0]).status, ReturnStatus::Received);
        assert!(ok(&items[0]).raw.is_array());
    }

    #[test]
    fn a_bad_row_names_its_field_and_the_others_are_read() {
        let text = report(&[
            row("1", "R1", "A", "two", "Approved", "", ""),
            row("1", "R2", "B", "1", "Approved", "the 20th", ""),
            row("1", "R3", "C", "1", "Approved", "", "12,50 EUR"),
            row("1", "R4", "", "1", "Approved", "", ""),
            row("1", "R5", "E", "1", "Approved", "", ""),
        ]);
        let items = parse_report(&text, "returns report 7").unwrap();
        assert_eq!(items.len(), 5);
        let err = |i: usize| match &items[i] {
            Pulled::Malformed {
                error, external_id, ..
            } => (error.clone(), external_id.clone()),
            p => panic!("row {i} should be malformed: {p:?}"),
        };
        let (e, id) = err(0);
        assert_eq!(e.field, "Return quantity");
        assert!(e.message.contains("\"two\""), "{e}");
        assert!(
            e.record.contains("R1/A") && e.record.contains("line 2"),
            "{e}"
        );
        assert_eq!(id.as_deref(), Some("R1/A"));
        assert_eq!(err(1).0.field, "Return delivery date");
        assert_eq!(err(2).0.field, "Refunded Amount");
        let (e, id) = err(3);
        assert_eq!(e.field, "Merchant SKU");
        assert_eq!(id, None);
        assert_eq!(ok(&items[4]).external_id, "R5/E");
    }

    #[test]
    fn a_file_without_the_columns_is_refused_whole() {
        let e = parse_report("sku\tqty\nA\t1\n", "returns report 9").unwrap_err();
        assert_eq!(e.field, "header");
        assert!(e.message.contains("Merchant SKU"), "{e}");
        assert!(parse_report("", "r").unwrap().is_empty());
        assert!(
            parse_report(&format!("{HEADER}\n"), "r")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn statuses_follow_the_parcel_first() {
        let usd = |a| Money {
            amount: a,
            currency: Currency::new("USD").unwrap(),
        };
        assert_eq!(
            status_of("Pending Authorization", false, None),
            ReturnStatus::Requested
        );
        assert_eq!(status_of("Authorized", false, None), ReturnStatus::Approved);
        assert_eq!(status_of("Approved", true, None), ReturnStatus::Received);
        assert_eq!(
            status_of("Closed", true, Some(&usd(dec!(5)))),
            ReturnStatus::Refunded
        );
        assert_eq!(
            status_of("Closed", false, Some(&usd(dec!(5)))),
            ReturnStatus::Closed
        );
        assert_eq!(status_of("Rejected", false, None), ReturnStatus::Rejected);
        assert_eq!(
            status_of("Something new", false, None),
            ReturnStatus::Unknown
        );
    }

    #[test]
    fn dates_and_encodings() {
        assert_eq!(
            parse_date("14-Jul-2025").unwrap().to_string(),
            "2025-07-14T00:00:00Z"
        );
        assert_eq!(
            parse_date("2025-07-14").unwrap().to_string(),
            "2025-07-14T00:00:00Z"
        );
        assert_eq!(
            parse_date("2025-07-14T08:30:00+02:00").unwrap().to_string(),
            "2025-07-14T06:30:00Z"
        );
        assert!(parse_date("14/07/2025").is_none());
        // Windows-1252, as some marketplaces' flat files are: nothing lost, nothing replaced.
        assert_eq!(decode_text(b"Caf\xe9 \x80 \x93\x96"), "Café € “–");
        assert_eq!(decode_text("\u{feff}Café".as_bytes()), "Café");
    }

    #[test]
    fn the_lookback_is_bounded_by_amazons_limit() {
        let secrets = ConnectorSecrets::new()
            .with("refresh_token", SecretString::from("r".to_string()))
            .with("client_secret", SecretString::from("s".to_string()));
        let conn = json!({"client_id": "c", "seller_id": "S", "marketplace_id": MKT});
        assert!(AmazonConfig::from_parts(&conn, &secrets).is_ok());
        let mut long = conn.clone();
        long["returns_lookback_days"] = json!(61);
        let e = AmazonConfig::from_parts(&long, &secrets)
            .unwrap_err()
            .to_string();
        assert!(e.contains("returns_lookback_days"), "{e}");
    }
}

#[test]
fn a_buyers_cancel_request_on_any_item_is_the_orders() {
    assert_eq!(
        map_order(&chan(), MKT, &order_json(), &items_json())
            .into_ok()
            .unwrap()
            .buyer_cancel_request,
        None
    );
    let mut items = items_json();
    items[0]["BuyerRequestedCancel"] = json!({"IsBuyerRequestedCancel": "false"});
    items[1]["BuyerRequestedCancel"] =
        json!({"IsBuyerRequestedCancel": "true", "BuyerCancelReason": "Ordered by mistake"});
    let o = map_order(&chan(), MKT, &order_json(), &items)
        .into_ok()
        .unwrap();
    assert_eq!(
        o.buyer_cancel_request,
        Some(BuyerCancelRequest {
            reason: Some("Ordered by mistake".into())
        })
    );
    // Hostile: a flag that is not a boolean names its item and field.
    items[1]["BuyerRequestedCancel"]["IsBuyerRequestedCancel"] = json!(7);
    let (_, _, field) = malformed(&map_order(&chan(), MKT, &order_json(), &items));
    assert_eq!(
        field,
        "OrderItems[1].BuyerRequestedCancel.IsBuyerRequestedCancel"
    );
}

mod cancellation {
    use super::*;
    use crate::cancel::{REASONS, acknowledgement_feed, is_xml, reason_code, report_as_json};
    use crate::xml;

    const ORDER: &str = "113-1234567-7654321";

    fn report(status: &str, ok: u32, results: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A1</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message><MessageID>1</MessageID><ProcessingReport>
    <DocumentTransactionID>5001</DocumentTransactionID>
    <StatusCode>{status}</StatusCode>
    <ProcessingSummary><MessagesProcessed>1</MessagesProcessed><MessagesSuccessful>{ok}</MessagesSuccessful>
      <MessagesWithError>{}</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>
    {results}
  </ProcessingReport></Message>
</AmazonEnvelope>"#,
            1 - ok
        )
    }

    fn judged(xml: &str) -> MessageResult {
        let json = report_as_json(xml.as_bytes()).unwrap();
        feed_results(&json, 1, &[(1, ORDER.to_string())])
            .remove(&1)
            .unwrap()
    }

    #[test]
    fn the_feed_names_every_item_with_the_reason_and_escapes_text() {
        let doc = acknowledgement_feed(
            "A1&B",
            ORDER,
            &["111".to_string(), "222".to_string()],
            "NoInventory",
        );
        assert!(is_xml(doc.as_bytes()));
        let root = xml::parse(doc.as_bytes()).unwrap();
        assert_eq!(root.text_at("Header/MerchantIdentifier"), Some("A1&B"));
        assert_eq!(root.text_at("MessageType"), Some("OrderAcknowledgement"));
        let ack = root
            .child("Message")
            .and_then(|m| m.child("OrderAcknowledgement"))
            .unwrap();
        assert_eq!(ack.text_at("AmazonOrderID"), Some(ORDER));
        assert_eq!(ack.text_at("StatusCode"), Some("Failure"));
        let items: Vec<(&str, &str)> = ack
            .all("Item")
            .map(|i| {
                (
                    i.text_at("AmazonOrderItemCode").unwrap(),
                    i.text_at("CancelReason").unwrap(),
                )
            })
            .collect();
        assert_eq!(items, [("111", "NoInventory"), ("222", "NoInventory")]);
    }

    #[test]
    fn every_reason_is_one_amazon_knows_and_only_the_buyer_is_buyer_canceled() {
        use CancelReason::*;
        for r in [
            OutOfStock,
            BuyerRequest,
            AddressUndeliverable,
            PricingError,
            Fraud,
            ShippingDelay,
            Other,
        ] {
            let code = reason_code(r);
            assert!(REASONS.contains(&code), "{r:?} → {code}");
            assert_eq!(code == "BuyerCanceled", r == BuyerRequest, "{r:?}");
        }
    }

    #[test]
    fn a_clean_report_accepts_and_an_error_result_refuses_with_its_code() {
        assert_eq!(judged(&report("Complete", 1, "")), MessageResult::Accepted);
        let refused = judged(&report(
            "Complete",
            0,
            &format!(
                "<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode>\
                 <ResultMessageCode>18028</ResultMessageCode>\
                 <ResultDescription>Order has shipped &amp; cannot be cancelled</ResultDescription>\
                 <AdditionalInfo><AmazonOrderID>{ORDER}</AmazonOrderID></AdditionalInfo></Result>"
            ),
        ));
        assert_eq!(
            refused,
            MessageResult::Rejected {
                code: Some("18028".into()),
                message: "18028: Order has shipped & cannot be cancelled".into(),
            }
        );
        // A warning alone does not refuse.
        let warned = judged(&report(
            "Complete",
            1,
            "<Result><MessageID>1</MessageID><ResultCode>Warning</ResultCode>\
             <ResultMessageCode>5001</ResultMessageCode><ResultDescription>w</ResultDescription></Result>",
        ));
        assert_eq!(warned, MessageResult::Accepted);
    }

    #[test]
    fn reports_that_do_not_add_up_are_unknown_never_accepted() {
        // An error about another order: not ours to believe.
        let other = judged(&report(
            "Complete",
            0,
            "<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode>\
             <ResultDescription>x</ResultDescription>\
             <AdditionalInfo><AmazonOrderID>999-0000000-0000000</AmazonOrderID></AdditionalInfo></Result>",
        ));
        assert!(matches!(other, MessageResult::Unknown { .. }), "{other:?}");
        // A document-level error (MessageID 0) and no success counted.
        let doc_level = judged(&report(
            "Complete",
            0,
            "<Result><MessageID>0</MessageID><ResultCode>Error</ResultCode>\
             <ResultMessageCode>50001</ResultMessageCode><ResultDescription>XML</ResultDescription></Result>",
        ));
        assert!(
            matches!(doc_level, MessageResult::Unknown { .. }),
            "{doc_level:?}"
        );
        // Not complete, no summary, not XML at all: errors, so the caller says unknown.
        assert!(report_as_json(report("Processing", 1, "").as_bytes()).is_err());
        let no_summary = report("Complete", 1, "").replace("ProcessingSummary", "Other");
        assert!(report_as_json(no_summary.as_bytes()).is_err());
        assert!(report_as_json(b"<AmazonEnvelope><Message>").is_err());
        assert!(!is_xml(b" {\"issues\": []}"));
        assert!(is_xml(b"\xef\xbb\xbf  <x/>"));
    }
}
