//! odoo-channels: a daemon that runs beside Odoo and makes it the hub of a multichannel shop.
//!
//! See ARCHITECTURE.md for the map of this crate and its invariants.

pub mod allocation;
pub mod cli;
pub mod config;
pub mod embedded;
pub mod failpoint;
pub mod odoo;
pub mod server;
pub mod simulate;
pub mod store;
pub mod sync;
pub mod telemetry;
