//! `export-model`: writes a request's pair model as an MPS file, so that another MILP or CP
//! solver can solve the very problem the planner solves (`make bench-peers` does).

use std::path::PathBuf;

use anyhow::{Context, Result};
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::planning::model::export::write_pair_model;

use super::files::{describe_invalid, read_request};

#[derive(clap::Args)]
pub struct ExportModelArgs {
    /// The request JSON.
    #[arg(long)]
    request: PathBuf,
    /// The model file to write (`.mps`).
    #[arg(long, value_name = "FILE.mps")]
    out: PathBuf,
}

pub fn run(args: ExportModelArgs) -> Result<()> {
    let request = read_request(&args.request)?;
    let req = PlanningRequest::try_from(request).map_err(|e| anyhow::anyhow!(describe_invalid(&e)))?;
    let model =
        write_pair_model(&req, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    // The numbers a peer needs to turn its objective into the plan's, as JSON on stdout.
    println!(
        "{}",
        serde_json::json!({
            "variables": model.variables,
            "constraints": model.constraints,
            "objective_constant": model.objective_constant,
            "empty_plan_value": model.empty_plan_value,
        })
    );
    Ok(())
}
