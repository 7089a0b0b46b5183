//! The daemon's one configuration file (TOML): typed, defaulted, validated all at once.
//!
//! Loading goes in two layers so that an operator sees *every* mistake in one run, not one per
//! restart:
//!
//! 1. [`raw`]: lenient serde structs (strings for enumerations and schedules, `i64` for
//!    numbers, unknown keys refused). A syntax or type error here stops parsing; it is reported
//!    with its key path (`channels[2].priority`) and line.
//! 2. validation: every rule is checked and every failure collected with its key path and line,
//!    producing the typed [`Config`] the rest of the daemon uses (durations, parsed schedules,
//!    enums, one [`OdooAuth`]).
//!
//! Secrets are [`SecretRef`]s, resolved only when used. A world-readable file that holds an
//! inline secret (any `api_key`, `password`, `token`, `secret`, `*_secret`, `*_token`,
//! `*_password`, `*_api_key` string, including inside `channels[*].connection`) is refused.
//!
//! `config.example.toml` at the repository root documents every key and its default; the
//! defaults themselves live once, in [`raw`].

pub mod fulfilment;
pub mod inventory;
pub mod orders;
mod raw;
pub mod schedule;
#[cfg(test)]
mod tests;

/// What the section tests (`inventory`, `orders`) load their snippets into.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Config, LoadEnv};

    /// A valid file with two channels, `shop` (Shopify) and `amz` (Amazon).
    pub const TWO_CHANNELS: &str = r#"
[odoo]
url = "https://odoo.example.com"
database = "prod"
login = "bot"
api_key = { env = "ODOO_API_KEY" }

[[channels]]
id = "shop"
kind = "shopify"

[[channels]]
id = "amz"
kind = "amazon"
"#;

    /// [`TWO_CHANNELS`] followed by `extra`, loaded; its problems as `key: message`.
    pub fn load(extra: &str) -> Result<Config, Vec<String>> {
        Config::from_toml_str_with(&format!("{TWO_CHANNELS}\n{extra}"), &LoadEnv::default())
            .map_err(|e| {
                e.problems
                    .iter()
                    .map(|p| format!("{}: {}", p.key, p.message))
                    .collect()
            })
    }
}

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use channels_core::secret::SecretRef;
use rust_decimal::Decimal;
pub use schedule::{Schedule, ScheduleError, format_duration, parse_duration};

pub use fulfilment::{ChannelFulfilment, FulfilmentConfig, ReturnPolicy};
pub use inventory::{FixedRule, InventoryConfig, RuleSet, SafetyRule, SkuPattern};
pub use orders::OrdersConfig;
pub use raw::DEFAULT_STORE_URL;
use raw::{RawChannel, RawConfig};

/// Where the daemon looks for its configuration unless told otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/odoo-channels/config.toml";

/// The longest channel id: it prefixes every order reference (`client_order_ref = "ID:ORDER"`).
pub const MAX_CHANNEL_ID_LEN: usize = 24;

// ---------------------------------------------------------------------------------------------
// The validated configuration
// ---------------------------------------------------------------------------------------------

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub odoo: OdooConfig,
    pub store: StoreConfig,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub inventory: InventoryConfig,
    /// Orders back to the channels (`[fulfilment]`).
    pub fulfilment: FulfilmentConfig,
    pub channels: Vec<ChannelConfig>,
    /// `[orders]`: audit, routing, carriers, SLA and amounts of imported orders.
    pub orders: OrdersConfig,
    /// Findings that do not stop the daemon (inline secrets, no channels…), each with its key
    /// path; `check` and `config validate` print them, `run` logs them.
    pub warnings: Vec<ConfigProblem>,
    /// The file it was loaded from, if any.
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct OdooConfig {
    pub url: url::Url,
    pub database: String,
    /// Required for JSON-RPC and XML-RPC; JSON-2 authenticates by key alone.
    pub login: Option<String>,
    pub auth: OdooAuth,
    pub protocol: OdooProtocol,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_concurrency: usize,
    pub batch_size: usize,
    pub retry: RetryPolicy,
    pub company_id: Option<u64>,
}

/// How the daemon authenticates to Odoo: exactly one of the two is configured.
#[derive(Debug, Clone)]
pub enum OdooAuth {
    /// An API key (Settings → Account Security); works with every protocol, required by JSON-2.
    ApiKey(SecretRef),
    /// A password; JSON-RPC and XML-RPC only.
    Password(SecretRef),
}

impl OdooAuth {
    pub fn secret(&self) -> &SecretRef {
        match self {
            OdooAuth::ApiKey(s) | OdooAuth::Password(s) => s,
        }
    }
    pub fn is_api_key(&self) -> bool {
        matches!(self, OdooAuth::ApiKey(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OdooProtocol {
    /// JSON-2 when the server has it (19+) and an API key is set, else JSON-RPC.
    Auto,
    Json2,
    JsonRpc,
    XmlRpc,
}

impl OdooProtocol {
    pub const NAMES: &[&str] = &["auto", "json2", "jsonrpc", "xmlrpc"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "json2" => Self::Json2,
            "jsonrpc" => Self::JsonRpc,
            "xmlrpc" => Self::XmlRpc,
            _ => return None,
        })
    }
}

/// Retries of *reads* (writes are never retried blindly; see ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `sqlite://…` or `postgres://…`, after `$STATE_DIRECTORY` substitution.
    pub url: String,
    pub backend: StoreBackend,
    pub max_connections: u32,
    pub busy_timeout: Duration,
    /// How long a claimed outbox row stays with its sender before another may take it.
    pub outbox_lease: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreBackend {
    Sqlite,
    Postgres,
}

impl StoreBackend {
    /// The backend a store URL selects, or `None` for an unknown scheme.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive (`info`, `odoo_channels=debug,sqlx=warn`).
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// journald when `JOURNAL_STREAM` is set (systemd), else text.
    Auto,
    Journald,
    Text,
    Json,
}

impl LogFormat {
    pub const NAMES: &[&str] = &["auto", "journald", "text", "json"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "auto" => Self::Auto,
            "journald" => Self::Journald,
            "text" => Self::Text,
            "json" => Self::Json,
            _ => return None,
        })
    }
}

/// One marketplace account.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub id: String,
    pub name: Option<String>,
    pub kind: ChannelKind,
    pub enabled: bool,
    /// Higher is served first when stock is scarce.
    pub priority: u32,
    /// Odoo warehouse codes whose stock feeds this channel; empty means every warehouse.
    pub warehouses: Vec<String>,
    pub buffer_percent: Decimal,
    pub buffer_units: u32,
    /// How the percentage and the units combine: the larger (`max`, default) or both (`sum`).
    pub buffer_mode: crate::allocation::BufferMode,
    pub min_qty: u32,
    pub max_qty: Option<u32>,
    pub keep_last_units: u32,
    pub stock_schedule: Schedule,
    pub order_schedule: Schedule,
    /// The connector's own table, passed through untouched: the connector crate parses it.
    pub connection: toml::Table,
    /// The connector's secrets by name (`token`, `client_secret`, …), each by reference;
    /// resolved when the connector is built so that rotation needs no restart.
    pub secrets: std::collections::BTreeMap<String, SecretRef>,
    /// Shipments, cancellations and returns on this channel (`[channels.fulfilment]`).
    pub fulfilment: ChannelFulfilment,
}

impl ChannelConfig {
    /// What the channel shows as its name in logs and in Odoo.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

pub use channels_core::ChannelKind;

/// Marketplace kinds the configuration accepts (the core's named kinds and the regional ones
/// connectors register under their own names). Whether a connector for the kind is compiled in
/// is the registry's business; `check` reports it.
pub const KNOWN_KINDS: &[&str] = &[
    "sandbox", "shopify", "amazon", "ebay", "walmart", "tiktok", "etsy", "daraz", "noon",
];

/// A known kind by name (see [`KNOWN_KINDS`]).
pub fn parse_kind(s: &str) -> Option<ChannelKind> {
    KNOWN_KINDS
        .contains(&s)
        .then(|| s.parse::<ChannelKind>().expect("infallible"))
}

/// Default stock-push pace, after the sellers' practice (shared/seeds): the merchant's own
/// store in real time, fast marketplaces with strict oversell penalties every 5–10 min,
/// slower ones every 15–30 min.
pub fn default_stock_schedule(kind: &ChannelKind) -> Schedule {
    let mins = |m: u64| Schedule::Every(Duration::from_secs(m * 60));
    match kind {
        ChannelKind::Sandbox | ChannelKind::Shopify => Schedule::Realtime,
        ChannelKind::Amazon | ChannelKind::TikTok => mins(5),
        ChannelKind::Walmart => mins(10),
        ChannelKind::Ebay | ChannelKind::Etsy => mins(15),
        ChannelKind::Other(_) => mins(30),
    }
}

/// Default order-pull pace (webhook channels: real time, with reconciliation behind).
pub fn default_order_schedule(kind: &ChannelKind) -> Schedule {
    let mins = |m: u64| Schedule::Every(Duration::from_secs(m * 60));
    match kind {
        ChannelKind::Sandbox | ChannelKind::Shopify => Schedule::Realtime,
        ChannelKind::TikTok => mins(5),
        ChannelKind::Amazon | ChannelKind::Walmart => mins(10),
        ChannelKind::Ebay | ChannelKind::Etsy => mins(15),
        ChannelKind::Other(_) => mins(30),
    }
}

impl Config {
    pub fn channel(&self, id: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// Enabled channels, highest priority first (ties: file order).
    pub fn enabled_channels(&self) -> Vec<&ChannelConfig> {
        let mut v: Vec<_> = self.channels.iter().filter(|c| c.enabled).collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.priority));
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One problem (or warning) with its key path (`channels[2].buffer_percent`) and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Empty for problems with the file itself (unreadable, permissions).
    pub key: String,
    pub message: String,
    pub line: Option<usize>,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// Everything wrong with a configuration file.
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub source: Option<PathBuf>,
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        match &self.source {
            Some(p) => write!(f, "{}: ", p.display())?,
            None => f.write_str("configuration: ")?,
        }
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// What loading reads from the process environment, made explicit for tests.
#[derive(Debug, Clone, Default)]
pub struct LoadEnv {
    /// `$STATE_DIRECTORY` (systemd `StateDirectory=`); the first path if several.
    pub state_directory: Option<PathBuf>,
}

impl LoadEnv {
    pub fn from_process() -> Self {
        let state_directory = std::env::var_os("STATE_DIRECTORY")
            .and_then(|v| {
                v.to_str()
                    .and_then(|s| s.split(':').next())
                    .map(PathBuf::from)
            })
            .filter(|p| !p.as_os_str().is_empty());
        LoadEnv { state_directory }
    }
}

impl Config {
    /// Read, parse and validate the file at `path`, refusing a world-readable file that holds
    /// inline secrets.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Self::load_with(path, &LoadEnv::from_process())
    }

    pub fn load_with(path: &Path, env: &LoadEnv) -> Result<Config, ConfigErrors> {
        let fail = |message: String| ConfigErrors {
            source: Some(path.to_owned()),
            problems: vec![ConfigProblem {
                key: String::new(),
                message,
                line: None,
            }],
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| fail(format!("cannot read configuration file: {e}")))?;
        let mode = file_mode(path).map_err(|e| fail(format!("cannot stat file: {e}")))?;
        let mut cfg = parse(&text, mode, env).map_err(|problems| ConfigErrors {
            source: Some(path.to_owned()),
            problems,
        })?;
        cfg.source = Some(path.to_owned());
        Ok(cfg)
    }

    /// Parse and validate TOML text (no file, so no permission check).
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigErrors> {
        Self::from_toml_str_with(text, &LoadEnv::from_process())
    }

    pub fn from_toml_str_with(text: &str, env: &LoadEnv) -> Result<Config, ConfigErrors> {
        parse(text, None, env).map_err(|problems| ConfigErrors {
            source: None,
            problems,
        })
    }
}

#[cfg(unix)]
fn file_mode(path: &Path) -> std::io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    Ok(Some(std::fs::metadata(path)?.permissions().mode()))
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> std::io::Result<Option<u32>> {
    Ok(None)
}

/// Maps byte offsets to 1-based line numbers and key paths to the span of their value.
struct Locator<'a> {
    text: &'a str,
    doc: Option<toml::de::DeTable<'a>>,
}

impl<'a> Locator<'a> {
    fn line_of_offset(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// The line of the value at `path` (segments as in [`KeyPath`]), or of its nearest
    /// existing ancestor.
    fn line_of(&self, path: &KeyPath) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut span: Option<std::ops::Range<usize>> = None;
        let mut table: Option<&toml::de::DeTable<'a>> = Some(doc);
        let mut current: Option<&toml::Spanned<toml::de::DeValue<'a>>> = None;
        for seg in &path.0 {
            let next = match seg {
                Seg::Key(k) => {
                    let t = match (table, current) {
                        (Some(t), None) => Some(t),
                        (_, Some(v)) => v.get_ref().as_table(),
                        _ => None,
                    };
                    t.and_then(|t| t.iter().find(|(key, _)| key.get_ref() == k))
                        .map(|(_, v)| v)
                }
                Seg::Index(i) => current.and_then(|v| v.get_ref().as_array()).and_then(|a| {
                    let items: Vec<_> = a.into_iter().collect();
                    items.get(*i).copied()
                }),
            };
            match next {
                Some(v) => {
                    span = Some(v.span());
                    current = Some(v);
                    table = None;
                }
                None => break,
            }
        }
        span.map(|s| self.line_of_offset(s.start))
    }
}

/// A key path: `channels[2].connection.token`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct KeyPath(Vec<Seg>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl KeyPath {
    fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_owned()));
        p
    }
    fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
    fn root(k: &str) -> KeyPath {
        KeyPath::default().key(k)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

struct Problems<'a> {
    list: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
    locator: &'a Locator<'a>,
}

impl Problems<'_> {
    fn make(&self, path: &KeyPath, message: String) -> ConfigProblem {
        ConfigProblem {
            key: path.to_string(),
            message,
            line: self.locator.line_of(path),
        }
    }
    fn err(&mut self, path: &KeyPath, message: impl Into<String>) {
        let p = self.make(path, message.into());
        self.list.push(p);
    }
    fn warn(&mut self, path: &KeyPath, message: impl Into<String>) {
        let p = self.make(path, message.into());
        self.warnings.push(p);
    }
    /// `value` within `lo..=hi`, else a problem; returns the value clamped for further checks.
    fn range(&mut self, path: &KeyPath, value: i64, lo: i64, hi: i64) -> i64 {
        if value < lo || value > hi {
            self.err(path, format!("must be between {lo} and {hi} (got {value})"));
            value.clamp(lo, hi)
        } else {
            value
        }
    }
}

fn parse(text: &str, mode: Option<u32>, env: &LoadEnv) -> Result<Config, Vec<ConfigProblem>> {
    // Syntax first, for a precise line; then the typed layer, for the key path.
    let doc = match toml::de::DeTable::parse(text) {
        Ok(d) => d.into_inner(),
        Err(e) => {
            let locator = Locator { text, doc: None };
            return Err(vec![ConfigProblem {
                key: String::new(),
                message: format!("TOML syntax error: {}", e.message()),
                line: e.span().map(|s| locator.line_of_offset(s.start)),
            }]);
        }
    };
    let locator = Locator {
        text,
        doc: Some(doc),
    };
    let deserializer = match toml::Deserializer::parse(text) {
        Ok(d) => d,
        Err(e) => {
            return Err(vec![ConfigProblem {
                key: String::new(),
                message: format!("TOML syntax error: {}", e.message()),
                line: e.span().map(|s| locator.line_of_offset(s.start)),
            }]);
        }
    };
    let raw: RawConfig = match serde_path_to_error::deserialize(deserializer) {
        Ok(r) => r,
        Err(e) => {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.span().map(|s| locator.line_of_offset(s.start));
            return Err(vec![ConfigProblem {
                key: if key == "." { String::new() } else { key },
                message: inner.message().to_owned(),
                line,
            }]);
        }
    };

    let mut problems = Problems {
        list: Vec::new(),
        warnings: Vec::new(),
        locator: &locator,
    };
    check_inline_secrets(&locator, mode, &mut problems);
    let config = validate(raw, env, &mut problems);
    match config {
        Some(mut config) if problems.list.is_empty() => {
            config.warnings = problems.warnings;
            Ok(config)
        }
        Some(_) => Err(problems.list),
        // Every path that yields no config records a problem; this is a guard, not a case.
        None if problems.list.is_empty() => Err(vec![ConfigProblem {
            key: String::new(),
            message: "invalid configuration".into(),
            line: None,
        }]),
        None => Err(problems.list),
    }
}

/// Whether a key names a secret (see the module documentation).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    matches!(
        k.as_str(),
        "api_key" | "apikey" | "password" | "passwd" | "token" | "secret"
    ) || ["_secret", "_token", "_password", "_api_key", "_apikey"]
        .iter()
        .any(|s| k.ends_with(s))
}

fn check_inline_secrets(locator: &Locator<'_>, mode: Option<u32>, problems: &mut Problems<'_>) {
    /// `in_secrets`: inside a `secrets` table, where every string is a secret whatever its
    /// name (a connector's `[channels.secrets]`).
    fn walk(
        value: &toml::de::DeValue<'_>,
        path: &KeyPath,
        key: Option<&str>,
        in_secrets: bool,
        found: &mut Vec<KeyPath>,
    ) {
        match value {
            toml::de::DeValue::String(_) if in_secrets || key.is_some_and(is_secret_key) => {
                found.push(path.clone())
            }
            toml::de::DeValue::Table(t) => {
                let secrets_table = key == Some("secrets");
                for (k, v) in t.iter() {
                    walk(
                        v.get_ref(),
                        &path.key(k.get_ref()),
                        Some(k.get_ref()),
                        secrets_table,
                        found,
                    );
                }
            }
            toml::de::DeValue::Array(a) => {
                for (i, v) in a.into_iter().enumerate() {
                    walk(v.get_ref(), &path.index(i), key, in_secrets, found);
                }
            }
            _ => {}
        }
    }
    let Some(doc) = &locator.doc else { return };
    let mut found = Vec::new();
    for (k, v) in doc.iter() {
        walk(
            v.get_ref(),
            &KeyPath::root(k.get_ref()),
            Some(k.get_ref()),
            false,
            &mut found,
        );
    }
    if found.is_empty() {
        return;
    }
    let world_readable = mode.is_some_and(|m| m & 0o004 != 0);
    if world_readable {
        let keys: Vec<String> = found.iter().map(|p| p.to_string()).collect();
        problems.list.push(ConfigProblem {
            key: String::new(),
            message: format!(
                "refusing a world-readable file (mode {:04o}) that holds inline secrets at {}: \
                 chmod o-r the file (e.g. 0640), or better, give them by reference \
                 ({{ env = \"…\" }}, {{ file = \"…\" }}, {{ credential = \"…\" }})",
                mode.unwrap_or(0) & 0o7777,
                keys.join(", ")
            ),
            line: None,
        });
    } else {
        for p in &found {
            problems.warn(
                p,
                "inline secret: prefer { credential = \"…\" }, { env = \"…\" } or { file = \"…\" }",
            );
        }
    }
}

fn validate(raw: RawConfig, env: &LoadEnv, p: &mut Problems<'_>) -> Option<Config> {
    let odoo = validate_odoo(raw.odoo, p);
    let store = validate_store(raw.store, env, p);
    let server = validate_server(raw.server, p);
    let log = validate_log(raw.log, p);
    let channel_ids: Vec<String> = raw.channels.iter().filter_map(|c| c.id.clone()).collect();
    let inventory = inventory::validate(raw.inventory, &channel_ids, p);
    let fulfilment = fulfilment::validate(raw.fulfilment, p);
    let channels = validate_channels(raw.channels, p);
    let orders = orders::validate(raw.orders, &channel_ids, p);
    Some(Config {
        odoo: odoo?,
        store: store?,
        server: server?,
        log: log?,
        inventory: inventory?,
        fulfilment: fulfilment?,
        channels: channels?,
        orders: orders?,
        warnings: Vec::new(),
        source: None,
    })
}

fn required(value: Option<String>, path: &KeyPath, p: &mut Problems<'_>) -> Option<String> {
    match value {
        Some(v) if !v.trim().is_empty() => Some(v),
        Some(_) => {
            p.err(path, "must not be empty");
            None
        }
        None => {
            p.err(path, "required");
            None
        }
    }
}

fn validate_odoo(raw: Option<raw::RawOdoo>, p: &mut Problems<'_>) -> Option<OdooConfig> {
    let base = KeyPath::root("odoo");
    let Some(raw) = raw else {
        p.err(
            &base,
            "required: the [odoo] section (url, database, login, api_key) is missing",
        );
        return None;
    };
    let url = required(raw.url, &base.key("url"), p).and_then(|u| match url::Url::parse(&u) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(url) => {
            p.err(
                &base.key("url"),
                format!(
                    "must be an http:// or https:// URL with a host (got scheme `{}`)",
                    url.scheme()
                ),
            );
            None
        }
        Err(e) => {
            p.err(&base.key("url"), format!("not a URL: {e}"));
            None
        }
    });
    let database = required(raw.database, &base.key("database"), p);
    let protocol = OdooProtocol::parse(&raw.protocol);
    if protocol.is_none() {
        p.err(
            &base.key("protocol"),
            format!(
                "unknown protocol `{}` (expected one of: {})",
                raw.protocol,
                OdooProtocol::NAMES.join(", ")
            ),
        );
    }
    let login = match raw.login {
        Some(l) if l.trim().is_empty() => {
            p.err(&base.key("login"), "must not be empty");
            None
        }
        Some(l) => Some(l),
        None => {
            if protocol != Some(OdooProtocol::Json2) {
                p.err(
                    &base.key("login"),
                    "required (JSON-RPC and XML-RPC authenticate with login + key; \
                     only protocol = \"json2\" can do without)",
                );
            }
            None
        }
    };
    let auth = match (raw.api_key, raw.password) {
        (Some(k), None) => Some(OdooAuth::ApiKey(k)),
        (None, Some(pw)) => Some(OdooAuth::Password(pw)),
        (Some(_), Some(_)) => {
            p.err(
                &base,
                "set exactly one of api_key or password (both are set)",
            );
            None
        }
        (None, None) => {
            p.err(
                &base,
                "set exactly one of api_key or password (neither is set); an API key is preferred",
            );
            None
        }
    };
    if protocol == Some(OdooProtocol::Json2) && matches!(auth, Some(OdooAuth::Password(_))) {
        p.err(
            &base.key("protocol"),
            "json2 authenticates with an API key only: set api_key instead of password",
        );
    }
    let timeout = p.range(&base.key("timeout_secs"), raw.timeout_secs, 1, 3600);
    let connect = p.range(
        &base.key("connect_timeout_secs"),
        raw.connect_timeout_secs,
        1,
        600,
    );
    if raw.timeout_secs >= 1 && connect > timeout {
        p.err(
            &base.key("connect_timeout_secs"),
            format!("must not exceed timeout_secs ({timeout})"),
        );
    }
    let max_concurrency = p.range(&base.key("max_concurrency"), raw.max_concurrency, 1, 64);
    let batch_size = p.range(&base.key("batch_size"), raw.batch_size, 1, 100_000);
    let attempts = p.range(
        &base.key("retry_max_attempts"),
        raw.retry_max_attempts,
        1,
        100,
    );
    let retry_base = p.range(&base.key("retry_base_ms"), raw.retry_base_ms, 1, 600_000);
    let retry_max = p.range(&base.key("retry_max_ms"), raw.retry_max_ms, 1, 3_600_000);
    if raw.retry_base_ms >= 1 && retry_max < retry_base {
        p.err(
            &base.key("retry_max_ms"),
            format!("must be at least retry_base_ms ({retry_base})"),
        );
    }
    let company_id = match raw.company_id {
        Some(c) if c <= 0 => {
            p.err(
                &base.key("company_id"),
                format!("must be a positive Odoo id (got {c})"),
            );
            None
        }
        c => c.map(|c| c as u64),
    };
    Some(OdooConfig {
        url: url?,
        database: database?,
        login,
        auth: auth?,
        protocol: protocol?,
        timeout: Duration::from_secs(timeout as u64),
        connect_timeout: Duration::from_secs(connect as u64),
        max_concurrency: max_concurrency as usize,
        batch_size: batch_size as usize,
        retry: RetryPolicy {
            max_attempts: attempts as u32,
            base_delay: Duration::from_millis(retry_base as u64),
            max_delay: Duration::from_millis(retry_max as u64),
        },
        company_id,
    })
}

fn validate_store(raw: raw::RawStore, env: &LoadEnv, p: &mut Problems<'_>) -> Option<StoreConfig> {
    let base = KeyPath::root("store");
    let url = if raw.url == DEFAULT_STORE_URL {
        match &env.state_directory {
            Some(dir) => format!("sqlite://{}", dir.join("state.db").display()),
            None => raw.url,
        }
    } else {
        raw.url
    };
    let backend = StoreBackend::from_url(&url);
    if backend.is_none() {
        p.err(
            &base.key("url"),
            format!(
                "unknown store scheme in `{}`: use sqlite:///path/to/state.db or postgres://user@host/db",
                redact_url(&url)
            ),
        );
    }
    let max_connections = p.range(&base.key("max_connections"), raw.max_connections, 1, 100);
    let busy = p.range(
        &base.key("busy_timeout_ms"),
        raw.busy_timeout_ms,
        0,
        600_000,
    );
    let lease = p.range(
        &base.key("outbox_lease_secs"),
        raw.outbox_lease_secs,
        5,
        86_400,
    );
    Some(StoreConfig {
        url,
        backend: backend?,
        max_connections: max_connections as u32,
        busy_timeout: Duration::from_millis(busy as u64),
        outbox_lease: Duration::from_secs(lease as u64),
    })
}

/// A URL with its password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn validate_server(raw: raw::RawServer, p: &mut Problems<'_>) -> Option<ServerConfig> {
    let base = KeyPath::root("server");
    let listen = match raw.listen.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            p.err(
                &base.key("listen"),
                format!(
                    "`{}` is not an address:port such as 127.0.0.1:8787 or [::1]:8787",
                    raw.listen
                ),
            );
            None
        }
    };
    let body = p.range(
        &base.key("max_body_bytes"),
        raw.max_body_bytes,
        1024,
        64 * 1024 * 1024,
    );
    let timeout = p.range(
        &base.key("request_timeout_secs"),
        raw.request_timeout_secs,
        1,
        300,
    );
    Some(ServerConfig {
        listen: listen?,
        max_body_bytes: body as usize,
        request_timeout: Duration::from_secs(timeout as u64),
    })
}

fn validate_log(raw: raw::RawLog, p: &mut Problems<'_>) -> Option<LogConfig> {
    let base = KeyPath::root("log");
    let format = LogFormat::parse(&raw.format);
    if format.is_none() {
        p.err(
            &base.key("format"),
            format!(
                "unknown log format `{}` (expected one of: {})",
                raw.format,
                LogFormat::NAMES.join(", ")
            ),
        );
    }
    if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&raw.level) {
        p.err(
            &base.key("level"),
            format!("not a log filter (`info`, `odoo_channels=debug,sqlx=warn`): {e}"),
        );
        return None;
    }
    Some(LogConfig {
        format: format?,
        level: raw.level,
    })
}

fn valid_channel_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn validate_channels(raws: Vec<RawChannel>, p: &mut Problems<'_>) -> Option<Vec<ChannelConfig>> {
    let mut out = Vec::with_capacity(raws.len());
    let mut ok = true;
    let mut seen: HashMap<String, usize> = HashMap::new();
    if raws.is_empty() {
        p.warn(
            &KeyPath::root("channels"),
            "no [[channels]] configured: the daemon will have nothing to sync",
        );
    }
    for (i, raw) in raws.into_iter().enumerate() {
        let base = KeyPath::root("channels").index(i);
        match validate_channel(raw, &base, &mut seen, i, p) {
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn validate_channel(
    raw: RawChannel,
    base: &KeyPath,
    seen: &mut HashMap<String, usize>,
    index: usize,
    p: &mut Problems<'_>,
) -> Option<ChannelConfig> {
    let id = required(raw.id, &base.key("id"), p).and_then(|id| {
        if !valid_channel_id(&id) {
            p.err(
                &base.key("id"),
                format!("`{id}` must match [a-z0-9_-]+ (it prefixes order references)"),
            );
            None
        } else if id.len() > MAX_CHANNEL_ID_LEN {
            p.err(
                &base.key("id"),
                format!(
                    "`{id}` is {} characters; keep it at most {MAX_CHANNEL_ID_LEN} \
                     (it prefixes every order reference, \"ID:ORDER\")",
                    id.len()
                ),
            );
            None
        } else if let Some(first) = seen.get(&id) {
            p.err(
                &base.key("id"),
                format!("duplicate channel id `{id}` (also channels[{first}].id)"),
            );
            None
        } else {
            seen.insert(id.clone(), index);
            Some(id)
        }
    });
    let kind = required(raw.kind, &base.key("kind"), p).and_then(|k| {
        let kind = parse_kind(&k);
        if kind.is_none() {
            p.err(
                &base.key("kind"),
                format!("unknown kind `{k}` (known: {})", KNOWN_KINDS.join(", ")),
            );
        }
        kind
    });
    let priority = p.range(&base.key("priority"), raw.priority, 0, u32::MAX as i64);
    let mut wh_ok = true;
    for (j, w) in raw.warehouses.iter().enumerate() {
        if w.trim().is_empty() {
            p.err(&base.key("warehouses").index(j), "empty warehouse code");
            wh_ok = false;
        } else if raw.warehouses[..j].contains(w) {
            p.err(
                &base.key("warehouses").index(j),
                format!("warehouse `{w}` is listed twice"),
            );
            wh_ok = false;
        }
    }
    let pct_ok = raw.buffer_percent >= Decimal::ZERO && raw.buffer_percent <= Decimal::ONE_HUNDRED;
    if !pct_ok {
        p.err(
            &base.key("buffer_percent"),
            format!(
                "must be between 0 and 100 (got {})",
                raw.buffer_percent.normalize()
            ),
        );
    }
    let max_u32 = u32::MAX as i64;
    let buffer_units = p.range(&base.key("buffer_units"), raw.buffer_units, 0, max_u32);
    let buffer_mode = match raw.buffer_mode.as_str() {
        "max" => Some(crate::allocation::BufferMode::Max),
        "sum" => Some(crate::allocation::BufferMode::Sum),
        other => {
            p.err(
                &base.key("buffer_mode"),
                format!("unknown buffer mode `{other}` (expected max or sum)"),
            );
            None
        }
    };
    let min_qty = p.range(&base.key("min_qty"), raw.min_qty, 0, max_u32);
    let max_qty = raw
        .max_qty
        .map(|m| p.range(&base.key("max_qty"), m, 0, max_u32));
    if let Some(m) = max_qty
        && m < min_qty
    {
        p.err(
            &base.key("max_qty"),
            format!("must be at least min_qty ({min_qty})"),
        );
    }
    let keep_last = p.range(
        &base.key("keep_last_units"),
        raw.keep_last_units,
        0,
        max_u32,
    );
    let mut schedule = |field: &str, text: Option<String>, default: Option<Schedule>| match text {
        Some(t) => match t.parse::<Schedule>() {
            Ok(s) => Some(s),
            Err(e) => {
                p.err(&base.key(field), e.to_string());
                None
            }
        },
        None => default,
    };
    let stock_schedule = schedule(
        "stock_schedule",
        raw.stock_schedule,
        kind.as_ref().map(default_stock_schedule),
    );
    let order_schedule = schedule(
        "order_schedule",
        raw.order_schedule,
        kind.as_ref().map(default_order_schedule),
    );
    let fulfilment = fulfilment::validate_channel(raw.fulfilment, base, p);
    if !(wh_ok && pct_ok) {
        return None;
    }
    Some(ChannelConfig {
        id: id?,
        name: raw.name,
        kind: kind?,
        enabled: raw.enabled,
        priority: priority as u32,
        warehouses: raw.warehouses,
        buffer_percent: raw.buffer_percent,
        buffer_units: buffer_units as u32,
        buffer_mode: buffer_mode?,
        min_qty: min_qty as u32,
        max_qty: max_qty.map(|m| m as u32),
        keep_last_units: keep_last as u32,
        stock_schedule: stock_schedule?,
        order_schedule: order_schedule?,
        secrets: raw.secrets,
        connection: raw.connection,
        fulfilment: fulfilment?,
    })
}

impl OdooConfig {
    /// The Odoo client's settings, with the secret resolved now (call it at connect time, so
    /// a rotated key is picked up without a restart).
    pub fn client_settings(
        &self,
    ) -> Result<crate::odoo::Settings, channels_core::secret::SecretError> {
        use crate::odoo::{Protocol, RetryPolicy as ClientRetry, SecretKind};
        let secret = self.auth.secret().resolve()?;
        let mut s = crate::odoo::Settings::new(
            self.url.as_str().trim_end_matches('/'),
            self.database.clone(),
            self.login.clone().unwrap_or_default(),
            secret,
        );
        s.secret_kind = if self.auth.is_api_key() {
            SecretKind::ApiKey
        } else {
            SecretKind::Password
        };
        s.protocol = match self.protocol {
            OdooProtocol::Auto => Protocol::Auto,
            OdooProtocol::Json2 => Protocol::Json2,
            OdooProtocol::JsonRpc => Protocol::JsonRpc,
            OdooProtocol::XmlRpc => Protocol::XmlRpc,
        };
        s.timeout = self.timeout;
        s.connect_timeout = self.connect_timeout;
        s.max_concurrency = self.max_concurrency;
        s.batch_size = self.batch_size;
        s.retry = ClientRetry {
            max_attempts: self.retry.max_attempts,
            base_delay: self.retry.base_delay,
            max_delay: self.retry.max_delay,
        };
        Ok(s)
    }
}
