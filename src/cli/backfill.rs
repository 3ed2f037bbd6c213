//! `backfill`: who in the pool can fill a list's free minutes now (`RecommendBackfill` offline,
//! on the same code path as the service).

use std::path::PathBuf;

use anyhow::Result;
use theatre_optimiser::api::{desk, proto as pb};

use super::files::{describe, read_request, write_json};

#[derive(clap::Args)]
pub struct BackfillArgs {
    /// The world: a request JSON (sessions, pool, existing bookings, policy).
    #[arg(long)]
    request: PathBuf,
    /// The list with free minutes.
    #[arg(long)]
    session: String,
    /// The free window in minutes, each case with its changeover (default: what the list has left).
    #[arg(long)]
    minutes: Option<i32>,
    /// Options to return.
    #[arg(long, default_value_t = 10)]
    limit: i32,
    /// Where to write the answer JSON (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: BackfillArgs) -> Result<()> {
    let answer = desk::recommend_backfill(
        pb::RecommendBackfillRequest {
            world: Some(read_request(&args.request)?),
            session_id: args.session,
            free_minutes: args.minutes,
            limit: args.limit,
            world_id: String::new(),
        },
        None,
    )
    .map_err(|e| anyhow::anyhow!(describe(e)))?;
    write_json(&answer, args.out.as_ref())
}
