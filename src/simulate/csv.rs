//! Real orders from a CSV file: `timestamp,channel,sku,quantity` (header required, columns in
//! any order, other columns ignored).
//!
//! External data is hostile: every malformed row is reported with its line and column (and
//! every problem in it, not just the first), never a panic and never silently dropped. The
//! caller refuses to run while there are errors unless told to skip bad rows, and then says
//! how many it skipped. Timestamps are RFC 3339 (`2025-11-03T14:05:00Z`, any offset) or
//! Odoo's naive-UTC `2025-11-03 14:05:00`. Quoting follows RFC 4180 (`"a,b"`, `""` for a
//! quote); a quoted field spanning lines is refused rather than guessed at.

use std::collections::HashMap;
use std::fmt;

use jiff::Timestamp;

use super::demand::BuyerOrder;
use super::scenario::{DAY, Scenario, Secs, parse_timestamp};

/// The largest quantity one CSV row may order (a typo guard: `10000000` units is not a sale).
pub const MAX_QTY: u32 = 1_000_000;

/// One problem in the file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column (field number), when the problem is in one field.
    pub column: Option<usize>,
    /// The column's header name, when known.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(c) = self.column {
            write!(f, ", column {c}")?;
            if let Some(name) = &self.field {
                write!(f, " ({name})")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// One good row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOrder {
    pub line: usize,
    pub at: Timestamp,
    pub channel: u16,
    pub sku: u32,
    pub qty: u32,
}

/// What a file held.
#[derive(Debug, Clone, Default)]
pub struct CsvOrders {
    pub orders: Vec<CsvOrder>,
    /// Every problem, in file order.
    pub errors: Vec<RowError>,
    /// Data rows seen (good and bad, blank lines excluded).
    pub rows: usize,
    /// Rows with at least one error.
    pub bad_rows: usize,
    /// Header columns that are not used.
    pub ignored_columns: Vec<String>,
}

const COLUMNS: [&str; 4] = ["timestamp", "channel", "sku", "quantity"];

/// Split one line into fields: `Ok(fields)` or `Err((column, message))`.
fn split_line(line: &str) -> Result<Vec<String>, (usize, String)> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let column = fields.len() + 1;
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    field.push(c);
                }
            }
            if !closed {
                return Err((
                    column,
                    "unterminated quoted field (a field may not span lines)".into(),
                ));
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => {
                    return Err((
                        column,
                        format!("unexpected `{c}` after a closing quote (expected `,`)"),
                    ));
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => {
                        fields.push(field);
                        break;
                    }
                    Some('"') => {
                        return Err((
                            column,
                            "a quote inside an unquoted field (quote the whole field: \"…\"\"…\")"
                                .into(),
                        ));
                    }
                    Some(c) => field.push(c),
                }
            }
        }
    }
}

/// Parse a whole file against the scenario's channels and SKUs.
pub fn parse_orders_csv(text: &str, scenario: &Scenario) -> CsvOrders {
    let mut out = CsvOrders::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let header_err = |out: &mut CsvOrders, line, column, message: String| {
        out.errors.push(RowError {
            line,
            column,
            field: None,
            message,
        })
    };

    // Header: the first line, required.
    let Some((hline, header)) = lines.next() else {
        header_err(
            &mut out,
            1,
            None,
            "empty file: a header line is required".into(),
        );
        return out;
    };
    if header.trim().is_empty() {
        header_err(
            &mut out,
            hline,
            None,
            format!("the first line must be the header `{}`", COLUMNS.join(",")),
        );
        return out;
    }
    let names = match split_line(header) {
        Ok(f) => f,
        Err((c, m)) => {
            header_err(&mut out, hline, Some(c), m);
            return out;
        }
    };
    let names: Vec<String> = names
        .iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let mut position = [usize::MAX; 4];
    for (i, n) in names.iter().enumerate() {
        let canonical = if n == "qty" { "quantity" } else { n.as_str() };
        match COLUMNS.iter().position(|c| *c == canonical) {
            Some(k) if position[k] != usize::MAX => header_err(
                &mut out,
                hline,
                Some(i + 1),
                format!("column `{canonical}` appears twice"),
            ),
            Some(k) => position[k] = i,
            None => out.ignored_columns.push(n.clone()),
        }
    }
    for (k, p) in position.iter().enumerate() {
        if *p == usize::MAX {
            header_err(
                &mut out,
                hline,
                None,
                format!(
                    "missing column `{}` (the header must name {}; found: {})",
                    COLUMNS[k],
                    COLUMNS.join(", "),
                    names.join(", ")
                ),
            );
        }
    }
    if !out.errors.is_empty() {
        return out;
    }

    let channels: HashMap<&str, usize> = scenario
        .channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let skus: HashMap<&str, usize> = scenario
        .skus
        .iter()
        .enumerate()
        .map(|(i, s)| (s.sku.as_str(), i))
        .collect();
    let known_channels = || {
        scenario
            .channels
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    for (line, text) in lines {
        if text.trim().is_empty() {
            continue; // a blank line is not a row
        }
        out.rows += 1;
        let before = out.errors.len();
        let fields = match split_line(text) {
            Ok(f) => f,
            Err((c, m)) => {
                out.errors.push(RowError {
                    line,
                    column: Some(c),
                    field: names.get(c - 1).cloned(),
                    message: m,
                });
                out.bad_rows += 1;
                continue;
            }
        };
        if fields.len() != names.len() {
            out.errors.push(RowError {
                line,
                column: None,
                field: None,
                message: format!(
                    "expected {} fields like the header, found {}",
                    names.len(),
                    fields.len()
                ),
            });
            out.bad_rows += 1;
            continue;
        }
        let mut fail = |k: usize, message: String| {
            out.errors.push(RowError {
                line,
                column: Some(position[k] + 1),
                field: Some(COLUMNS[k].to_owned()),
                message,
            })
        };
        let raw = |k: usize| fields[position[k]].trim();

        let at = parse_timestamp(raw(0));
        if at.is_none() {
            fail(
                0,
                format!(
                    "`{}` is not a timestamp (RFC 3339 like 2025-11-03T14:05:00Z, or Odoo's 2025-11-03 14:05:00)",
                    raw(0)
                ),
            );
        }
        let channel = channels.get(raw(1)).copied();
        if channel.is_none() {
            fail(
                1,
                if raw(1).is_empty() {
                    "empty channel".to_owned()
                } else {
                    format!(
                        "unknown channel `{}` (the scenario has: {})",
                        raw(1),
                        known_channels()
                    )
                },
            );
        }
        let sku = skus.get(raw(2)).copied();
        if sku.is_none() {
            fail(
                2,
                if raw(2).is_empty() {
                    "empty SKU".to_owned()
                } else {
                    format!("unknown SKU `{}` (not in the scenario's [[skus]])", raw(2))
                },
            );
        }
        let qty = match raw(3).parse::<i64>() {
            Ok(q) if (1..=i64::from(MAX_QTY)).contains(&q) => Some(q as u32),
            Ok(q) => {
                fail(3, format!("quantity {q} must be between 1 and {MAX_QTY}"));
                None
            }
            Err(_) => {
                fail(3, format!("`{}` is not a whole number of units", raw(3)));
                None
            }
        };
        if out.errors.len() > before {
            out.bad_rows += 1;
            continue;
        }
        if let (Some(at), Some(channel), Some(sku), Some(qty)) = (at, channel, sku, qty) {
            out.orders.push(CsvOrder {
                line,
                at,
                channel: channel as u16,
                sku: sku as u32,
                qty,
            });
        }
    }
    if out.rows == 0 && out.errors.is_empty() {
        out.errors.push(RowError {
            line: hline,
            column: None,
            field: None,
            message: "no orders after the header".into(),
        });
    }
    out
}

/// The replayable part of a file.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub orders: Vec<BuyerOrder>,
    pub before_start: usize,
    pub after_end: usize,
}

/// Place the orders on the scenario's clock. Unless the scenario fixes them, the start moves
/// to the first order's day (UTC midnight) and the length to cover the last order.
pub fn replay_window(csv: &CsvOrders, scenario: &mut Scenario, days_fixed: bool) -> Replay {
    if csv.orders.is_empty() {
        return Replay::default();
    }
    let first = csv.orders.iter().map(|o| o.at).min().expect("not empty");
    let last = csv.orders.iter().map(|o| o.at).max().expect("not empty");
    if !scenario.start_explicit {
        let day = first.as_second().div_euclid(DAY as i64) * DAY as i64;
        scenario.start = Timestamp::from_second(day).unwrap_or(first);
    }
    if !days_fixed {
        let span = (last.as_second() - scenario.start.as_second()).max(0) as u64;
        scenario.days = (span / DAY + 1).clamp(1, u64::from(super::scenario::MAX_DAYS)) as u32;
    }
    let horizon = scenario.horizon();
    let mut r = Replay::default();
    for o in &csv.orders {
        let d = o.at.as_second() - scenario.start.as_second();
        if d < 0 {
            r.before_start += 1;
        } else if d as Secs >= horizon {
            r.after_end += 1;
        } else {
            r.orders.push(BuyerOrder {
                at: d as Secs,
                channel: o.channel,
                sku: o.sku,
                qty: o.qty,
            });
        }
    }
    r.orders.sort_by_key(|o| (o.at, o.channel));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc() -> Scenario {
        Scenario::from_toml_str(
            r#"
[[skus]]
sku = "MUG"
stock = 10
[[skus]]
sku = "TEE"
stock = 10
[[channels]]
id = "amazon"
kind = "amazon"
[[channels]]
id = "shop"
kind = "shopify"
"#,
        )
        .unwrap()
    }

    #[test]
    fn good_file_any_column_order_both_timestamp_forms() {
        let text = "\u{feff}sku,quantity,channel,timestamp,note\r\n\
                    MUG,2,amazon,2025-11-04T10:00:00Z,first\r\n\
                    \r\n\
                    \"TEE\",1,shop,2025-11-04 09:30:00,\"a, quoted \"\"note\"\"\"\r\n";
        let r = parse_orders_csv(text, &sc());
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.rows, 2);
        assert_eq!(r.ignored_columns, ["note"]);
        assert_eq!(r.orders.len(), 2);
        assert_eq!(
            (r.orders[0].line, r.orders[0].sku, r.orders[0].qty),
            (2, 0, 2)
        );
        assert_eq!((r.orders[1].line, r.orders[1].channel), (4, 1));
        assert_eq!(r.orders[1].at.to_string(), "2025-11-04T09:30:00Z");
    }

    fn one_error(row: &str) -> RowError {
        let r = parse_orders_csv(
            &format!("timestamp,channel,sku,quantity\n2025-11-04T10:00:00Z,amazon,MUG,1\n{row}\n"),
            &sc(),
        );
        assert_eq!(r.errors.len(), 1, "{row}: {:?}", r.errors);
        assert_eq!(r.orders.len(), 1, "the good row stays");
        assert_eq!(r.bad_rows, 1);
        r.errors[0].clone()
    }

    #[test]
    fn each_kind_of_bad_row_has_line_and_column() {
        let cases: [(&str, Option<usize>, &str); 11] = [
            ("yesterday,amazon,MUG,1", Some(1), "not a timestamp"),
            (
                "2025-13-01T00:00:00Z,amazon,MUG,1",
                Some(1),
                "not a timestamp",
            ),
            (
                "2025-11-04T10:00:00Z,amzon,MUG,1",
                Some(2),
                "unknown channel `amzon`",
            ),
            ("2025-11-04T10:00:00Z,,MUG,1", Some(2), "empty channel"),
            (
                "2025-11-04T10:00:00Z,amazon,CUP,1",
                Some(3),
                "unknown SKU `CUP`",
            ),
            (
                "2025-11-04T10:00:00Z,amazon,MUG,0",
                Some(4),
                "between 1 and",
            ),
            (
                "2025-11-04T10:00:00Z,amazon,MUG,-2",
                Some(4),
                "between 1 and",
            ),
            (
                "2025-11-04T10:00:00Z,amazon,MUG,1.5",
                Some(4),
                "not a whole number",
            ),
            ("2025-11-04T10:00:00Z,amazon,MUG", None, "expected 4 fields"),
            (
                "2025-11-04T10:00:00Z,\"amazon,MUG,1",
                Some(2),
                "unterminated",
            ),
            (
                "2025-11-04T10:00:00Z,ama\"zon,MUG,1",
                Some(2),
                "quote inside",
            ),
        ];
        for (row, column, needle) in cases {
            let e = one_error(row);
            assert_eq!(e.line, 3, "{row}");
            assert_eq!(e.column, column, "{row}: {e}");
            assert!(e.message.contains(needle), "{row}: {e}");
        }
        let e = one_error("2025-11-04T10:00:00Z,amazon,MUG,1x");
        assert_eq!(
            e.to_string(),
            "line 3, column 4 (quantity): `1x` is not a whole number of units"
        );
    }

    #[test]
    fn every_problem_in_a_row_is_reported() {
        let r = parse_orders_csv("timestamp,channel,sku,quantity\nnope,zz,QQ,0\n", &sc());
        let cols: Vec<Option<usize>> = r.errors.iter().map(|e| e.column).collect();
        assert_eq!(cols, [Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(r.bad_rows, 1);
        assert!(r.orders.is_empty());
    }

    #[test]
    fn header_problems() {
        let e = parse_orders_csv("", &sc()).errors;
        assert!(e[0].message.contains("header"), "{e:?}");
        let e = parse_orders_csv("2025-11-04T10:00:00Z,amazon,MUG,1\n", &sc()).errors;
        assert!(
            e.iter()
                .any(|e| e.message.contains("missing column `timestamp`")),
            "{e:?}"
        );
        let e = parse_orders_csv("timestamp,channel,sku,sku,quantity\n", &sc()).errors;
        assert_eq!((e[0].line, e[0].column), (1, Some(4)));
        let e = parse_orders_csv("timestamp,channel,sku,quantity\n\n", &sc()).errors;
        assert!(e[0].message.contains("no orders"), "{e:?}");
    }

    #[test]
    fn hostile_bytes_never_panic() {
        for text in [
            "timestamp,channel,sku,quantity\n\"",
            "timestamp,channel,sku,quantity\n,,,",
            "timestamp,channel,sku,quantity\n\u{0}\u{1},é,😀,99999999999999999999",
            "\"unterminated header",
            "timestamp,channel,sku,quantity\n\"\"\"\",a,b,c",
        ] {
            let r = parse_orders_csv(text, &sc());
            assert!(!r.errors.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn window_moves_start_to_the_first_day_and_counts_the_rest() {
        let text = "timestamp,channel,sku,quantity\n\
                    2025-12-01T10:00:00Z,amazon,MUG,1\n\
                    2025-12-03T23:00:00Z,shop,TEE,2\n";
        let csv = parse_orders_csv(text, &sc());
        let mut s = sc();
        let r = replay_window(&csv, &mut s, false);
        assert_eq!(s.start.to_string(), "2025-12-01T00:00:00Z");
        assert_eq!(s.days, 3);
        assert_eq!(r.orders[0].at, 10 * 3600);
        assert_eq!(r.orders[1].at, 2 * DAY + 23 * 3600);
        let mut s = sc();
        s.days = 1;
        let r = replay_window(&csv, &mut s, true);
        assert_eq!((r.orders.len(), r.after_end, r.before_start), (1, 1, 0));
    }
}
