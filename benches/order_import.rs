//! Order import throughput against the sandboxes, and the daemon's own CPU time per order.
//!
//! The Odoo sandbox and the sandbox marketplace run in a **child process**
//! (`odoo-channels sandbox`), so this process's CPU time (`/proc/self/stat`, user + system) is
//! the daemon's alone: pulling, staging in SQLite, auditing, routing, building and the HTTP
//! calls to Odoo. Orders per second is wall time, so it is bounded by the sandbox, which is
//! not Odoo: the figure that matters against a real Odoo is the batch size's effect (Odoo 19
//! on 2 cores: ~6.5 two-line orders/s batched vs ~2.3 one by one, `briefs/odoo-api.md`).
//!
//! `cargo bench --bench order_import` (env `ORDERS`, default 1000). Figures go into README.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use odoo_channels::config::Config;
use odoo_channels::odoo::OdooClient;
use odoo_channels::store::Store;
use odoo_channels::sync::{Engine, EventBus, channels};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// User + system CPU seconds of this process (Linux; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux the daemon targets.
    Some((utime + stime) / 100.0)
}

struct Sandbox {
    child: Child,
    config: String,
    market: String,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sandbox() -> Sandbox {
    let (op, cp, dp) = (free_port(), free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_odoo-channels"))
        .args(["-qq", "sandbox", "--catalog", "50"])
        .args(["--odoo-port", &op.to_string()])
        .args(["--channel-port", &cp.to_string()])
        .args(["--daemon-port", &dp.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start odoo-channels sandbox");
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut config = String::new();
    let mut in_config = false;
    for line in out.lines() {
        let line = line.unwrap();
        if line.starts_with("# serving until") {
            break;
        }
        if line.starts_with("# a configuration") {
            in_config = true;
            continue;
        }
        if in_config {
            config.push_str(&line);
            config.push('\n');
        }
    }
    Sandbox {
        child,
        config,
        market: format!("http://127.0.0.1:{cp}"),
    }
}

async fn run(batch: usize, orders: usize) {
    let sb = start_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/state.db", dir.path().display());
    let text = sb
        .config
        .replace("sqlite://./odoo-channels-sandbox.db", &url)
        + &format!(
            "\n[orders]\nbatch_size = {batch}\n[orders.audit]\ncheck_stock = false\nduplicate_window_minutes = 0\n"
        );
    let config = Config::from_toml_str(&text).unwrap();
    let store = Store::open(&url).await.unwrap();
    let odoo = OdooClient::connect(config.odoo.client_settings().unwrap())
        .await
        .unwrap();
    let handles = channels::build_all(&config, &channels::registry()).unwrap();
    let engine = Engine::start(&config, store, odoo, handles, EventBus::new())
        .await
        .unwrap();
    let ch = engine.channel("shop").unwrap();
    // Warm up: the job's Odoo setup (service products, tag, warehouses) is resolved once.
    engine.orders_round(ch).await.unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/_sandbox/generate", sb.market))
        .json(&serde_json::json!({"count": orders, "bad_rate": 0.0, "marketplace_rate": 0.1}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let mut imported = 0;
    while imported < orders && t0.elapsed() < Duration::from_secs(600) {
        let (_, rep) = engine.orders_round(ch).await.unwrap();
        assert!(rep.errors.is_empty(), "{:?}", rep.errors);
        imported += rep.imported;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(a, b)| a - b);
    println!(
        "batch_size {batch:>3}: {imported} orders in {wall:.1} s = {:.1} orders/s; daemon CPU {}",
        imported as f64 / wall,
        match cpu {
            Some(c) => format!(
                "{:.2} ms/order ({c:.2} s)",
                c * 1000.0 / imported.max(1) as f64
            ),
            None => "n/a".into(),
        }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let orders: usize = std::env::var("ORDERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 40 } else { 1000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        run(20, orders).await;
        run(1, orders.min(300)).await;
    });
}
