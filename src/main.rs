//! The `theatre-optimiser` command line: serve the gRPC API, plan a request offline, run the demo,
//! generate benchmark requests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use theatre_optimiser::metrics::Metrics;
use theatre_optimiser::proto as pb;
use theatre_optimiser::server::{self, ServerOptions, TlsPaths};
use theatre_optimiser::service::{self, ServiceConfig};
use theatre_optimiser::solve::SolveOptions;
use theatre_optimiser::{bench, summary, synth};

/// The sample request compiled into the binary: a children's day-surgery week at two sites.
const SAMPLE_REQUEST: &str = include_str!("../examples/sample-request.json");

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

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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

#[tokio::main]
async fn main() -> Result<()> {
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
            request,
            out,
            summary: show,
        } => {
            let request = read_request(&request)?;
            let plan =
                tokio::task::spawn_blocking(move || service::propose(request, &SolveOptions::default()))
                    .await?
                    .map_err(|e| anyhow::anyhow!(describe(e)))?;
            if show {
                eprint!("{}", summary::text(&plan));
            }
            write_json(&plan, out.as_ref())
        }
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
fn describe(e: service::ProposeError) -> String {
    match e {
        service::ProposeError::Invalid(inv) => {
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
        std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
