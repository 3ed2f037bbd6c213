//! `offer`: the lists one child can be offered (`OfferDates` offline, on the same code path as
//! the service).

use std::path::PathBuf;

use anyhow::{Context, Result};
use theatre_optimiser::api::{desk, proto as pb};

use super::files::{describe, read_request, write_json};

#[derive(clap::Args)]
pub struct OfferArgs {
    /// The world: a request JSON (sessions, pool, existing bookings, policy).
    #[arg(long)]
    request: PathBuf,
    /// A patient of the pool.
    #[arg(long, conflicts_with = "new_patient", required_unless_present = "new_patient")]
    patient: Option<String>,
    /// A child just listed: a patient JSON, as in the request's `patients`.
    #[arg(long)]
    new_patient: Option<PathBuf>,
    /// Offers to return.
    #[arg(long, default_value_t = 10)]
    limit: i32,
    /// Where to write the answer JSON (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: OfferArgs) -> Result<()> {
    let patient = match (args.patient, args.new_patient) {
        (Some(id), _) => pb::offer_dates_request::Patient::PatientId(id),
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let p: pb::Patient = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid patient JSON", path.display()))?;
            pb::offer_dates_request::Patient::NewPatient(p)
        }
        (None, None) => anyhow::bail!("give --patient or --new-patient"),
    };
    let answer = desk::offer_dates(
        pb::OfferDatesRequest {
            world: Some(read_request(&args.request)?),
            patient: Some(patient),
            limit: args.limit,
            world_id: String::new(),
        },
        None,
    )
    .map_err(|e| anyhow::anyhow!(describe(e)))?;
    write_json(&answer, args.out.as_ref())
}
