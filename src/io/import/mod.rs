//! Trust spreadsheet exports (CSV) to a planning request.
//!
//! Four files: the theatre session schedule, the patient tracking list (PTL), and optionally the
//! sites and the existing bookings. Headers are matched case-insensitively with spaces, hyphens
//! and punctuation read as `_` (so `Pre-op status` is `preop_status`... see [`SESSION_COLUMNS`]
//! and friends for every accepted name); columns not listed are ignored and named in a note.
//! Every bad cell is reported at once with its file, spreadsheet row (the header is row 1) and
//! column; the request is then validated as the service would, and each violation is mapped back
//! to its file, row and column. Messages never echo cell values, so no patient id or date leaks
//! into a terminal or a log.

mod columns;
mod origins;
mod records;
mod sheet;

use std::fmt;

use crate::api::proto as pb;
use crate::domain::PlanningRequest;

pub use columns::{Column, BOOKING_COLUMNS, PATIENT_COLUMNS, SESSION_COLUMNS, SITE_COLUMNS};
use origins::Origins;
use records::{bookings, patients, sessions, sites};
use sheet::{parse_date, read_sheet};

/// One CSV file's name (as shown in messages) and its text.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// The files of one import.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub sessions: Source<'a>,
    pub patients: Source<'a>,
    pub sites: Option<Source<'a>>,
    pub bookings: Option<Source<'a>>,
}

/// One problem, located in a file (row 1 is the header; `row` is absent for whole-file problems).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem of a refused import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the import:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ImportErrors(pub Vec<ImportError>);

/// A request built from CSV files, and notes for the person importing (ignored columns, sites
/// taken from the sessions).
#[derive(Debug, Clone)]
pub struct Imported {
    pub request: pb::ProposeAllocationsRequest,
    pub notes: Vec<String>,
}

/// Reads the CSV files into a request for `planning_date` under the policy `profile`, and
/// validates it. All problems come back at once.
pub fn import(sources: &Sources, planning_date: &str, profile: &str) -> Result<Imported, ImportErrors> {
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let planning = parse_date(planning_date.trim());
    if planning.is_none() {
        errors.push(ImportError {
            file: "--planning-date".into(),
            row: None,
            column: None,
            message: "not a valid date (YYYY-MM-DD or DD/MM/YYYY)".into(),
        });
    }
    let session_sheet = read_sheet(sources.sessions, SESSION_COLUMNS, &mut errors, &mut notes);
    let patient_sheet = read_sheet(sources.patients, PATIENT_COLUMNS, &mut errors, &mut notes);
    let site_sheet = sources
        .sites
        .map(|s| read_sheet(s, SITE_COLUMNS, &mut errors, &mut notes));
    let booking_sheet = sources
        .bookings
        .map(|s| read_sheet(s, BOOKING_COLUMNS, &mut errors, &mut notes));

    let (sessions, session_rows) = session_sheet
        .as_ref()
        .map(|s| sessions(s, &mut errors))
        .unwrap_or_default();
    let (patients, patient_rows) = patient_sheet
        .as_ref()
        .map(|s| patients(s, &mut errors))
        .unwrap_or_default();
    let (mut sites, site_rows) = match &site_sheet {
        Some(Some(s)) => {
            let (v, rows) = sites(s, &mut errors);
            (v, Some(rows))
        }
        _ => (Vec::new(), None),
    };
    let (existing_bookings, booking_rows) = match &booking_sheet {
        Some(Some(s)) => {
            let (v, rows) = bookings(s, &mut errors);
            (v, Some(rows))
        }
        _ => (Vec::new(), None),
    };
    if sources.sites.is_none() {
        for s in &sessions {
            if !s.site_id.is_empty() && !sites.iter().any(|x| x.id == s.site_id) {
                sites.push(pb::Site {
                    id: s.site_id.clone(),
                    name: s.site_id.clone(),
                    specialist_centre: false,
                    children_beds: None,
                    bed_nights: vec![],
                });
            }
        }
        notes.push(format!(
            "no sites file: {} site(s) taken from the sessions, none of them a specialist centre \
             (give --sites to mark specialist centres)",
            sites.len()
        ));
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    let request = pb::ProposeAllocationsRequest {
        planning_date: planning.unwrap_or_default(),
        sites,
        sessions,
        patients,
        existing_bookings,
        policy: Some(pb::Policy {
            profile: profile.to_string(),
            ..Default::default()
        }),
        planner: 0,
    };
    if let Err(invalid) = PlanningRequest::try_from(request.clone()) {
        let origins = Origins {
            sessions: (sources.sessions.name, session_rows),
            patients: (sources.patients.name, patient_rows),
            sites: sources.sites.zip(site_rows).map(|(s, rows)| (s.name, rows)),
            bookings: sources.bookings.zip(booking_rows).map(|(s, rows)| (s.name, rows)),
        };
        return Err(ImportErrors(
            invalid
                .0
                .iter()
                .map(|v| origins.locate(&v.field, &v.description))
                .collect(),
        ));
    }
    Ok(Imported { request, notes })
}

#[cfg(test)]
mod tests;
