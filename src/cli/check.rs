//! `check`: the independent plan checker's verdict on a plan made elsewhere (`CheckPlan`
//! offline, on the same code path as the service). The plan is a plan JSON as `solve` writes it
//! (its lists' cases, in order, are the plan; everything else in it is ignored) or a JSON
//! object `{"lists": [{"sessionId": ..., "patientIds": [...]}]}`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use theatre_optimiser::api::{desk, proto as pb};

use super::files::{describe, read_request, write_json};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The world: a request JSON (sessions, pool, existing bookings, policy).
    #[arg(long)]
    request: PathBuf,
    /// The plan to check.
    #[arg(long)]
    plan: PathBuf,
    /// Where to write the verdict JSON (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A plan's lists from a plan JSON or a `{"lists": [...]}` JSON.
pub fn read_lists(path: &Path) -> Result<Vec<pb::PlannedList>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if let Ok(plan) = serde_json::from_str::<pb::ProposeAllocationsResponse>(&text) {
        if !plan.sessions.is_empty() {
            return Ok(plan
                .sessions
                .into_iter()
                .filter(|s| !s.cases.is_empty())
                .map(|s| pb::PlannedList {
                    session_id: s.session_id,
                    patient_ids: s.cases.into_iter().map(|c| c.patient_id).collect(),
                })
                .collect());
        }
    }
    let lists: pb::CheckPlanRequest = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is neither a plan JSON nor a {{\"lists\": [...]}} JSON",
            path.display()
        )
    })?;
    Ok(lists.lists)
}

pub fn run(args: CheckArgs) -> Result<()> {
    let verdict = desk::check_plan(
        pb::CheckPlanRequest {
            world: Some(read_request(&args.request)?),
            lists: read_lists(&args.plan)?,
            world_id: String::new(),
        },
        None,
    )
    .map_err(|e| anyhow::anyhow!(describe(e)))?;
    eprintln!(
        "{}: {} violation(s), objective {:.3}",
        if verdict.valid { "valid" } else { "invalid" },
        verdict.violations.len(),
        verdict.objective
    );
    write_json(&verdict, args.out.as_ref())?;
    if !verdict.valid {
        std::process::exit(1);
    }
    Ok(())
}
