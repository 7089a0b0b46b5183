//! placeholder while the server compiles
pub mod sandbox;
