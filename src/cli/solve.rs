//! `solve`: plans a request JSON offline, on the same path as the service.

use std::path::PathBuf;

use anyhow::Result;
use theatre_optimiser::api;
use theatre_optimiser::io::{report, summary};
use theatre_optimiser::planning::SolveOptions;

use super::files::{describe, file_label, read_request, write_json, write_text};
use super::progress::{progress_bars, time_limit_of, Ticker};

#[derive(clap::Args)]
pub struct SolveArgs {
    #[arg(long)]
    request: PathBuf,
    /// Where to write the plan JSON (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print a readable summary to stderr as well.
    #[arg(long)]
    summary: bool,
    /// Also write the plan as a self-contained HTML report.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

pub async fn run(args: SolveArgs) -> Result<()> {
    let SolveArgs {
        request: path,
        out,
        summary: show,
        report: html,
    } = args;
    let request = read_request(&path)?;
    let planning_date = request.planning_date.clone();
    let plan = tokio::task::spawn_blocking(move || {
        let ticker = Ticker::start(progress_bars(), "solving", time_limit_of(&request));
        let options = SolveOptions {
            progress: Some(ticker.sink()),
            ..SolveOptions::default()
        };
        let plan = api::propose(request, &options);
        ticker.finish();
        plan
    })
    .await?
    .map_err(|e| anyhow::anyhow!(describe(e)))?;
    if show {
        eprint!("{}", summary::text(&plan));
    }
    if let Some(html) = html {
        let title = format!("Theatre lists as of {planning_date}: {}", file_label(&path));
        write_text(&html, &report::html(&plan, None, &title))?;
    }
    write_json(&plan, out.as_ref())
}
