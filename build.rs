//! Generates the gRPC code and its canonical proto3 JSON (serde) impls from `proto/`.
//! `protoc` comes from the `protoc-bin-vendored` crate, never from the system.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free in edition 2021: build scripts are single-threaded here.
    env::set_var("PROTOC", protoc);

    let out = PathBuf::from(env::var("OUT_DIR")?);
    let descriptors = out.join("theatre_descriptor.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptors)
        .compile_well_known_types(false)
        .compile_protos(&["proto/theatre/optimiser/v1/optimiser.proto"], &["proto"])?;

    let bytes = std::fs::read(&descriptors)?;
    pbjson_build::Builder::new()
        .register_descriptors(&bytes)?
        .build(&[".theatre"])?;
    Ok(())
}
