//! `odoo-channels check`: what the daemon would find if it started now.
//!
//! Every finding is one line (`ok`, `warn`, `info` or `FAIL`) so that a merchant can read the
//! whole state of the installation at once, and the exit code is the worst one found (0 only
//! when all is well; 4 when Odoo is unreachable or refuses the credentials; 5 when something
//! else needs fixing). The Odoo part comes from [`crate::odoo::diagnostics`]; this module only
//! prints and cross-checks it against the configuration.

use std::time::Duration;

use crate::config::Config;
use crate::odoo::diagnostics::{self, AddonState, Findings, Severity};
use crate::store::Store;

use super::exit::{CliError, Exit};
use super::seams;

/// One printed finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub what: String,
    pub kind: Kind,
    pub detail: String,
    /// The exit code this line forces when it is a failure.
    pub exit: Exit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ok,
    Info,
    Warn,
    Fail,
}

impl Line {
    fn ok(what: &str, detail: impl Into<String>) -> Self {
        Self::new(what, Kind::Ok, detail, Exit::Ok)
    }
    fn fail(what: &str, detail: impl Into<String>, exit: Exit) -> Self {
        Self::new(what, Kind::Fail, detail, exit)
    }
    fn new(what: &str, kind: Kind, detail: impl Into<String>, exit: Exit) -> Self {
        Line {
            what: what.to_owned(),
            kind,
            detail: detail.into(),
            exit,
        }
    }
}

#[derive(Default)]
struct Report {
    worst: Option<Exit>,
}

impl Report {
    fn print(&mut self, line: &Line) {
        let tag = match line.kind {
            Kind::Ok => "ok  ",
            Kind::Info => "info",
            Kind::Warn => "warn",
            Kind::Fail => "FAIL",
        };
        println!("{tag}  {}: {}", line.what, line.detail);
        if line.kind == Kind::Fail {
            // Odoo/store/config codes are more specific than "check found problems".
            self.worst = Some(match self.worst {
                None | Some(Exit::CheckFailed) => line.exit,
                Some(w) => w,
            });
        }
    }
}

/// `check`: configuration, secrets, state store, Odoo (version, protocol, user, company,
/// warehouses, storable products, addon), configuration against Odoo, channels.
pub(super) async fn check(config: Config) -> Result<(), CliError> {
    let mut r = Report::default();
    r.print(&Line::ok(
        "configuration",
        format!(
            "{} channel(s), {} enabled, {} warning(s)",
            config.channels.len(),
            config.enabled_channels().len(),
            config.warnings.len()
        ),
    ));
    for w in &config.warnings {
        r.print(&Line::new(
            "configuration",
            Kind::Warn,
            w.to_string(),
            Exit::Ok,
        ));
    }

    let store = match Store::open_with(&config.store.url, &(&config.store).into()).await {
        Ok(store) => match store.check_writable().await {
            Ok(()) => {
                r.print(&Line::ok(
                    "state store",
                    format!("{} writable", crate::config::redact_url(&config.store.url)),
                ));
                Some(store)
            }
            Err(e) => {
                r.print(&Line::fail("state store", e.to_string(), Exit::Store));
                None
            }
        },
        Err(e) => {
            r.print(&Line::fail("state store", e.to_string(), Exit::Store));
            None
        }
    };

    match config.odoo.client_settings() {
        Err(e) => r.print(&Line::fail("odoo credentials", e.to_string(), Exit::Odoo)),
        Ok(settings) => {
            r.print(&Line::ok(
                "odoo credentials",
                format!("{} resolves", config.odoo.auth.secret()),
            ));
            // Connect, authenticate and a handful of reads, each with its own timeout.
            let limit = config.odoo.timeout * 4 + Duration::from_secs(5);
            let findings = match tokio::time::timeout(limit, diagnostics::check(settings)).await {
                Ok(f) => f,
                Err(_) => {
                    let mut f = Findings {
                        url: config.odoo.url.to_string(),
                        database: config.odoo.database.clone(),
                        server_version: None,
                        protocol: None,
                        user: None,
                        company: None,
                        warehouses: Vec::new(),
                        storable_products: None,
                        addon_channel_sync: None,
                        addon_channels: None,
                        problems: Vec::new(),
                    };
                    f.problems.push(diagnostics::Problem {
                        severity: Severity::Error,
                        message: format!(
                            "Odoo at {} did not finish answering within {limit:?}",
                            config.odoo.url
                        ),
                    });
                    f
                }
            };
            for line in odoo_lines(&findings, &config) {
                r.print(&line);
            }
        }
    }

    if let Some(store) = store {
        let ctx = seams::DaemonContext {
            config: std::sync::Arc::new(config),
            store: store.clone(),
            readiness: crate::server::Readiness::new(&[]),
            engine: Default::default(),
        };
        match seams::deep_checks(&ctx).await {
            Ok(lines) => {
                for (what, res) in lines {
                    match res {
                        Ok(()) => r.print(&Line::ok(&what, "ok")),
                        Err(p) => r.print(&Line::fail(&what, p, Exit::CheckFailed)),
                    }
                }
            }
            Err(e) => r.print(&Line::fail("channels", e.to_string(), Exit::CheckFailed)),
        }
        store.close().await;
    }

    match r.worst {
        None => {
            println!("all is well");
            Ok(())
        }
        Some(exit) => Err(CliError::new(exit, anyhow::anyhow!("check found problems"))),
    }
}

/// With the addon, every enabled channel needs its `channel.channel` record (same code):
/// without it the daemon still runs, but its runs, quarantine and bindings have nowhere to go
/// in Odoo and orders are bound by `client_order_ref` only.
fn addon_channel_lines(f: &Findings, config: &Config) -> Vec<Line> {
    let Some(records) = &f.addon_channels else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for ch in config.channels.iter().filter(|c| c.enabled) {
        let what = format!("channel {}", ch.id);
        match records.iter().find(|r| r.code == ch.id) {
            Some(r) if r.active => out.push(Line::ok(
                &what,
                format!("channel.channel #{} in Odoo", r.id),
            )),
            Some(r) => out.push(Line::new(
                &what,
                Kind::Warn,
                format!(
                    "channel.channel #{} is archived in Odoo: its sync runs and quarantine are not shown; unarchive it (Channels → Channels)",
                    r.id
                ),
                Exit::Ok,
            )),
            None => out.push(Line::new(
                &what,
                Kind::Warn,
                format!(
                    "no channel.channel record with code {:?} in Odoo: create it (Channels → Channels → New) to see its sync runs, quarantine and bindings there",
                    ch.id
                ),
                Exit::Ok,
            )),
        }
    }
    out
}

/// What the Odoo findings say, and how they fit the configuration.
pub(crate) fn odoo_lines(f: &Findings, config: &Config) -> Vec<Line> {
    let mut out = Vec::new();
    let Some(version) = &f.server_version else {
        // Not even connected: every problem is an Odoo-reachability failure (exit 4).
        for p in &f.problems {
            out.push(Line::fail("odoo", p.message.clone(), Exit::Odoo));
        }
        if f.problems.is_empty() {
            out.push(Line::fail("odoo", "could not connect", Exit::Odoo));
        }
        return out;
    };
    out.push(Line::ok(
        "odoo",
        format!(
            "Odoo {version} at {}, database {:?}",
            f.url.trim_end_matches('/'),
            f.database
        ),
    ));
    if let Some(p) = f.protocol {
        out.push(Line::ok("protocol", p.as_str()));
    }
    match &f.user {
        Some(u) => out.push(Line::ok(
            "user",
            format!("{} (login {:?}, uid {})", u.name, u.login, u.id),
        )),
        None => out.push(Line::fail(
            "user",
            "the connected user could not be read",
            Exit::CheckFailed,
        )),
    }
    if let Some(c) = &f.company {
        out.push(Line::ok("company", format!("{} (#{})", c.name, c.id)));
    }
    if !f.warehouses.is_empty() {
        let list: Vec<String> = f
            .warehouses
            .iter()
            .map(|w| format!("{} ({})", w.code, w.name))
            .collect();
        out.push(Line::ok("warehouses", list.join(", ")));
    }
    if let Some(n) = f.storable_products {
        out.push(Line::ok("storable products", n.to_string()));
    }
    match &f.addon_channel_sync {
        Some(AddonState::Installed) => out.push(Line::ok("addon channel_sync", "installed")),
        Some(other) => out.push(Line::new(
            "addon channel_sync",
            Kind::Warn,
            format!("{other:?}"),
            Exit::Ok,
        )),
        None => {}
    }
    out.extend(addon_channel_lines(f, config));
    for p in &f.problems {
        out.push(match p.severity {
            Severity::Error => Line::fail("odoo", p.message.clone(), Exit::CheckFailed),
            Severity::Warning => Line::new("odoo", Kind::Warn, p.message.clone(), Exit::Ok),
            Severity::Info => Line::new("odoo", Kind::Info, p.message.clone(), Exit::Ok),
        });
    }
    // Every warehouse a channel sells from must exist in Odoo (by code).
    if !f.warehouses.is_empty() {
        let known: Vec<&str> = f.warehouses.iter().map(|w| w.code.as_str()).collect();
        for (i, ch) in config.channels.iter().enumerate() {
            for (j, code) in ch.warehouses.iter().enumerate() {
                if !known.contains(&code.as_str()) {
                    out.push(Line::fail(
                        &format!("channels[{i}].warehouses[{j}]"),
                        format!(
                            "channel {:?} sells from warehouse {code:?}, which Odoo does not have (it has: {})",
                            ch.id,
                            known.join(", ")
                        ),
                        Exit::CheckFailed,
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odoo::Protocol;
    use crate::odoo::diagnostics::{CompanyInfo, Problem, UserInfo, WarehouseInfo};

    fn config() -> Config {
        Config::from_toml_str(
            r#"
            [odoo]
            url = "http://odoo.example:8069"
            database = "shop"
            login = "bot"
            api_key = { env = "ODOO_KEY" }
            [[channels]]
            id = "amz"
            kind = "amazon"
            warehouses = ["WH", "EU"]
            "#,
        )
        .unwrap()
    }

    fn connected() -> Findings {
        Findings {
            url: "http://odoo.example:8069".into(),
            database: "shop".into(),
            server_version: Some("19.0".into()),
            protocol: Some(Protocol::Json2),
            user: Some(UserInfo {
                id: 7,
                name: "Channel Bot".into(),
                login: "bot".into(),
            }),
            company: Some(CompanyInfo {
                id: 1,
                name: "My Company".into(),
            }),
            warehouses: vec![WarehouseInfo {
                id: 1,
                code: "WH".into(),
                name: "Main".into(),
            }],
            storable_products: Some(120),
            addon_channel_sync: Some(AddonState::NotInstalled),
            addon_channels: None,
            problems: vec![],
        }
    }

    #[test]
    fn unreachable_odoo_fails_with_exit_4_and_the_precise_message() {
        let mut f = connected();
        f.server_version = None;
        f.problems = vec![Problem {
            severity: Severity::Error,
            message: "database \"shop\" does not exist".into(),
        }];
        let lines = odoo_lines(&f, &config());
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].kind, Kind::Fail);
        assert_eq!(lines[0].exit, Exit::Odoo);
        assert!(lines[0].detail.contains("does not exist"));
    }

    #[test]
    fn findings_are_reported_and_a_missing_warehouse_fails() {
        let lines = odoo_lines(&connected(), &config());
        let find = |w: &str| lines.iter().find(|l| l.what == w).cloned();
        assert_eq!(find("protocol").unwrap().detail, "json2");
        assert!(find("user").unwrap().detail.contains("uid 7"));
        assert_eq!(find("storable products").unwrap().detail, "120");
        assert_eq!(find("addon channel_sync").unwrap().kind, Kind::Warn);
        let wh = find("channels[0].warehouses[1]").expect("EU is not in Odoo");
        assert_eq!((wh.kind, wh.exit), (Kind::Fail, Exit::CheckFailed));
        assert!(find("channels[0].warehouses[0]").is_none());
        assert!(
            lines.iter().all(|l| !l.what.starts_with("channel ")),
            "no addon, no channel records to look for"
        );
    }

    #[test]
    fn with_the_addon_a_missing_channel_record_is_reported() {
        let mut f = connected();
        f.addon_channel_sync = Some(AddonState::Installed);
        f.addon_channels = Some(vec![]);
        let cfg = config();
        let lines = odoo_lines(&f, &cfg);
        let id = &cfg.channels[0].id;
        let line = lines
            .iter()
            .find(|l| l.what == format!("channel {id}"))
            .expect("a line for the configured channel");
        assert_eq!(line.kind, Kind::Warn);
        assert!(
            line.detail.contains("no channel.channel"),
            "{}",
            line.detail
        );
        f.addon_channels = Some(vec![diagnostics::AddonChannel {
            id: 3,
            code: id.clone(),
            active: true,
        }]);
        let lines = odoo_lines(&f, &cfg);
        let line = lines
            .iter()
            .find(|l| l.what == format!("channel {id}"))
            .unwrap();
        assert_eq!(line.kind, Kind::Ok);
    }
}
