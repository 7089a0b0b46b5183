//! An in-process Odoo emulator speaking XML-RPC, JSON-RPC and JSON-2 over real HTTP.
//!
//! Every test of the daemon talks to it exactly as to a real Odoo 16–19: same endpoints, same
//! envelopes, same faults and status codes, same ORM semantics (domains, ordering, x2many
//! commands, `write_date` by transaction, whole-second datetime comparison on 19) and the
//! business effects the daemon relies on (orders confirm into reserved deliveries, validation
//! moves quants, chatter, returns, replenishment, invoicing). It is schema-driven: the models
//! are the `fields_get` data of a real Odoo 19 (`data/fields_get/`), checked against
//! `../shared` by the contract tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), odoo_sandbox::SandboxError> {
//! use odoo_sandbox::{OdooSandbox, SandboxConfig};
//! let sb = OdooSandbox::start(SandboxConfig::default()).await?;
//! println!("Odoo 19 at {} db {} key {}", sb.url(), sb.database(), sb.api_key());
//! let n = sb.handle().search_count("product.product", serde_json::json!([])).unwrap();
//! assert!(n > 0);
//! sb.shutdown().await;
//! # Ok(()) }
//! ```

pub mod access;
pub mod addon;
pub mod business;
pub mod clock;
pub mod compute;
pub mod convert;
pub mod domain;
pub mod env;
pub mod error;
pub mod faults;
pub mod group;
pub mod meta;
pub mod order;
pub mod personality;
pub mod registry;
pub mod rpc;
pub mod schema;
pub mod seed;
pub mod server;
pub mod stats;
pub mod store;

pub use clock::Clock;
pub use error::{ErrKind, OdooError};
pub use faults::{Fault, Faults};
pub use odoo_wire::OdooVersion;
pub use personality::Personality;
pub use seed::catalog::CatalogInfo;
pub use stats::Stats;

use env::{Db, Env};
use parking_lot::Mutex;
use registry::Registry;
use serde_json::{Map, Value};
use server::Shared;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The default admin API key (40 hex characters, like Odoo's).
pub const DEFAULT_API_KEY: &str = "5a1d0b0c1e2f3a4b5c6d7e8f90a1b2c3d4e5f6a7";

/// What to put in the database.
#[derive(Debug, Clone, PartialEq)]
pub enum Seed {
    /// The reference `demo` database (what the captures were recorded against).
    Demo,
    /// The demo data plus `products` generated storable products in `warehouses` warehouses,
    /// with on-hand quants, deterministic for a given `seed`.
    Catalog {
        products: usize,
        warehouses: usize,
        seed: u64,
    },
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The Odoo version to impersonate (16.0–19.0).
    pub version: OdooVersion,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Database names; the first is the default (JSON-2 without `X-Odoo-Database`).
    pub databases: Vec<String>,
    /// The admin user's API key.
    pub admin_api_key: String,
    /// Expiry of the admin key (µs since the epoch), for expiry tests.
    pub admin_api_key_expires_us: Option<i64>,
    pub seed: Seed,
    /// The `channel_sync` addon is installed: its models, fields, constraints, access rights
    /// and methods (derived from `odoo_module/channel_sync`, see `data/fields_get/channel_sync`),
    /// `ir.module.module` says so, and a technical user for the daemon exists
    /// ([`OdooSandbox::daemon_login`], [`OdooSandbox::daemon_api_key`]).
    pub addon_installed: bool,
    /// The clock (real time by default; tests may pass a frozen one).
    pub clock: Option<Clock>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            version: OdooVersion::V19,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            databases: vec!["demo".into()],
            admin_api_key: DEFAULT_API_KEY.into(),
            admin_api_key_expires_us: None,
            seed: Seed::Demo,
            addon_installed: false,
            clock: None,
        }
    }
}

impl SandboxConfig {
    pub fn version(mut self, v: OdooVersion) -> Self {
        self.version = v;
        self
    }
    pub fn seed(mut self, s: Seed) -> Self {
        self.seed = s;
        self
    }
    pub fn port(mut self, port: u16) -> Self {
        self.listen.set_port(port);
        self
    }
    pub fn clock(mut self, c: Clock) -> Self {
        self.clock = Some(c);
        self
    }
    pub fn databases(mut self, names: &[&str]) -> Self {
        self.databases = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }
    pub fn api_key(mut self, key: &str) -> Self {
        self.admin_api_key = key.to_owned();
        self
    }
    /// Install the `channel_sync` addon.
    pub fn addon(mut self, installed: bool) -> Self {
        self.addon_installed = installed;
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("unsupported Odoo version {0} (16.0–19.0)")]
    Version(OdooVersion),
    #[error("sandbox setup failed: {0}")]
    Setup(String),
}

/// A running sandbox. Dropping it stops the server.
pub struct OdooSandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    api_key: String,
    catalog: Option<CatalogInfo>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Build and seed the databases (blocking: a big catalog takes seconds).
fn build_shared(cfg: &SandboxConfig) -> (Arc<Shared>, Option<CatalogInfo>) {
    let pers = Arc::new(Personality::new(cfg.version));
    let reg = Arc::new(Registry::build_with(&pers, cfg.addon_installed));
    let clock = cfg.clock.clone().unwrap_or_default();
    let stamp = clock.now_us() - 300_000_000;
    let mut dbs = BTreeMap::new();
    let mut catalog = None;
    let names = if cfg.databases.is_empty() {
        vec!["demo".to_owned()]
    } else {
        cfg.databases.clone()
    };
    for name in &names {
        let mut db = Db::new(name, reg.clone(), pers.clone());
        seed::demo::seed(
            &mut db,
            stamp,
            &cfg.admin_api_key,
            cfg.admin_api_key_expires_us,
        );
        if cfg.addon_installed {
            seed::channel_sync::seed(&mut db, stamp);
        }
        if let Seed::Catalog {
            products,
            warehouses,
            seed: s,
        } = cfg.seed
        {
            catalog = Some(seed::catalog::seed(&mut db, products, warehouses, s, stamp));
        }
        dbs.insert(name.clone(), Arc::new(Mutex::new(db)));
    }
    let shared = Arc::new(Shared {
        dbs,
        default_db: names[0].clone(),
        pers,
        clock,
        faults: Faults::default(),
        stats: Stats::default(),
    });
    (shared, catalog)
}

impl OdooSandbox {
    /// Seed the database(s) and start serving.
    pub async fn start(cfg: SandboxConfig) -> Result<OdooSandbox, SandboxError> {
        if !cfg.version.is_supported() {
            return Err(SandboxError::Version(cfg.version));
        }
        let cfg2 = cfg.clone();
        let (shared, catalog) = tokio::task::spawn_blocking(move || build_shared(&cfg2))
            .await
            .map_err(|e| SandboxError::Setup(e.to_string()))?;
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let app = server::router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        tracing::info!(%addr, version = %cfg.version, "Odoo sandbox listening");
        Ok(OdooSandbox {
            shared,
            addr,
            api_key: cfg.admin_api_key.clone(),
            catalog,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The default database name.
    pub fn database(&self) -> &str {
        &self.shared.default_db
    }
    /// The admin's API key (valid as a password in XML-RPC/JSON-RPC too).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }
    /// The admin's login (`admin`, password `admin`, uid 2).
    pub fn login(&self) -> &str {
        "admin"
    }
    pub fn password(&self) -> &str {
        seed::demo::ADMIN_PASSWORD
    }
    pub fn uid(&self) -> i64 {
        2
    }
    /// With the addon: the login of the daemon's technical user (group
    /// `channel_sync.group_channel_daemon` only, as the addon's README says to configure it).
    pub fn daemon_login(&self) -> &str {
        seed::channel_sync::DAEMON_LOGIN
    }
    /// With the addon: the technical user's API key.
    pub fn daemon_api_key(&self) -> &str {
        seed::channel_sync::DAEMON_API_KEY
    }
    /// With the addon: the technical user's uid.
    pub fn daemon_uid(&self) -> i64 {
        seed::channel_sync::DAEMON_UID
    }
    /// Whether the `channel_sync` addon is installed.
    pub fn addon_installed(&self) -> bool {
        self.shared
            .dbs
            .values()
            .next()
            .is_some_and(|db| db.lock().reg.addon)
    }
    pub fn version(&self) -> OdooVersion {
        self.shared.pers.version
    }
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }
    /// What the catalog seed created (products, warehouses, stock locations).
    pub fn catalog(&self) -> Option<&CatalogInfo> {
        self.catalog.as_ref()
    }
    /// In-process access to the default database.
    pub fn handle(&self) -> SandboxHandle {
        SandboxHandle {
            shared: self.shared.clone(),
            db: self.shared.default_db.clone(),
        }
    }
    /// In-process access to a named database.
    pub fn handle_for(&self, db: &str) -> Option<SandboxHandle> {
        self.shared.db(db).map(|_| SandboxHandle {
            shared: self.shared.clone(),
            db: db.to_owned(),
        })
    }

    /// Expire the admin API key now (18+ keys can expire): calls answer 401 / AccessDenied.
    pub fn expire_api_key(&self) {
        let now = self.shared.clock.now_us();
        for db in self.shared.dbs.values() {
            for c in &mut db.lock().credentials {
                for k in &mut c.api_keys {
                    if k.key == self.api_key {
                        k.expires_us = Some(now);
                    }
                }
            }
        }
    }

    /// Revoke the admin API key.
    pub fn revoke_api_key(&self) {
        for db in self.shared.dbs.values() {
            for c in &mut db.lock().credentials {
                for k in &mut c.api_keys {
                    if k.key == self.api_key {
                        k.revoked = true;
                    }
                }
            }
        }
    }

    /// Give the admin an additional API key (rotation).
    pub fn add_api_key(&self, key: &str) {
        for db in self.shared.dbs.values() {
            if let Some(c) = db.lock().credentials.iter_mut().find(|c| c.uid == 2) {
                c.api_keys.push(env::ApiKey {
                    key: key.to_owned(),
                    expires_us: None,
                    revoked: false,
                });
            }
        }
    }

    /// Stop serving (in-flight requests finish).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for OdooSandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Direct, in-process access to a sandbox database for test setup and assertions. Calls run
/// as one transaction each, as the admin (uid 2) unless [`SandboxHandle::call_as`] says
/// otherwise, with `execute_kw` semantics (the first positional argument of a record method
/// is the ids). They are not counted in [`Stats`] and no fault applies.
#[derive(Clone)]
pub struct SandboxHandle {
    shared: Arc<Shared>,
    db: String,
}

impl SandboxHandle {
    pub fn call(
        &self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> Result<Value, OdooError> {
        self.call_as(2, model, method, args, kwargs)
    }

    pub fn call_as(
        &self,
        uid: i64,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
    ) -> Result<Value, OdooError> {
        let db = self.shared.db(&self.db).expect("handle database exists");
        let mut guard = db.lock();
        let now = self.shared.clock.transaction_start();
        let mut kwargs = match kwargs {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let ctx = match kwargs.remove("context") {
            Some(Value::Object(c)) => c,
            _ => Map::new(),
        };
        let args = match args {
            Value::Array(a) => a,
            Value::Null => vec![],
            other => vec![other],
        };
        let r = {
            let mut env = Env::new(&mut guard, uid, ctx, now);
            rpc::call(
                &mut env,
                rpc::Style::ExecuteKw,
                model,
                method,
                None,
                &args,
                &kwargs,
            )
        };
        match r {
            Ok(v) => {
                guard.commit();
                Ok(v)
            }
            Err(e) => {
                guard.rollback();
                Err(e)
            }
        }
    }

    /// Run a closure inside one transaction with a raw ORM environment (admin, superuser).
    pub fn with_env<T>(
        &self,
        f: impl FnOnce(&mut Env) -> Result<T, OdooError>,
    ) -> Result<T, OdooError> {
        let db = self.shared.db(&self.db).expect("handle database exists");
        let mut guard = db.lock();
        let now = self.shared.clock.transaction_start();
        let r = {
            let mut env = Env::new(&mut guard, 2, Map::new(), now);
            env.su = true;
            f(&mut env)
        };
        match r {
            Ok(v) => {
                guard.commit();
                Ok(v)
            }
            Err(e) => {
                guard.rollback();
                Err(e)
            }
        }
    }

    pub fn search_read(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let v = self.call(
            model,
            "search_read",
            serde_json::json!([domain]),
            serde_json::json!({"fields": fields}),
        )?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
            .unwrap_or_default())
    }

    pub fn create(&self, model: &str, vals: Value) -> Result<i64, OdooError> {
        let v = self.call(
            model,
            "create",
            serde_json::json!([vals]),
            serde_json::json!({}),
        )?;
        v.as_i64()
            .ok_or_else(|| OdooError::value(format!("create returned {v}")))
    }

    pub fn write(&self, model: &str, ids: &[i64], vals: Value) -> Result<(), OdooError> {
        self.call(
            model,
            "write",
            serde_json::json!([ids, vals]),
            serde_json::json!({}),
        )?;
        Ok(())
    }

    pub fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields: &[&str],
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let v = self.call(
            model,
            "read",
            serde_json::json!([ids, fields]),
            serde_json::json!({}),
        )?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
            .unwrap_or_default())
    }

    pub fn search_count(&self, model: &str, domain: Value) -> Result<i64, OdooError> {
        Ok(self
            .call(
                model,
                "search_count",
                serde_json::json!([domain]),
                serde_json::json!({}),
            )?
            .as_i64()
            .unwrap_or(0))
    }

    /// Set on-hand stock of a product in a location (inventory mode + apply), as Odoo does.
    pub fn set_stock(&self, product_id: i64, location_id: i64, qty: f64) -> Result<(), OdooError> {
        let ids = self.call(
            "stock.quant",
            "create",
            serde_json::json!([[{"product_id": product_id, "location_id": location_id, "inventory_quantity": qty}]]),
            serde_json::json!({"context": {"inventory_mode": true}}),
        )?;
        self.call(
            "stock.quant",
            "action_apply_inventory",
            serde_json::json!([ids]),
            serde_json::json!({}),
        )?;
        Ok(())
    }
}

/// Start a sandbox for the daemon's `odoo-channels sandbox` command on `port` (0 = any).
pub async fn run_standalone(
    port: u16,
    mut cfg: SandboxConfig,
) -> Result<OdooSandbox, SandboxError> {
    cfg.listen.set_port(port);
    OdooSandbox::start(cfg).await
}
