//! The generated v1 API (tonic + prost) and its canonical proto3 JSON (pbjson). Only `convert/`,
//! `service.rs`, `server.rs` and the CLI's edges use these types; the domain never sees them.
#![allow(clippy::all, missing_docs, unused_qualifications)]

include!(concat!(env!("OUT_DIR"), "/theatre.optimiser.v1.rs"));
include!(concat!(env!("OUT_DIR"), "/theatre.optimiser.v1.serde.rs"));

/// The encoded file descriptor set, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/theatre_descriptor.bin"));
