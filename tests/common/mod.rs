//! What every end-to-end test starts from: the embedded sandboxes, a state store in a
//! temporary directory, the daemon's Odoo client and an engine over the configured channels.
//! Each `tests/e2e_*.rs` keeps a small `world(…)` of its own that says what its tests vary
//! (products, marketplaces, a configuration table) and calls [`start`].

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::sync::Arc;

use channel_sandbox::sandbox::{NewLine, NewOrder};
use odoo_channels::config::Config;
use odoo_channels::embedded::{Embedded, EmbeddedOptions};
use odoo_channels::odoo::OdooClient;
use odoo_channels::store::Store;
use odoo_channels::sync::channels::ChannelHandle;
use odoo_channels::sync::{Engine, EventBus, channels};
use odoo_sandbox::SandboxHandle;

pub struct World {
    pub emb: Embedded,
    pub engine: Arc<Engine>,
    pub store: Store,
    /// The daemon's connection to Odoo.
    pub odoo: OdooClient,
    pub config: Config,
    /// The configuration as text, as `odoo-channels` would read it from its file.
    pub config_text: String,
    _dir: tempfile::TempDir,
}

/// The sandboxes started with `options`; their generated configuration passed through `edit`
/// (append a table, change a key); a SQLite state store in a temporary directory; the engine.
pub async fn start(options: EmbeddedOptions, edit: impl FnOnce(String) -> String) -> World {
    let emb = Embedded::start(&options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/state.db", dir.path().display());
    let config_text = edit(emb.config_toml(&url));
    let config = Config::from_toml_str(&config_text).unwrap();
    let store = Store::open(&url).await.unwrap();
    let (engine, odoo) = engine(&config, store.clone(), Vec::new()).await;
    World {
        emb,
        engine,
        store,
        odoo,
        config,
        config_text,
        _dir: dir,
    }
}

/// An engine over `config`'s channels plus `extra` (connectors a test wires itself), on
/// `store`: a second one on the same store is a restarted daemon.
pub async fn engine(
    config: &Config,
    store: Store,
    extra: Vec<ChannelHandle>,
) -> (Arc<Engine>, OdooClient) {
    let odoo = OdooClient::connect(config.odoo.client_settings().unwrap())
        .await
        .unwrap();
    let mut handles = channels::build_all(config, &channels::registry()).unwrap();
    handles.extend(extra);
    let engine = Engine::start(config, store, odoo.clone(), handles, EventBus::new())
        .await
        .unwrap();
    (engine, odoo)
}

/// A person's hands on the Odoo sandbox (in process, as clicks in Odoo would be).
pub fn h(w: &World) -> SandboxHandle {
    w.emb.odoo.handle()
}

/// The first generated product (SKU-000001) and the stock location of warehouse WH.
pub fn first(w: &World) -> (i64, i64) {
    let info = w.emb.odoo.catalog().unwrap();
    (info.first_product_id, info.stock_location_ids[0])
}

/// A sandbox-marketplace order of `qty` × `sku`.
pub fn order(sku: &str, qty: u32) -> NewOrder {
    NewOrder {
        lines: vec![NewLine {
            sku: sku.into(),
            quantity: qty,
            ..Default::default()
        }],
        ..Default::default()
    }
}
