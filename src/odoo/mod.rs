//! The Odoo client: one typed API over JSON-2, JSON-RPC and XML-RPC, Odoo 16–19.
//!
//! Map of the module (see ARCHITECTURE.md, "Odoo client"):
//!
//! * `settings`  — what the config layer fills in.
//! * `transport` — pure encoders/decoders of the three wire formats ([`Call`] in, value or
//!   [`OdooError`] out); the contract tests run every capture of a real Odoo through them.
//! * `error`     — the one taxonomy, retry and ambiguity rules.
//! * `client`    — HTTP, version detection, protocol choice, auth, concurrency, read retries.
//! * `api`       — the typed calls (`search_read`, `create`, `grouped_sums`, …).
//! * `decode`    — Odoo values to Rust (`false`, many2one, datetimes, money as `Decimal`).
//! * `domain`    — search domains in prefix notation.
//! * `stock`     — the aggregated stock read.
//! * `diagnostics` — what `odoo-channels check` reports.

mod api;
mod client;
pub mod decode;
pub mod diagnostics;
mod domain;
mod error;
mod settings;
mod stock;
pub mod transport;

pub use api::{
    Context, GroupKey, GroupRow, LogEntry, MessageKind, Pages, SearchOpts, normalise_group_row,
};
pub use client::OdooClient;
pub use decode::{Currency, M2o, Record};
pub use domain::{Domain, DomainValue};
pub use error::{CallKind, CallRef, DecodeError, Fault, FaultCode, OdooError, RetryKind};
pub use odoo_wire::{OdooVersion, VersionMap};
pub use settings::{Protocol, RetryPolicy, SecretKind, Settings};
pub use stock::{StockLevel, add_quants};
pub use transport::Call;
