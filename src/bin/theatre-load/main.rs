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
//! run is bounded in requests and in time, and every request carries a deadline. `load` runs one
//! bounded load, `suite` the standard phases against a server it starts, `benchmarks_md` writes
//! the results into BENCHMARKS.md.
//!
//! Imports (of the library): `api` (the proto client), `synth` (the requests it sends).

mod benchmarks_md;
mod desk;
mod load;
mod suite;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use theatre_optimiser::synth::Scale;

use load::run_load;
use suite::suite;

#[derive(Parser)]
#[command(
    name = "theatre-load",
    about = "Load-tests a theatre-optimiser server on loopback",
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Suite>,
    #[command(flatten)]
    pub(crate) load: LoadArgs,
}

#[derive(Subcommand)]
pub(crate) enum Suite {
    /// Start a server on a free loopback port, run the standard phases and a soak, stop the server
    /// and append the results to a Markdown file (what `make load` runs).
    Suite(SuiteArgs),
}

#[derive(Args, Clone)]
pub(crate) struct LoadArgs {
    /// The server, on a loopback address (127.0.0.0/8, [::1] or localhost).
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub(crate) addr: String,
    /// Clients sending at once, each on its own connection.
    #[arg(long, default_value_t = 8)]
    pub(crate) concurrency: usize,
    /// Requests to send in all (the run stops at this count or the duration, whichever is first).
    #[arg(long, default_value_t = 1000)]
    pub(crate) requests: u64,
    /// Stop sending after this many seconds (requests under way finish).
    #[arg(long, default_value_t = 60.0)]
    pub(crate) duration_seconds: f64,
    #[arg(long, value_enum, default_value_t = LoadScale::Theatre)]
    pub(crate) scale: LoadScale,
    /// First generator seed; `--distinct` requests are made from consecutive seeds.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Different generated requests sent in turn.
    #[arg(long, default_value_t = 4)]
    pub(crate) distinct: u64,
    /// Which planner the requests ask for.
    #[arg(long, value_enum, default_value_t = LoadPlanner::Optimiser)]
    pub(crate) planner: LoadPlanner,
    /// Override the policy time limit of every request, seconds.
    #[arg(long)]
    pub(crate) time_limit_seconds: Option<f64>,
    /// gRPC deadline of every request, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) timeout_seconds: f64,
    /// Bearer token to send.
    #[arg(long, env = "THEATRE_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// The RPC to send: plans, or one of the booking desk's calls on the same generated worlds.
    #[arg(long, value_enum, default_value_t = desk::LoadRpc::Propose)]
    pub(crate) rpc: desk::LoadRpc,
    /// How desk calls carry their world: held on the server by id (LoadWorld once), or sent whole.
    #[arg(long, value_enum, default_value_t = desk::WorldBy::Held)]
    pub(crate) world: desk::WorldBy,
    /// Report this process's peak resident memory (VmHWM in /proc/<pid>/status).
    #[arg(long)]
    pub(crate) server_pid: Option<u32>,
}

#[derive(Args)]
pub(crate) struct SuiteArgs {
    /// The `theatre-optimiser` binary to serve with.
    #[arg(long, default_value = "target/release/theatre-optimiser")]
    pub(crate) server_bin: PathBuf,
    /// Markdown file to add the results to, under "## Service load".
    #[arg(long)]
    pub(crate) append: Option<PathBuf>,
    /// Length of the soak phase, seconds.
    #[arg(long, default_value_t = 600.0)]
    pub(crate) soak_seconds: f64,
    /// Length of each of the two measured phases, seconds.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) phase_seconds: f64,
    /// How the run was started, for the record.
    #[arg(long, default_value = "make load")]
    pub(crate) command: String,
    /// Where the server's log goes.
    #[arg(long, default_value = "target/load/server.log")]
    pub(crate) server_log: PathBuf,
}

#[derive(Clone, Copy, ValueEnum, Debug, PartialEq, Eq)]
pub(crate) enum LoadPlanner {
    /// The MILP (the default planner).
    Optimiser,
    /// First-fit only: measures the service without the solver.
    Baseline,
}

#[derive(Clone, Copy, ValueEnum, Debug)]
pub(crate) enum LoadScale {
    Theatre,
    Trust,
}

impl LoadScale {
    pub(crate) fn scale(self) -> Scale {
        match self {
            LoadScale::Theatre => Scale::Theatre,
            LoadScale::Trust => Scale::Trust,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            LoadScale::Theatre => "theatre",
            LoadScale::Trust => "trust",
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
