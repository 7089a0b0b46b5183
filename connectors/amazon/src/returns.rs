//! Merchant-fulfilled returns, read from the flat-file returns report.
//!
//! Why a report: SP-API has no returns endpoint for seller-fulfilled orders (the External
//! Fulfillment returns API covers that programme only). What Seller Central shows under
//! "Manage Returns" is exported as the report `GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`: a
//! tab-separated file, one row per returned item, dates as `14-Jul-2025`.
//!
//! Why a state machine and not a loop: a report is asynchronous (createReport → getReport
//! until `DONE` → getReportDocument → download) and createReport allows one request a minute.
//! `pull_returns` therefore never waits: each call either requests a report (at most every
//! `returns_interval_secs`), or asks once whether the requested one is done and returns what
//! it holds. The daemon calls it every outbound round, so a report requested in one round is
//! read in a later one. `CANCELLED` is Amazon's answer for "no data in the window".
//!
//! Why the whole look-back every time: the report selects rows by *request* date, but a
//! return's row changes for weeks afterwards (authorised, delivered back, refunded). Each
//! report covers the last `returns_lookback_days` (Amazon allows 60), and the daemon's inbox
//! drops rows it has already staged unchanged (by payload hash). Nothing survives a restart
//! on purpose: the next call simply requests a new report.
//!
//! Why one [`Return`] per item (`<RMA>/<SKU>`), not per RMA: the items of one RMA can come
//! back on different days, and the daemon applies a return once by its id. Per RMA, the
//! second item to arrive would carry an id already applied and be lost.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use channels_core::{
    ChannelError, Currency, MappingError, Money, Page, Pulled, Return, ReturnLine, ReturnStatus,
};
use http::Method;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::client::{Request, path_segment};
use crate::{AmazonChannel, amazon_time, decode_error, mapping};

pub const REPORT_TYPE: &str = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE";
/// Amazon's limit for one returns report.
pub const MAX_LOOKBACK_DAYS: u32 = 60;
/// A report not done after this long is given up and requested anew.
const STUCK_AFTER: Duration = Duration::from_secs(2 * 3600);

// The columns the mapping reads (Amazon's header names).
const ORDER_ID: &str = "Order ID";
const REQUEST_DATE: &str = "Return request date";
const STATUS: &str = "Return request status";
const RMA: &str = "Amazon RMA ID";
const CURRENCY: &str = "Currency code";
const SKU: &str = "Merchant SKU";
const QUANTITY: &str = "Return quantity";
const REASON: &str = "Return Reason";
const DELIVERY_DATE: &str = "Return delivery date";
const REFUNDED: &str = "Refunded Amount";
const REQUIRED: [&str; 5] = [ORDER_ID, REQUEST_DATE, STATUS, SKU, QUANTITY];

/// Where the connector is in a report's life.
#[derive(Debug)]
pub(crate) enum ReportState {
    /// No report outstanding; `last` is when the previous one ended.
    Idle {
        last: Option<Instant>,
    },
    Waiting {
        id: String,
        since: Instant,
    },
}

impl Default for ReportState {
    fn default() -> Self {
        ReportState::Idle { last: None }
    }
}

fn empty() -> Page<Return> {
    Page {
        items: Vec::new(),
        next: None,
        high_water_mark: None,
    }
}

impl AmazonChannel {
    /// One step of the returns report (see the module docs).
    pub(crate) async fn pull_returns_report(&self) -> Result<Page<Return>, ChannelError> {
        let interval = Duration::from_secs(self.conn().returns_interval_secs);
        let waiting = match &*self.returns.lock() {
            ReportState::Waiting { id, since } => Some((id.clone(), *since)),
            ReportState::Idle { last: Some(t) } if t.elapsed() < interval => return Ok(empty()),
            ReportState::Idle { .. } => None,
        };
        let (id, since) = match waiting {
            Some(w) => w,
            None => {
                let id = self.create_returns_report().await?;
                let now = Instant::now();
                *self.returns.lock() = ReportState::Waiting {
                    id: id.clone(),
                    since: now,
                };
                (id, now)
            }
        };
        let (report, status) = self
            .processing(
                "getReport",
                format!("/reports/2021-06-30/reports/{}", path_segment(&id)),
            )
            .await?;
        let status = status.as_str();
        let idle = || ReportState::Idle {
            last: Some(Instant::now()),
        };
        match status {
            "DONE" => {
                let doc = report
                    .get("reportDocumentId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| decode_error("getReport", "reportDocumentId", "missing"))?;
                let bytes = self
                    .document(
                        "getReportDocument",
                        &format!("/reports/2021-06-30/documents/{}", path_segment(doc)),
                    )
                    .await?;
                // Read: the report is spent whatever its content says.
                *self.returns.lock() = idle();
                let items = parse_report(&decode_text(&bytes), &format!("returns report {id}"))
                    .map_err(ChannelError::Decode)?;
                tracing::info!(report_id = %id, returns = items.len(), "read the returns report");
                Ok(Page {
                    high_water_mark: mapping::high_water_mark(&items, |r: &Return| r.updated_at),
                    items,
                    next: None,
                })
            }
            "CANCELLED" => {
                // Amazon cancels a report that has no data: no returns in the window.
                *self.returns.lock() = idle();
                Ok(empty())
            }
            "FATAL" => {
                *self.returns.lock() = idle();
                Err(ChannelError::Transient {
                    message: format!(
                        "returns report {id} ended FATAL; another is requested in {} s",
                        interval.as_secs()
                    ),
                })
            }
            _ => {
                if since.elapsed() > STUCK_AFTER {
                    tracing::warn!(report_id = %id, status, "returns report stuck; requesting a new one");
                    *self.returns.lock() = ReportState::Idle { last: None };
                }
                Ok(empty())
            }
        }
    }

    async fn create_returns_report(&self) -> Result<String, ChannelError> {
        let now = Timestamp::now();
        // dataEndTime may not be in the future by Amazon's clock: stay two minutes behind.
        let end = now - jiff::SignedDuration::from_secs(120);
        let days = i64::from(self.conn().returns_lookback_days.min(MAX_LOOKBACK_DAYS));
        let start = end - jiff::SignedDuration::from_hours(24 * days);
        let spec = json!({
            "reportType": REPORT_TYPE,
            "marketplaceIds": [self.conn().marketplace_id],
            "dataStartTime": amazon_time(start),
            "dataEndTime": amazon_time(end),
        });
        let body = self
            .client
            .write(Request::with_body(
                "createReport",
                Method::POST,
                "/reports/2021-06-30/reports",
                &spec,
            ))
            .await?
            .body;
        let id = body
            .get("reportId")
            .and_then(Value::as_str)
            .ok_or_else(|| decode_error("createReport", "reportId", "missing"))?;
        tracing::info!(report_id = id, days, "requested the returns report");
        Ok(id.to_string())
    }
}

/// Report text: UTF-8, or else Windows-1252 (what Amazon's flat files use in several
/// marketplaces). Never lossy: every byte maps to a character.
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_string(),
        Err(_) => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The rows of a returns report, one [`Return`] per returned item. A report without the
/// columns the mapping needs is an error (nothing can be read from it); a bad row is a
/// `Malformed` item naming its field, and the other rows are still read.
pub fn parse_report(text: &str, record: &str) -> Result<Vec<Pulled<Return>>, MappingError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return Ok(Vec::new());
    };
    let columns: Vec<String> = header.split('\t').map(|c| c.trim().to_string()).collect();
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !columns.iter().any(|c| c == r))
        .collect();
    if !missing.is_empty() {
        return Err(MappingError::new(
            record,
            "header",
            format!(
                "no column {} (is this a {REPORT_TYPE} report?)",
                missing.join(", ")
            ),
        ));
    }
    // Rows of the same item (RMA and SKU) are one return: their quantities add up.
    let mut out: Vec<Pulled<Return>> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (n, line) in lines.enumerate() {
        let mut row = Map::new();
        let mut cells = line.split('\t');
        for c in &columns {
            let v = cells.next().unwrap_or("").trim();
            row.insert(c.clone(), Value::String(v.to_string()));
        }
        let pulled = map_row(&row, n + 2);
        let key = match &pulled {
            Pulled::Ok(r) => Some(r.external_id.clone()),
            Pulled::Malformed { .. } => None,
        };
        match key.and_then(|k| index.get(&k).copied()) {
            Some(i) => merge(&mut out[i], pulled),
            None => {
                if let Pulled::Ok(r) = &pulled {
                    index.insert(r.external_id.clone(), out.len());
                }
                out.push(pulled);
            }
        }
    }
    Ok(out)
}

/// Another row of the same item: add its quantity, keep the first row's status, keep both rows.
fn merge(into: &mut Pulled<Return>, more: Pulled<Return>) {
    if let (Pulled::Ok(a), Pulled::Ok(b)) = (into, more) {
        if let (Some(x), Some(y)) = (a.lines.first_mut(), b.lines.first()) {
            x.quantity += y.quantity;
        }
        let mut rows = match a.raw.take() {
            Value::Array(v) => v,
            other => vec![other],
        };
        rows.push(b.raw);
        a.raw = Value::Array(rows);
        a.updated_at = a.updated_at.max(b.updated_at);
        a.refund = match (a.refund, b.refund) {
            (Some(x), Some(y)) if x.currency == y.currency => Some(Money {
                amount: x.amount + y.amount,
                currency: x.currency,
            }),
            (x, y) => x.or(y),
        };
    }
}

fn cell<'a>(row: &'a Map<String, Value>, column: &str) -> Option<&'a str> {
    row.get(column)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn map_row(row: &Map<String, Value>, line: usize) -> Pulled<Return> {
    let order = cell(row, ORDER_ID).map(str::to_string);
    let sku = cell(row, SKU).map(str::to_string);
    let rma = cell(row, RMA).map(str::to_string);
    let external_id = match (&rma, &sku, &order) {
        (Some(r), Some(s), _) => Some(format!("{r}/{s}")),
        (None, Some(s), Some(o)) => cell(row, REQUEST_DATE).map(|d| format!("{o}/{s}/{d}")),
        _ => None,
    };
    let record = format!(
        "return {} (order {}, report line {line})",
        external_id.as_deref().unwrap_or("?"),
        order.as_deref().unwrap_or("?")
    );
    let raw = Value::Object(row.clone());
    match read_row(row, &record, order, sku, external_id.clone()) {
        Ok(r) => Pulled::Ok(Return { raw, ..r }),
        Err(error) => Pulled::Malformed {
            external_id,
            raw,
            error,
        },
    }
}

fn read_row(
    row: &Map<String, Value>,
    record: &str,
    order: Option<String>,
    sku: Option<String>,
    external_id: Option<String>,
) -> Result<Return, MappingError> {
    let err = |field: &str, msg: String| MappingError::new(record, field, msg);
    let order = order.ok_or_else(|| err(ORDER_ID, "missing".into()))?;
    let sku = sku.ok_or_else(|| err(SKU, "missing".into()))?;
    let external_id = external_id.ok_or_else(|| err(REQUEST_DATE, "missing".into()))?;
    let qty_text = cell(row, QUANTITY).ok_or_else(|| err(QUANTITY, "missing".into()))?;
    let quantity: Decimal = qty_text
        .parse()
        .ok()
        .filter(|q: &Decimal| *q > Decimal::ZERO && q.fract().is_zero())
        .ok_or_else(|| {
            err(
                QUANTITY,
                format!(
                    "{:?} is not a positive whole number",
                    channels_core::json::truncate(qty_text)
                ),
            )
        })?;
    let date = |column: &str| -> Result<Option<Timestamp>, MappingError> {
        match cell(row, column) {
            None => Ok(None),
            Some(s) => parse_date(s).map(Some).ok_or_else(|| {
                err(
                    column,
                    format!(
                        "{:?} is not a date (expected e.g. 14-Jul-2025)",
                        channels_core::json::truncate(s)
                    ),
                )
            }),
        }
    };
    let requested = date(REQUEST_DATE)?.ok_or_else(|| err(REQUEST_DATE, "missing".into()))?;
    let delivered = date(DELIVERY_DATE)?;
    let refunded = match cell(row, REFUNDED) {
        None => None,
        Some(s) => Some(s.replace(',', "").parse::<Decimal>().map_err(|_| {
            err(
                REFUNDED,
                format!("{:?} is not an amount", channels_core::json::truncate(s)),
            )
        })?),
    };
    let refund = match (refunded, cell(row, CURRENCY)) {
        (Some(a), Some(c)) => Some(Money {
            amount: a,
            currency: Currency::new(c).map_err(|e| err(CURRENCY, e.to_string()))?,
        }),
        (Some(_), None) => return Err(err(CURRENCY, "missing beside a refunded amount".into())),
        (None, _) => None,
    };
    let raw_status = cell(row, STATUS).unwrap_or("").to_string();
    let status = status_of(&raw_status, delivered.is_some(), refund.as_ref());
    Ok(Return {
        external_id,
        order_external_id: order,
        lines: vec![ReturnLine {
            external_line_id: None,
            sku: Some(sku),
            quantity,
            reason: cell(row, REASON).map(str::to_string),
        }],
        status,
        raw_status,
        requested_at: requested,
        received_at: delivered,
        updated_at: delivered.map_or(requested, |d| d.max(requested)),
        refund,
        raw: Value::Null,
    })
}

/// The goods are back once the row has a delivery date, whatever the request's status says;
/// before that the status only tells how far the request went. A request closed without a
/// delivery (a refund without return, a cancelled request) brings nothing back to stock.
pub fn status_of(raw: &str, delivered: bool, refund: Option<&Money>) -> ReturnStatus {
    if delivered {
        return match refund {
            Some(m) if m.amount > Decimal::ZERO => ReturnStatus::Refunded,
            _ => ReturnStatus::Received,
        };
    }
    let s = raw.trim().to_ascii_lowercase();
    if s.contains("pending") {
        ReturnStatus::Requested
    } else if s.contains("approved") || s.contains("authorized") || s.contains("authorised") {
        ReturnStatus::Approved
    } else if s.contains("reject") || s.contains("denied") || s.contains("declined") {
        ReturnStatus::Rejected
    } else if s.contains("closed") || s.contains("completed") || s.contains("cancel") {
        ReturnStatus::Closed
    } else {
        ReturnStatus::Unknown
    }
}

/// `14-Jul-2025` (the report's own format), or ISO 8601 dates and date-times.
pub fn parse_date(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    let date = jiff::civil::Date::strptime("%d-%b-%Y", s)
        .or_else(|_| s.parse::<jiff::civil::Date>())
        .or_else(|_| jiff::civil::Date::strptime("%b %d, %Y", s))
        .ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}
