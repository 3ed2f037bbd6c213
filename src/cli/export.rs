//! `export`: a plan JSON (as `solve` writes it) as spreadsheets to upload or print. The lists
//! file has one row per case, in list order, and reads back with `import --bookings` (its
//! `session_id`, `patient_id` and `state` columns are the booking columns; the others are
//! ignored on import); the unallocated file has one row per unallocated patient with its
//! reasons. The columns are listed in the README beside the import columns.

use std::path::PathBuf;

use anyhow::{Context, Result};
use theatre_optimiser::api::proto as pb;

use super::files::read_request;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Csv,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The plan JSON.
    #[arg(long)]
    plan: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// The request the plan answers: existing bookings keep their state (`confirmed` or
    /// `offered`); without it every case is written `offered`.
    #[arg(long)]
    request: Option<PathBuf>,
    /// Where to write the lists, one row per case (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where to write the unallocated patients, one row each with reasons (default: not written).
    #[arg(long)]
    unallocated: Option<PathBuf>,
}

/// The lists file's columns.
pub const CASE_COLUMNS: [&str; 11] = [
    "session_id",
    "site_id",
    "theatre",
    "date",
    "position",
    "start_time",
    "end_time",
    "patient_id",
    "procedure",
    "priority",
    "state",
];

/// The unallocated file's columns.
pub const UNALLOCATED_COLUMNS: [&str; 5] = ["patient_id", "priority", "specialty", "reasons", "detail"];

fn priority(p: i32) -> &'static str {
    match pb::Priority::try_from(p) {
        Ok(pb::Priority::P2) => "P2",
        Ok(pb::Priority::P3) => "P3",
        Ok(pb::Priority::P4) => "P4",
        _ => "",
    }
}

/// The lists as CSV; `held` gives the state of existing bookings.
pub fn cases_csv(plan: &pb::ProposeAllocationsResponse, held: &[pb::ExistingBooking]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CASE_COLUMNS)?;
    for s in &plan.sessions {
        for c in &s.cases {
            let state = held
                .iter()
                .find(|b| b.patient_id == c.patient_id && b.session_id == s.session_id)
                .filter(|b| b.state == pb::BookingState::Confirmed as i32)
                .map_or("offered", |_| "confirmed");
            w.write_record([
                s.session_id.as_str(),
                &s.site_id,
                &s.theatre,
                &s.date,
                &c.position.to_string(),
                &c.start_time,
                &c.end_time,
                &c.patient_id,
                &c.procedure,
                priority(c.priority),
                state,
            ])?;
        }
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The unallocated patients as CSV.
pub fn unallocated_csv(plan: &pb::ProposeAllocationsResponse) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(UNALLOCATED_COLUMNS)?;
    for u in &plan.unallocated {
        w.write_record([
            u.patient_id.as_str(),
            priority(u.priority),
            &u.specialty,
            &u.reasons.join(";"),
            &u.detail,
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

pub fn run(args: ExportArgs) -> Result<()> {
    let Format::Csv = args.format;
    let text =
        std::fs::read_to_string(&args.plan).with_context(|| format!("reading {}", args.plan.display()))?;
    let plan: pb::ProposeAllocationsResponse =
        serde_json::from_str(&text).with_context(|| format!("{} is not a plan JSON", args.plan.display()))?;
    let held = match &args.request {
        Some(path) => read_request(path)?.existing_bookings,
        None => Vec::new(),
    };
    let cases = cases_csv(&plan, &held)?;
    match &args.out {
        Some(path) => std::fs::write(path, cases).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{cases}"),
    }
    if let Some(path) = &args.unallocated {
        std::fs::write(path, unallocated_csv(&plan)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
