//! `whatif`: plans a base request and what-if scenarios side by side (up to one thread per core)
//! and prints the KPIs with each scenario's changes from the base.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{Context, Result};
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::{self, whatif as scenario};
use theatre_optimiser::io::report;
use theatre_optimiser::planning::SolveOptions;

use super::files::{describe, describe_invalid, file_label, read_request, write_json, write_text};
use super::progress::{progress_bars, time_limit_of, Ticker};

#[derive(clap::Args)]
pub struct WhatifArgs {
    /// The base request JSON.
    #[arg(long)]
    request: PathBuf,
    /// Scenario JSON files (the proto `Scenario`: a name and changes), planned concurrently.
    #[arg(long = "scenario", value_name = "FILE", required = true, num_args = 1..)]
    scenarios: Vec<PathBuf>,
    /// Write the comparison JSON (the `CompareScenariosResponse`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the comparison as a self-contained HTML report.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

pub async fn run(args: WhatifArgs) -> Result<()> {
    tokio::task::spawn_blocking(move || {
        whatif(
            &args.request,
            &args.scenarios,
            args.out.as_ref(),
            args.report.as_ref(),
        )
    })
    .await?
}

/// Reads a scenario file: the proto `Scenario` as JSON; an empty name becomes the file's stem.
fn read_scenario(path: &Path) -> Result<pb::Scenario> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut scenario: pb::Scenario = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid scenario JSON (a name and changes)",
            path.display()
        )
    })?;
    if scenario.name.trim().is_empty() {
        scenario.name = file_label(path);
    }
    Ok(scenario)
}

/// Plans every request on up to `available_parallelism` threads, sharing the cores among them.
fn plan_all(
    requests: Vec<(String, pb::ProposeAllocationsRequest)>,
) -> Vec<(String, Result<pb::ProposeAllocationsResponse, api::ProposeError>)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(requests.len()).max(1);
    let workers = (cores / threads).max(1);
    let multi = progress_bars();
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<pb::ProposeAllocationsResponse, api::ProposeError>>>> =
        requests.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((name, request)) = requests.get(i) else {
                    break;
                };
                let ticker = Ticker::start(multi, name, time_limit_of(request));
                let options = SolveOptions {
                    progress: Some(ticker.sink()),
                    workers: Some(workers),
                    ..SolveOptions::default()
                };
                let result = api::propose(request.clone(), &options);
                ticker.finish();
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    requests
        .into_iter()
        .zip(slots)
        .map(|((name, _), slot)| {
            let result = slot
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every request is planned");
            (name, result)
        })
        .collect()
}

fn whatif(
    request: &Path,
    scenario_files: &[PathBuf],
    out: Option<&PathBuf>,
    html: Option<&PathBuf>,
) -> Result<()> {
    let base = read_request(request)?;
    let scenarios = scenario_files
        .iter()
        .map(|p| read_scenario(p))
        .collect::<Result<Vec<_>>>()?;
    let compare = pb::CompareScenariosRequest {
        base: Some(base),
        scenarios,
    };
    let requests = scenario::expand(&compare).map_err(|e| {
        let files: Vec<String> = scenario_files
            .iter()
            .enumerate()
            .map(|(i, p)| format!("  scenarios[{i}] is {}", p.display()))
            .collect();
        anyhow::anyhow!("{}\n{}", describe_invalid(&e), files.join("\n"))
    })?;
    eprintln!(
        "whatif: planning the base and {} scenario(s) ({} patients, {} lists in the base)",
        requests.len() - 1,
        compare.base.as_ref().map_or(0, |b| b.patients.len()),
        compare.base.as_ref().map_or(0, |b| b.sessions.len()),
    );
    let mut plans = Vec::new();
    let mut failures = Vec::new();
    for (name, result) in plan_all(requests) {
        match result {
            Ok(plan) => plans.push((name, plan)),
            Err(e) => failures.push(format!("{name}: {}", describe(e))),
        }
    }
    if !failures.is_empty() {
        anyhow::bail!("{} plan(s) failed:\n{}", failures.len(), failures.join("\n"));
    }
    let comparison = scenario::compare(plans);
    let table_plans = report::comparison_plans(&comparison);
    println!("{}", report::kpi_text(&table_plans));
    for s in &comparison.scenarios {
        println!(
            "{}: {} patient(s) gain a date, {} lose one (ids in the comparison JSON and report)",
            s.name,
            s.gained.len(),
            s.lost.len()
        );
    }
    if let Some(path) = html {
        let title = format!("What-if comparison: {}", file_label(request));
        write_text(path, &report::comparison_html(&comparison, &title))?;
    }
    if let Some(path) = out {
        write_json(&comparison, Some(path))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
