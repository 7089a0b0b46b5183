//! Wire-level knowledge shared by the daemon's Odoo client and the Odoo sandbox.
//!
//! Both sides of the conversation live in this workspace: the client in `src/odoo/` and the
//! emulator in `sandbox/`. Anything they must agree on byte for byte (how XML-RPC encodes a
//! value, how Odoo prints a datetime) or fact for fact (which field is called what in which
//! Odoo version) lives here exactly once, so the two can never drift apart silently. The
//! contract tests then pin both against the captures of a real Odoo in `../shared`.

pub mod datetime;
#[cfg(any(test, feature = "reference"))]
pub mod reference;
pub mod versions;
pub mod xmlrpc;

pub use versions::{OdooVersion, VersionMap};
