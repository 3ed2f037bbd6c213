//! `theatre-load`: drives a theatre-optimiser server on this machine with concurrent gRPC clients
//! and reports throughput, latency percentiles, answers by status code and the server's peak
//! memory.
//!
//! ```sh
//! theatre-load --addr 127.0.0.1:50051 --concurrency 8 --requests 2000 --duration-seconds 60
//! theatre-load suite --server-bin target/release/theatre-optimiser --append BENCHMARKS.md
//! ```
//!
//! It only ever sends to loopback addresses (127.0.0.0/8, ::1): anything else is refused. Every
//! run is bounded in requests and in time, and every request carries a deadline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::synth::{self, Scale};
use tonic::transport::Channel;
use tonic::Code;

#[derive(Parser)]
#[command(
    name = "theatre-load",
    about = "Load-tests a theatre-optimiser server on loopback",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Suite>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Subcommand)]
enum Suite {
    /// Start a server on a free loopback port, run the standard phases and a soak, stop the server
    /// and append the results to a Markdown file (what `make load` runs).
    Suite(SuiteArgs),
}

#[derive(Args, Clone)]
struct LoadArgs {
    /// The server, on a loopback address (127.0.0.0/8, [::1] or localhost).
    #[arg(long, default_value = "127.0.0.1:50051")]
    addr: String,
    /// Clients sending at once, each on its own connection.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Requests to send in all (the run stops at this count or the duration, whichever is first).
    #[arg(long, default_value_t = 1000)]
    requests: u64,
    /// Stop sending after this many seconds (requests under way finish).
    #[arg(long, default_value_t = 60.0)]
    duration_seconds: f64,
    #[arg(long, value_enum, default_value_t = LoadScale::Theatre)]
    scale: LoadScale,
    /// First generator seed; `--distinct` requests are made from consecutive seeds.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Different generated requests sent in turn.
    #[arg(long, default_value_t = 4)]
    distinct: u64,
    /// Which planner the requests ask for.
    #[arg(long, value_enum, default_value_t = LoadPlanner::Optimiser)]
    planner: LoadPlanner,
    /// Override the policy time limit of every request, seconds.
    #[arg(long)]
    time_limit_seconds: Option<f64>,
    /// gRPC deadline of every request, seconds.
    #[arg(long, default_value_t = 60.0)]
    timeout_seconds: f64,
    /// Bearer token to send.
    #[arg(long, env = "THEATRE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Report this process's peak resident memory (VmHWM in /proc/<pid>/status).
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Args)]
struct SuiteArgs {
    /// The `theatre-optimiser` binary to serve with.
    #[arg(long, default_value = "target/release/theatre-optimiser")]
    server_bin: PathBuf,
    /// Markdown file to add the results to, under "## Service load".
    #[arg(long)]
    append: Option<PathBuf>,
    /// Length of the soak phase, seconds.
    #[arg(long, default_value_t = 600.0)]
    soak_seconds: f64,
    /// Length of each of the two measured phases, seconds.
    #[arg(long, default_value_t = 60.0)]
    phase_seconds: f64,
    /// How the run was started, for the record.
    #[arg(long, default_value = "make load")]
    command: String,
    /// Where the server's log goes.
    #[arg(long, default_value = "target/load/server.log")]
    server_log: PathBuf,
}

#[derive(Clone, Copy, ValueEnum, Debug, PartialEq, Eq)]
enum LoadPlanner {
    /// The MILP (the default planner).
    Optimiser,
    /// First-fit only: measures the service without the solver.
    Baseline,
}

#[derive(Clone, Copy, ValueEnum, Debug)]
enum LoadScale {
    Theatre,
    Trust,
}

impl LoadScale {
    fn scale(self) -> Scale {
        match self {
            LoadScale::Theatre => Scale::Theatre,
            LoadScale::Trust => Scale::Trust,
        }
    }

    fn name(self) -> &'static str {
        match self {
            LoadScale::Theatre => "theatre",
            LoadScale::Trust => "trust",
        }
    }
}

/// Resolves `addr` and refuses it unless every address it names is loopback.
async fn loopback(addr: &str) -> Result<SocketAddr> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("resolving {addr}"))?
        .collect();
    if resolved.is_empty() {
        bail!("{addr} resolves to nothing");
    }
    if let Some(other) = resolved.iter().find(|a| !a.ip().is_loopback()) {
        bail!("refusing {addr}: {other} is not a loopback address; theatre-load only targets this machine");
    }
    Ok(resolved[0])
}

/// One answer: how long it took and its status code.
#[derive(Clone, Copy)]
struct Sample {
    latency: Duration,
    code: Code,
    /// Solver time reported in the plan, seconds (OK answers only).
    solve_seconds: Option<f64>,
}

/// What one load run measured.
struct Report {
    label: String,
    scale: LoadScale,
    planner: LoadPlanner,
    concurrency: usize,
    wall: Duration,
    samples: Vec<Sample>,
    rss: Option<Rss>,
}

#[derive(Clone, Copy, Default)]
struct Rss {
    /// VmRSS when the run started, KiB.
    start_kib: u64,
    /// VmRSS when the run ended, KiB.
    end_kib: u64,
    /// VmHWM (peak since the process started) at the end, KiB.
    peak_kib: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    fn count(&self, code: Code) -> usize {
        self.samples.iter().filter(|s| s.code == code).count()
    }

    fn others(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for s in &self.samples {
            if s.code != Code::Ok && s.code != Code::ResourceExhausted {
                *out.entry(format!("{:?}", s.code)).or_default() += 1;
            }
        }
        out
    }

    /// Latencies of OK answers, sorted.
    fn ok_latencies(&self) -> Vec<Duration> {
        let mut l: Vec<Duration> = self
            .samples
            .iter()
            .filter(|s| s.code == Code::Ok)
            .map(|s| s.latency)
            .collect();
        l.sort();
        l
    }

    fn throughput(&self) -> f64 {
        self.count(Code::Ok) as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn mean_solve_ms(&self) -> Option<f64> {
        let v: Vec<f64> = self.samples.iter().filter_map(|s| s.solve_seconds).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64 * 1000.0)
    }

    fn text(&self) -> String {
        let l = self.ok_latencies();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {} scale, {:?} planner, {} clients, {} answers in {:.1} s: {:.2} plans/s",
            self.label,
            self.scale.name(),
            self.planner,
            self.concurrency,
            self.samples.len(),
            self.wall.as_secs_f64(),
            self.throughput()
        );
        let _ = writeln!(
            out,
            "  latency of OK answers: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms{}",
            ms(percentile(&l, 50.0)),
            ms(percentile(&l, 90.0)),
            ms(percentile(&l, 99.0)),
            ms(l.last().copied().unwrap_or_default()),
            self.mean_solve_ms()
                .map(|m| format!(" (solver {m:.1} ms on average)"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "  answers: OK {}, RESOURCE_EXHAUSTED {}, other {} {:?}",
            self.count(Code::Ok),
            self.count(Code::ResourceExhausted),
            self.others().values().sum::<usize>(),
            self.others()
        );
        if let Some(r) = self.rss {
            let _ = writeln!(
                out,
                "  server memory: RSS {:.1} MiB at start, {:.1} MiB at end, peak (VmHWM) {:.1} MiB",
                r.start_kib as f64 / 1024.0,
                r.end_kib as f64 / 1024.0,
                r.peak_kib as f64 / 1024.0
            );
        }
        out
    }

    fn markdown_row(&self) -> String {
        let l = self.ok_latencies();
        let others = self.others();
        let other_text = if others.is_empty() {
            "0".to_string()
        } else {
            others
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "| {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
            self.label,
            self.scale.name(),
            match self.planner {
                LoadPlanner::Optimiser => "optimiser",
                LoadPlanner::Baseline => "baseline",
            },
            self.concurrency,
            self.samples.len(),
            self.wall.as_secs_f64(),
            self.throughput(),
            ms(percentile(&l, 50.0)),
            ms(percentile(&l, 90.0)),
            ms(percentile(&l, 99.0)),
            ms(l.last().copied().unwrap_or_default()),
            self.count(Code::Ok),
            self.count(Code::ResourceExhausted),
            other_text
        )
    }
}

/// A value in KiB from /proc/<pid>/status (`VmRSS`, `VmHWM`).
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn requests(args: &LoadArgs) -> Vec<pb::ProposeAllocationsRequest> {
    (0..args.distinct.max(1))
        .map(|i| {
            let mut r = synth::generate(args.scale.scale(), args.seed + i);
            if args.planner == LoadPlanner::Baseline {
                r.planner = pb::Planner::Baseline as i32;
            }
            if let Some(t) = args.time_limit_seconds {
                r.policy.get_or_insert_with(Default::default).time_limit_seconds = Some(t);
            }
            r
        })
        .collect()
}

/// Runs one bounded load against a loopback server.
async fn run_load(args: &LoadArgs, label: &str) -> Result<Report> {
    let addr = loopback(&args.addr).await?;
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let requests = Arc::new(requests(args));
    let timeout = Duration::from_secs_f64(args.timeout_seconds.max(0.001));
    let duration = Duration::from_secs_f64(args.duration_seconds.max(0.0));
    let token = match &args.token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse::<tonic::metadata::MetadataValue<_>>()
                .context("the token is not a valid header value")?,
        ),
        None => None,
    };
    let mut clients = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let channel = Channel::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(10))
            .connect()
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        clients.push(
            TheatreOptimiserClient::new(channel)
                .max_decoding_message_size(256 * 1024 * 1024)
                .max_encoding_message_size(256 * 1024 * 1024),
        );
    }
    let issued = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let rss_start = args.server_pid.and_then(|pid| proc_status_kib(pid, "VmRSS"));
    let started = Instant::now();
    let stop_at = started + duration;
    let limit = args.requests;
    let mut tasks = tokio::task::JoinSet::new();
    for mut client in clients {
        let (requests, issued, samples, token) =
            (requests.clone(), issued.clone(), samples.clone(), token.clone());
        tasks.spawn(async move {
            loop {
                if Instant::now() >= stop_at {
                    break;
                }
                let n = issued.fetch_add(1, Ordering::SeqCst);
                if n >= limit {
                    break;
                }
                let mut request = tonic::Request::new(requests[(n % requests.len() as u64) as usize].clone());
                request.set_timeout(timeout);
                if let Some(t) = &token {
                    request.metadata_mut().insert("authorization", t.clone());
                }
                let sent = Instant::now();
                let out = client.propose_allocations(request).await;
                let latency = sent.elapsed();
                let sample = match out {
                    Ok(r) => Sample {
                        latency,
                        code: Code::Ok,
                        solve_seconds: r.into_inner().solver.map(|s| s.solve_seconds),
                    },
                    Err(s) => Sample {
                        latency,
                        code: s.code(),
                        solve_seconds: None,
                    },
                };
                samples.lock().expect("samples").push(sample);
                // A refused request waits a moment, as a real client honouring RetryInfo would.
                if sample.code == Code::ResourceExhausted {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
    }
    // Hard bound: the duration, plus one deadline for requests under way, plus slack.
    let bound = duration + timeout + Duration::from_secs(10);
    let all_done = async {
        while let Some(joined) = tasks.join_next().await {
            joined?;
        }
        Ok::<_, anyhow::Error>(())
    };
    match tokio::time::timeout(bound, all_done).await {
        Ok(out) => out?,
        Err(_) => bail!("the load run overran its bound of {:.0} s", bound.as_secs_f64()),
    }
    let wall = started.elapsed();
    let rss = args.server_pid.map(|pid| Rss {
        start_kib: rss_start.unwrap_or(0),
        end_kib: proc_status_kib(pid, "VmRSS").unwrap_or(0),
        peak_kib: proc_status_kib(pid, "VmHWM").unwrap_or(0),
    });
    let samples = std::mem::take(&mut *samples.lock().expect("samples"));
    Ok(Report {
        label: label.to_string(),
        scale: args.scale,
        planner: args.planner,
        concurrency: args.concurrency,
        wall,
        samples,
        rss,
    })
}

fn free_loopback_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until the server answers a health check (SERVING), at most `limit`.
async fn wait_serving(addr: SocketAddr, limit: Duration) -> Result<()> {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let until = Instant::now() + limit;
    loop {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))?.connect().await {
            let reply = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if reply.is_ok_and(|r| r.into_inner().status == 1) {
                return Ok(());
            }
        }
        if Instant::now() >= until {
            bail!("the server at {addr} did not become ready within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `GET /metrics` from the server's metrics port.
async fn scrape(addr: SocketAddr) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_string(&mut text)).await??;
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The server process; killed if still running when dropped.
struct ServerProcess {
    child: Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or("?".into(), |kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0));
    let kernel = sh("uname", &["-sr"]).unwrap_or_else(|| "unknown OS".into());
    let rustc = sh("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".into());
    format!("{cpu}, {cores} cores, {mem} memory; {kernel}; {rustc}")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn commit() -> String {
    let head = sh("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head} with uncommitted changes")
    } else {
        head
    }
}

async fn suite(args: SuiteArgs) -> Result<()> {
    if !args.server_bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release)",
            args.server_bin.display()
        );
    }
    let port = free_loopback_port()?;
    let metrics_port = free_loopback_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let metrics_addr = SocketAddr::from(([127, 0, 0, 1], metrics_port));
    if let Some(dir) = args.server_log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let log = std::fs::File::create(&args.server_log)
        .with_context(|| format!("creating {}", args.server_log.display()))?;
    let serve_args = [
        "--log-format".to_string(),
        "json".to_string(),
        "serve".to_string(),
        "--addr".to_string(),
        addr.to_string(),
        "--metrics-addr".to_string(),
        metrics_addr.to_string(),
    ];
    eprintln!(
        "load: starting {} {}",
        args.server_bin.display(),
        serve_args.join(" ")
    );
    let child = Command::new(&args.server_bin)
        .args(&serve_args)
        .env_remove("THEATRE_TOKEN")
        .env_remove("THEATRE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", args.server_bin.display()))?;
    let mut server = ServerProcess { child };
    let pid = server.child.id();
    let load_before = loadavg();
    wait_serving(addr, Duration::from_secs(60)).await?;
    let rss_idle = proc_status_kib(pid, "VmRSS").unwrap_or(0);
    let base = LoadArgs {
        addr: addr.to_string(),
        concurrency: 8,
        requests: 1_000_000,
        duration_seconds: args.phase_seconds,
        scale: LoadScale::Theatre,
        seed: 1,
        distinct: 4,
        planner: LoadPlanner::Optimiser,
        time_limit_seconds: None,
        timeout_seconds: 60.0,
        token: None,
        server_pid: Some(pid),
    };

    // Warm-up: first connections, allocator and page cache; not reported.
    let warm = LoadArgs {
        duration_seconds: 5.0,
        requests: 200,
        ..base.clone()
    };
    run_load(&warm, "warm-up").await?;

    let mut reports = Vec::new();
    let small = base.clone();
    eprintln!("load: theatre scale, 8 clients, {:.0} s", small.duration_seconds);
    let r = run_load(&small, "small").await?;
    eprint!("{}", r.text());
    reports.push(r);

    // The same requests with the baseline planner: the service's own cost without the solver.
    let service_only = LoadArgs {
        planner: LoadPlanner::Baseline,
        ..base.clone()
    };
    eprintln!(
        "load: theatre scale, baseline planner, 8 clients, {:.0} s",
        service_only.duration_seconds
    );
    let r = run_load(&service_only, "small, no solver").await?;
    eprint!("{}", r.text());
    reports.push(r);

    let large = LoadArgs {
        concurrency: 2,
        scale: LoadScale::Trust,
        requests: 1_000,
        timeout_seconds: 120.0,
        duration_seconds: args.phase_seconds.max(30.0),
        ..base.clone()
    };
    eprintln!("load: trust scale, 2 clients, {:.0} s", large.duration_seconds);
    let r = run_load(&large, "large").await?;
    eprint!("{}", r.text());
    reports.push(r);

    // Soak: small requests from 7 clients and large ones from 1, side by side.
    eprintln!("load: soak, {:.0} s", args.soak_seconds);
    let soak_small = LoadArgs {
        concurrency: 7,
        duration_seconds: args.soak_seconds,
        requests: 10_000_000,
        ..base.clone()
    };
    let soak_large = LoadArgs {
        concurrency: 1,
        scale: LoadScale::Trust,
        duration_seconds: args.soak_seconds,
        requests: 100_000,
        timeout_seconds: 120.0,
        seed: 11,
        ..base.clone()
    };
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let rss_trace = Arc::new(Mutex::new(Vec::<(f64, u64)>::new()));
    let sampler = {
        let (stop, trace) = (stop_sampling.clone(), rss_trace.clone());
        tokio::spawn(async move {
            let t0 = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                if let Some(kib) = proc_status_kib(pid, "VmRSS") {
                    trace.lock().expect("rss").push((t0.elapsed().as_secs_f64(), kib));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let (a, b) = tokio::join!(
        run_load(&soak_small, "soak (small)"),
        run_load(&soak_large, "soak (large)")
    );
    stop_sampling.store(true, Ordering::SeqCst);
    let _ = sampler.await;
    for r in [a?, b?] {
        eprint!("{}", r.text());
        reports.push(r);
    }
    let trace = std::mem::take(&mut *rss_trace.lock().expect("rss"));
    let rss_at = |fraction: f64| -> u64 {
        let n = trace.len();
        if n == 0 {
            return 0;
        }
        trace[((n - 1) as f64 * fraction).round() as usize].1
    };
    let peak = proc_status_kib(pid, "VmHWM").unwrap_or(0);
    let metrics = scrape(metrics_addr).await.unwrap_or_default();

    // Graceful stop: SIGTERM, then wait (bounded) for the drain.
    let stopping = Instant::now();
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let mut exit = None;
    while stopping.elapsed() < Duration::from_secs(60) {
        if let Some(status) = server.child.try_wait()? {
            exit = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stop_text = match exit {
        Some(s) => format!(
            "SIGTERM: exited ({s}) after {:.1} s",
            stopping.elapsed().as_secs_f64()
        ),
        None => "SIGTERM: still running after 60 s; killed".to_string(),
    };
    drop(server);

    let mut md = String::new();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let _ = writeln!(md, "### {now}, commit {}\n", commit());
    let _ = writeln!(md, "- Machine: {}", machine());
    let _ = writeln!(
        md,
        "- Command: `{}` (server: `theatre-optimiser {}`, defaults: solve slots = cores, queue = 4 x cores; load: `theatre-load suite --phase-seconds {} --soak-seconds {}`)",
        args.command,
        serve_args.join(" "),
        args.phase_seconds,
        args.soak_seconds
    );
    let _ = writeln!(
        md,
        "- Requests: generated (`theatre-optimiser generate`), 4 seeds per scale in turn; theatre scale ~20 lists / 120 patients, trust scale ~430 lists / 2,400 patients with the default 10 s policy time limit. Every request carries a gRPC deadline (60 s small, 120 s large). The baseline-planner phase sends the same small requests with `planner: BASELINE` (first-fit, no MILP): the service's own cost without the solver. Latencies are of OK answers, measured at the client on the same machine.\n"
    );
    let _ = writeln!(md, "| phase | scale | planner | clients | answers | seconds | plans/s | p50 ms | p90 ms | p99 ms | max ms | OK | RESOURCE_EXHAUSTED | other |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &reports {
        let _ = writeln!(md, "{}", r.markdown_row());
    }
    let _ = writeln!(md);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let _ = writeln!(
        md,
        "- Server memory: {:.1} MiB idle; during the soak {:.1} MiB at 10%, {:.1} MiB at 50%, {:.1} MiB at the end; peak (VmHWM) {:.1} MiB.",
        mib(rss_idle),
        mib(rss_at(0.1)),
        mib(rss_at(0.5)),
        mib(rss_at(1.0)),
        mib(peak)
    );
    let counters: Vec<String> = [
        "theatre_requests_total",
        "theatre_request_errors_total",
        "theatre_requests_refused_total",
        "theatre_solves_cancelled_total",
        "theatre_deadline_exceeded_total",
        "theatre_solves_in_flight",
        "theatre_queue_depth",
    ]
    .iter()
    .filter_map(|n| metric(&metrics, n).map(|v| format!("`{n}` {v}")))
    .collect();
    let _ = writeln!(md, "- Server metrics at the end: {}.", counters.join(", "));
    let _ = writeln!(md, "- Shutdown: {stop_text}.");
    let _ = writeln!(
        md,
        "- Machine load average (1, 5, 15 min) before: {load_before}; after: {} (other work on the machine shares its cores).",
        loadavg()
    );
    print!("{md}");
    if let Some(path) = &args.append {
        append_section(path, &md)?;
        eprintln!("load: results added to {}", path.display());
    }
    Ok(())
}

const HEADING: &str = "## Service load";

/// Adds `run` at the end of the "## Service load" section of `path` (created if missing),
/// leaving every other section as it was.
fn append_section(path: &Path, run: &str) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let out = insert_run(&text, run);
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

fn insert_run(text: &str, run: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match lines.iter().position(|l| l.trim_end() == HEADING) {
        Some(start) => {
            let end = lines[start + 1..]
                .iter()
                .position(|l| l.starts_with("## ") || l.starts_with("# "))
                .map_or(lines.len(), |i| start + 1 + i);
            let mut out: Vec<String> = lines[..end].iter().map(|l| l.to_string()).collect();
            while out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
            out.push(String::new());
            out.extend(run.trim_end().lines().map(str::to_string));
            if end < lines.len() {
                out.push(String::new());
                out.extend(lines[end..].iter().map(|l| l.to_string()));
            }
            out.join("\n") + "\n"
        }
        None => {
            let mut out = text.trim_end().to_string();
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(HEADING);
            out.push_str(
                "\n\nThe gRPC service under concurrent load over loopback: `make load` builds in release, starts \
                 `theatre-optimiser serve` on a free 127.0.0.1 port, drives it with `theatre-load` (small \
                 requests at 8 clients, large ones at 2, then a soak of both), stops it with SIGTERM and adds \
                 a run below. Client and server share the machine's cores.\n\n",
            );
            out.push_str(run.trim_end());
            out.push('\n');
            out
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Suite::Suite(args)) => suite(args).await,
        None => {
            let report = run_load(&cli.load, "load").await?;
            print!("{}", report.text());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_loopback_is_targeted() {
        assert!(loopback("127.0.0.1:50051").await.is_ok());
        assert!(loopback("127.3.2.1:50051").await.is_ok());
        assert!(loopback("[::1]:50051").await.is_ok());
        assert!(loopback("localhost:50051").await.is_ok());
        for other in [
            "10.0.0.1:50051",
            "192.168.1.1:50051",
            "8.8.8.8:53",
            "0.0.0.0:50051",
        ] {
            let err = loopback(other).await.unwrap_err().to_string();
            assert!(err.contains("not a loopback"), "{other}: {err}");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let l: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&l, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&l, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&l, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&l[..1], 99.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn a_run_goes_into_its_section_and_other_sections_stay() {
        let first = insert_run("", "### run 1\n");
        assert!(first.starts_with("## Service load\n"));
        assert!(first.contains("### run 1"));
        let doc = format!("# Benchmarks\n\n## Solver\n\ntable\n\n{first}\n## Later\n\nkept\n");
        let second = insert_run(&doc, "### run 2\n");
        let (i1, i2, later) = (
            second.find("### run 1").unwrap(),
            second.find("### run 2").unwrap(),
            second.find("## Later").unwrap(),
        );
        assert!(i1 < i2 && i2 < later, "{second}");
        assert!(second.contains("## Solver\n\ntable\n"));
        assert!(second.contains("## Later\n\nkept\n"));
        assert_eq!(second.matches(HEADING).count(), 1);
    }

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "theatre_requests_total 12\ntheatre_requests_refused_total 3\n";
        assert_eq!(metric(text, "theatre_requests_total"), Some(12.0));
        assert_eq!(metric(text, "theatre_requests_refused_total"), Some(3.0));
        assert_eq!(metric(text, "theatre_requests"), None);
    }
}
