//! The real daemon process (`odoo-channels run`) killed while importing orders, then
//! restarted: Odoo ends with every order exactly once.
//!
//! The sandboxes run in this test process; the daemon is a child process speaking HTTP to
//! them. It dies either at a named fail point (`ODOO_CHANNELS_FAILPOINT`, e.g. between the
//! Odoo create and the local commit: `std::process::abort`, no cleanup) or by SIGKILL at a
//! random instant.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use channel_sandbox::sandbox::{NewLine, NewOrder};
use odoo_channels::config::Config;
use odoo_channels::embedded::{Embedded, EmbeddedOptions};
use odoo_channels::odoo::{Domain, OdooClient, SearchOpts};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Per `client_order_ref`: (sale order id, state, held) of each order found in Odoo.
type Found = HashMap<String, Vec<(i64, String, bool)>>;

struct Setup {
    emb: Embedded,
    odoo: OdooClient,
    config: PathBuf,
    dir: tempfile::TempDir,
}

async fn setup(products: usize, extra: &str) -> Setup {
    let emb = Embedded::start(&EmbeddedOptions {
        products,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/state.db", dir.path().display());
    // Poll every second rather than wait for webhooks: nobody delivers them here.
    let text = emb.config_toml(&url).replace(
        "order_schedule = \"realtime\"",
        "order_schedule = \"every 1s\"",
    ) + "\n[log]\nformat = \"text\"\nlevel = \"warn\"\n"
        + extra;
    let parsed = Config::from_toml_str(&text).unwrap();
    let odoo = OdooClient::connect(parsed.odoo.client_settings().unwrap())
        .await
        .unwrap();
    let config = dir.path().join("odoo-channels.toml");
    std::fs::write(&config, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // Plenty of free stock for every product, so that no order waits for stock.
    let info = emb.odoo.catalog().unwrap();
    for p in info.first_product_id..info.first_product_id + products as i64 {
        emb.odoo
            .handle()
            .set_stock(p, info.stock_location_ids[0], 1_000_000.0)
            .unwrap();
    }
    Setup {
        emb,
        odoo,
        config,
        dir,
    }
}

fn spawn(config: &Path, log: &Path, failpoint: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_odoo-channels"));
    cmd.arg("--config")
        .arg(config)
        .arg("run")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("ODOO_CHANNELS_FAILPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        );
    if let Some(fp) = failpoint {
        cmd.env("ODOO_CHANNELS_FAILPOINT", fp);
    }
    cmd.spawn().expect("start odoo-channels run")
}

/// Wait for the child to exit by itself (up to `limit`); `None` if it is still running.
async fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() > until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// `client_order_ref` → (sale order ids, states, held) of every channel order in Odoo.
async fn odoo_orders(odoo: &OdooClient) -> Found {
    let rows = odoo
        .search_read(
            "sale.order",
            &Domain::leaf("client_order_ref", "=like", "shop:%"),
            &["client_order_ref", "state", "tag_ids"],
            &SearchOpts::default().load_none(),
        )
        .await
        .unwrap();
    let mut out: HashMap<String, Vec<(i64, String, bool)>> = HashMap::new();
    for r in rows {
        let key = r["client_order_ref"].as_str().unwrap().to_owned();
        out.entry(key).or_default().push((
            r["id"].as_i64().unwrap(),
            r["state"].as_str().unwrap_or("").to_owned(),
            r["tag_ids"].as_array().is_some_and(|t| !t.is_empty()),
        ));
    }
    out
}

/// Every expected order is in Odoo and finished: confirmed, or held (tagged) for a person.
fn all_finished(
    expected: &HashSet<String>,
    got: &HashMap<String, Vec<(i64, String, bool)>>,
) -> bool {
    expected.iter().all(|e| {
        got.get(e).is_some_and(|v| {
            v.iter()
                .all(|(_, state, held)| state == "sale" || (*held && state == "draft"))
        })
    })
}

fn refs(orders: &[Value]) -> HashSet<String> {
    orders
        .iter()
        .map(|o| format!("shop:{}", o["id"].as_str().unwrap()))
        .collect()
}

/// Run a clean daemon until every expected order is finished in Odoo (or `limit`).
async fn settle(s: &Setup, expected: &HashSet<String>, log: &Path, limit: Duration) {
    let mut child = spawn(&s.config, log, None);
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if all_finished(expected, &odoo_orders(&s.odoo).await) {
            break;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "the daemon exited on its own: {st}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    kill(&mut child);
}

fn assert_exactly_once(expected: &HashSet<String>, got: &Found, log: &Path) {
    let missing: Vec<&String> = expected.iter().filter(|e| !got.contains_key(*e)).collect();
    let duplicated: Vec<(&String, usize)> = got
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, v)| (k, v.len()))
        .collect();
    let unknown: Vec<&String> = got.keys().filter(|k| !expected.contains(*k)).collect();
    let unfinished: Vec<&String> = got
        .iter()
        .filter(|(_, v)| {
            !v.iter()
                .all(|(_, st, held)| st == "sale" || (*held && st == "draft"))
        })
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty() && duplicated.is_empty() && unknown.is_empty() && unfinished.is_empty(),
        "lost: {missing:?}\nduplicated: {duplicated:?}\nunknown: {unknown:?}\nunfinished: {unfinished:?}\nlog:\n{}",
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[cfg(unix)]
fn died_by_abort(st: &ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    st.signal() == Some(6)
}

#[cfg(not(unix))]
fn died_by_abort(st: &ExitStatus) -> bool {
    !st.success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_between_the_odoo_create_and_the_local_commit_loses_and_duplicates_nothing()
 {
    let s = setup(5, "[orders.audit]\nduplicate_window_minutes = 0\n").await;
    let log = s.dir.path().join("daemon.log");
    let orders: Vec<Value> = (0..3)
        .map(|i| {
            s.emb
                .market
                .create_order(NewOrder {
                    lines: vec![NewLine {
                        sku: "SKU-000001".into(),
                        quantity: 1 + i,
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .unwrap()
        })
        .collect();
    let expected = refs(&orders);

    let mut child = spawn(&s.config, &log, Some("orders.after_create=abort"));
    let st = wait_exit(&mut child, Duration::from_secs(60)).await;
    let Some(st) = st else {
        kill(&mut child);
        panic!(
            "the fail point was never reached\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    assert!(died_by_abort(&st), "{st}");
    // Odoo committed the orders; the daemon died before it could record them.
    let got = odoo_orders(&s.odoo).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.values().all(|v| v.len() == 1 && v[0].1 == "draft"));
    let creates = s.emb.odoo.stats().count("sale.order", "create");

    settle(&s, &expected, &log, Duration::from_secs(30)).await;
    let got = odoo_orders(&s.odoo).await;
    assert_exactly_once(&expected, &got, &log);
    assert!(got.values().all(|v| v[0].1 == "sale"), "{got:?}");
    assert_eq!(
        s.emb.odoo.stats().count("sale.order", "create"),
        creates,
        "the restarted daemon found the orders instead of creating them again"
    );
}

/// 1,000 orders, the daemon killed again and again at random points (fail points at random
/// hits, SIGKILL at random instants): every order ends in Odoo exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_orders_through_random_crashes_end_with_no_loss_and_no_duplicate() {
    let s = setup(20, "").await;
    let log = s.dir.path().join("daemon.log");
    let orders = s.emb.market.generate_orders(1000, 0.0, 0.1);
    let expected = refs(&orders);
    assert_eq!(expected.len(), 1000);
    let mut rng = StdRng::seed_from_u64(
        std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4),
    );
    const POINTS: [&str; 3] = [
        "orders.after_create",
        "orders.after_confirm",
        "orders.before_done",
    ];
    let started = Instant::now();
    let mut crashes = 0;
    for _ in 0..12 {
        if all_finished(&expected, &odoo_orders(&s.odoo).await) {
            break;
        }
        if rng.random_bool(0.6) {
            let fp = format!(
                "{}=abort@{}",
                POINTS[rng.random_range(0..POINTS.len())],
                rng.random_range(1..6)
            );
            let mut child = spawn(&s.config, &log, Some(&fp));
            match wait_exit(&mut child, Duration::from_secs(20)).await {
                Some(st) => {
                    assert!(died_by_abort(&st), "{fp}: {st}");
                    crashes += 1;
                }
                // Not reached (nothing left to import at that point): stop it anyway.
                None => kill(&mut child),
            }
        } else {
            let mut child = spawn(&s.config, &log, None);
            tokio::time::sleep(Duration::from_millis(rng.random_range(300..2500))).await;
            if child.try_wait().unwrap().is_none() {
                crashes += 1;
            }
            kill(&mut child);
        }
    }
    settle(&s, &expected, &log, Duration::from_secs(60)).await;
    let got = odoo_orders(&s.odoo).await;
    assert_exactly_once(&expected, &got, &log);
    assert!(crashes >= 3, "only {crashes} crashes were injected");
    eprintln!(
        "1000 orders, {crashes} crashes, {:?}; creates: {}",
        started.elapsed(),
        s.emb.odoo.stats().count("sale.order", "create")
    );
}
