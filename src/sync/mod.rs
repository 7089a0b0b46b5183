//! The jobs that move data between Odoo and the channels (all the daemon's I/O but the
//! clients and servers themselves).
//!
//! ```text
//! engine.rs     the tasks and their pace: orders per channel, one stock recompute, push per channel
//! stock.rs      Odoo stock → allocator → outbox → connector, acknowledged per SKU and version
//! orders.rs     connector → inbox (raw payloads) → audit, routing → sale.order, exactly once
//! audit.rs      pure: the order audit rules (审单)
//! routing.rs    pure: warehouse routing, carrier choice, SLA priority
//! queue.rs      the fulfilment queue by ship-by deadline (`odoo-channels queue`)
//! catalog.rs    SKU ↔ product (default_code, or the addon's bindings)
//! channels.rs   [[channels]] → connectors through the registry (secrets resolved here)
//! odoo_log.rs   sync runs, quarantine and notes shown in Odoo (addon-aware)
//! events.rs     what the jobs did, for logs, the demo's live view and tests
//! webhooks.rs   webhooks in: verified, deduplicated, turned into wake-ups (never writes)
//! ```
//!
//! See ARCHITECTURE.md, "Sync jobs".

pub mod audit;
pub mod catalog;
pub mod channels;
pub mod engine;
pub mod events;
pub mod odoo_log;
pub mod orders;
pub mod queue;
pub mod routing;
pub mod stock;
pub mod webhooks;

pub use engine::{CycleReport, Engine};
pub use events::{EventBus, SyncEvent};
