//! The chart: stock offered over time, one panel per policy (small multiples sharing both
//! axes, so panels compare at a glance), true stock in black, each channel's displayed
//! quantity in its colour, flash-sale windows shaded, restocks dashed, oversold orders as red
//! ticks under the axis.
//!
//! Hand-written SVG 1.1: a few hundred lines of text do not justify a plotting dependency,
//! and the output is plain enough to diff. Every piece of text is XML-escaped (SKU and channel
//! names come from the merchant's files); a test parses the result as XML.

use std::fmt::Write as _;

use super::report::Report;
use super::scenario::{DAY, Scenario, Secs};

/// Channel colours (Okabe–Ito, readable by colour-blind viewers), then a fallback cycle.
const PALETTE: [&str; 8] = [
    "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#8B8B00", "#7F3C8D",
];

const WIDTH: f64 = 1000.0;
const PANEL_H: f64 = 230.0;
const GAP: f64 = 16.0;
const MARGIN: f64 = 16.0;
const PLOT_LEFT: f64 = 46.0;
const PLOT_BOTTOM: f64 = 34.0;
const PLOT_TOP: f64 = 26.0;
const PLOT_RIGHT: f64 = 10.0;

/// Escape text for an XML text node or attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A round upper bound for the y axis (1, 2, 5 × 10ⁿ steps) and its tick step.
fn nice_scale(max: i64) -> (i64, i64) {
    let max = max.max(1);
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            let s = step * m;
            let n = (max + s - 1) / s;
            if n <= 5 {
                return (n * s, s);
            }
        }
        step *= 10;
    }
}

/// X ticks: seconds between ticks and whether to label in days.
fn x_ticks(horizon: Secs) -> (Secs, bool) {
    if horizon <= 2 * DAY {
        let hours = horizon / 3600;
        let step = [1, 2, 3, 6, 12, 24]
            .into_iter()
            .find(|h| hours / h <= 12)
            .unwrap_or(24);
        (step * 3600, false)
    } else {
        let days = horizon / DAY;
        let step = [1, 2, 7, 14, 30, 61]
            .into_iter()
            .find(|d| days / d <= 14)
            .unwrap_or(91);
        (step * DAY, true)
    }
}

/// Render the report's charts. `scenario` gives the flash sales and restocks to mark.
pub fn render(report: &Report, scenario: &Scenario) -> String {
    let n = report.policies.len().max(1);
    let cols = if n >= 2 { 2 } else { 1 };
    let rows = n.div_ceil(cols);
    let horizon = scenario.horizon().max(1);
    // Flash sales shape generated demand only: a replayed CSV has none to mark.
    let generated = report.stream.source.starts_with("generated");
    let flash: Vec<_> = scenario
        .flash_sales
        .iter()
        .filter(|f| generated && f.from < horizon)
        .collect();
    let restocks: Vec<Secs> = scenario
        .restock_schedule()
        .into_iter()
        .map(|r| r.0)
        .collect();
    // Legend: (swatch, label); a swatch is drawn from its left x.
    type Swatch = Box<dyn Fn(f64, f64) -> String>;
    let mut legend: Vec<(Swatch, String)> = vec![(
        Box::new(|x, y| {
            format!(
                r##"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="#000000" stroke-width="4" stroke-opacity="0.35"/>"##,
                x + 18.0
            )
        }),
        "true stock (Odoo)".into(),
    )];
    for (c, ch) in report.channels.iter().enumerate() {
        let colour = PALETTE[c % PALETTE.len()];
        legend.push((
            Box::new(move |x, y| {
                format!(
                    r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="1.6"/>"#,
                    x + 18.0
                )
            }),
            format!("{} shows", ch.id),
        ));
    }
    if !flash.is_empty() {
        legend.push((
            Box::new(|x, y| {
                format!(
                    r##"<rect x="{x}" y="{}" width="18" height="10" fill="#F0E442" fill-opacity="0.35"/>"##,
                    y - 5.0
                )
            }),
            "flash sale".into(),
        ));
    }
    if !restocks.is_empty() {
        legend.push((
            Box::new(|x, y| {
                format!(
                    r##"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="#666666" stroke-dasharray="3,3"/>"##,
                    x + 18.0
                )
            }),
            "restock".into(),
        ));
    }
    legend.push((
        Box::new(|x, y| {
            format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#D00000" stroke-width="2"/>"##,
                x + 9.0,
                y - 6.0,
                x + 9.0,
                y + 6.0
            )
        }),
        if report.skus > 1 && report.chart_of.starts_with("SKU ") {
            "oversold order (this SKU)".into()
        } else {
            "oversold order".into()
        },
    ));
    // Lay the legend out in rows that fit the width.
    let mut placed = Vec::with_capacity(legend.len());
    let (mut lx, mut ly) = (MARGIN, MARGIN + 34.0);
    for (_, label) in &legend {
        let w = 30.0 + label.chars().count() as f64 * 6.2;
        if lx + w > WIDTH - MARGIN && lx > MARGIN {
            lx = MARGIN;
            ly += 16.0;
        }
        placed.push((lx, ly));
        lx += w;
    }
    let legend_h = ly + 24.0 - MARGIN;
    let height = MARGIN * 2.0 + legend_h + rows as f64 * (PANEL_H + GAP);
    let panel_w = (WIDTH - MARGIN * 2.0 - GAP * (cols as f64 - 1.0)) / cols as f64;

    let y_top = report
        .policies
        .iter()
        .flat_map(|p| p.chart.series.iter().flatten())
        .copied()
        .max()
        .unwrap_or(1);
    let (y_max, y_step) = nice_scale(y_top);
    let (x_step, in_days) = x_ticks(horizon);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r##"<title>{}</title>
<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##,
        escape(&format!(
            "odoo-channels simulate: {} — stock offered over time ({})",
            report.scenario, report.chart_of
        ))
    );
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        MARGIN + 12.0,
        escape(&format!(
            "Stock offered over time — {} — {}",
            report.scenario, report.chart_of
        ))
    );

    for ((swatch, label), &(x, y)) in legend.iter().zip(&placed) {
        let _ = writeln!(s, "{}", swatch(x, y));
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">{}</text>"#,
            x + 22.0,
            y + 4.0,
            escape(label)
        );
    }

    for (k, p) in report.policies.iter().enumerate() {
        let px = MARGIN + (k % cols) as f64 * (panel_w + GAP);
        let py = MARGIN + legend_h + (k / cols) as f64 * (PANEL_H + GAP);
        let x0 = px + PLOT_LEFT;
        let x1 = px + panel_w - PLOT_RIGHT;
        let y0 = py + PANEL_H - PLOT_BOTTOM;
        let y1 = py + PLOT_TOP;
        let xs = |t: f64| x0 + (x1 - x0) * (t / horizon as f64).clamp(0.0, 1.0);
        let ys = |v: i64| y0 - (y0 - y1) * (v.max(0) as f64 / y_max as f64);

        let _ = writeln!(s, r#"<g id="{}">"#, escape(&format!("panel-{}", p.policy)));
        let _ = writeln!(
            s,
            r##"<rect x="{px}" y="{py}" width="{panel_w}" height="{PANEL_H}" fill="none" stroke="#cccccc"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" font-size="12" font-weight="bold">{}</text>"#,
            px + 8.0,
            py + 16.0,
            escape(&format!(
                "{} — {}{} oversold order{} ({} u), {} lost sale{} ({} u)",
                p.policy,
                if report.skus > 1 { "all SKUs: " } else { "" },
                p.total.oversold_orders,
                if p.total.oversold_orders == 1 {
                    ""
                } else {
                    "s"
                },
                p.total.oversold_units,
                p.total.lost_orders,
                if p.total.lost_orders == 1 { "" } else { "s" },
                p.total.lost_units
            ))
        );
        // Flash sales and restocks under the data.
        for f in &flash {
            let (a, b) = (xs(f.from as f64), xs(f.until as f64));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="#F0E442" fill-opacity="0.35"><title>{}</title></rect>"##,
                (b - a).max(3.0),
                y0 - y1,
                escape(&format!(
                    "flash sale on {} ×{}",
                    scenario.channels[f.channel].id, f.multiplier
                ))
            );
        }
        for &at in &restocks {
            let x = xs(at as f64);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y0:.1}" stroke="#666666" stroke-dasharray="3,3"/>"##
            );
        }
        // Axes, grid and labels.
        let mut v = 0;
        while v <= y_max {
            let y = ys(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="#eeeeee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"##,
                x0 - 4.0,
                y + 4.0
            );
            v += y_step;
        }
        let mut t = 0;
        while t <= horizon {
            let x = xs(t as f64);
            let label = if in_days {
                format!("d{}", t / DAY)
            } else {
                format!("{}h", t / 3600)
            };
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999999"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
                y0 + 4.0,
                y0 + 15.0
            );
            t += x_step;
        }
        let _ = writeln!(
            s,
            r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y0:.1}" stroke="#333333"/><line x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}" stroke="#333333"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555555">{}</text>"##,
            x1,
            y0 + 28.0,
            if in_days { "days" } else { "hours" }
        );
        // Series: true stock underneath (wide, grey), channels on top: where a channel shows
        // exactly the stock (listing everything) its line runs along the grey band.
        let bucket = p.chart.bucket_secs as f64;
        let path = |values: &[i64]| -> String {
            let mut d = String::new();
            let Some(&first) = values.first() else {
                return d;
            };
            let _ = write!(d, "M{:.1} {:.1}", xs(0.0), ys(first));
            let mut prev = first;
            for (b, &v) in values.iter().enumerate().skip(1) {
                if v != prev {
                    let _ = write!(d, "H{:.1}V{:.1}", xs(b as f64 * bucket), ys(v));
                    prev = v;
                }
            }
            let _ = write!(d, "H{x1:.1}");
            d
        };
        if let Some(stock) = p.chart.series.first() {
            let _ = writeln!(
                s,
                r##"<path d="{}" fill="none" stroke="#000000" stroke-width="4" stroke-opacity="0.35"/>"##,
                path(stock)
            );
        }
        for (c, values) in p.chart.series.iter().enumerate().skip(1) {
            let _ = writeln!(
                s,
                r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.4" stroke-opacity="0.9"/>"#,
                path(values),
                PALETTE[(c - 1) % PALETTE.len()]
            );
        }
        for &t in &p.chart.oversold_at {
            let x = xs(t as f64);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#D00000" stroke-width="2"/>"##,
                y0 - 7.0,
                y0 + 1.0
            );
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales() {
        assert_eq!(nice_scale(100), (100, 20));
        assert_eq!(nice_scale(95), (100, 20));
        assert_eq!(nice_scale(7), (8, 2));
        assert_eq!(nice_scale(0), (1, 1));
        assert_eq!(nice_scale(1234), (1500, 500));
        assert_eq!(x_ticks(14 * DAY), (DAY, true));
        assert_eq!(x_ticks(30 * DAY), (7 * DAY, true));
        assert_eq!(x_ticks(DAY), (2 * 3600, false));
    }

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            escape("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}"
        );
    }
}
