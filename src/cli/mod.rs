//! The command line, one file per command: `serve` (the gRPC API), `solve` (a request planned
//! offline), `report` (HTML), `whatif` (scenarios side by side), `import` (trust CSVs), `demo`,
//! `generate` (realistic requests), `bench` (baseline against optimiser), `export-model` (the
//! pair model as MPS, for other solvers), and the booking desk's `backfill`, `offer`, `check`,
//! `validate` and `export`; `progress` (bars and
//! log lines on stderr) and `files` (reading and writing) serve them all.
//!
//! Imports: `api`, `io`, `synth`, `planning`, `check`, `rules`, `domain` (it is the binary: it may
//! use every layer; it holds no planning logic of its own).

mod backfill;
mod bench;
mod check;
mod demo;
mod export;
mod export_model;
mod files;
mod generate;
mod import;
mod offer;
pub mod progress;
mod report;
mod serve;
mod solve;
mod validate;
mod whatif;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "theatre-optimiser",
    version,
    about = "Plans NHS children's theatre lists (6-4-2, HVLC, age-appropriate lists)"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "THEATRE_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the gRPC API.
    Serve(Box<serve::ServeArgs>),
    /// Plan a request JSON offline (the same code path as the service).
    Solve(solve::SolveArgs),
    /// Write a self-contained HTML report of a plan JSON (or of a `whatif` comparison JSON).
    Report(report::ReportArgs),
    /// Plan a base request and what-if scenarios side by side; print the KPIs with changes.
    Whatif(whatif::WhatifArgs),
    /// Turn trust CSV exports (sessions, patient tracking list, sites, bookings) into a request JSON.
    Import(import::ImportArgs),
    /// Start the server on loopback, send the shipped sample through a real gRPC client, print the lists.
    Demo,
    /// Write a realistic generated request JSON.
    Generate(generate::GenerateArgs),
    /// Plan generated requests with the baseline and the optimiser; print (and optionally write) the table.
    Bench(bench::BenchArgs),
    /// Write a request's pair model as an MPS file for other solvers; print the objective constant.
    ExportModel(export_model::ExportModelArgs),
    /// Who in the pool can fill a list's free minutes now, best first (RecommendBackfill offline).
    Backfill(backfill::BackfillArgs),
    /// The lists one child can be offered, best first (OfferDates offline).
    Offer(offer::OfferArgs),
    /// The plan checker's verdict on a plan made elsewhere, with its KPIs (CheckPlan offline).
    Check(check::CheckArgs),
    /// Every violation of a request JSON at once (ValidateRequest offline).
    Validate(validate::ValidateArgs),
    /// A plan JSON as CSV: one row per case (imports back as bookings), and the unallocated.
    Export(export::ExportArgs),
}

impl Command {
    /// Runs the command.
    pub async fn run(self) -> Result<()> {
        match self {
            Command::Serve(args) => serve::run(*args).await,
            Command::Solve(args) => solve::run(args).await,
            Command::Report(args) => report::run(args),
            Command::Whatif(args) => whatif::run(args).await,
            Command::Import(args) => import::run(args),
            Command::Demo => demo::run().await,
            Command::Generate(args) => generate::run(args),
            Command::Bench(args) => bench::run(args).await,
            Command::ExportModel(args) => export_model::run(args),
            Command::Backfill(args) => backfill::run(args),
            Command::Offer(args) => offer::run(args),
            Command::Check(args) => check::run(args),
            Command::Validate(args) => validate::run(args),
            Command::Export(args) => export::run(args),
        }
    }
}
