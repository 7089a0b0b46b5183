//! Fail points: named places where a test can make the daemon die, to prove that a crash at
//! that instant loses nothing and duplicates nothing.
//!
//! Compiled into every build and inert unless the environment variable
//! `ODOO_CHANNELS_FAILPOINT` is set when the process starts:
//!
//! ```text
//! ODOO_CHANNELS_FAILPOINT="orders.after_create=abort"        # first time the point is reached
//! ODOO_CHANNELS_FAILPOINT="orders.after_create=abort@3"      # the third time
//! ODOO_CHANNELS_FAILPOINT="orders.after_create=abort,orders.after_confirm=exit@2"
//! ```
//!
//! `abort` calls `std::process::abort()` (SIGABRT: no destructors, no flushing, no graceful
//! shutdown: what `kill -9` or a power cut does to the daemon's own state); `exit` calls
//! `std::process::exit(86)`. The cost when unset is one relaxed atomic load.
//!
//! Points in the code: `orders.after_create` (Odoo committed the sale orders, the state store
//! does not know yet), `orders.after_confirm` (confirmed in Odoo, not recorded locally),
//! `orders.before_done` (everything done in Odoo, the inbox row still `new`).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The environment variable read at start.
pub const ENV: &str = "ODOO_CHANNELS_FAILPOINT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Abort,
    Exit,
}

#[derive(Debug)]
struct Point {
    action: Action,
    /// Fire on this hit (1-based).
    on_hit: u64,
    hits: AtomicU64,
}

static ARMED: AtomicBool = AtomicBool::new(true);
static POINTS: OnceLock<HashMap<String, Point>> = OnceLock::new();

fn parse(spec: &str) -> Result<HashMap<String, Point>, String> {
    let mut out = HashMap::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, rest) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}`: expected name=action[@n]"))?;
        let (action, n) = match rest.split_once('@') {
            Some((a, n)) => (
                a,
                n.parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("`{item}`: @n must be a positive integer"))?,
            ),
            None => (rest, 1),
        };
        let action = match action {
            "abort" => Action::Abort,
            "exit" => Action::Exit,
            other => return Err(format!("`{item}`: unknown action `{other}` (abort, exit)")),
        };
        out.insert(
            name.trim().to_owned(),
            Point {
                action,
                on_hit: n,
                hits: AtomicU64::new(0),
            },
        );
    }
    Ok(out)
}

fn points() -> &'static HashMap<String, Point> {
    POINTS.get_or_init(|| match std::env::var(ENV) {
        Ok(spec) => match parse(&spec) {
            Ok(p) => {
                if !p.is_empty() {
                    tracing::warn!(spec, "fail points armed: this process will die on purpose");
                }
                p
            }
            Err(e) => {
                tracing::error!("{ENV} ignored: {e}");
                HashMap::new()
            }
        },
        Err(_) => HashMap::new(),
    })
}

/// Reach the fail point `name`: dies here if the environment armed it for this hit.
pub fn hit(name: &str) {
    if !ARMED.load(Ordering::Relaxed) {
        return;
    }
    let points = points();
    if points.is_empty() {
        ARMED.store(false, Ordering::Relaxed);
        return;
    }
    let Some(p) = points.get(name) else {
        return;
    };
    let n = p.hits.fetch_add(1, Ordering::SeqCst) + 1;
    if n != p.on_hit {
        return;
    }
    eprintln!("odoo-channels: fail point {name} reached (hit {n}): dying on purpose");
    match p.action {
        Action::Abort => std::process::abort(),
        Action::Exit => std::process::exit(86),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_or_name_the_problem() {
        let p = parse("orders.after_create=abort, b=exit@3").unwrap();
        assert_eq!(p["orders.after_create"].action, Action::Abort);
        assert_eq!(p["orders.after_create"].on_hit, 1);
        assert_eq!(p["b"].action, Action::Exit);
        assert_eq!(p["b"].on_hit, 3);
        assert!(parse("x").unwrap_err().contains("name=action"));
        assert!(parse("x=explode").unwrap_err().contains("unknown action"));
        assert!(parse("x=abort@0").unwrap_err().contains("positive"));
        assert!(parse("").unwrap().is_empty());
    }

    /// Unset (the test process does not set it), reaching a point does nothing.
    #[test]
    fn inert_when_unset() {
        if std::env::var(ENV).is_err() {
            hit("orders.after_create");
            hit("orders.after_create");
        }
    }
}
