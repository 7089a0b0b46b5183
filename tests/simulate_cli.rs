//! The `simulate` subcommand, run as a merchant would: the sample scenario, the sample CSV,
//! bad CSV rows, the chart, the daemon's configuration, exit codes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_odoo-channels");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/simulate");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("ODOO_CHANNELS_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.push("--json");
    serde_json::from_str(&ok(&a)).expect("--json prints JSON")
}

fn total<'a>(report: &'a serde_json::Value, policy: &str) -> &'a serde_json::Value {
    let p = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == policy)
        .unwrap_or_else(|| panic!("no policy {policy}"));
    &p["total"]
}

fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn sample_scenario_shared_and_strict_beat_the_naive_policies() {
    let scenario = format!("{EXAMPLES}/seed.toml");
    let r = json(&["simulate", "--config", &scenario]);
    let every = total(&r, "everywhere");
    let split = total(&r, "fixed_split");
    for better in ["shared", "strict"] {
        let t = total(&r, better);
        assert!(
            n(t, "oversold_orders") < n(every, "oversold_orders"),
            "{better} oversells less than everywhere: {t} vs {every}"
        );
        assert!(
            n(t, "oversold_units") < n(every, "oversold_units"),
            "{better}: {t} vs {every}"
        );
        assert!(
            n(t, "lost_units") < n(split, "lost_units"),
            "{better} loses fewer sales than fixed_split: {t} vs {split}"
        );
    }
    // Everyone saw the same buyers.
    let buyers: Vec<u64> = r["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| n(&p["total"], "buyers"))
        .collect();
    assert!(buyers.windows(2).all(|w| w[0] == w[1]), "{buyers:?}");
    assert!(
        r["recommendation"]["policy"]
            .as_str()
            .unwrap()
            .starts_with("shared"),
        "{}",
        r["recommendation"]
    );
    // The sample file is the built-in scenario.
    assert_eq!(r, json(&["simulate"]));
}

#[test]
fn text_report_has_every_policy_channel_and_the_recommendation() {
    let out = ok(&["simulate", "--days", "7", "--policies", "everywhere,shared"]);
    for needle in [
        "policy everywhere:",
        "policy shared:",
        "amazon",
        "regional",
        "oversold u/o",
        "idle stock",
        "comparison (totals)",
        "recommendation: ",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(!out.contains("policy strict:"));
}

#[test]
fn same_seed_same_report() {
    let a = ok(&["simulate", "--days", "5", "--seed", "9"]);
    assert_eq!(a, ok(&["simulate", "--days", "5", "--seed", "9"]));
    assert_ne!(a, ok(&["simulate", "--days", "5", "--seed", "10"]));
}

/// Well-formed XML: every tag closed and matched, attributes quoted, only predefined entities.
fn assert_xml(text: &str) -> usize {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut depth, mut groups, mut root) = (0i32, 0, None);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                root.get_or_insert_with(|| e.name().as_ref().to_vec());
                if e.name().as_ref() == b"g" {
                    groups += 1;
                }
                for a in e.attributes() {
                    a.unwrap().unescape_value().unwrap();
                }
            }
            Ok(Event::Empty(e)) => {
                for a in e.attributes() {
                    a.unwrap().unescape_value().unwrap();
                }
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().unwrap();
                assert!(["lt", "gt", "amp", "quot", "apos"].contains(&name.as_ref()));
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("invalid XML at {}: {e}", reader.buffer_position()),
        }
    }
    assert_eq!(depth, 0);
    assert_eq!(root.as_deref(), Some(&b"svg"[..]));
    groups
}

#[test]
fn svg_chart_is_written_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("chart.svg");
    let out = run(&[
        "simulate",
        "--days",
        "7",
        "--policies",
        "everywhere,fixed_split,shared",
        "--svg",
        svg.to_str().unwrap(),
        "--sku",
        "TEE-BLK-M",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chart written to"));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(assert_xml(&text), 3, "one panel per policy");
    assert!(text.contains("SKU TEE-BLK-M"));
    // An unknown --sku is a usage error.
    assert_eq!(run(&["simulate", "--sku", "NOPE"]).status.code(), Some(2));
}

#[test]
fn sample_csv_replays_real_orders() {
    let csv = format!("{EXAMPLES}/orders.csv");
    let r = json(&["simulate", "--orders", &csv]);
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count() as u64 - 1;
    assert_eq!(
        r["stream"]["buyers"].as_u64(),
        Some(rows),
        "every row replayed"
    );
    assert_eq!(n(total(&r, "shared"), "buyers"), rows);
    assert_eq!(
        r["start"], "2025-11-10 00:00 UTC",
        "the window is the CSV's"
    );
    assert_eq!(r["days"], 5);
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("order_ref"))
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.display().to_string()
}

#[test]
fn bad_csv_rows_are_reported_and_refused_unless_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "orders.csv",
        "timestamp,channel,sku,quantity\n\
         2025-11-10T10:00:00Z,amazon,MUG-100,1\n\
         2025-11-10T11:00:00Z,amzon,MUG-100,1\n\
         2025-11-10 12:00:00,shopify,MUG-100,two\n\
         2025-11-10 13:00:00,shopify,MUG-100,1\n",
    );
    let out = run(&["simulate", "--orders", &csv]);
    assert_eq!(out.status.code(), Some(1), "refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3, column 2 (channel): unknown channel `amzon`"),
        "{err}"
    );
    assert!(
        err.contains("line 4, column 4 (quantity): `two` is not a whole number"),
        "{err}"
    );
    assert!(err.contains("--skip-bad-rows"), "{err}");
    assert!(out.stdout.is_empty(), "nothing simulated");

    let out = run(&["simulate", "--orders", &csv, "--skip-bad-rows", "--json"]);
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["stream"]["buyers"], 2);
    assert_eq!(r["stream"]["skipped_rows"], 2);
    let notes = r["notes"].to_string();
    assert!(notes.contains("lines 3, 4"), "{notes}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 bad CSV rows skipped"));

    // A broken header cannot be skipped.
    let csv = write(
        dir.path(),
        "nohead.csv",
        "2025-11-10T10:00:00Z,amazon,MUG-100,1\n",
    );
    let out = run(&["simulate", "--orders", &csv, "--skip-bad-rows"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing column"));
}

#[test]
fn the_daemons_configuration_supplies_the_channel_rules() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "config.toml",
        r#"
[odoo]
url = "http://127.0.0.1:9"
database = "prod"
login = "bot"
api_key = { env = "TEST_ODOO_KEY" }
[[channels]]
id = "amz"
kind = "amazon"
buffer_percent = 10
[[channels]]
id = "shop"
kind = "shopify"
"#,
    );
    let r = json(&["simulate", "--from-config", &cfg, "--days", "7"]);
    let ids: Vec<&str> = r["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["amz", "shop"]);
    assert!(r["notes"].to_string().contains("left out"));
    // Given as the scenario by mistake: a clear hint, exit 3.
    let out = run(&["simulate", "--config", &cfg]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from-config"));
}

#[test]
fn usage_and_scenario_errors_have_their_exit_codes() {
    assert_eq!(
        run(&["simulate", "--policies", "lenient"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["simulate", "--days", "0"]).status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[skus]]\nsku = \"A\"\nstock = -1\n[[channels]]\nid = \"x\"\nkind = \"amazn\"\n",
    );
    let out = run(&["simulate", "--config", &bad]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skus[0].stock") && err.contains("channels[0].kind"),
        "{err}"
    );
    // --print-scenario prints the sample file.
    let printed = ok(&["simulate", "--print-scenario"]);
    assert_eq!(
        printed,
        std::fs::read_to_string(format!("{EXAMPLES}/seed.toml")).unwrap()
    );
}
