//! Generates the gRPC code and its canonical proto3 JSON (serde) impls from `proto/`, and a
//! second server for the same service whose codec is that JSON (`application/grpc+json`).
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

    // The same service again, speaking `application/grpc+json`: only the server code, over the
    // message types above (extern), with the JSON codec of `src/api/grpc_json.rs`.
    let json_out = out.join("grpc_json");
    std::fs::create_dir_all(&json_out)?;
    tonic_prost_build::configure()
        .out_dir(&json_out)
        .build_client(false)
        .compile_well_known_types(false)
        .extern_path(".theatre.optimiser.v1", "crate::api::proto")
        .codec_path("crate::api::grpc_json::JsonCodec")
        .compile_protos(&["proto/theatre/optimiser/v1/optimiser.proto"], &["proto"])?;
    one_service_trait(&json_out.join("theatre.optimiser.v1.rs"))?;

    let bytes = std::fs::read(&descriptors)?;
    pbjson_build::Builder::new()
        .register_descriptors(&bytes)?
        .build(&[".theatre"])?;
    Ok(())
}

/// The JSON server's generated `TheatreOptimiser` trait is replaced by the protobuf server's, so
/// one implementation serves both encodings.
fn one_service_trait(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let code = std::fs::read_to_string(path)?;
    let start = code
        .find("    #[async_trait]\n    pub trait TheatreOptimiser:")
        .ok_or("no TheatreOptimiser trait in the JSON server's code")?;
    let end = start
        + code[start..]
            .find("\n    }\n")
            .ok_or("no end to the TheatreOptimiser trait")?
        + "\n    }\n".len();
    let code = format!(
        "{}    pub use crate::api::proto::theatre_optimiser_server::TheatreOptimiser;\n{}",
        &code[..start],
        &code[end..]
    );
    std::fs::write(path, code)?;
    Ok(())
}
