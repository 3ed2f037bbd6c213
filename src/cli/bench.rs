//! The `bench` command: plans generated requests at each scale with the baseline and the
//! optimiser in the same run, and reports sizes, times, objective, bound, gap and the
//! optimiser/baseline ratio; optionally writes BENCHMARKS.md.

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use theatre_optimiser::check;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::solve::{plan, SolveOptions};
use theatre_optimiser::synth::{generate, Scale};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Scales to run (default: all three).
    #[arg(long, value_delimiter = ',')]
    scales: Vec<Scale>,
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    seeds: Vec<u64>,
    /// Override the profile's time limit, seconds.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Write the report (Markdown) to this file.
    #[arg(long)]
    write: Option<PathBuf>,
}

pub async fn run(args: BenchArgs) -> Result<()> {
    tokio::task::spawn_blocking(move || run_bench(args.scales, args.seeds, args.time_limit, args.write))
        .await?
}

fn run_bench(
    scales: Vec<Scale>,
    seeds: Vec<u64>,
    time_limit: Option<f64>,
    write: Option<PathBuf>,
) -> Result<()> {
    let scales = if scales.is_empty() {
        Scale::ALL.to_vec()
    } else {
        scales
    };
    let mut rows = Vec::new();
    for scale in &scales {
        for seed in &seeds {
            eprintln!("bench: {scale:?} seed {seed} ...");
            let row = measure(*scale, *seed, time_limit)?;
            eprintln!(
                "  {} patients, {} sessions, {} pairs: optimiser {:.3} s objective {:.1} bound {:.1} gap {:.3}%; baseline {:.1}",
                row.patients, row.sessions, row.pairs, row.solve_seconds, row.objective, row.bound, row.gap * 100.0, row.baseline_objective
            );
            rows.push(row);
        }
    }
    let table = markdown(&rows);
    println!("{table}");
    if let Some(path) = write {
        let report = report(&rows, &std::env::args().collect::<Vec<_>>().join(" "));
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        let merged = replace_section(&existing, &report);
        std::fs::write(&path, merged).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// One measured instance.
#[derive(Debug, Clone)]
pub struct Row {
    pub scale: Scale,
    pub seed: u64,
    pub patients: usize,
    pub sessions: usize,
    pub pairs: usize,
    pub components: usize,
    pub baseline_seconds: f64,
    pub baseline_objective: f64,
    pub solve_seconds: f64,
    pub objective: f64,
    pub bound: f64,
    pub gap: f64,
    pub status: String,
    pub booked: u32,
    pub baseline_booked: u32,
    pub utilisation: f64,
    pub peak_rss_mib: Option<f64>,
    /// The plain pair model (one binary per eligible pair) on the same request and time limit.
    pub pairs_objective: f64,
    pub pairs_bound: f64,
    pub pairs_seconds: f64,
}

/// Plans one generated instance with both planners.
pub fn measure(scale: Scale, seed: u64, time_limit: Option<f64>) -> anyhow::Result<Row> {
    let request = generate(scale, seed);
    let mut req = PlanningRequest::try_from(request).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(t) = time_limit {
        req.policy.solver.time_limit_seconds = t;
    }
    req.planner = PlannerKind::Baseline;
    let t0 = Instant::now();
    let base = plan(&req, &SolveOptions::default())?;
    let baseline_seconds = t0.elapsed().as_secs_f64();
    req.planner = PlannerKind::Optimiser;
    let t1 = Instant::now();
    let opt = plan(&req, &SolveOptions::default())?;
    let solve_seconds = t1.elapsed().as_secs_f64();
    let mut plain = req.clone();
    plain.policy.solver.pair_model = true;
    let t2 = Instant::now();
    let pairs = plan(&plain, &SolveOptions::default())?;
    let pairs_seconds = t2.elapsed().as_secs_f64();
    let violations = check::check(&req, &opt);
    anyhow::ensure!(
        violations.is_empty(),
        "the plan checker rejected the optimiser's plan ({} violations)",
        violations.len()
    );
    Ok(Row {
        scale,
        seed,
        patients: req.patients.len(),
        sessions: req.sessions.len(),
        pairs: opt.stats.eligible_pairs,
        components: opt.stats.components,
        baseline_seconds,
        baseline_objective: base.stats.objective,
        solve_seconds,
        objective: opt.stats.objective,
        bound: opt.stats.best_bound,
        gap: opt.stats.relative_gap,
        status: format!("{:?}", opt.status).to_lowercase(),
        booked: opt.kpis.booked,
        baseline_booked: base.kpis.booked,
        utilisation: opt.kpis.utilisation,
        peak_rss_mib: peak_rss_mib(),
        pairs_objective: pairs.stats.objective,
        pairs_bound: pairs.stats.best_bound,
        pairs_seconds,
    })
}

/// Peak resident memory of this process so far (Linux), MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The table of rows in Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| scale | seed | patients | sessions | eligible pairs | components | baseline s | baseline objective | optimiser s | objective | bound | gap | status | objective − baseline | booked (baseline) | utilisation | plain pair model s / objective / bound | peak RSS MiB |");
    let _ = writeln!(
        out,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {:?} | {} | {} | {} | {} | {} | {:.3} | {:.1} | {:.3} | {:.1} | {:.1} | {:.3}% | {} | {:+.1} | {} ({}) | {:.1}% | {:.2} / {:.1} / {:.1} | {} |",
            r.scale,
            r.seed,
            r.patients,
            r.sessions,
            r.pairs,
            r.components,
            r.baseline_seconds,
            r.baseline_objective,
            r.solve_seconds,
            r.objective,
            r.bound,
            r.gap * 100.0,
            r.status,
            r.objective - r.baseline_objective,
            r.booked,
            r.baseline_booked,
            r.utilisation * 100.0,
            r.pairs_seconds,
            r.pairs_objective,
            r.pairs_bound,
            r.peak_rss_mib.map_or("-".to_string(), |m| format!("{m:.0}")),
        );
    }
    out
}

/// The BENCHMARKS.md text for a run: machine, commit, command and the table.
pub fn report(rows: &[Row], command: &str) -> String {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_string(), |s| s.trim().to_string());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "## Planner benchmark\n\nMachine: {cpu}, {cores} cores. Commit: {commit}. Command: `{command}` (release build).\n\
         Baseline (first-fit) and optimiser run on the same generated request in the same process, one after the other.\n\
         Objective: higher is better (issue 4 value function); bound: proven upper bound; gap = (bound − objective) / max(|bound|, 1).\n\n{}",
        markdown(rows)
    )
}

/// `document` with its `## ` section of the same heading as `section` replaced (other sections,
/// such as the service load run, are kept); appended when it has none.
pub fn replace_section(document: &str, section: &str) -> String {
    let heading = section.lines().next().unwrap_or_default();
    let Some(start) = document.find(heading) else {
        let sep = if document.is_empty() || document.ends_with("\n\n") {
            ""
        } else {
            "\n"
        };
        return format!("{document}{sep}{section}");
    };
    let after = start + heading.len();
    let end = document[after..]
        .find("\n## ")
        .map_or(document.len(), |i| after + i + 1);
    format!(
        "{}{}{}",
        &document[..start],
        section.trim_end_matches('\n').to_string() + "\n\n",
        &document[end..]
    )
}

#[cfg(test)]
mod tests {
    use super::replace_section;

    #[test]
    fn a_section_is_replaced_in_place_and_others_kept() {
        let doc = "# Benchmarks\n\n## Planner benchmark\nold\n\n## Service load\nkeep\n";
        let out = replace_section(doc, "## Planner benchmark\nnew\n");
        assert_eq!(
            out,
            "# Benchmarks\n\n## Planner benchmark\nnew\n\n## Service load\nkeep\n"
        );
        let appended = replace_section("# B\n", "## Planner benchmark\nx\n");
        assert!(appended.ends_with("## Planner benchmark\nx\n"));
    }
}
