//! The standard suite: a release server on a free loopback port, the small and large phases, a
//! soak recording the server's peak memory, and the results written down.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tonic::transport::Channel;

use crate::benchmarks_md::append_section;
use crate::desk::{LoadRpc, WorldBy};
use crate::load::{proc_status_kib, run_load};
use crate::{LoadArgs, LoadPlanner, LoadScale, SuiteArgs};

pub(crate) fn free_loopback_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until the server answers a health check (SERVING), at most `limit`.
pub(crate) async fn wait_serving(addr: SocketAddr, limit: Duration) -> Result<()> {
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
pub(crate) async fn scrape(addr: SocketAddr) -> Result<String> {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<tonic::codegen::Bytes>>();
    let uri: http::Uri = format!("http://{addr}/metrics").parse()?;
    let fetch = async {
        let response = client.get(uri).await?;
        anyhow::ensure!(
            response.status().is_success(),
            "metrics: HTTP {}",
            response.status()
        );
        let body = response.into_body().collect().await?.to_bytes();
        Ok(String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), fetch).await?
}

/// The value of the unlabelled sample `name` in a scrape.
pub(crate) fn metric(text: &str, name: &str) -> Option<f64> {
    use prometheus_parse::{Scrape, Value};
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).ok()?;
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && s.labels.is_empty())
        .and_then(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
            _ => None,
        })
}

/// The server process; killed if still running when dropped.
pub(crate) struct ServerProcess {
    pub(crate) child: Child,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub(crate) fn machine() -> String {
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

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

pub(crate) fn commit() -> String {
    let head = sh("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head} with uncommitted changes")
    } else {
        head
    }
}

pub(crate) async fn suite(args: SuiteArgs) -> Result<()> {
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
        rpc: LoadRpc::Propose,
        world: WorldBy::Held,
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

    // The booking desk's calls at trust scale from 8 clients: interactive, no solver. Each world is
    // loaded once and the calls name it (ValidateRequest sends its world: that is its work).
    for rpc in [
        LoadRpc::RecommendBackfill,
        LoadRpc::OfferDates,
        LoadRpc::CheckPlan,
        LoadRpc::ValidateRequest,
    ] {
        let desk = LoadArgs {
            scale: LoadScale::Trust,
            requests: 100_000,
            duration_seconds: args.phase_seconds.min(30.0),
            timeout_seconds: 10.0,
            rpc,
            ..base.clone()
        };
        eprintln!(
            "load: {}, trust scale, 8 clients, {:.0} s",
            rpc.name(),
            desk.duration_seconds
        );
        let r = run_load(&desk, &format!("desk: {}", rpc.name())).await?;
        eprint!("{}", r.text());
        reports.push(r);
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "# TYPE theatre_requests counter\ntheatre_requests_total 12\n\
                    # TYPE theatre_requests_refused counter\ntheatre_requests_refused_total 3\n# EOF\n";
        assert_eq!(metric(text, "theatre_requests_total"), Some(12.0));
        assert_eq!(metric(text, "theatre_requests_refused_total"), Some(3.0));
        assert_eq!(metric(text, "theatre_requests"), None);
    }
}
