//! `report`: a self-contained HTML report of a plan JSON, or of a `whatif` comparison JSON.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::io::report;

use super::files::{file_label, write_text};

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A plan (`solve --out`) or a comparison (`whatif --out`).
    #[arg(long)]
    plan: PathBuf,
    /// Another plan to compare with: KPIs side by side, with this plan's changes from it.
    #[arg(long)]
    compare: Option<PathBuf>,
    #[arg(long, value_name = "FILE.html")]
    out: PathBuf,
    /// Page title (default: from the file name).
    #[arg(long)]
    title: Option<String>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    write_report(&args.plan, args.compare.as_deref(), &args.out, args.title)
}

fn read_plan_or_comparison(
    path: &Path,
) -> Result<Result<pb::ProposeAllocationsResponse, pb::CompareScenariosResponse>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_str::<pb::ProposeAllocationsResponse>(&text) {
        Ok(plan) => Ok(Ok(plan)),
        Err(plan_err) => match serde_json::from_str::<pb::CompareScenariosResponse>(&text) {
            Ok(comparison) if comparison.base.is_some() => Ok(Err(comparison)),
            _ => Err(anyhow::Error::new(plan_err).context(format!(
                "{} is not a plan JSON nor a comparison JSON",
                path.display()
            ))),
        },
    }
}

fn write_report(plan: &Path, compare: Option<&Path>, out: &Path, title: Option<String>) -> Result<()> {
    let main = read_plan_or_comparison(plan)?;
    let html = match (main, compare) {
        (Ok(plan_json), None) => {
            let title = title.unwrap_or_else(|| format!("Theatre lists: {}", file_label(plan)));
            report::html(&plan_json, None, &title)
        }
        (Ok(plan_json), Some(other)) => {
            let other_plan = match read_plan_or_comparison(other)? {
                Ok(p) => p,
                Err(_) => anyhow::bail!("--compare takes a plan JSON, not a comparison"),
            };
            let name = file_label(other);
            let title =
                title.unwrap_or_else(|| format!("Theatre lists: {} against {name}", file_label(plan)));
            report::html(&plan_json, Some((&name, &other_plan)), &title)
        }
        (Err(comparison), None) => {
            let title = title.unwrap_or_else(|| format!("What-if comparison: {}", file_label(plan)));
            report::comparison_html(&comparison, &title)
        }
        (Err(_), Some(_)) => {
            anyhow::bail!("--compare takes a plan JSON; a comparison already holds its plans")
        }
    };
    write_text(out, &html)
}
