//! Stock sync against the sandboxes, the daemon and the sandboxes in separate processes.
//!
//! Two figures of issue 3, measured honestly:
//!
//! * **Full stock sync** of 100,000 SKUs × 3 warehouses (× 3 channels): the catalogue load
//!   and the stock job's full read (quants, incoming moves, cursors, pending, velocity),
//!   allocation and queueing of every offer into the outbox. Counted: Odoo calls (the client's
//!   `call_count()`; target ≤ 3 per 10,000 SKUs), wall time, and the peak resident memory of
//!   the daemon process (`VmHWM` of `/proc/self/status`; target < 150 MB). The push itself is
//!   bounded by each marketplace's rate limit, not by the daemon, and is not part of it.
//! * **Sale → other channels**: with the daemon running (its HTTP server receiving the
//!   marketplaces' signed webhooks, every job on its own task, as `run` does), a buyer orders
//!   one unit on `market2`; the time until `market3` (no buffer) and `shop` (10 % buffer,
//!   counted when its rounded offer moves) show the new quantity. Target p99 < 1 s.
//!
//! This binary plays both parts: started normally it is the daemon; it re-executes itself with
//! `ODOO_CHANNELS_BENCH_ROLE=world` to host the Odoo sandbox and the sandbox marketplaces, so
//! the sandbox's own memory (the 100,000-product database) is not counted as the daemon's. The
//! two talk over the child's stdin/stdout, one command per line.
//!
//! `cargo bench --bench stock_sync`. Knobs (environment): `STOCK_BENCH_SKUS` (100000),
//! `STOCK_BENCH_LATENCY_SKUS` (10000), `STOCK_BENCH_SAMPLES` (200).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use channel_sandbox::sandbox::{NewLine, NewOrder};
use odoo_channels::config::Config;
use odoo_channels::embedded::{Embedded, EmbeddedOptions, Serving};
use odoo_channels::odoo::OdooClient;
use odoo_channels::store::Store;
use odoo_channels::sync::{Engine, EventBus, channels};

const ROLE: &str = "ODOO_CHANNELS_BENCH_ROLE";
const WAREHOUSES: usize = 3;
const MARKETS: usize = 3;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--test`-like flags: only list.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if std::env::var_os(ROLE).is_some() {
        rt.block_on(world());
    } else {
        rt.block_on(daemon());
    }
}

// ---------------------------------------------------------------- the world (child process)

/// Sandboxes, buyers and observers. Prints `CONFIG <json string>`, then answers commands:
/// `latency <n>` → `LAT <market3 µs> <shop µs or -1>` per sample then `DONE`; `quit`.
async fn world() {
    let products = env_usize("STOCK_BENCH_WORLD_SKUS", 1000);
    let daemon_listen = std::env::var("STOCK_BENCH_DAEMON_LISTEN")
        .ok()
        .and_then(|a| a.parse().ok());
    let emb = Embedded::start(&EmbeddedOptions {
        products,
        warehouses: WAREHOUSES,
        marketplaces: MARKETS,
        daemon_listen,
        ..Default::default()
    })
    .await
    .expect("sandboxes start");
    // A running shop, not a database imported a second ago: the catalogue's quants were last
    // written an hour ago, and one product's stock moved just now. (Quants written within
    // `cursor_overlap` of the newest one are read a second time by a full read, to tell the
    // next incremental read what it already knows: all 300,000 of them if they were.)
    emb.odoo.clock().advance(Duration::from_secs(3600));
    if let Some(c) = emb.odoo.catalog() {
        emb.odoo
            .handle()
            .set_stock(c.first_product_id, c.stock_location_ids[0], 500.0)
            .expect("a stock change");
    }
    if daemon_listen.is_some() {
        // The catalogue seed leaves random reservations without moves behind them, which
        // hide a sale's own reservation behind them; clear them so each sale moves the offer.
        let h = emb.odoo.handle();
        let quants = h
            .search_read("stock.quant", serde_json::json!([]), &["id"])
            .expect("quants");
        let ids: Vec<i64> = quants.iter().filter_map(|q| q["id"].as_i64()).collect();
        h.write(
            "stock.quant",
            &ids,
            serde_json::json!({"reserved_quantity": 0.0}),
        )
        .expect("clear reservations");
    }
    let config = emb.config_toml("@STORE@");
    println!("CONFIG {}", serde_json::to_string(&config).unwrap());
    std::io::stdout().flush().unwrap();
    let mut lines = BufReader::new(std::io::stdin()).lines();
    while let Some(Ok(line)) = lines.next() {
        let mut words = line.split_whitespace();
        match (
            words.next(),
            words.next().and_then(|n| n.parse::<usize>().ok()),
        ) {
            (Some("latency"), Some(n)) => {
                latency_samples(&emb, n).await;
                println!("DONE");
                std::io::stdout().flush().unwrap();
            }
            _ => break,
        }
    }
    emb.shutdown().await;
}

/// One order of one unit at a time on `market2`, each for a different SKU that has stock;
/// the time until the other channels show the new quantity.
async fn latency_samples(emb: &Embedded, n: usize) {
    let m2 = emb.market_of("market2").unwrap();
    let m3 = emb.market_of("market3").unwrap();
    let shop = emb.market_of("shop").unwrap();
    // SKUs with free stock in the warehouse the order goes to (WH), so each sale is reserved
    // there (a backorder is counted too, as a shortfall, but this measures the common path).
    let info = emb.odoo.catalog().expect("catalogue seed");
    let in_wh: std::collections::HashSet<String> = emb
        .odoo
        .handle()
        .search_read(
            "stock.quant",
            serde_json::json!([
                ["location_id", "=", info.stock_location_ids[0]],
                ["quantity", ">=", 5]
            ]),
            &["product_id"],
        )
        .expect("quants")
        .iter()
        .filter_map(|q| q["product_id"][0].as_i64())
        .map(|p| format!("SKU-{:06}", p - info.first_product_id + 1))
        .collect();
    let candidates: Vec<(String, i64)> = m3
        .quantities()
        .into_iter()
        .filter(|(sku, q)| *q >= 20 && in_wh.contains(sku))
        .collect();
    assert!(candidates.len() >= n, "not enough SKUs with stock");
    let step = candidates.len() / n;
    for i in 0..n {
        let (sku, _) = &candidates[i * step];
        let before3 = m3.quantity(sku).unwrap();
        let before_shop = shop.quantity(sku).unwrap();
        let t0 = Instant::now();
        m2.create_order(NewOrder {
            lines: vec![NewLine {
                sku: sku.clone(),
                quantity: 1,
                ..Default::default()
            }],
            ..Default::default()
        })
        .expect("order");
        let (mut t3, mut tshop) = (None, None);
        let deadline = t0 + Duration::from_secs(10);
        while Instant::now() < deadline && (t3.is_none() || tshop.is_none()) {
            if t3.is_none() && m3.quantity(sku) != Some(before3) {
                t3 = Some(t0.elapsed());
            }
            if tshop.is_none() && shop.quantity(sku) != Some(before_shop) {
                tshop = Some(t0.elapsed());
            }
            // The shop's rounded offer may not move for one unit: once market3 moved, give
            // it a second, then stop waiting for it.
            if t3.is_some_and(|t| t0.elapsed() > t + Duration::from_secs(1)) {
                break;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        let us = |t: Option<Duration>| t.map_or(-1, |d| d.as_micros() as i64);
        println!("LAT {} {}", us(t3), us(tshop));
        std::io::stdout().flush().unwrap();
        // Let the daemon settle (the order's confirmation in Odoo, its own re-read).
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

// ---------------------------------------------------------------- the daemon (this process)

struct World {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    config_text: String,
}

impl World {
    fn start(products: usize, daemon_listen: Option<std::net::SocketAddr>) -> World {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.env(ROLE, "world")
            .env("STOCK_BENCH_WORLD_SKUS", products.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(a) = daemon_listen {
            cmd.env("STOCK_BENCH_DAEMON_LISTEN", a.to_string());
        }
        let mut child = cmd.spawn().expect("spawn the sandboxes");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let json = line
            .strip_prefix("CONFIG ")
            .unwrap_or_else(|| panic!("the sandboxes said {line:?}"));
        let config_text: String = serde_json::from_str(json.trim()).unwrap();
        World {
            child,
            stdin,
            stdout,
            config_text,
        }
    }

    fn send(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).unwrap();
        l.trim().to_owned()
    }

    fn stop(mut self) {
        self.send("quit");
        let _ = self.child.wait();
    }
}

/// `VmHWM` / `VmRSS` of this process, in MB.
fn memory(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn daemon_parts(
    text: &str,
    dir: &tempfile::TempDir,
) -> (Config, Store, OdooClient, Vec<channels::ChannelHandle>) {
    let url = format!("sqlite://{}/state.db", dir.path().display());
    let config = Config::from_toml_str(&text.replace("@STORE@", &url)).expect("config");
    let store = Store::open(&url).await.expect("store");
    let odoo = OdooClient::connect(config.odoo.client_settings().unwrap())
        .await
        .expect("Odoo sandbox");
    let handles = channels::build_all(&config, &channels::registry()).expect("channels");
    (config, store, odoo, handles)
}

async fn daemon() {
    let skus = env_usize("STOCK_BENCH_SKUS", 100_000);
    let latency_skus = env_usize("STOCK_BENCH_LATENCY_SKUS", 10_000);
    let samples = env_usize("STOCK_BENCH_SAMPLES", 200);
    full_sync(skus).await;
    sale_latency(latency_skus, samples).await;
}

async fn full_sync(skus: usize) {
    println!("full stock sync: {skus} SKUs × {WAREHOUSES} warehouses × {MARKETS} channels");
    let started = Instant::now();
    let world = World::start(skus, None);
    println!(
        "  sandboxes seeded in a separate process in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let (config, store, odoo, handles) = daemon_parts(&world.config_text, &dir).await;
    let rss_before = memory("VmRSS:");
    let c0 = odoo.call_count();
    let t0 = Instant::now();
    let engine = Engine::start(&config, store, odoo.clone(), handles, EventBus::new())
        .await
        .expect("engine");
    let catalog_calls = odoo.call_count() - c0;
    let catalog_time = t0.elapsed();
    let hwm_catalog = memory("VmHWM:");
    let rss_catalog = memory("VmRSS:");
    let products = engine.catalog().await.len();
    let t1 = Instant::now();
    let r = engine.stock_round().await.expect("full stock round");
    let read_time = t1.elapsed();
    assert!(r.full);
    let hwm = memory("VmHWM:");
    let queued: usize = r.queued.values().sum();
    let per10k = |calls: u64| calls as f64 * 10_000.0 / products as f64;
    println!("  products in the catalogue        {products}");
    println!(
        "  catalogue load                   {catalog_calls} Odoo calls ({:.2} per 10,000 SKUs), {:.2} s",
        per10k(catalog_calls),
        catalog_time.as_secs_f64()
    );
    println!(
        "  stock read + allocate + queue    {} Odoo calls ({:.2} per 10,000 SKUs), {:.2} s, {queued} offers queued",
        r.odoo_calls,
        per10k(r.odoo_calls),
        read_time.as_secs_f64()
    );
    println!(
        "  together                         {} Odoo calls ({:.2} per 10,000 SKUs)",
        catalog_calls + r.odoo_calls,
        per10k(catalog_calls + r.odoo_calls)
    );
    println!(
        "  daemon peak RSS (VmHWM)          {hwm:.1} MB (RSS before the sync {rss_before:.1} MB; after the catalogue load {rss_catalog:.1} MB, peak {hwm_catalog:.1} MB)"
    );
    let t2 = Instant::now();
    let c2 = odoo.call_count();
    let r2 = engine.stock_round().await.expect("incremental round");
    println!(
        "  next (unchanged) round           {} Odoo calls, {:.3} s, {} products re-read, {} queued",
        odoo.call_count() - c2,
        t2.elapsed().as_secs_f64(),
        r2.read,
        r2.queued.values().sum::<usize>()
    );
    println!(
        "  daemon peak RSS after it         {:.1} MB",
        memory("VmHWM:")
    );
    drop(engine);
    world.stop();
}

async fn sale_latency(skus: usize, samples: usize) {
    println!(
        "sale on one channel → the others: {skus} SKUs × {WAREHOUSES} warehouses × {MARKETS} channels, {samples} sales"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut world = World::start(skus, Some(addr));
    let dir = tempfile::tempdir().unwrap();
    // A full reconciliation in the middle of the samples would measure it, not the path.
    let text = format!(
        "{}\n[inventory]\nfull_reconcile_every = \"6h\"\n",
        world.config_text
    );
    let (config, store, odoo, handles) = daemon_parts(&text, &dir).await;
    let engine = Engine::start(&config, store, odoo, handles, EventBus::new())
        .await
        .expect("engine");
    // The first full sync, every channel pushed in parallel (each at its own rate limit).
    let t0 = Instant::now();
    engine.stock_round().await.expect("first stock round");
    let pushes = engine.channels.iter().map(|ch| engine.push_round(ch));
    for r in futures::future::join_all(pushes).await {
        r.expect("first push");
    }
    println!(
        "  first full sync and push         {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // The daemon as `run` wires it: the webhook server and every job.
    let daemon = Serving::start(engine.clone(), listener, &config.server);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut m3 = Vec::new();
    let mut both = Vec::new();
    let mut shop_moved = 0;
    let mut lost = 0;
    world.send(&format!("latency {samples}"));
    let world = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        loop {
            let l = world.line();
            if l == "DONE" || l.is_empty() {
                break;
            }
            out.push(l);
        }
        (world, out)
    });
    let (world, lines) = world.await.unwrap();
    for l in lines {
        let v: Vec<i64> = l
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let (a, b) = (v[0], v[1]);
        if a < 0 {
            lost += 1;
            continue;
        }
        m3.push(a);
        if b >= 0 {
            shop_moved += 1;
            both.push(a.max(b));
        } else {
            both.push(a);
        }
    }
    let pct = |v: &mut Vec<i64>, p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_unstable();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i] as f64 / 1000.0
    };
    println!(
        "  market3 (no buffer)              p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        pct(&mut m3, 0.5),
        pct(&mut m3, 0.9),
        pct(&mut m3, 0.99),
        pct(&mut m3, 1.0)
    );
    println!(
        "  every other channel that moved   p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms (shop's offer moved in {shop_moved} of {samples})",
        pct(&mut both, 0.5),
        pct(&mut both, 0.9),
        pct(&mut both, 0.99),
        pct(&mut both, 1.0)
    );
    if lost > 0 {
        println!("  NOT propagated within 10 s       {lost} of {samples}");
    }
    daemon.stop().await;
    world.stop();
}
