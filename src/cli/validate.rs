//! `validate`: every violation of a request JSON at once, as the service reports them before
//! planning (`ValidateRequest` offline). Exits 1 when the request is invalid.

use std::path::PathBuf;

use anyhow::Result;
use theatre_optimiser::api::{desk, proto as pb};

use super::files::read_request;

#[derive(clap::Args)]
pub struct ValidateArgs {
    #[arg(long)]
    request: PathBuf,
}

pub fn run(args: ValidateArgs) -> Result<()> {
    let verdict = desk::validate_request(pb::ValidateRequestRequest {
        world: Some(read_request(&args.request)?),
    });
    if verdict.valid {
        println!("valid");
        return Ok(());
    }
    println!("invalid: {} violation(s)", verdict.violations.len());
    for v in &verdict.violations {
        println!("  {}: {}", v.field, v.description);
    }
    std::process::exit(1);
}
