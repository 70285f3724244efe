//! The `strongroom` binary's library: configuration and application start-up, shared by the
//! `serve` command and the testkit (so tests start exactly what operators start).

pub mod backup;
pub mod config;
pub mod keys;
pub mod startup;
pub mod tls;
