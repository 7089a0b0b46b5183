//! The jobs that move data between Odoo and the channels (all the daemon's I/O but the
//! clients and servers themselves).
//!
//! ```text
//! engine.rs     the tasks and their pace: orders per channel, one stock recompute, push per channel
//! stock.rs      Odoo stock → allocator → outbox → connector, acknowledged per SKU and version
//! stock_view.rs the in-memory stock view: full and incremental (write_date) reads, pending
//!               orders Odoo has not reserved, sales velocity
//! reorder.rs    reorder points: action_replenish once per crossing, noted on the product
//! transfers.rs  transfers between warehouses: proposed, noted, optionally a draft transfer
//! orders.rs     connector → inbox (raw payloads) → audit, routing → sale.order, exactly once
//! audit.rs      pure: the order audit rules (审单)
//! routing.rs    pure: warehouse routing, carrier choice, SLA priority
//! queue.rs      the fulfilment queue by ship-by deadline (`odoo-channels queue`)
//! fulfilment.rs orders back to the channels: the outbound round, shipments of done deliveries
//! cancellations.rs  marketplace cancels → Odoo, Odoo cancels → marketplace, once each
//! returns.rs    marketplace returns → Odoo returns, scrap and credit notes, once each
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

pub mod audit;
pub mod cancellations;
pub mod catalog;
pub mod channels;
pub mod engine;
pub mod events;
pub mod fulfilment;
pub mod listings;
pub mod odoo_log;
pub mod orders;
mod outbox;
pub mod pricing;
pub mod quarantine;
pub mod queue;
pub mod reorder;
pub mod returns;
pub mod routing;
pub mod stock;
pub mod stock_view;
pub mod transfers;
pub mod webhooks;

pub use engine::{CycleReport, Engine};
pub use events::{EventBus, SyncEvent};
