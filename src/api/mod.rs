//! The gRPC API.

pub mod convert;
pub mod metrics;
pub mod proto;
pub mod server;
pub mod service;
pub mod whatif;
