//! `generate`: a realistic generated request JSON (`synth`).

use std::path::PathBuf;

use anyhow::Result;
use theatre_optimiser::synth;

use super::files::write_json;

#[derive(clap::Args)]
pub struct GenerateArgs {
    #[arg(long, default_value = "trust")]
    scale: synth::Scale,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: GenerateArgs) -> Result<()> {
    write_json(&synth::generate(args.scale, args.seed), args.out.as_ref())
}
