//! One bounded load run against a loopback server: requests, latencies, answers by code, memory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::synth;
use tonic::transport::Channel;
use tonic::Code;

use crate::desk::{DeskCalls, LoadRpc, WorldBy};
use crate::{LoadArgs, LoadPlanner, LoadScale};

/// Resolves `addr` and refuses it unless every address it names is loopback.
pub(crate) async fn loopback(addr: &str) -> Result<SocketAddr> {
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
pub(crate) struct Sample {
    pub(crate) latency: Duration,
    pub(crate) code: Code,
    /// Solver time reported in the plan, seconds (OK answers only).
    pub(crate) solve_seconds: Option<f64>,
}

/// What one load run measured.
pub(crate) struct Report {
    pub(crate) label: String,
    pub(crate) scale: LoadScale,
    pub(crate) planner: LoadPlanner,
    pub(crate) concurrency: usize,
    pub(crate) wall: Duration,
    pub(crate) samples: Vec<Sample>,
    pub(crate) rss: Option<Rss>,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Rss {
    /// VmRSS when the run started, KiB.
    pub(crate) start_kib: u64,
    /// VmRSS when the run ended, KiB.
    pub(crate) end_kib: u64,
    /// VmHWM (peak since the process started) at the end, KiB.
    pub(crate) peak_kib: u64,
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    pub(crate) fn count(&self, code: Code) -> usize {
        self.samples.iter().filter(|s| s.code == code).count()
    }

    pub(crate) fn others(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for s in &self.samples {
            if s.code != Code::Ok && s.code != Code::ResourceExhausted {
                *out.entry(format!("{:?}", s.code)).or_default() += 1;
            }
        }
        out
    }

    /// Latencies of OK answers, sorted.
    pub(crate) fn ok_latencies(&self) -> Vec<Duration> {
        let mut l: Vec<Duration> = self
            .samples
            .iter()
            .filter(|s| s.code == Code::Ok)
            .map(|s| s.latency)
            .collect();
        l.sort();
        l
    }

    pub(crate) fn throughput(&self) -> f64 {
        self.count(Code::Ok) as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    pub(crate) fn mean_solve_ms(&self) -> Option<f64> {
        let v: Vec<f64> = self.samples.iter().filter_map(|s| s.solve_seconds).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64 * 1000.0)
    }

    pub(crate) fn text(&self) -> String {
        let l = self.ok_latencies();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {} scale, {:?} planner, {} clients, {} answers in {:.1} s: {:.2} answers/s",
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

    pub(crate) fn markdown_row(&self) -> String {
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
pub(crate) fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(crate) fn requests(args: &LoadArgs) -> Vec<pb::ProposeAllocationsRequest> {
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
pub(crate) async fn run_load(args: &LoadArgs, label: &str) -> Result<Report> {
    let addr = loopback(&args.addr).await?;
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let requests = Arc::new(requests(args));
    let mut desk = (args.rpc != LoadRpc::Propose).then(|| DeskCalls::new(args.rpc, requests.to_vec()));
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
    if let (Some(desk), WorldBy::Held) = (desk.as_mut(), args.world) {
        desk.hold(&mut clients[0], token.as_ref())
            .await
            .context("loading the worlds (LoadWorld)")?;
    }
    let desk = Arc::new(desk);
    let issued = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let rss_start = args.server_pid.and_then(|pid| proc_status_kib(pid, "VmRSS"));
    let started = Instant::now();
    let stop_at = started + duration;
    let limit = args.requests;
    let mut tasks = tokio::task::JoinSet::new();
    for mut client in clients {
        let (requests, issued, samples, token, desk) = (
            requests.clone(),
            issued.clone(),
            samples.clone(),
            token.clone(),
            desk.clone(),
        );
        tasks.spawn(async move {
            loop {
                if Instant::now() >= stop_at {
                    break;
                }
                let n = issued.fetch_add(1, Ordering::SeqCst);
                if n >= limit {
                    break;
                }
                if let Some(desk) = desk.as_ref() {
                    let sent = Instant::now();
                    let out = desk.send(&mut client, n, timeout, token.as_ref()).await;
                    let sample = Sample {
                        latency: sent.elapsed(),
                        code: out.err().map_or(Code::Ok, |s| s.code()),
                        solve_seconds: None,
                    };
                    samples.lock().expect("samples").push(sample);
                    continue;
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
}
