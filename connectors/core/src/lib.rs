//! The channel interface every marketplace connector implements.
//!
//! See ARCHITECTURE.md, "Channels".

pub mod secret;
