//! Returns and the Reports API: the seller's "Manage Returns" list, served as Amazon serves it,
//! through `GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE` reports.
//!
//! A report moves `IN_QUEUE` → `IN_PROGRESS` on its first getReport and is done once the
//! processing delay has passed: `DONE` with a tab-separated document of the returns *requested*
//! in its window, or `CANCELLED` when there are none (Amazon's behaviour for an empty report).
//! The window may not end in the future nor span more than 60 days.

use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::state::{ApiResult, Doc, State, gzip_bytes, iso, processing_times};
use super::wire::ApiError;

pub const RETURNS_REPORT: &str = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE";

/// The report's columns, in Amazon's order.
pub const COLUMNS: [&str; 32] = [
    "Order ID",
    "Order date",
    "Return request date",
    "Return request status",
    "Amazon RMA ID",
    "Merchant RMA ID",
    "Label type",
    "Label cost",
    "Currency code",
    "Return carrier",
    "Tracking ID",
    "Label to be paid by",
    "A-to-Z Claim",
    "Is prime",
    "ASIN",
    "Merchant SKU",
    "Item Name",
    "Return quantity",
    "Return Reason",
    "In policy",
    "Return type",
    "Resolution",
    "Invoice number",
    "Return delivery date",
    "Order Amount",
    "Order quantity",
    "SafeT Action reason",
    "SafeT claim id",
    "SafeT claim state",
    "SafeT claim creation time",
    "SafeT claim reimbursement amount",
    "Refunded Amount",
];

/// One returned item as Seller Central lists it (the test's hand).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewReturn {
    pub order_id: String,
    pub rma: String,
    pub sku: String,
    pub quantity: u32,
    /// e.g. `AMZ-PG-BAD-DESC`.
    pub reason: String,
    /// `Pending Authorization`, `Approved`, `Closed`, …
    pub status: String,
    pub requested: Timestamp,
    /// When the parcel reached the seller.
    pub delivered: Option<Timestamp>,
    pub refunded: Option<Decimal>,
}

pub(crate) struct Report {
    pub id: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub created: Timestamp,
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub ready_at: std::time::Instant,
    pub status: &'static str,
    pub doc: Option<String>,
}

fn day(t: Timestamp) -> String {
    t.strftime("%d-%b-%Y").to_string()
}

impl State {
    pub fn create_report(&mut self, body: &Value, delay: std::time::Duration) -> ApiResult<String> {
        self.check_spec(body, "reportType", &[RETURNS_REPORT])?;
        let now = Timestamp::now();
        let time = |k: &str| -> ApiResult<Option<Timestamp>> {
            match body.get(k).and_then(Value::as_str) {
                None => Ok(None),
                Some(s) => s
                    .parse::<Timestamp>()
                    .map(Some)
                    .map_err(|_| ApiError::invalid(format!("{k} is not an ISO 8601 date-time"))),
            }
        };
        let end = time("dataEndTime")?.unwrap_or(now);
        let start = time("dataStartTime")?.unwrap_or(end);
        if end > now + SignedDuration::from_secs(60) {
            return Err(ApiError::invalid("dataEndTime is in the future"));
        }
        if start > end {
            return Err(ApiError::invalid("dataStartTime is after dataEndTime"));
        }
        if end.duration_since(start) > SignedDuration::from_hours(24 * 60) {
            return Err(ApiError::invalid(
                "a returns report covers at most 60 days of data",
            ));
        }
        let n = self.next_seq();
        let id = format!("{}", 60_000_000_000u64 + n);
        self.reports.insert(
            id.clone(),
            Report {
                id: id.clone(),
                start,
                end,
                created: now,
                started: None,
                ended: None,
                ready_at: std::time::Instant::now() + delay,
                status: "IN_QUEUE",
                doc: None,
            },
        );
        Ok(id)
    }

    /// Moves a report along; builds its document once it is due.
    pub fn advance_report(&mut self, id: &str) -> ApiResult<()> {
        let r = self
            .reports
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("report {id}")))?;
        if r.status == "IN_QUEUE" {
            r.status = "IN_PROGRESS";
            r.started = Some(Timestamp::now());
            return Ok(());
        }
        if r.status != "IN_PROGRESS" || std::time::Instant::now() < r.ready_at {
            return Ok(());
        }
        let (start, end) = (r.start, r.end);
        let rows: Vec<NewReturn> = self
            .returns
            .iter()
            .filter(|x| x.requested >= start && x.requested <= end)
            .cloned()
            .collect();
        let doc = if rows.is_empty() {
            None
        } else {
            let bytes = self.returns_tsv(&rows).into_bytes();
            let gzip = self.gzip_reports;
            let rid = self.token("amzn1.spdoc.1.4.sbx.");
            self.docs.insert(
                rid.clone(),
                Doc {
                    content: Some(if gzip { gzip_bytes(&bytes) } else { bytes }),
                    gzip,
                },
            );
            Some(rid)
        };
        let r = self.reports.get_mut(id).expect("present");
        r.status = if doc.is_some() { "DONE" } else { "CANCELLED" };
        r.ended = Some(Timestamp::now());
        r.doc = doc;
        Ok(())
    }

    pub fn report_view(&self, r: &Report) -> Value {
        let mut v = json!({
            "reportId": r.id,
            "reportType": RETURNS_REPORT,
            "marketplaceIds": [self.marketplace_id],
            "dataStartTime": iso(r.start),
            "dataEndTime": iso(r.end),
            "createdTime": iso(r.created),
            "processingStatus": r.status,
        });
        processing_times(&mut v, r.started, r.ended);
        if let Some(d) = &r.doc {
            v["reportDocumentId"] = json!(d);
        }
        v
    }

    fn returns_tsv(&self, rows: &[NewReturn]) -> String {
        let mut out = COLUMNS.join("\t");
        out.push('\n');
        for x in rows {
            let order = self.orders.get(&x.order_id);
            let ordered = order
                .and_then(|o| o.order.get("PurchaseDate").and_then(Value::as_str))
                .and_then(|s| s.parse::<Timestamp>().ok())
                .unwrap_or(x.requested);
            let asin = self
                .listings
                .get(&x.sku)
                .map(|l| l.asin.clone())
                .unwrap_or_default();
            let mut cells: Vec<String> = vec![String::new(); COLUMNS.len()];
            let mut set = |col: &str, v: String| {
                if let Some(i) = COLUMNS.iter().position(|c| *c == col) {
                    cells[i] = v;
                }
            };
            set("Order ID", x.order_id.clone());
            set("Order date", day(ordered));
            set("Return request date", day(x.requested));
            set("Return request status", x.status.clone());
            set("Amazon RMA ID", x.rma.clone());
            // Blank cells come as a single space in Amazon's files.
            set("Merchant RMA ID", " ".into());
            set("Label type", "AmazonPrePaidLabel".into());
            set("Label cost", "4.14".into());
            set("Currency code", self.currency.clone());
            set("Return carrier", "USPS".into());
            set("Label to be paid by", "Seller".into());
            set("A-to-Z Claim", "N".into());
            set("Is prime", "N".into());
            set("ASIN", asin);
            set("Merchant SKU", x.sku.clone());
            set("Item Name", format!("Item {}", x.sku));
            set("Return quantity", x.quantity.to_string());
            set("Return Reason", x.reason.clone());
            set("In policy", "Y".into());
            set("Return type", "C-Returns".into());
            set("Resolution", "StandardRefund".into());
            set("Invoice number", " ".into());
            set(
                "Return delivery date",
                x.delivered.map(day).unwrap_or_default(),
            );
            set(
                "Refunded Amount",
                x.refunded.map(|d| d.to_string()).unwrap_or_default(),
            );
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        out
    }
}
