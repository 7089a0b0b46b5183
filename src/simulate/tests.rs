//! Engine tests on tiny scenarios whose outcome is computed by hand in each test's comment.

use super::engine::{Trace, run_policy_traced};
use super::*;

/// One SKU of `stock` units; two channels `a` and `b` (equal priority, no buffers) with the
/// given stock schedule, orders reaching the daemon at once, no propagation delay.
fn two_channels(stock: i64, schedule: &str, extra: &str) -> Scenario {
    Scenario::from_toml_str(&format!(
        r#"
[simulation]
days = 1
[[skus]]
sku = "A"
stock = {stock}
price = "10"
[[channels]]
id = "a"
kind = "sandbox"
stock_schedule = "{schedule}"
order_schedule = "realtime"
order_latency = "0s"
propagation = "0s"
demand_per_day = 0
[[channels]]
id = "b"
kind = "sandbox"
stock_schedule = "{schedule}"
order_schedule = "realtime"
order_latency = "0s"
propagation = "0s"
demand_per_day = 0
{extra}
"#
    ))
    .unwrap()
}

fn buyer(at: Secs, channel: u16, qty: u32) -> BuyerOrder {
    BuyerOrder {
        at,
        channel,
        sku: 0,
        qty,
    }
}

fn run(sc: &Scenario, base: BaseKind, orders: &[BuyerOrder]) -> (PolicyResult, Vec<Trace>) {
    let mut p = PolicySpec::builtin(base).build(sc).unwrap();
    run_policy_traced(sc, orders, p.as_mut(), ChartTarget::Sku(0)).unwrap()
}

/// 10 units; `a` sells 4 at 1 min, `b` sells 4 at 2 min and 4 more at 3 min.
fn three_sales() -> Vec<BuyerOrder> {
    vec![buyer(60, 0, 4), buyer(120, 1, 4), buyer(180, 1, 4)]
}

#[test]
fn ten_minute_sync_gap_oversells_everywhere_by_exactly_two() {
    // Everywhere: both channels show 10. a's 4 reach the daemon at once (stock 6), but b
    // still shows 10 until the 10-minute push: it accepts 4 (stock 2, b shows 6) and 4 more,
    // of which 2 are missing when that order reaches the daemon.
    let sc = two_channels(10, "every 10m", "");
    let (r, trace) = run(&sc, BaseKind::Everywhere, &three_sales());
    assert_eq!(r.total.orders, 3);
    assert_eq!((r.total.oversold_units, r.total.oversold_orders), (2, 1));
    assert_eq!(r.channels[1].oversold_orders, 1, "b oversold");
    assert!(trace.contains(&Trace::Arrived {
        at: 180,
        c: 1,
        s: 0,
        q: 4,
        short: 2
    }));
    // Revenue counts the 10 served units, not the 2 oversold ones.
    assert_eq!(r.total.revenue, Some(rust_decimal::Decimal::new(100, 0)));
}

#[test]
fn ten_minute_sync_gap_never_oversells_under_strict() {
    // Strict: 10 units split 5/5. a sells 4 (shows 1); the daemon re-splits 6 as 3/3 but
    // pushes only at 10 min. b sells 4 of its 5 (stock 2, b shows 1); b's second buyer for 4
    // is refused, and it is a stock-out: only 2 units exist.
    let sc = two_channels(10, "every 10m", "");
    let (r, _) = run(&sc, BaseKind::Strict, &three_sales());
    assert_eq!(r.total.oversold_orders, 0);
    assert_eq!(r.total.orders, 2);
    assert_eq!((r.total.stockout_units, r.total.stockout_orders), (4, 1));
    assert_eq!(r.total.lost_orders, 0);
}

#[test]
fn a_one_minute_sync_closes_the_gap() {
    // Same sales, pushes every minute: a's sale reaches b before b's first buyer (b shows 6),
    // then b shows 2 and b's second buyer is refused: a stock-out, not an oversell.
    let sc = two_channels(10, "every 1m", "");
    let (r, trace) = run(&sc, BaseKind::Everywhere, &three_sales());
    assert_eq!(r.total.oversold_orders, 0);
    assert_eq!(r.total.stockout_orders, 1);
    // The sale at 60 s is pushed on the next tick, 120 s, before that second's buyer.
    assert!(trace.contains(&Trace::Applied {
        at: 120,
        c: 1,
        s: 0,
        q: 6
    }));
}

#[test]
fn realtime_push_lands_after_latency_and_propagation() {
    // Real-time stock push with a 5 s reaction and 30 s propagation: a sale at 100 s (order
    // webhook 0 s) is pushed at 105 s and shown at 135 s.
    let sc = two_channels(10, "realtime", "");
    let mut sc = sc;
    for c in &mut sc.channels {
        c.stock_sync = scenario::Cadence::Realtime { latency: 5 };
        c.propagation = (30, 30);
    }
    let (_, trace) = run(&sc, BaseKind::Everywhere, &[buyer(100, 0, 3)]);
    let pushes: Vec<&Trace> = trace
        .iter()
        .filter(|t| matches!(t, Trace::Pushed { .. } | Trace::Applied { .. }))
        .collect();
    assert_eq!(
        pushes,
        [
            &Trace::Pushed {
                at: 105,
                c: 0,
                s: 0,
                q: 7
            },
            &Trace::Pushed {
                at: 105,
                c: 1,
                s: 0,
                q: 7
            },
            &Trace::Applied {
                at: 135,
                c: 0,
                s: 0,
                q: 7
            },
            &Trace::Applied {
                at: 135,
                c: 1,
                s: 0,
                q: 7
            },
        ]
    );
}

#[test]
fn periodic_order_pull_delays_the_daemon() {
    // Orders pulled every 15 min: a sale at 100 s reaches the daemon at 900 s, the next
    // 10-minute push is at 1200 s. Until then b shows 10 though 3 are sold.
    let mut sc = two_channels(10, "every 10m", "");
    sc.channels[0].order_sync = scenario::Cadence::Every(900);
    let (_, trace) = run(&sc, BaseKind::Everywhere, &[buyer(100, 0, 3)]);
    let arrived = trace.iter().find_map(|t| match t {
        Trace::Arrived { at, .. } => Some(*at),
        _ => None,
    });
    assert_eq!(arrived, Some(900));
    let first_push = trace.iter().find_map(|t| match t {
        Trace::Pushed { at, c: 1, .. } => Some(*at),
        _ => None,
    });
    assert_eq!(first_push, Some(1200));
}

#[test]
fn pushes_to_one_sku_land_in_order_even_with_random_delays() {
    // Propagation uniform in 1..=600 s, pushes every minute: a later push may draw a shorter
    // delay, but a quantity never lands before an earlier one.
    let mut sc = two_channels(200, "every 1m", "");
    for c in &mut sc.channels {
        c.propagation = (1, 600);
    }
    let orders: Vec<BuyerOrder> = (0..100).map(|i| buyer(30 + i * 61, 0, 1)).collect();
    let (_, trace) = run(&sc, BaseKind::Everywhere, &orders);
    let mut pushed = Vec::new();
    let mut applied = Vec::new();
    let mut last_at = 0;
    for t in &trace {
        match *t {
            Trace::Pushed { c: 1, q, .. } => pushed.push(q),
            Trace::Applied { at, c: 1, q, .. } => {
                assert!(at >= last_at);
                last_at = at;
                applied.push(q);
            }
            _ => {}
        }
    }
    assert_eq!(pushed.len(), 100);
    assert_eq!(applied, pushed, "applied in push order");
}

#[test]
fn lost_sales_are_policy_caused_and_bounded_by_free_stock() {
    // Fixed split of 10: 5 each. a's buyers: 5 (ok), then three buyers of 2 while b holds its
    // 5 unsold: the first two are lost sales (they want 4 of the 5 free units); the third
    // finds 1 unit nobody refused wanted: had the policy served the first two, it would have
    // been a stock-out, so it counts as one.
    let sc = two_channels(10, "every 1m", "");
    let orders = [
        buyer(60, 0, 5),
        buyer(600, 0, 2),
        buyer(700, 0, 2),
        buyer(800, 0, 2),
    ];
    let (r, trace) = run(&sc, BaseKind::FixedSplit, &orders);
    assert_eq!(r.channels[0].orders, 1);
    assert_eq!(
        (r.channels[0].lost_units, r.channels[0].lost_orders),
        (4, 2)
    );
    assert_eq!(r.channels[0].stockout_orders, 1);
    assert!(matches!(
        trace.last(),
        Some(Trace::StockOut { at: 800, .. })
    ));
    // The lost revenue is priced.
    assert_eq!(
        r.total.lost_revenue,
        Some(rust_decimal::Decimal::new(40, 0))
    );
}

#[test]
fn idle_and_hidden_stock_are_exact_time_averages() {
    // No buyers. Fixed split of 10 over two channels shows 5 and 5: 5 units are listed on no
    // channel all day, and each channel hides 5. Everywhere hides nothing.
    let sc = two_channels(10, "every 10m", "");
    let (r, _) = run(&sc, BaseKind::FixedSplit, &[]);
    assert_eq!(r.idle_avg, 5.0);
    assert_eq!(r.channels[0].hidden_avg, 5.0);
    let (r, _) = run(&sc, BaseKind::Everywhere, &[]);
    assert_eq!(r.idle_avg, 0.0);
    // Half a day: fixed split sells a's 5 at noon; from then 5 units sit on b, and b shows
    // them: idle 5 then 0 (b's display is the largest), average 2.5.
    let (r, _) = run(&sc, BaseKind::FixedSplit, &[buyer(43_200, 0, 5)]);
    assert_eq!(r.idle_avg, 2.5);
    // Everywhere, a sale of all 10 at noon: b shows 10 until the push though nothing is left.
    let (r, _) = run(&sc, BaseKind::Everywhere, &[buyer(43_200, 0, 10)]);
    assert_eq!(r.idle_avg, 0.0);
    // b shows 10 until the push after noon although nothing is left: hidden is 0, never
    // negative.
    assert_eq!(r.channels[1].hidden_avg, 0.0);
}

#[test]
fn restock_reaches_the_channels_on_their_schedule() {
    let sc = two_channels(
        0,
        "every 10m",
        "[[events]]\nkind = \"restock\"\nat = \"1h1m\"\nqty = 7\n",
    );
    let (r, trace) = run(
        &sc,
        BaseKind::Everywhere,
        &[buyer(3600, 0, 1), buyer(4300, 0, 1)],
    );
    assert_eq!(r.channels[0].stockout_orders, 1, "before the restock");
    assert_eq!(r.channels[0].orders, 1, "after the 70-minute push");
    assert!(trace.contains(&Trace::Restocked {
        at: 3660,
        s: 0,
        q: 7
    }));
    assert!(trace.contains(&Trace::Applied {
        at: 4200,
        c: 0,
        s: 0,
        q: 7
    }));
}

#[test]
fn shared_buffers_keep_the_last_units_back() {
    // Shared with a 50 % buffer on b: b shows 5 of 10 and never oversells in the race above.
    let sc = two_channels(10, "every 10m", "");
    let mut sc = sc;
    sc.channels[1].rule.buffer_bp = 5000;
    let (r, _) = run(&sc, BaseKind::Shared, &three_sales());
    // a: 10 shown, sells 4 (stock 6). b shows 5: accepts 4 (stock 2, shows 1), refuses 4: a
    // stock-out (2 left).
    assert_eq!(r.total.oversold_orders, 0);
    assert_eq!(r.total.orders, 2);
}

#[test]
fn warehouses_limit_what_a_channel_can_sell() {
    let sc = Scenario::from_toml_str(
        r#"
[simulation]
days = 1
[[warehouses]]
code = "EU"
[[warehouses]]
code = "US"
[[skus]]
sku = "A"
stock = { EU = 3, US = 10 }
[[channels]]
id = "eu"
kind = "sandbox"
warehouses = ["EU"]
stock_schedule = "every 10m"
order_schedule = "realtime"
order_latency = "0s"
propagation = "0s"
demand_per_day = 0
[[channels]]
id = "all"
kind = "sandbox"
stock_schedule = "every 10m"
order_schedule = "realtime"
order_latency = "0s"
propagation = "0s"
demand_per_day = 0
"#,
    )
    .unwrap();
    // eu shows 3, all shows 13. all sells 11, served from US first (the warehouse fewer
    // channels depend on), then 1 from EU; eu sells 3 before the push: EU holds 2, 1 short.
    let orders = [buyer(60, 1, 11), buyer(120, 0, 3)];
    let (r, trace) = run(&sc, BaseKind::Everywhere, &orders);
    assert_eq!(r.channels[0].oversold_units, 1);
    assert!(trace.contains(&Trace::Applied {
        at: 600,
        c: 0,
        s: 0,
        q: 0
    }));
}

#[test]
fn orders_accepted_before_the_end_still_count() {
    // Orders pulled every 30 min; a sale 1 minute before the end reaches the daemon after it
    // and is still checked for stock.
    let mut sc = two_channels(1, "every 10m", "");
    sc.channels[0].order_sync = scenario::Cadence::Every(1800);
    sc.channels[1].order_sync = scenario::Cadence::Every(1800);
    let end = sc.horizon();
    let orders = [buyer(end - 60, 0, 1), buyer(end - 30, 1, 1)];
    let (r, _) = run(&sc, BaseKind::Everywhere, &orders);
    assert_eq!(r.total.oversold_orders, 1);
}

#[test]
fn same_seed_same_report_other_seed_other_report() {
    let report = |seed| {
        let mut sc = Scenario::builtin();
        sc.seed = seed;
        sc.days = 7;
        let input = Input::generated(sc);
        let (t, l) = chart_target(&input.scenario, None).unwrap();
        let specs = PolicySpec::all_for(&input.scenario);
        simulate(&input, &specs, t, &l).unwrap()
    };
    let a = report(11);
    let b = report(11);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert_ne!(a, report(12));
}

#[test]
fn cron_schedules_tick_on_the_wall_clock() {
    // Start at 00:07; pushes at every 10th minute of the hour: the first at 00:10 (180 s).
    let mut sc = two_channels(10, "*/10 * * * *", "");
    sc.start = "2025-11-03T00:07:00Z".parse().unwrap();
    let (_, trace) = run(&sc, BaseKind::Everywhere, &[buyer(10, 0, 1)]);
    let first = trace.iter().find_map(|t| match t {
        Trace::Pushed { at, .. } => Some(*at),
        _ => None,
    });
    assert_eq!(first, Some(180));
}

#[test]
fn svg_is_well_formed_xml_with_a_panel_per_policy() {
    let mut sc = Scenario::builtin();
    sc.days = 3;
    sc.channels[0].id = "amazon <EU> & \"co\"".into();
    let input = Input::generated(sc);
    let (t, l) = chart_target(&input.scenario, None).unwrap();
    let specs = PolicySpec::all_for(&input.scenario);
    let report = simulate(&input, &specs, t, &l).unwrap();
    let svg = svg::render(&report, &input.scenario);
    let (root, panels) = check_xml(&svg);
    assert_eq!(root, "svg");
    assert_eq!(panels, specs.len());
    assert!(svg.contains("amazon &lt;EU&gt; &amp; &quot;co&quot; shows"));
}

#[test]
fn the_builtin_scenario_shows_the_seed_ranking() {
    // The claim of the seed, on the built-in scenario: listing everything everywhere
    // oversells, a fixed split starves channels, the shared pool does neither much.
    let input = Input::generated(Scenario::builtin());
    let (t, l) = chart_target(&input.scenario, None).unwrap();
    let specs = PolicySpec::all_for(&input.scenario);
    let r = simulate(&input, &specs, t, &l).unwrap();
    let get = |n: &str| r.policies.iter().find(|p| p.policy == n).unwrap();
    let (every, split, shared, strict) = (
        get("everywhere"),
        get("fixed_split"),
        get("shared"),
        get("strict"),
    );
    assert!(every.total.oversold_orders > shared.total.oversold_orders);
    assert!(every.total.oversold_orders > strict.total.oversold_orders);
    assert!(split.total.lost_units > shared.total.lost_units);
    assert!(split.total.lost_units > strict.total.lost_units);
    assert!(split.idle_avg > shared.idle_avg);
    assert!(r.recommendation.unwrap().policy.starts_with("shared"));
}

/// Parse `text` as XML (every tag closed and matched, attributes quoted and unescapable,
/// entity references predefined): the root element's name and the number of `<g>` elements.
pub(crate) fn check_xml(text: &str) -> (String, usize) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0i32;
    let mut groups = 0;
    let mut root = None;
    let check_attrs = |e: &quick_xml::events::BytesStart<'_>| {
        for a in e.attributes() {
            let a = a.expect("well-formed attribute");
            a.unescape_value().expect("attribute value unescapes");
        }
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                if root.is_none() {
                    root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                    assert!(
                        e.attributes().flatten().any(|a| a.key.as_ref() == b"xmlns"
                            && a.value.as_ref() == b"http://www.w3.org/2000/svg"),
                        "the root declares the SVG namespace"
                    );
                }
                if e.name().as_ref() == b"g" {
                    groups += 1;
                }
                check_attrs(&e);
            }
            Ok(Event::Empty(e)) => {
                assert!(depth > 0, "element outside the root");
                check_attrs(&e);
            }
            Ok(Event::Text(t)) => {
                t.decode().expect("text decodes");
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().expect("reference decodes");
                assert!(
                    r.is_char_ref() || ["lt", "gt", "amp", "quot", "apos"].contains(&name.as_ref()),
                    "undefined entity &{name};"
                );
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not XML at byte {}: {e}", reader.buffer_position()),
        }
    }
    assert_eq!(depth, 0, "unclosed elements");
    (root.expect("a root element"), groups)
}
