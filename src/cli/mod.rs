//! The `theatre-optimiser` command line: serve the gRPC API, plan a request offline, run the demo,
//! generate benchmark requests, plan what-if scenarios, write HTML reports and import trust CSVs.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use theatre_optimiser::api;
use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::{self, ServerOptions, TlsPaths};
use theatre_optimiser::api::service::ServiceConfig;
use theatre_optimiser::api::whatif as scenario;
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::io::{import, report, summary};
use theatre_optimiser::planning::{Progress, ProgressSink, SolveOptions};

mod bench;
use theatre_optimiser::synth;

/// The sample request compiled into the binary: a children's day-surgery week at two sites.
const SAMPLE_REQUEST: &str = include_str!("../../examples/sample-request.json");

#[derive(Parser)]
#[command(
    name = "theatre-optimiser",
    version,
    about = "Plans NHS children's theatre lists (6-4-2, HVLC, age-appropriate lists)"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "THEATRE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC API.
    Serve(Box<ServeArgs>),
    /// Plan a request JSON offline (the same code path as the service).
    Solve {
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
    },
    /// Write a self-contained HTML report of a plan JSON (or of a `whatif` comparison JSON).
    Report {
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
    },
    /// Plan a base request and what-if scenarios side by side; print the KPIs with changes.
    Whatif {
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
    },
    /// Turn trust CSV exports (sessions, patient tracking list, sites, bookings) into a request JSON.
    Import {
        /// The theatre session schedule.
        #[arg(long)]
        sessions: PathBuf,
        /// The patient tracking list (PTL).
        #[arg(long)]
        patients: PathBuf,
        /// Sites (default: the sites named in the sessions, none a specialist centre).
        #[arg(long)]
        sites: Option<PathBuf>,
        /// Existing bookings.
        #[arg(long)]
        bookings: Option<PathBuf>,
        /// The "as of" date of the plan, YYYY-MM-DD.
        #[arg(long)]
        planning_date: String,
        /// Policy profile the request names.
        #[arg(long, default_value = "default")]
        profile: String,
        /// Where to write the request JSON (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Start the server on loopback, send the shipped sample through a real gRPC client, print the lists.
    Demo,
    /// Write a realistic generated request JSON.
    Generate {
        #[arg(long, default_value = "trust")]
        scale: synth::Scale,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Plan generated requests with the baseline and the optimiser; print (and optionally write) the table.
    Bench {
        /// Scales to run (default: all three).
        #[arg(long, value_delimiter = ',')]
        scales: Vec<synth::Scale>,
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        seeds: Vec<u64>,
        /// Override the profile's time limit, seconds.
        #[arg(long)]
        time_limit: Option<f64>,
        /// Write the report (Markdown) to this file.
        #[arg(long)]
        write: Option<PathBuf>,
    },
}

#[derive(clap::Args, serde::Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ServeArgs {
    /// A TOML file with any of these settings (flags and environment variables win).
    #[arg(long, env = "THEATRE_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "THEATRE_ADDR")]
    addr: Option<SocketAddr>,
    /// Address for Prometheus metrics (GET /metrics).
    #[arg(long, env = "THEATRE_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    #[arg(long, env = "THEATRE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    #[arg(long, env = "THEATRE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// CA for client certificates: enables mutual TLS.
    #[arg(long, env = "THEATRE_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>,
    /// Bearer token clients must send (prefer the environment variable to the flag).
    #[arg(long, env = "THEATRE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Allow plaintext on a non-loopback address (e.g. behind a TLS-terminating mesh).
    #[arg(long, env = "THEATRE_ALLOW_PLAINTEXT")]
    allow_plaintext: Option<bool>,
    #[arg(long, env = "THEATRE_MAX_CONCURRENT_SOLVES")]
    max_concurrent_solves: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_QUEUED")]
    max_queued: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_SESSIONS")]
    max_sessions: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_PATIENTS")]
    max_patients: Option<usize>,
    #[arg(long, env = "THEATRE_MAX_MESSAGE_BYTES")]
    max_message_bytes: Option<usize>,
    #[arg(long, env = "THEATRE_GRACE_SECONDS")]
    grace_seconds: Option<f64>,
}

impl ServeArgs {
    /// Flags and environment over the config file over defaults.
    fn resolve(self) -> Result<(SocketAddr, ServerOptions)> {
        let file: ServeArgs = match &self.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => ServeArgs::default(),
        };
        let d = ServerOptions::default();
        let s = ServiceConfig::default();
        let addr = self
            .addr
            .or(file.addr)
            .unwrap_or_else(|| "127.0.0.1:50051".parse().expect("address"));
        let cert = self.tls_cert.or(file.tls_cert);
        let key = self.tls_key.or(file.tls_key);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsPaths {
                cert,
                key,
                client_ca: self.tls_client_ca.or(file.tls_client_ca),
            }),
            (None, None) => None,
            _ => anyhow::bail!("TLS needs both --tls-cert and --tls-key"),
        };
        let options = ServerOptions {
            tls,
            token: self.token.or(file.token).filter(|t| !t.is_empty()),
            allow_plaintext: self.allow_plaintext.or(file.allow_plaintext).unwrap_or(false),
            max_message_bytes: self
                .max_message_bytes
                .or(file.max_message_bytes)
                .unwrap_or(d.max_message_bytes),
            metrics_addr: self.metrics_addr.or(file.metrics_addr),
            grace: Duration::from_secs_f64(
                self.grace_seconds
                    .or(file.grace_seconds)
                    .unwrap_or(d.grace.as_secs_f64()),
            ),
            service: ServiceConfig {
                max_concurrent_solves: self
                    .max_concurrent_solves
                    .or(file.max_concurrent_solves)
                    .unwrap_or(s.max_concurrent_solves),
                max_queued: self.max_queued.or(file.max_queued).unwrap_or(s.max_queued),
                max_sessions: self.max_sessions.or(file.max_sessions).unwrap_or(s.max_sessions),
                max_patients: self.max_patients.or(file.max_patients).unwrap_or(s.max_patients),
                deadline_margin: s.deadline_margin,
            },
        };
        Ok((addr, options))
    }
}

/// The progress bars on stderr; log lines are written around them (see [`LogWriter`]).
fn progress_bars() -> &'static MultiProgress {
    static BARS: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// Writes log lines to stderr with any progress bars lifted out of the way and redrawn after.
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        progress_bars().suspend(|| std::io::stderr().write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        progress_bars().suspend(|| std::io::stderr().write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| LogWriter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn read_request(path: &PathBuf) -> Result<pb::ProposeAllocationsRequest> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a valid request JSON", path.display()))
}

fn write_json<T: serde::Serialize>(value: &T, out: Option<&PathBuf>) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Runs the command line.
pub async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Command::Serve(args) => {
            let (addr, options) = args.resolve()?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            server::serve(
                listener,
                options,
                Arc::new(Metrics::default()),
                server::shutdown_signal(),
            )
            .await
        }
        Command::Solve {
            request: path,
            out,
            summary: show,
            report: html,
        } => {
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
        Command::Report {
            plan,
            compare,
            out,
            title,
        } => write_report(&plan, compare.as_deref(), &out, title),
        Command::Whatif {
            request,
            scenarios,
            out,
            report: html,
        } => {
            tokio::task::spawn_blocking(move || whatif(&request, &scenarios, out.as_ref(), html.as_ref()))
                .await?
        }
        Command::Import {
            sessions,
            patients,
            sites,
            bookings,
            planning_date,
            profile,
            out,
        } => import_csv(
            &sessions,
            &patients,
            sites.as_deref(),
            bookings.as_deref(),
            &planning_date,
            &profile,
            out.as_ref(),
        ),
        Command::Demo => demo().await,
        Command::Generate { scale, seed, out } => write_json(&synth::generate(scale, seed), out.as_ref()),
        Command::Bench {
            scales,
            seeds,
            time_limit,
            write,
        } => tokio::task::spawn_blocking(move || run_bench(scales, seeds, time_limit, write)).await?,
    }
}

/// Every violation of a refused request, one a line.
fn describe(e: api::ProposeError) -> String {
    match e {
        api::ProposeError::Invalid(inv) => {
            let lines: Vec<String> = inv
                .0
                .iter()
                .map(|v| format!("  {}: {}", v.field, v.description))
                .collect();
            format!(
                "invalid request ({} violation(s)):\n{}",
                inv.0.len(),
                lines.join("\n")
            )
        }
        other => other.to_string(),
    }
}

async fn demo() -> Result<()> {
    let request: pb::ProposeAllocationsRequest =
        serde_json::from_str(SAMPLE_REQUEST).context("the shipped sample")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        ServerOptions::default(),
        Arc::new(Metrics::default()),
        async {
            let _ = stop_rx.await;
        },
    ));
    eprintln!(
        "demo: server on {addr}; sending the sample week ({} lists, {} patients)",
        request.sessions.len(),
        request.patients.len()
    );
    let mut client =
        pb::theatre_optimiser_client::TheatreOptimiserClient::connect(format!("http://{addr}")).await?;
    let plan = client.propose_allocations(request).await?.into_inner();
    println!("{}", summary::text(&plan));
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}

fn run_bench(
    scales: Vec<synth::Scale>,
    seeds: Vec<u64>,
    time_limit: Option<f64>,
    write: Option<PathBuf>,
) -> Result<()> {
    let scales = if scales.is_empty() {
        vec![synth::Scale::Theatre, synth::Scale::Trust, synth::Scale::Region]
    } else {
        scales
    };
    let mut rows = Vec::new();
    for scale in &scales {
        for seed in &seeds {
            eprintln!("bench: {scale:?} seed {seed} ...");
            let row = bench::measure(*scale, *seed, time_limit)?;
            eprintln!(
                "  {} patients, {} sessions, {} pairs: optimiser {:.3} s objective {:.1} bound {:.1} gap {:.3}%; baseline {:.1}",
                row.patients, row.sessions, row.pairs, row.solve_seconds, row.objective, row.bound, row.gap * 100.0, row.baseline_objective
            );
            rows.push(row);
        }
    }
    let table = bench::markdown(&rows);
    println!("{table}");
    if let Some(path) = write {
        let report = bench::report(&rows, &std::env::args().collect::<Vec<_>>().join(" "));
        let existing = std::fs::read_to_string(&path).unwrap_or_default();
        let merged = bench::replace_section(&existing, &report);
        std::fs::write(&path, merged).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// A file's stem, for titles and column names.
fn file_label(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// The wall-clock limit the request's policy sets (for the progress bar's length).
fn time_limit_of(request: &pb::ProposeAllocationsRequest) -> Duration {
    let seconds = PlanningRequest::try_from(request.clone())
        .map(|r| r.policy.solver.time_limit_seconds)
        .unwrap_or(10.0);
    Duration::from_secs_f64(seconds.clamp(0.1, 86_400.0))
}

/// A progress bar for one solve, fed by `SolveOptions.progress`. It appears only when the solve
/// is still running after one second and stderr is a terminal; it is cleared when the solve ends.
struct Ticker {
    latest: Arc<Mutex<Option<Progress>>>,
    done: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Ticker {
    const DELAY: Duration = Duration::from_secs(1);

    fn start(multi: &MultiProgress, label: &str, limit: Duration) -> Ticker {
        let latest: Arc<Mutex<Option<Progress>>> = Arc::default();
        let (done, stopped) = mpsc::channel::<()>();
        let (multi, label, seen) = (multi.clone(), label.to_string(), latest.clone());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            if !matches!(
                stopped.recv_timeout(Ticker::DELAY),
                Err(mpsc::RecvTimeoutError::Timeout)
            ) || !std::io::stderr().is_terminal()
            {
                return;
            }
            let bar = multi.add(ProgressBar::new(limit.as_millis().max(1) as u64));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>12} [{bar:30}] {used:>4} of {limit}  {msg}")
                    .map(|s| {
                        s.with_key(
                            "used",
                            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = write!(w, "{:.0}s", state.pos() as f64 / 1000.0);
                            },
                        )
                        .with_key("limit", {
                            let limit = limit.as_secs_f64();
                            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                                let _ = write!(w, "{limit:.0}s limit");
                            }
                        })
                    })
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(label);
            loop {
                let elapsed = started.elapsed();
                bar.set_position((elapsed.as_millis() as u64).min(bar.length().unwrap_or(1)));
                if let Some(p) = *seen.lock().unwrap_or_else(|e| e.into_inner()) {
                    bar.set_message(format!(
                        "{}: objective {:.3}, bound {:.3}, gap {:.2}%",
                        p.phase,
                        p.best_objective,
                        p.best_bound,
                        p.relative_gap * 100.0
                    ));
                }
                match stopped.recv_timeout(Duration::from_millis(150)) {
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    _ => break,
                }
            }
            bar.finish_and_clear();
        });
        Ticker { latest, done, thread }
    }

    fn sink(&self) -> ProgressSink {
        let latest = self.latest.clone();
        Arc::new(move |p: Progress| {
            *latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
        })
    }

    fn finish(self) {
        let _ = self.done.send(());
        let _ = self.thread.join();
    }
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
    let base = read_request(&request.to_path_buf())?;
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
        anyhow::anyhow!("{}\n{}", describe(e.into()), files.join("\n"))
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

fn read_csv(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text (save the sheet as CSV UTF-8)", path.display()))
}

fn import_csv(
    sessions: &Path,
    patients: &Path,
    sites: Option<&Path>,
    bookings: Option<&Path>,
    planning_date: &str,
    profile: &str,
    out: Option<&PathBuf>,
) -> Result<()> {
    let names: Vec<String> = [Some(sessions), Some(patients), sites, bookings]
        .iter()
        .map(|p| p.map(|p| p.display().to_string()).unwrap_or_default())
        .collect();
    let texts: Vec<String> = [Some(sessions), Some(patients), sites, bookings]
        .iter()
        .map(|p| p.map(read_csv).transpose().map(Option::unwrap_or_default))
        .collect::<Result<_>>()?;
    let source = |i: usize| import::Source {
        name: &names[i],
        text: &texts[i],
    };
    let sources = import::Sources {
        sessions: source(0),
        patients: source(1),
        sites: sites.map(|_| source(2)),
        bookings: bookings.map(|_| source(3)),
    };
    let imported = match import::import(&sources, planning_date, profile) {
        Ok(imported) => imported,
        Err(e) => {
            // The problems are the whole message: no backtrace, no "Error:" wrapper.
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    let r = &imported.request;
    eprintln!(
        "import: {} site(s), {} session(s), {} patient(s), {} existing booking(s); the request is valid",
        r.sites.len(),
        r.sessions.len(),
        r.patients.len(),
        r.existing_bookings.len()
    );
    write_json(r, out)
}
