//! The jobs that move data between Odoo and the channels (all the daemon's I/O but the
//! clients and servers themselves).
//!
//! ```text
//! engine.rs     the tasks and their pace: orders per channel, one stock recompute, push per channel
//! stock.rs      Odoo stock → allocator → outbox → connector, acknowledged per SKU and version
//! orders.rs     connector → inbox (raw payloads) → sale.order, exactly once
//! catalog.rs    SKU ↔ product (default_code, or the addon's bindings)
//! channels.rs   [[channels]] → connectors through the registry (secrets resolved here)
//! odoo_log.rs   sync runs, quarantine and notes shown in Odoo (addon-aware)
//! quarantine.rs Release / Discard decided in Odoo (or the CLI) → re-import or drop
//! listings.rs   addon bindings → listings and per-channel prices, state written back
//! pricing.rs    pricelist rules → a price, as Odoo computes it (pure)
//! events.rs     what the jobs did, for logs, the demo's live view and tests
//! webhooks.rs   webhooks in: verified, deduplicated, turned into wake-ups (never writes)
//! ```
//!
//! See ARCHITECTURE.md, "Sync jobs".

pub mod catalog;
pub mod channels;
pub mod engine;
pub mod events;
pub mod listings;
pub mod odoo_log;
pub mod orders;
pub mod pricing;
pub mod quarantine;
pub mod stock;
pub mod webhooks;

pub use engine::{CycleReport, Engine};
pub use events::{EventBus, SyncEvent};
