//! `import`: trust CSV exports (sessions, patient tracking list, sites, bookings) into a request
//! JSON, validated as the service would.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use theatre_optimiser::io::import;

use super::files::write_json;

#[derive(clap::Args)]
pub struct ImportArgs {
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
}

pub fn run(args: ImportArgs) -> Result<()> {
    import_csv(
        &args.sessions,
        &args.patients,
        args.sites.as_deref(),
        args.bookings.as_deref(),
        &args.planning_date,
        &args.profile,
        args.out.as_ref(),
    )
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
