//! What `odoo-channels check` reports about the Odoo side: who we are, what Odoo offers, and
//! every problem with a message precise enough to fix it without reading logs.
//! The CLI prints [`Findings`]; nothing here prints.

use super::api::SearchOpts;
use super::client::OdooClient;
use super::decode::Record;
use super::domain::Domain;
use super::error::{OdooError, RetryKind};
use super::settings::{Protocol, SecretKind, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    /// The daemon cannot run (or cannot do its main job) until this is fixed.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
}

impl Problem {
    fn new(severity: Severity, message: impl Into<String>) -> Self {
        Problem {
            severity,
            message: message.into(),
        }
    }
}

/// State of the `channel_sync` addon (`ir.module.module.state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddonState {
    Installed,
    /// Known to Odoo (in the addons path) but not installed.
    NotInstalled,
    /// Not in Odoo's addons path at all.
    Absent,
    ToInstall,
    ToUpgrade,
    ToRemove,
    Uninstallable,
    /// The user may not read `ir.module.module`.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub id: i64,
    pub name: String,
    pub login: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyInfo {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseInfo {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// Everything `check` says about Odoo. Fields are `None` when the connection failed before
/// they could be read; `problems` then says why.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    pub url: String,
    pub database: String,
    pub server_version: Option<String>,
    pub protocol: Option<Protocol>,
    pub user: Option<UserInfo>,
    pub company: Option<CompanyInfo>,
    pub warehouses: Vec<WarehouseInfo>,
    pub storable_products: Option<u64>,
    pub addon_channel_sync: Option<AddonState>,
    /// With the addon: the codes of the `channel.channel` records (active or not), to tell
    /// which configured channels have none.
    pub addon_channels: Option<Vec<AddonChannel>>,
    pub problems: Vec<Problem>,
}

/// A `channel.channel` record, as `check` compares it with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonChannel {
    pub id: i64,
    pub code: String,
    pub active: bool,
}

impl Findings {
    fn empty(url: &str, database: &str) -> Self {
        Findings {
            url: url.to_owned(),
            database: database.to_owned(),
            server_version: None,
            protocol: None,
            user: None,
            company: None,
            warehouses: Vec::new(),
            storable_products: None,
            addon_channel_sync: None,
            addon_channels: None,
            problems: Vec::new(),
        }
    }

    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.problems.iter().map(|p| p.severity).max()
    }

    pub fn is_ok(&self) -> bool {
        self.worst() < Some(Severity::Error)
    }
}

/// Connect with `settings` and inspect; a connection failure becomes a problem.
pub async fn check(settings: Settings) -> Findings {
    let url = settings.url.clone();
    let database = settings.database.clone();
    match OdooClient::connect(settings.clone()).await {
        Ok(client) => inspect(&client).await,
        Err(e) => {
            let mut f = Findings::empty(&url, &database);
            f.problems.push(connect_problem(&settings, &e));
            f
        }
    }
}

/// Turn a connect-time error into a message that says what to fix.
pub fn connect_problem(settings: &Settings, err: &OdooError) -> Problem {
    let url = settings.url.trim_end_matches('/');
    let db = &settings.database;
    let login = &settings.login;
    let msg = match err {
        OdooError::Config(problems) => {
            format!("the [odoo] settings are invalid: {}", problems.join("; "))
        }
        OdooError::AccessDenied(f) => format!(
            "Odoo at {url} refused login {login:?} on database {db:?} ({}): the {} is wrong, expired or revoked. \
             Create a new API key in Odoo (avatar → My Preferences → Account Security → New API Key) and update the secret.",
            f.message,
            match settings.secret_kind {
                SecretKind::ApiKey => "API key",
                SecretKind::Password => "password",
            }
        ),
        OdooError::Retryable {
            kind: RetryKind::Connect,
            message,
            ..
        } => format!(
            "cannot reach Odoo at {url}: {message}. Check odoo.url, DNS, the firewall, and that Odoo is running."
        ),
        OdooError::Retryable { kind, message, .. } => {
            format!("Odoo at {url} is not answering properly ({kind}): {message}")
        }
        OdooError::Timeout { after } => {
            format!(
                "Odoo at {url} did not answer within {after:?}; is it overloaded, or is odoo.url pointing at the wrong port?"
            )
        }
        OdooError::DatabaseNotFound(f) => format!(
            "database {db:?} does not exist on the Odoo server at {url} ({}). Check odoo.database (the name in the database manager, not the company name).",
            f.message
        ),
        OdooError::UnsupportedVersion { version } => format!(
            "Odoo {version} at {url} is not supported: odoo-channels supports Odoo 16.0 to 19.x."
        ),
        OdooError::Json2Unavailable { version } => format!(
            "protocol \"json2\" is configured but Odoo {version} at {url} has no JSON-2 API (it exists from 19.0). Set protocol = \"auto\" or \"jsonrpc\"."
        ),
        OdooError::Protocol {
            status: Some(404), ..
        } => format!(
            "no Odoo API answers at {url} (HTTP 404 on the RPC endpoint). odoo.url must be the server's base address, e.g. https://erp.example.com, without /web or /odoo."
        ),
        OdooError::Protocol { status, message }
            if status.is_some_and(|s| (300..400).contains(&s)) =>
        {
            format!("odoo.url {url} redirects: {message}")
        }
        other => format!("connecting to Odoo at {url} (database {db:?}) failed: {other}"),
    };
    Problem::new(Severity::Error, msg)
}

/// Read what `check` shows. Each part that fails becomes a problem; the rest is still read.
pub async fn inspect(client: &OdooClient) -> Findings {
    let mut f = Findings::empty(client.url(), client.database());
    f.server_version = Some(client.server_version().to_owned());
    f.protocol = Some(client.protocol());
    let inner = &client.inner;

    if let Some(note) = &inner.protocol_note {
        f.problems
            .push(Problem::new(Severity::Warning, note.clone()));
    }
    if client.map().has_json2 && client.protocol() != Protocol::Json2 {
        f.problems.push(Problem::new(
            Severity::Warning,
            format!(
                "Odoo {} offers JSON-2 but {} is in use; XML-RPC and JSON-RPC are deprecated and removed in Odoo 22. Use an API key with protocol = \"auto\" or \"json2\".",
                client.server_version(),
                client.protocol()
            ),
        ));
    }
    if inner.secret_kind == SecretKind::Password {
        f.problems.push(Problem::new(
            Severity::Warning,
            "the Odoo secret is a password: prefer an API key (it can be revoked alone, and JSON-2 needs one)",
        ));
    }
    if inner.requested_protocol == Protocol::Auto && client.protocol() == Protocol::Json2 {
        f.problems.push(Problem::new(
            Severity::Info,
            "protocol auto chose JSON-2 (the API key was accepted)",
        ));
    }

    // The user and the company.
    match client
        .read(
            "res.users",
            &[client.uid()],
            &["name", "login", "company_id"],
            None,
        )
        .await
    {
        Ok(rows) => match rows.first().map(|r| Record::new("res.users", r)) {
            Some(Ok(rec)) => {
                let name = rec.string("name").ok().flatten().unwrap_or_default();
                let login = rec.string("login").ok().flatten().unwrap_or_default();
                f.user = Some(UserInfo {
                    id: client.uid(),
                    name,
                    login: login.clone(),
                });
                if !login.is_empty() && login != client.login() {
                    f.problems.push(Problem::new(
                        Severity::Warning,
                        format!(
                            "the API key belongs to user {login:?}, not to the configured login {:?}",
                            client.login()
                        ),
                    ));
                }
                match rec.m2o("company_id") {
                    Ok(Some(c)) => {
                        f.company = Some(CompanyInfo {
                            id: c.id,
                            name: c.name.unwrap_or_default(),
                        })
                    }
                    Ok(None) => {}
                    Err(e) => f
                        .problems
                        .push(Problem::new(Severity::Warning, e.to_string())),
                }
            }
            Some(Err(e)) => f
                .problems
                .push(Problem::new(Severity::Warning, e.to_string())),
            None => f.problems.push(Problem::new(
                Severity::Error,
                format!("the user #{} cannot read its own record", client.uid()),
            )),
        },
        Err(e) => f
            .problems
            .push(part_problem("reading the connected user", &e)),
    }

    // Warehouses.
    match client
        .search_read(
            "stock.warehouse",
            &Domain::new(),
            &["code", "name"],
            &SearchOpts::default().order("id asc"),
        )
        .await
    {
        Ok(rows) => {
            for row in &rows {
                match Record::new("stock.warehouse", row).and_then(|r| {
                    Ok(WarehouseInfo {
                        id: r.id()?,
                        code: r.string("code")?.unwrap_or_default(),
                        name: r.string("name")?.unwrap_or_default(),
                    })
                }) {
                    Ok(w) => f.warehouses.push(w),
                    Err(e) => f
                        .problems
                        .push(Problem::new(Severity::Warning, e.to_string())),
                }
            }
            if f.warehouses.is_empty() {
                f.problems.push(Problem::new(
                    Severity::Error,
                    "no warehouse is visible to this user: stock cannot be read",
                ));
            }
        }
        Err(OdooError::UnknownModel(_)) => f.problems.push(Problem::new(
            Severity::Error,
            "the Inventory app (module stock) is not installed in this database",
        )),
        Err(e) => f.problems.push(part_problem("listing warehouses", &e)),
    }

    // Storable products.
    match client.storable_product_count().await {
        Ok(n) => {
            f.storable_products = Some(n);
            if n == 0 {
                f.problems.push(Problem::new(
                    Severity::Warning,
                    "no storable product exists yet: there is no stock to publish",
                ));
            }
        }
        Err(e) => f
            .problems
            .push(part_problem("counting storable products", &e)),
    }

    // The addon.
    let state = addon_state(client, "channel_sync").await;
    match &state {
        AddonState::Installed => {}
        AddonState::ToUpgrade | AddonState::ToInstall | AddonState::ToRemove => {
            f.problems.push(Problem::new(
                Severity::Warning,
                format!("the channel_sync addon is pending an operation ({state:?}): finish it in Apps"),
            ))
        }
        AddonState::Unknown(why) => f.problems.push(Problem::new(
            Severity::Info,
            format!("cannot tell whether the channel_sync addon is installed: {why}"),
        )),
        _ => f.problems.push(Problem::new(
            Severity::Warning,
            "the channel_sync addon is not installed: the daemon works without it (orders bound by client_order_ref, notes in chatter) but channels, bindings, sync runs and quarantine will not appear in Odoo",
        )),
    }
    if state == AddonState::Installed {
        match addon_channels(client).await {
            Ok(list) => f.addon_channels = Some(list),
            Err(e) => f
                .problems
                .push(part_problem("reading the channels (channel.channel)", &e)),
        }
    }
    f.addon_channel_sync = Some(state);
    f
}

async fn addon_channels(client: &OdooClient) -> Result<Vec<AddonChannel>, OdooError> {
    let rows = client
        .search_read(
            "channel.channel",
            &Domain::new(),
            &["code", "active"],
            &SearchOpts::default().context(crate::odoo::Context::from_iter([(
                "active_test".to_owned(),
                serde_json::Value::Bool(false),
            )])),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let rec = Record::new("channel.channel", row).map_err(OdooError::Decode)?;
        out.push(AddonChannel {
            id: rec.id().map_err(OdooError::Decode)?,
            code: rec
                .string("code")
                .map_err(OdooError::Decode)?
                .unwrap_or_default(),
            active: rec.bool("active").map_err(OdooError::Decode)?,
        });
    }
    Ok(out)
}

fn part_problem(what: &str, e: &OdooError) -> Problem {
    let severity = match e {
        OdooError::AccessError(_) | OdooError::AccessDenied(_) => Severity::Error,
        _ => Severity::Warning,
    };
    Problem::new(severity, format!("{what} failed: {e}"))
}

async fn addon_state(client: &OdooClient, module: &str) -> AddonState {
    let rows = client
        .search_read(
            "ir.module.module",
            &Domain::leaf("name", "=", module),
            &["state"],
            &SearchOpts::default().limit(1),
        )
        .await;
    match rows {
        Ok(rows) => match rows.first() {
            None => AddonState::Absent,
            Some(row) => {
                let state = Record::new("ir.module.module", row)
                    .and_then(|r| r.string("state"))
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                parse_addon_state(&state)
            }
        },
        Err(e) => AddonState::Unknown(e.to_string()),
    }
}

pub fn parse_addon_state(state: &str) -> AddonState {
    match state {
        "installed" => AddonState::Installed,
        "uninstalled" => AddonState::NotInstalled,
        "to install" => AddonState::ToInstall,
        "to upgrade" => AddonState::ToUpgrade,
        "to remove" => AddonState::ToRemove,
        "uninstallable" => AddonState::Uninstallable,
        other => AddonState::Unknown(format!("unexpected module state {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::Fault;
    use super::*;
    use secrecy::SecretString;

    fn settings() -> Settings {
        Settings::new(
            "https://erp.example.com/",
            "shop",
            "bot",
            SecretString::from("k"),
        )
    }

    #[test]
    fn connect_errors_say_what_to_fix() {
        let s = settings();
        let denied =
            OdooError::AccessDenied(Box::new(Fault::new(Protocol::Json2, "Access Denied")));
        let p = connect_problem(&s, &denied);
        assert_eq!(p.severity, Severity::Error);
        assert!(
            p.message.contains("API key") && p.message.contains("\"bot\""),
            "{}",
            p.message
        );
        let unreachable = OdooError::Retryable {
            kind: RetryKind::Connect,
            message: "connection refused".into(),
            fault: None,
            retry_after: None,
        };
        assert!(
            connect_problem(&s, &unreachable)
                .message
                .contains("https://erp.example.com")
        );
        let nodb = OdooError::DatabaseNotFound(Box::new(Fault::new(
            Protocol::JsonRpc,
            "database \"shop\" does not exist",
        )));
        assert!(
            connect_problem(&s, &nodb)
                .message
                .contains("database \"shop\" does not exist on")
        );
        let old = OdooError::UnsupportedVersion {
            version: "15.0".into(),
        };
        assert!(connect_problem(&s, &old).message.contains("15.0"));
        let j2 = OdooError::Json2Unavailable {
            version: "18.0".into(),
        };
        assert!(
            connect_problem(&s, &j2)
                .message
                .contains("protocol = \"auto\"")
        );
    }

    #[test]
    fn module_states() {
        assert_eq!(parse_addon_state("to upgrade"), AddonState::ToUpgrade);
        assert_eq!(parse_addon_state("uninstalled"), AddonState::NotInstalled);
        assert!(matches!(parse_addon_state("weird"), AddonState::Unknown(_)));
    }
}
