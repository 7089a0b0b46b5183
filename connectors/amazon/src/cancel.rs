//! Cancelling a merchant-fulfilled Amazon order.
//!
//! SP-API's Orders API has no cancel operation for sellers (the models in
//! `marketplace-specs` have none). A seller cancels by acknowledging the order as failed: an
//! `OrderAcknowledgement` message with `StatusCode` `Failure` and one `Item` per order item,
//! each with its `CancelReason`, sent in a `POST_ORDER_ACKNOWLEDGEMENT_DATA` XML feed through
//! the same createFeedDocument → upload → createFeed path as the listings feed.
//!
//! The feed is asynchronous, so `cancel_order` answers with a pending handle and
//! `poll_pending` later reads the feed's XML processing report. That report is turned here
//! into the listings report's JSON shape, so one attribution rule
//! ([`crate::mapping::feed_results`]) judges both kinds of feed. The daemon still re-checks the
//! order itself (getOrder shows `Canceled`) before it believes or repeats anything.

use channels_core::CancelReason;
use serde_json::{Value, json};

use crate::xml::{self, escape};

pub const FEED_TYPE: &str = "POST_ORDER_ACKNOWLEDGEMENT_DATA";
pub const CONTENT_TYPE: &str = "text/xml; charset=UTF-8";

/// The `CancelReason` values of Amazon's OrderAcknowledgement schema.
pub const REASONS: [&str; 14] = [
    "NoInventory",
    "ShippingAddressUndeliverable",
    "CustomerExchange",
    "BuyerCanceled",
    "GeneralAdjustment",
    "CarrierCreditDecision",
    "RiskAssessmentInformationNotValid",
    "CarrierCoverageFailure",
    "CustomerReturn",
    "MerchandiseNotReceived",
    "CannotVerifyInformation",
    "PricingError",
    "RejectOrder",
    "WeatherDelay",
];

/// Amazon's reason for ours. Amazon counts a seller's cancellations in its cancellation rate
/// unless the buyer asked for them, so only `BuyerRequest` may map to `BuyerCanceled`.
pub fn reason_code(r: CancelReason) -> &'static str {
    match r {
        CancelReason::OutOfStock => "NoInventory",
        CancelReason::BuyerRequest => "BuyerCanceled",
        CancelReason::AddressUndeliverable => "ShippingAddressUndeliverable",
        CancelReason::PricingError => "PricingError",
        CancelReason::Fraud => "RiskAssessmentInformationNotValid",
        CancelReason::ShippingDelay => "CarrierCoverageFailure",
        CancelReason::Other => "GeneralAdjustment",
    }
}

/// The feed document: one message cancelling `order_id`, every item with `reason`.
pub fn acknowledgement_feed(
    seller_id: &str,
    order_id: &str,
    item_codes: &[String],
    reason: &str,
) -> String {
    let mut s = String::with_capacity(512 + 96 * item_codes.len());
    s.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    s.push_str(r#"<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">"#);
    s.push_str(&format!(
        "<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>{}</MerchantIdentifier></Header>",
        escape(seller_id)
    ));
    s.push_str("<MessageType>OrderAcknowledgement</MessageType>");
    s.push_str("<Message><MessageID>1</MessageID><OrderAcknowledgement>");
    s.push_str(&format!(
        "<AmazonOrderID>{}</AmazonOrderID>",
        escape(order_id)
    ));
    s.push_str("<StatusCode>Failure</StatusCode>");
    for code in item_codes {
        s.push_str(&format!(
            "<Item><AmazonOrderItemCode>{}</AmazonOrderItemCode><CancelReason>{}</CancelReason></Item>",
            escape(code),
            escape(reason)
        ));
    }
    s.push_str("</OrderAcknowledgement></Message></AmazonEnvelope>");
    s
}

/// An XML processing report in the listings report's shape (`issues`, `summary`), so that
/// [`crate::mapping::feed_results`] can attribute it. Errors name the order as `sku` when the
/// report gives the `AmazonOrderID`, so a result about another order is caught, not believed.
///
/// A report that is not `Complete`, or that has no summary, is an error: the caller then
/// says "unknown", it never guesses.
pub fn report_as_json(bytes: &[u8]) -> Result<Value, String> {
    let root = xml::parse(bytes)?;
    if root.name != "AmazonEnvelope" {
        return Err(format!(
            "root element is <{}>, not <AmazonEnvelope>",
            root.name
        ));
    }
    let report = root
        .all("Message")
        .find_map(|m| m.child("ProcessingReport"))
        .ok_or("no Message/ProcessingReport")?;
    let status = report.text_at("StatusCode").unwrap_or("");
    if status != "Complete" {
        return Err(format!(
            "ProcessingReport/StatusCode is {status:?}, not Complete"
        ));
    }
    let count = |k: &str| -> Result<u64, String> {
        report
            .text_at(&format!("ProcessingSummary/{k}"))
            .ok_or_else(|| format!("ProcessingSummary/{k} is missing"))?
            .parse::<u64>()
            .map_err(|e| format!("ProcessingSummary/{k}: {e}"))
    };
    let processed = count("MessagesProcessed")?;
    let successful = count("MessagesSuccessful")?;
    let errors = count("MessagesWithError")?;
    let mut issues = Vec::new();
    for r in report.all("Result") {
        let severity = match r.text_at("ResultCode") {
            Some("Error") => "ERROR",
            Some("Warning") => "WARNING",
            _ => "INFO",
        };
        let mut issue = json!({
            "severity": severity,
            "code": r.text_at("ResultMessageCode"),
            "message": r.text_at("ResultDescription").unwrap_or("no description"),
        });
        if let Some(m) = r.text_at("MessageID").and_then(|m| m.parse::<u64>().ok()) {
            issue["messageId"] = json!(m);
        }
        if let Some(o) = r.text_at("AdditionalInfo/AmazonOrderID") {
            issue["sku"] = json!(o);
        }
        issues.push(issue);
    }
    Ok(json!({
        "issues": issues,
        "summary": {
            "messagesProcessed": processed,
            "messagesAccepted": successful,
            "messagesInvalid": errors,
        },
    }))
}

/// Whether a downloaded feed result is XML (the acknowledgement feed's) rather than JSON.
pub fn is_xml(bytes: &[u8]) -> bool {
    let s = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    s.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<')
}
