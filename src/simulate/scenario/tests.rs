//! Scenario parsing, validation, schedules and the daemon-config mapping.

use super::raw::*;
use super::*;
use crate::simulate::policy::RuleOverrides;

#[test]
fn builtin_is_the_seed() {
    let sc = Scenario::builtin();
    assert_eq!(sc.skus[0].stock.iter().sum::<i64>(), 100);
    let ids: Vec<&str> = sc.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["amazon", "shopify", "ebay", "walmart", "tiktok", "regional"]
    );
    let amazon = &sc.channels[0];
    assert_eq!(amazon.rule.buffer_bp, 1000);
    assert_eq!(amazon.stock_sync, Cadence::Every(300));
    assert_eq!(amazon.propagation, (300, 900));
    assert!(sc.channels[1].stock_sync.is_realtime());
    assert_eq!(sc.channels[1].rule.buffer_bp, 500);
    assert_eq!(sc.channels[2].stock_sync, Cadence::Every(900));
    assert_eq!(sc.channels[3].stock_sync, Cadence::Every(600));
    assert_eq!(sc.channels[4].stock_sync, Cadence::Every(300));
    assert_eq!(sc.channels[5].stock_sync, Cadence::Every(1800));
    assert_eq!(sc.flash_sales.len(), 1);
    assert_eq!(sc.flash_sales[0].channel, 4);
}

#[test]
fn cadence_ticks() {
    let start: Timestamp = "2025-11-03T00:00:00Z".parse().unwrap();
    assert_eq!(Cadence::Every(300).next_after(0, start), 300);
    assert_eq!(Cadence::Every(300).next_after(299, start), 300);
    assert_eq!(Cadence::Every(300).next_after(300, start), 600);
    assert_eq!(Cadence::Realtime { latency: 3 }.next_after(10, start), 13);
    let cron = Cadence::Cron("*/10 * * * *".parse().unwrap());
    assert_eq!(cron.next_after(0, start), 600);
    assert_eq!(cron.next_after(601, start), 1200);
    // A start that is not on the cron grid: ticks follow the wall clock, not the start.
    let odd: Timestamp = "2025-11-03T00:07:00Z".parse().unwrap();
    assert_eq!(cron.next_after(0, odd), 180);
}

fn minimal(extra: &str) -> String {
    format!(
        r#"
[[skus]]
sku = "A"
stock = 10
[[channels]]
id = "shop"
kind = "shopify"
{extra}
"#
    )
}

#[test]
fn defaults_come_from_the_kind() {
    let sc = Scenario::from_toml_str(&minimal("")).unwrap();
    let c = &sc.channels[0];
    assert!(c.stock_sync.is_realtime() && c.order_sync.is_realtime());
    assert_eq!(c.propagation, (1, 5));
    assert_eq!(sc.days, 14);
    assert_eq!(sc.warehouses, ["WH"]);
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let text = r#"
[simulation]
days = 0
[[warehouses]]
code = "WH"
[[skus]]
sku = "A"
stock = { WH = 5, XX = 3 }
[[channels]]
id = "a"
kind = "amazn"
buffer_percent = 12.345
[[channels]]
id = "b"
kind = "ebay"
propagation = ["15m", "5m"]
stock_schedule = "every 5y"
[[events]]
kind = "flash_sale"
channel = "zz"
at = "yesterday"
duration = "2h"
[[events]]
kind = "restock"
qty = -3
at = "1d"
[[policies]]
name = "shared"
base = "shared"
[[policies]]
name = "x"
base = "lenient"
"#;
    let e = Scenario::from_toml_str(text).unwrap_err();
    let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "simulation.days",
        "skus[0].stock.XX",
        "channels[0].kind",
        "channels[0].buffer_percent",
        "channels[1].propagation",
        "channels[1].stock_schedule",
        "events[0].at",
        "events[0].channel",
        "events[1].qty",
        "policies[0].name",
        "policies[1].base",
    ] {
        assert!(keys.contains(&k), "missing {k} in {e}");
    }
}

#[test]
fn syntax_and_type_errors_name_the_line_or_key() {
    let e = Scenario::from_toml_str("[[skus]\nsku = 1").unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = Scenario::from_toml_str(&minimal("priority = \"high\"")).unwrap_err();
    assert!(e.problems[0].key.starts_with("channels[0].priority"), "{e}");
    let e = Scenario::from_toml_str(&minimal("colour = 1")).unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
}

#[test]
fn the_daemon_config_is_recognised() {
    let e = Scenario::from_toml_str("[odoo]\nurl = \"http://x\"\n").unwrap_err();
    assert!(e.to_string().contains("--from-config"), "{e}");
}

#[test]
fn event_times_accept_offsets_and_timestamps() {
    let start: Timestamp = "2025-11-03T00:00:00Z".parse().unwrap();
    assert_eq!(parse_at("3d18h", start).unwrap(), 3 * DAY + 18 * 3600);
    assert_eq!(parse_at("0", start).unwrap(), 0);
    assert_eq!(parse_at("2025-11-04T01:00:00Z", start).unwrap(), DAY + 3600);
    assert_eq!(parse_at("2025-11-04 01:00:00", start).unwrap(), DAY + 3600);
    assert_eq!(
        parse_at("2025-11-04T02:00:00+01:00", start).unwrap(),
        DAY + 3600
    );
    assert!(parse_at("2025-11-02T00:00:00Z", start).is_err());
}

#[test]
fn percent_to_basis_points() {
    assert_eq!(percent_to_bp(Decimal::new(10, 0)), Ok(1000));
    assert_eq!(percent_to_bp(Decimal::new(125, 1)), Ok(1250));
    assert_eq!(percent_to_bp(Decimal::new(10000, 2)), Ok(10_000));
    assert!(percent_to_bp(Decimal::new(12345, 3)).is_err());
    assert!(percent_to_bp(Decimal::new(101, 0)).is_err());
}

#[test]
fn catalog_generates_deterministic_skus() {
    let text = r#"
[catalog]
count = 50
prefix = "G-"
stock = [10, 20]
popularity = [0.5, 1.5]
[[channels]]
id = "shop"
kind = "shopify"
"#;
    let a = Scenario::from_toml_str(text).unwrap();
    let b = Scenario::from_toml_str(text).unwrap();
    assert_eq!(a.skus.len(), 50);
    assert_eq!(a.skus[0].sku, "G-0001");
    assert!(a.skus.iter().all(|s| (10..=20).contains(&s.stock[0])));
    let sa: Vec<i64> = a.skus.iter().map(|s| s.stock[0]).collect();
    let sb: Vec<i64> = b.skus.iter().map(|s| s.stock[0]).collect();
    assert_eq!(sa, sb);
    assert!(sa.iter().any(|&x| x != sa[0]), "stock should vary");
}

#[test]
fn recurring_restock_expands_within_the_horizon() {
    let sc = Scenario::from_toml_str(&minimal(
        "[[events]]\nkind = \"restock\"\nat = \"2d\"\nevery = \"5d\"\nqty = 7\n",
    ))
    .unwrap();
    let at: Vec<Secs> = sc.restock_schedule().iter().map(|r| r.0).collect();
    assert_eq!(at, [2 * DAY, 7 * DAY, 12 * DAY]);
    let mut longer = sc.clone();
    longer.days = 20;
    assert_eq!(longer.restock_schedule().len(), 4, "follows --days");
}

#[test]
fn daemon_config_replaces_the_rules_and_keeps_the_market() {
    let cfg = Config::from_toml_str_with(
        r#"
[odoo]
url = "https://odoo.example.com"
database = "prod"
login = "bot"
api_key = { env = "ODOO_API_KEY" }
[inventory]
default_safety_stock = 3
[[channels]]
id = "amz-eu"
kind = "amazon"
priority = 7
buffer_percent = 12.5
keep_last_units = 4
max_qty = 40
stock_schedule = "every 7m"
order_schedule = "*/10 * * * *"
[[channels]]
id = "noon"
kind = "noon"
[[channels]]
id = "off"
kind = "ebay"
enabled = false
"#,
        &crate::config::LoadEnv::default(),
    )
    .unwrap();
    let mut sc = Scenario::builtin();
    let amazon_demand = sc.channels[0].demand_per_day;
    sc.policies[0]
        .per_channel
        .push((4, RuleOverrides::default())); // an override for tiktok
    let notes = sc.apply_daemon_config(&cfg).unwrap();
    let ids: Vec<&str> = sc.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["amz-eu", "noon"], "enabled channels only");
    let a = &sc.channels[0];
    assert_eq!(
        (
            a.rule.priority,
            a.rule.buffer_bp,
            a.rule.keep_last,
            a.rule.max_qty
        ),
        (7, 1250, 4, 40)
    );
    assert_eq!(a.stock_sync, Cadence::Every(420));
    assert!(matches!(a.order_sync, Cadence::Cron(_)));
    assert_eq!(
        (a.demand_per_day, a.propagation),
        (amazon_demand, (300, 900))
    );
    let n = &sc.channels[1];
    assert_eq!(n.stock_sync, Cadence::Every(1800), "noon's kind default");
    assert_eq!(
        n.propagation,
        default_propagation(&ChannelKind::Other("noon".into()))
    );
    assert_eq!(sc.allocation.safety_stock, 3);
    assert!(
        sc.flash_sales.is_empty(),
        "tiktok's flash sale went with tiktok"
    );
    assert!(sc.policies[0].per_channel.is_empty());
    let text = notes.join("\n");
    for needle in [
        "amz-eu",
        "not in the scenario",
        "left out",
        "flash sale",
        "overrides",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}
