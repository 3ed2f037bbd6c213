//! The API: the only door for proto types besides `io/` and `synth/`. The generated code
//! (`proto`), conversion to and from the domain (`convert`: every violation at once), a proto
//! request answered ([`propose`]), the gRPC service (thin handlers) and server (health,
//! reflection, TLS), gRPC with JSON messages (`grpc_json`), its metrics, its traces (`trace`: request spans, the OTLP exporter), its
//! errors, and what-if scenarios (`whatif`: the deltas are proto messages, expanded into proto
//! requests, so they live behind this door too).
//!
//! Imports: `planning`, `domain`.

mod answer;
pub mod convert;
pub mod desk;
mod error;
pub mod grpc_json;
pub mod metrics;
pub mod proto;
mod rpc_metrics;
pub mod server;
pub mod service;
pub mod trace;
pub mod whatif;
pub mod worlds;

pub use answer::{propose, propose_with, Solver};
pub use error::{
    listed_violations, ProposeError, Queue, SizeLimit, MAX_LISTED_VIOLATIONS, MAX_VIOLATION_CHARS,
};
