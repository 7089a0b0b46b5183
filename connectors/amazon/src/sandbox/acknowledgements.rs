//! `POST_ORDER_ACKNOWLEDGEMENT_DATA`: the XML feed by which a seller accepts or cancels its
//! merchant-fulfilled orders, and the XML processing report Amazon answers with.
//!
//! A message with `StatusCode` `Failure` cancels the order when nothing of it has shipped
//! and every `Item` names one of its items with a valid `CancelReason`; the order then shows
//! `Canceled` (and a new `LastUpdateDate`) in getOrder and getOrders. An order already
//! cancelled is accepted again (Amazon treats the second acknowledgement as a no-op). Anything
//! else — an unknown order, an Amazon-fulfilled or shipped one, a foreign item, a reason
//! outside the schema — is an `Error` result naming the message and the order, and changes
//! nothing. A document that is not an order-acknowledgement envelope for this seller is one
//! error that names no message, as Amazon reports a document-level failure.

use jiff::Timestamp;
use serde_json::json;

use super::state::State;
use crate::cancel::REASONS;
use crate::xml::{self, Node, escape};

/// One message's result: (MessageID, Amazon order id, error code and text when refused).
type Outcome = (u64, Option<String>, Option<(&'static str, String)>);

impl State {
    /// Amazon processes feeds on its own clock: once an acknowledgement feed is due, its
    /// effect shows in getOrder(s) whether or not anyone has polled the feed. Called before
    /// every operation. (Listings feeds still move only when polled: nothing reads their
    /// effect without polling first.)
    pub(crate) fn process_due_acknowledgements(&mut self) {
        let now = std::time::Instant::now();
        let due: Vec<String> = self
            .feeds
            .values()
            .filter(|f| f.feed_type == crate::cancel::FEED_TYPE)
            .filter(|f| matches!(f.status, "IN_QUEUE" | "IN_PROGRESS") && f.ready_at <= now)
            .map(|f| f.id.clone())
            .collect();
        for id in due {
            // IN_QUEUE → IN_PROGRESS, then processed (both steps are no-ops once done).
            let _ = self.advance_feed(&id);
            let _ = self.advance_feed(&id);
        }
    }

    pub(crate) fn process_acknowledgements(&mut self, content: &[u8]) -> String {
        let doc = xml::parse(content);
        let outcomes: Vec<Outcome> = match &doc {
            Ok(root)
                if root.name == "AmazonEnvelope"
                    && root.text_at("MessageType") == Some("OrderAcknowledgement")
                    && root.text_at("Header/MerchantIdentifier") == Some(&self.seller_id) =>
            {
                root.all("Message").map(|m| self.acknowledge(m)).collect()
            }
            Ok(_) => vec![(
                0,
                None,
                Some((
                    "SBX_INVALID_DOCUMENT",
                    "the document is not an OrderAcknowledgement envelope for this seller".into(),
                )),
            )],
            Err(e) => vec![(
                0,
                None,
                Some((
                    "SBX_XML",
                    format!("the document is not well-formed XML: {e}"),
                )),
            )],
        };
        self.processing_report(&outcomes)
    }

    fn acknowledge(&mut self, m: &Node) -> Outcome {
        let mid = m
            .text_at("MessageID")
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        let Some(ack) = m.child("OrderAcknowledgement") else {
            return (
                mid,
                None,
                Some(("SBX_INVALID_MESSAGE", "no OrderAcknowledgement".into())),
            );
        };
        let Some(order_id) = ack.text_at("AmazonOrderID").map(str::to_string) else {
            return (
                mid,
                None,
                Some(("SBX_INVALID_MESSAGE", "AmazonOrderID is required".into())),
            );
        };
        let refuse =
            |code: &'static str, text: String| (mid, Some(order_id.clone()), Some((code, text)));
        let Some(o) = self.orders.get(&order_id) else {
            return refuse(
                "SBX_ORDER_NOT_FOUND",
                format!("order {order_id} was not found for this seller"),
            );
        };
        let status = o.order["OrderStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match ack.text_at("StatusCode") {
            Some("Success") => return (mid, Some(order_id), None),
            Some("Failure") => {}
            other => {
                return refuse(
                    "SBX_INVALID_MESSAGE",
                    format!("StatusCode {other:?} is neither Success nor Failure"),
                );
            }
        }
        if o.order["FulfillmentChannel"] == "AFN" {
            return refuse(
                "SBX_AFN_ORDER",
                format!("order {order_id} is fulfilled by Amazon: the seller cannot cancel it"),
            );
        }
        if status == "Canceled" {
            return (mid, Some(order_id), None);
        }
        if !matches!(status.as_str(), "Unshipped" | "Pending") {
            return refuse(
                "SBX_ORDER_SHIPPED",
                format!(
                    "order {order_id} is {status}: an order with shipped items cannot be cancelled"
                ),
            );
        }
        for item in ack.all("Item") {
            let code = item.text_at("AmazonOrderItemCode").unwrap_or_default();
            if !o.items.iter().any(|i| i["OrderItemId"] == code) {
                return refuse(
                    "SBX_UNKNOWN_ITEM",
                    format!("AmazonOrderItemCode {code:?} is not an item of order {order_id}"),
                );
            }
            let reason = item.text_at("CancelReason").unwrap_or_default();
            if !REASONS.contains(&reason) {
                return refuse(
                    "SBX_INVALID_REASON",
                    format!("CancelReason {reason:?} is not a valid value"),
                );
            }
        }
        if let Some(o) = self.orders.get_mut(&order_id) {
            o.order["OrderStatus"] = json!("Canceled");
            o.order["NumberOfItemsUnshipped"] = json!(0);
            // A buyer's request is settled once the order is cancelled: it is not shown
            // any more (the seller must not depend on it to know why it cancelled).
            for it in &mut o.items {
                if let Some(m) = it.as_object_mut() {
                    m.remove("BuyerRequestedCancel");
                }
            }
        }
        self.touch(&order_id);
        (mid, Some(order_id), None)
    }

    fn processing_report(&mut self, outcomes: &[Outcome]) -> String {
        let processed = outcomes.iter().filter(|o| o.0 > 0).count();
        let errors = outcomes.iter().filter(|o| o.2.is_some()).count();
        let ok = outcomes.iter().filter(|o| o.0 > 0 && o.2.is_none()).count();
        let mut s = String::new();
        s.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        s.push_str(r#"<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">"#);
        s.push_str(&format!(
            "<Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>{}</MerchantIdentifier></Header>",
            escape(&self.seller_id)
        ));
        s.push_str("<MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID><ProcessingReport>");
        s.push_str(&format!(
            "<DocumentTransactionID>{}</DocumentTransactionID><StatusCode>Complete</StatusCode>",
            Timestamp::now().as_millisecond()
        ));
        s.push_str(&format!(
            "<ProcessingSummary><MessagesProcessed>{processed}</MessagesProcessed><MessagesSuccessful>{ok}</MessagesSuccessful><MessagesWithError>{errors}</MessagesWithError><MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>"
        ));
        for (mid, order, err) in outcomes {
            let Some((code, text)) = err else { continue };
            s.push_str(&format!(
                "<Result><MessageID>{mid}</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>{}</ResultMessageCode><ResultDescription>{}</ResultDescription>",
                escape(code),
                escape(text)
            ));
            if let Some(o) = order {
                s.push_str(&format!(
                    "<AdditionalInfo><AmazonOrderID>{}</AmazonOrderID></AdditionalInfo>",
                    escape(o)
                ));
            }
            s.push_str("</Result>");
        }
        s.push_str("</ProcessingReport></Message></AmazonEnvelope>");
        s
    }
}
