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

use std::collections::HashMap;
use std::fmt;

use chrono::{NaiveDate, NaiveTime};

use crate::api::proto as pb;
use crate::domain::PlanningRequest;

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

/// A column: its canonical name (used in messages and the README) and the header spellings
/// accepted for it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

const fn col(name: &'static str, aliases: &'static [&'static str], required: bool) -> Column {
    Column {
        name,
        aliases,
        required,
    }
}

/// The theatre session schedule, one list a row.
pub const SESSION_COLUMNS: &[Column] = &[
    col("session_id", &["session", "list_id", "id"], true),
    col("site_id", &["site"], true),
    col("theatre", &["theatre_name"], true),
    col("date", &["session_date", "list_date"], true),
    col("start_time", &["start"], true),
    col(
        "minutes",
        &["planned_minutes", "duration_minutes", "length_minutes"],
        false,
    ),
    col("end_time", &["end", "finish_time"], false),
    col(
        "specialty",
        &["specialty_tfc", "tfc", "treatment_function_code"],
        true,
    ),
    col("surgeon", &["consultant"], false),
    col("list_type", &["type"], true),
    col("min_age_months", &[], false),
    col("max_age_months", &[], false),
    col("paediatric_anaesthetist", &["paeds_anaesthetist"], false),
    col(
        "reserved_minutes",
        &["adult_minutes", "reserved_adult_minutes"],
        false,
    ),
    col("status", &["session_status"], false),
    col("cases_per_list_target", &["cases_target", "target_cases"], false),
    col("hvlc_group", &["hvlc"], false),
];

/// The patient tracking list, one patient a row.
pub const PATIENT_COLUMNS: &[Column] = &[
    col(
        "patient_id",
        &["pseudonymised_id", "pseudonym", "pseudo_id", "id"],
        true,
    ),
    col(
        "specialty",
        &["specialty_tfc", "tfc", "treatment_function_code"],
        true,
    ),
    col(
        "procedure",
        &[
            "opcs4",
            "opcs_4",
            "opcs4_procedure",
            "opcs_4_procedure",
            "procedure_code",
        ],
        true,
    ),
    col("priority", &["clinical_priority"], true),
    col(
        "date_listed",
        &["listed", "decision_to_admit_date", "dta_date"],
        true,
    ),
    col("rtt_clock_start", &["rtt_start", "clock_start"], true),
    col("age_months", &["age_in_months"], true),
    col("preop_status", &["pre_op_status"], true),
    col("preop_date", &["pre_op_date"], false),
    col(
        "expected_minutes",
        &["expected_duration", "duration_minutes"],
        true,
    ),
    col("accepted_sites", &["accepted_site_ids"], false),
    col("complex", &[], false),
    col("ebi_approved", &["ebi"], false),
    col("surgeon", &["named_surgeon", "consultant"], false),
    col("diabetes", &[], false),
    col("latex_allergy", &["latex"], false),
    col("accepts_adult_services", &["adult_services"], false),
    col("unavailable", &["unavailable_dates"], false),
];

/// Sites, one a row.
pub const SITE_COLUMNS: &[Column] = &[
    col("site_id", &["site", "id"], true),
    col("name", &["site_name"], false),
    col("specialist_centre", &["specialist", "tertiary"], false),
];

/// Existing bookings, one a row.
pub const BOOKING_COLUMNS: &[Column] = &[
    col(
        "patient_id",
        &["pseudonymised_id", "pseudonym", "pseudo_id"],
        true,
    ),
    col("session_id", &["session", "list_id"], true),
    col("state", &["booking_state", "status"], true),
];

/// `Pre-op Status ` -> `preop_status`: lower case, runs of anything but letters and digits as
/// one `_`, and `pre_op` as `preop`.
fn normalise_header(h: &str) -> String {
    let mut out = String::new();
    for c in h.trim_start_matches('\u{feff}').trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    out.replace("pre_op", "preop")
}

struct Sheet<'a> {
    file: &'a str,
    index: HashMap<&'static str, usize>,
    width: usize,
    rows: Vec<(usize, csv::StringRecord)>,
}

fn read_sheet<'a>(
    source: Source<'a>,
    columns: &[Column],
    errors: &mut Vec<ImportError>,
    notes: &mut Vec<String>,
) -> Option<Sheet<'a>> {
    let file = source.name;
    let whole = |message: String| ImportError {
        file: file.to_string(),
        row: None,
        column: None,
        message,
    };
    let text = source.text.strip_prefix('\u{feff}').unwrap_or(source.text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(_) => {
            errors.push(whole("the header row cannot be read as CSV".into()));
            return None;
        }
    };
    if headers.iter().all(|h| h.trim().is_empty()) {
        errors.push(whole("empty file: a header row is required".into()));
        return None;
    }
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut ignored = Vec::new();
    let mut ok = true;
    for (i, h) in headers.iter().enumerate() {
        let name = normalise_header(h);
        let column = columns
            .iter()
            .find(|c| c.name == name || c.aliases.iter().any(|a| *a == name));
        match column {
            Some(c) => {
                if index.insert(c.name, i).is_some() {
                    errors.push(ImportError {
                        file: file.to_string(),
                        row: Some(1),
                        column: Some(c.name.to_string()),
                        message: "the column appears twice in the header".into(),
                    });
                    ok = false;
                }
            }
            None if name.is_empty() => {}
            None => ignored.push(format!("`{}`", h.trim())),
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !index.contains_key(c.name) {
            let mut accepted = vec![c.name];
            accepted.extend(c.aliases);
            errors.push(ImportError {
                file: file.to_string(),
                row: Some(1),
                column: Some(c.name.to_string()),
                message: format!(
                    "required column missing from the header (accepted names: {})",
                    accepted.join(", ")
                ),
            });
            ok = false;
        }
    }
    if !ignored.is_empty() {
        notes.push(format!("{file}: ignored column(s) {}", ignored.join(", ")));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        match record {
            Ok(r) if r.iter().all(|c| c.trim().is_empty()) => {}
            Ok(r) => rows.push((row, r)),
            Err(e) => {
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text (save the sheet as CSV UTF-8)",
                    _ => "cannot be read as CSV",
                };
                errors.push(ImportError {
                    file: file.to_string(),
                    row: Some(row),
                    column: None,
                    message: message.into(),
                });
            }
        }
    }
    ok.then_some(Sheet {
        file,
        index,
        width: headers.len(),
        rows,
    })
}

/// One data row being read; problems go to the shared list.
struct Row<'s, 'e> {
    file: &'s str,
    index: &'s HashMap<&'static str, usize>,
    row: usize,
    record: &'s csv::StringRecord,
    errors: &'e mut Vec<ImportError>,
}

impl Row<'_, '_> {
    fn err(&mut self, column: &str, message: impl Into<String>) {
        self.errors.push(ImportError {
            file: self.file.to_string(),
            row: Some(self.row),
            column: Some(column.to_string()),
            message: message.into(),
        });
    }

    /// The trimmed cell, `None` when the column is absent or the cell empty.
    fn cell(&self, column: &str) -> Option<&str> {
        let i = *self.index.get(column)?;
        self.record.get(i).map(str::trim).filter(|c| !c.is_empty())
    }

    fn required(&mut self, column: &str) -> Option<String> {
        let cell = self.cell(column).map(str::to_string);
        if cell.is_none() {
            self.err(column, "required");
        }
        cell
    }

    fn text(&mut self, column: &str) -> String {
        self.required(column).unwrap_or_default()
    }

    fn optional_text(&self, column: &str) -> Option<String> {
        self.cell(column).map(str::to_string)
    }

    fn date(&mut self, column: &str, required: bool) -> Option<String> {
        let cell = if required {
            self.required(column)?
        } else {
            self.cell(column)?.to_string()
        };
        let parsed = parse_date(&cell);
        if parsed.is_none() {
            self.err(column, "not a valid date (YYYY-MM-DD or DD/MM/YYYY)");
        }
        parsed
    }

    fn time(&mut self, column: &str, required: bool) -> Option<String> {
        let cell = if required {
            self.required(column)?
        } else {
            self.cell(column)?.to_string()
        };
        let parsed = ["%H:%M", "%H:%M:%S", "%H.%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(&cell, f).ok())
            .map(|t| t.format("%H:%M").to_string());
        if parsed.is_none() {
            self.err(column, "not a valid time of day (HH:MM)");
        }
        parsed
    }

    fn int(&mut self, column: &str, required: bool) -> Option<i32> {
        let cell = if required {
            self.required(column)?
        } else {
            self.cell(column)?.to_string()
        };
        let parsed = cell.parse::<i32>().ok().or_else(|| {
            cell.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e9)
                .map(|f| f as i32)
        });
        if parsed.is_none() {
            self.err(column, "not a whole number");
        }
        parsed
    }

    fn boolean(&mut self, column: &str) -> bool {
        let Some(cell) = self.cell(column) else {
            return false;
        };
        match cell.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "1" => true,
            "n" | "no" | "false" | "0" => false,
            _ => {
                self.err(column, "expected yes or no (Y/N, true/false, 1/0)");
                false
            }
        }
    }

    /// A coded value: the normalised cell looked up in `options`; empty gives `default` (or a
    /// `required` error when there is none).
    fn choice<T: Copy>(&mut self, column: &str, options: &[(&[&str], T)], default: Option<T>) -> Option<T> {
        let Some(cell) = self.cell(column) else {
            if default.is_none() {
                self.err(column, "required");
            }
            return default;
        };
        let key = normalise_header(cell);
        let found = options
            .iter()
            .find(|(names, _)| names.contains(&key.as_str()))
            .map(|(_, v)| *v);
        if found.is_none() {
            let expected: Vec<&str> = options.iter().map(|(names, _)| names[0]).collect();
            self.err(
                column,
                format!("unknown value (expected one of: {})", expected.join(", ")),
            );
        }
        found
    }
}

fn parse_date(cell: &str) -> Option<String> {
    ["%Y-%m-%d", "%d/%m/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(cell, f).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
}

fn each_row(sheet: &Sheet, errors: &mut Vec<ImportError>, mut f: impl FnMut(&mut Row)) -> Vec<usize> {
    let mut numbers = Vec::with_capacity(sheet.rows.len());
    for (row, record) in &sheet.rows {
        if record.len() != sheet.width {
            errors.push(ImportError {
                file: sheet.file.to_string(),
                row: Some(*row),
                column: None,
                message: format!("has {} cell(s) but the header has {}", record.len(), sheet.width),
            });
            continue;
        }
        let mut r = Row {
            file: sheet.file,
            index: &sheet.index,
            row: *row,
            record,
            errors,
        };
        f(&mut r);
        numbers.push(*row);
    }
    numbers
}

fn sessions(sheet: &Sheet, errors: &mut Vec<ImportError>) -> (Vec<pb::Session>, Vec<usize>) {
    let mut out = Vec::new();
    let has_minutes = sheet.index.contains_key("minutes");
    let has_end = sheet.index.contains_key("end_time");
    if !has_minutes && !has_end {
        errors.push(ImportError {
            file: sheet.file.to_string(),
            row: Some(1),
            column: Some("minutes".into()),
            message: "required column missing from the header (give `minutes` or `end_time`)".into(),
        });
    }
    let rows = each_row(sheet, errors, |r| {
        let start_time = r.time("start_time", true);
        let minutes = if has_minutes && (r.cell("minutes").is_some() || !has_end) {
            r.int("minutes", true)
        } else {
            match (
                start_time.as_deref().and_then(minutes_of),
                r.time("end_time", true),
            ) {
                (Some(start), Some(end)) => {
                    let m = minutes_of(&end).unwrap_or(0) - start;
                    if m <= 0 {
                        r.err("end_time", "not after the start time");
                    }
                    Some(m)
                }
                _ => None,
            }
        };
        let list_type = r.choice(
            "list_type",
            &[
                (
                    &["paediatric", "paed", "paeds", "children", "child", "cyp"],
                    pb::ListType::Paediatric,
                ),
                (&["mixed"], pb::ListType::Mixed),
                (&["adult", "adults"], pb::ListType::Adult),
            ],
            None,
        );
        let status = r.choice(
            "status",
            &[
                (&["confirmed", "booked", "active"], pb::SessionStatus::Confirmed),
                (
                    &["released", "cancelled", "canceled"],
                    pb::SessionStatus::Released,
                ),
            ],
            Some(pb::SessionStatus::Confirmed),
        );
        out.push(pb::Session {
            id: r.text("session_id"),
            site_id: r.text("site_id"),
            theatre: r.text("theatre"),
            date: r.date("date", true).unwrap_or_default(),
            start_time: start_time.unwrap_or_default(),
            minutes: minutes.unwrap_or_default(),
            specialty: r.text("specialty"),
            surgeon: r.optional_text("surgeon"),
            list_type: list_type.map_or(0, |t| t as i32),
            min_age_months: r.int("min_age_months", false),
            max_age_months: r.int("max_age_months", false),
            paediatric_anaesthetist: r.boolean("paediatric_anaesthetist"),
            reserved_minutes: r.int("reserved_minutes", false).unwrap_or(0),
            status: status.map_or(0, |s| s as i32),
            cases_per_list_target: r.int("cases_per_list_target", false),
            hvlc_group: r.optional_text("hvlc_group"),
        });
    });
    (out, rows)
}

fn minutes_of(hhmm: &str) -> Option<i32> {
    let (h, m) = hhmm.split_once(':')?;
    Some(h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?)
}

/// `a; b | c` (also commas) -> `[a, b, c]`.
fn split_list(cell: &str) -> Vec<String> {
    cell.split([';', '|', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn patients(sheet: &Sheet, errors: &mut Vec<ImportError>) -> (Vec<pb::Patient>, Vec<usize>) {
    let mut out = Vec::new();
    let rows = each_row(sheet, errors, |r| {
        let priority = r.choice(
            "priority",
            &[
                (&["p2", "2"], pb::Priority::P2),
                (&["p3", "3"], pb::Priority::P3),
                (&["p4", "4"], pb::Priority::P4),
            ],
            None,
        );
        let preop_status = r.choice(
            "preop_status",
            &[
                (
                    &["not_done", "none", "no", "not_booked", "outstanding"],
                    pb::PreopStatus::NotDone,
                ),
                (&["booked", "planned", "scheduled"], pb::PreopStatus::Booked),
                (
                    &["completed", "complete", "done", "yes", "passed", "fit"],
                    pb::PreopStatus::Completed,
                ),
            ],
            None,
        );
        let preop_date = r.date("preop_date", false);
        let mut unavailable = Vec::new();
        if let Some(cell) = r.cell("unavailable").map(str::to_string) {
            for part in cell.split([';', '|']).map(str::trim).filter(|p| !p.is_empty()) {
                let (from, to) = match part.split_once("..").or_else(|| part.split_once(" to ")) {
                    Some((a, b)) => (a.trim(), b.trim()),
                    None => (part, part),
                };
                match (parse_date(from), parse_date(to)) {
                    (Some(from), Some(to)) => unavailable.push(pb::DateRange { from, to }),
                    _ => r.err(
                        "unavailable",
                        "not a date or date range (YYYY-MM-DD, or FROM..TO; separate several with ;)",
                    ),
                }
            }
        }
        out.push(pb::Patient {
            id: r.text("patient_id"),
            specialty: r.text("specialty"),
            procedure: r.text("procedure").to_ascii_uppercase(),
            expected_minutes: r.int("expected_minutes", true).unwrap_or_default(),
            age_months: r.int("age_months", true).unwrap_or_default(),
            priority: priority.map_or(0, |p| p as i32),
            date_listed: r.date("date_listed", true).unwrap_or_default(),
            rtt_clock_start: r.date("rtt_clock_start", true).unwrap_or_default(),
            preop: Some(pb::PreopAssessment {
                status: preop_status.map_or(0, |s| s as i32),
                date: preop_date,
            }),
            complex: r.boolean("complex"),
            ebi_approved: r.boolean("ebi_approved"),
            accepted_site_ids: r.cell("accepted_sites").map(split_list).unwrap_or_default(),
            surgeon: r.optional_text("surgeon"),
            unavailable,
            diabetes: r.boolean("diabetes"),
            latex_allergy: r.boolean("latex_allergy"),
            accepts_adult_services: r.boolean("accepts_adult_services"),
        });
    });
    (out, rows)
}

fn sites(sheet: &Sheet, errors: &mut Vec<ImportError>) -> (Vec<pb::Site>, Vec<usize>) {
    let mut out = Vec::new();
    let rows = each_row(sheet, errors, |r| {
        let id = r.text("site_id");
        out.push(pb::Site {
            name: r.optional_text("name").unwrap_or_else(|| id.clone()),
            id,
            specialist_centre: r.boolean("specialist_centre"),
        });
    });
    (out, rows)
}

fn bookings(sheet: &Sheet, errors: &mut Vec<ImportError>) -> (Vec<pb::ExistingBooking>, Vec<usize>) {
    let mut out = Vec::new();
    let rows = each_row(sheet, errors, |r| {
        let state = r.choice(
            "state",
            &[
                (&["offered", "offer", "tci_offered"], pb::BookingState::Offered),
                (&["confirmed", "agreed", "booked"], pb::BookingState::Confirmed),
            ],
            None,
        );
        out.push(pb::ExistingBooking {
            patient_id: r.text("patient_id"),
            session_id: r.text("session_id"),
            state: state.map_or(0, |s| s as i32),
        });
    });
    (out, rows)
}

/// Where a validation violation's field path (e.g. `patients[3].preop.date`) came from.
struct Origins<'a> {
    sessions: (&'a str, Vec<usize>),
    patients: (&'a str, Vec<usize>),
    sites: Option<(&'a str, Vec<usize>)>,
    bookings: Option<(&'a str, Vec<usize>)>,
}

impl Origins<'_> {
    fn locate(&self, field: &str, description: &str) -> ImportError {
        let unplaced = || ImportError {
            file: "the request".into(),
            row: None,
            column: Some(field.to_string()),
            message: description.to_string(),
        };
        if field == "planning_date" {
            return ImportError {
                file: "--planning-date".into(),
                row: None,
                column: None,
                message: description.to_string(),
            };
        }
        if field.starts_with("policy") {
            return ImportError {
                file: "--profile".into(),
                row: None,
                column: None,
                message: description.to_string(),
            };
        }
        let Some((head, rest)) = field.split_once('[') else {
            // e.g. `sites`: at least one site is required.
            let file = match field {
                "sites" => self.sites.as_ref().map_or(self.sessions.0, |s| s.0),
                "sessions" => self.sessions.0,
                "patients" => self.patients.0,
                _ => return unplaced(),
            };
            return ImportError {
                file: file.to_string(),
                row: None,
                column: None,
                message: description.to_string(),
            };
        };
        let Some((index, sub)) = rest.split_once(']') else {
            return unplaced();
        };
        let Ok(index) = index.parse::<usize>() else {
            return unplaced();
        };
        let sub = sub.trim_start_matches('.');
        let (origin, id_column) = match head {
            "sessions" => (Some(&self.sessions), "session_id"),
            "patients" => (Some(&self.patients), "patient_id"),
            "sites" => (self.sites.as_ref(), "site_id"),
            "existing_bookings" => (self.bookings.as_ref(), "patient_id"),
            _ => (None, ""),
        };
        let Some((file, rows)) = origin else {
            // Sites taken from the sessions: no file of their own.
            return ImportError {
                file: self.sessions.0.to_string(),
                row: None,
                column: Some("site_id".into()),
                message: description.to_string(),
            };
        };
        let field_name = sub.split(['[', '.']).next().unwrap_or("");
        let column = match (head, field_name, sub) {
            (_, "id", _) => id_column.to_string(),
            ("patients", "preop", s) if s.ends_with("date") => "preop_date".into(),
            ("patients", "preop", _) => "preop_status".into(),
            ("patients", "accepted_site_ids", _) => "accepted_sites".into(),
            (_, "", _) => String::new(),
            (_, name, _) => name.to_string(),
        };
        ImportError {
            file: file.to_string(),
            row: rows.get(index).copied(),
            column: (!column.is_empty()).then_some(column),
            message: rows_for_indices(description, head, rows),
        }
    }
}

/// `duplicate id (first at patients[4])` -> `duplicate id (first at row 6)`.
fn rows_for_indices(description: &str, head: &str, rows: &[usize]) -> String {
    let marker = format!("{head}[");
    let mut out = String::new();
    let mut rest = description;
    while let Some(at) = rest.find(&marker) {
        out.push_str(&rest[..at]);
        let after = &rest[at + marker.len()..];
        let row = after
            .split_once(']')
            .and_then(|(n, tail)| Some((rows.get(n.parse::<usize>().ok()?)?, tail)));
        match row {
            Some((row, tail)) => {
                out.push_str(&format!("row {row}"));
                rest = tail;
            }
            None => {
                out.push_str(&marker);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
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
mod tests {
    use super::*;

    const SESSIONS: &str = "\
Session ID,Site,Theatre,Date,Start time,Minutes,Specialty TFC,Surgeon,List type,Min age months,Paediatric anaesthetist,Reserved minutes,Status,Cases per list target,HVLC group,Room colour
S1,RCH,T1,2026-12-14,08:30,240,120,Mr Adeyemi,Paediatric,,yes,0,confirmed,,tonsillectomy,blue
S2,DGH,T2,15/12/2026,13:30,240,120,,mixed,36,no,60,,5,,green
";
    const PATIENTS: &str = "\
Pseudonymised ID,Specialty,OPCS-4 procedure,Priority,Date listed,RTT clock start,Age in months,Pre-op status,Pre-op date,Expected minutes,Accepted sites,Complex,EBI approved,Named surgeon,Diabetes,Latex allergy,Unavailable
A1,120,f34.1,P3,2026-09-30,28/09/2026,60,completed,2026-10-20,50,RCH;DGH,N,N,,N,N,
A2,120,D15.1,2,2026-10-09,2026-09-21,84,Booked,2026-11-30,30,,no,yes,Mr Adeyemi,yes,no,2026-12-20..2026-12-24; 2026-12-31
";
    const SITES: &str = "site_id,name,specialist_centre\nRCH,Royal Children's,yes\nDGH,Riverside,no\n";
    const BOOKINGS: &str = "patient_id,session_id,state\nA1,S1,Confirmed\n";

    fn sources<'a>(sessions: &'a str, patients: &'a str, bookings: Option<&'a str>) -> Sources<'a> {
        Sources {
            sessions: Source {
                name: "sessions.csv",
                text: sessions,
            },
            patients: Source {
                name: "ptl.csv",
                text: patients,
            },
            sites: Some(Source {
                name: "sites.csv",
                text: SITES,
            }),
            bookings: bookings.map(|text| Source {
                name: "bookings.csv",
                text,
            }),
        }
    }

    fn errors_of(sessions: &str, patients: &str, bookings: Option<&str>) -> Vec<ImportError> {
        match import(&sources(sessions, patients, bookings), "2026-11-23", "default") {
            Ok(_) => panic!("expected the import to fail"),
            Err(ImportErrors(e)) => e,
        }
    }

    /// Asserts exactly one error at `file`, `row`, `column`, and that no message echoes a value.
    fn assert_one(errors: &[ImportError], file: &str, row: usize, column: &str) {
        assert_eq!(
            errors.len(),
            1,
            "expected one error, got {}",
            ImportErrors(errors.to_vec())
        );
        let e = &errors[0];
        assert_eq!(
            (e.file.as_str(), e.row, e.column.as_deref()),
            (file, Some(row), Some(column)),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.contains(file) && text.contains(&format!("row {row}")) && text.contains(column));
        for secret in ["A1", "A2", "2026-", "/2026", "13/13"] {
            assert!(!e.message.contains(secret), "message echoes a value: {text}");
        }
    }

    #[test]
    fn good_rows_import_with_aliases_uk_dates_and_defaults() {
        let imported = import(&sources(SESSIONS, PATIENTS, Some(BOOKINGS)), "23/11/2026", "fast").unwrap();
        let r = &imported.request;
        assert_eq!(r.planning_date, "2026-11-23");
        assert_eq!(r.sites.len(), 2);
        assert!(r.sites[0].specialist_centre && !r.sites[1].specialist_centre);
        let s2 = &r.sessions[1];
        assert_eq!(s2.date, "2026-12-15");
        assert_eq!(s2.list_type, pb::ListType::Mixed as i32);
        assert_eq!(s2.status, pb::SessionStatus::Confirmed as i32);
        assert_eq!((s2.min_age_months, s2.reserved_minutes), (Some(36), 60));
        assert_eq!(s2.cases_per_list_target, Some(5));
        assert_eq!(s2.surgeon, None);
        assert_eq!(r.sessions[0].hvlc_group.as_deref(), Some("tonsillectomy"));
        let a1 = &r.patients[0];
        assert_eq!(a1.procedure, "F34.1");
        assert_eq!(a1.rtt_clock_start, "2026-09-28");
        assert_eq!(a1.accepted_site_ids, vec!["RCH", "DGH"]);
        let a2 = &r.patients[1];
        assert_eq!(a2.priority, pb::Priority::P2 as i32);
        assert!(a2.ebi_approved && a2.diabetes && !a2.latex_allergy);
        assert_eq!(a2.surgeon.as_deref(), Some("Mr Adeyemi"));
        assert_eq!(
            a2.preop,
            Some(pb::PreopAssessment {
                status: pb::PreopStatus::Booked as i32,
                date: Some("2026-11-30".into())
            })
        );
        assert_eq!(a2.unavailable.len(), 2);
        assert_eq!(a2.unavailable[1].from, a2.unavailable[1].to);
        assert_eq!(r.existing_bookings[0].state, pb::BookingState::Confirmed as i32);
        assert_eq!(r.policy.as_ref().unwrap().profile, "fast");
        assert!(
            imported.notes.iter().any(|n| n.contains("Room colour")),
            "{:?}",
            imported.notes
        );
    }

    #[test]
    fn end_time_stands_in_for_minutes() {
        let sessions = "session_id,site_id,theatre,date,start_time,end_time,specialty,list_type\n\
                        S1,RCH,T1,2026-12-14,8:30,12:30,120,paediatric\n";
        let patients = PATIENTS.lines().take(2).collect::<Vec<_>>().join("\n");
        let r = import(&sources(sessions, &patients, None), "2026-11-23", "default").unwrap();
        assert_eq!(
            (
                r.request.sessions[0].start_time.as_str(),
                r.request.sessions[0].minutes
            ),
            ("08:30", 240)
        );
    }

    #[test]
    fn sites_come_from_the_sessions_without_a_sites_file() {
        let mut s = sources(SESSIONS, PATIENTS, None);
        s.sites = None;
        let r = import(&s, "2026-11-23", "default").unwrap();
        let ids: Vec<&str> = r.request.sites.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["RCH", "DGH"]);
        assert!(r.notes.iter().any(|n| n.contains("no sites file")));
    }

    /// Replaces one cell of one data line (0 = first data row).
    fn with_cell(csv: &str, line: usize, column: usize, value: &str) -> String {
        let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
        let mut cells: Vec<String> = lines[line + 1].split(',').map(str::to_string).collect();
        cells[column] = value.to_string();
        lines[line + 1] = cells.join(",");
        lines.join("\n") + "\n"
    }

    #[test]
    fn bad_cells_name_file_row_and_column() {
        // (which file, data line, column index, bad value, expected column)
        let cases: &[(&str, usize, usize, &str, &str)] = &[
            ("sessions", 0, 3, "2026-13-01", "date"),
            ("sessions", 1, 4, "25:99", "start_time"),
            ("sessions", 0, 5, "four hours", "minutes"),
            ("sessions", 1, 8, "children's-ish", "list_type"),
            ("sessions", 0, 10, "maybe", "paediatric_anaesthetist"),
            ("sessions", 1, 12, "pencilled", "status"),
            ("sessions", 0, 0, "", "session_id"),
            ("patients", 0, 3, "P1", "priority"),
            ("patients", 1, 4, "13/13/2026", "date_listed"),
            ("patients", 0, 6, "five", "age_months"),
            ("patients", 1, 7, "perhaps", "preop_status"),
            ("patients", 0, 9, "", "expected_minutes"),
            ("patients", 1, 12, "approved?", "ebi_approved"),
            ("patients", 1, 16, "next week", "unavailable"),
        ];
        for &(which, line, column, value, expected) in cases {
            let (sessions, patients) = if which == "sessions" {
                (with_cell(SESSIONS, line, column, value), PATIENTS.to_string())
            } else {
                (SESSIONS.to_string(), with_cell(PATIENTS, line, column, value))
            };
            let file = if which == "sessions" {
                "sessions.csv"
            } else {
                "ptl.csv"
            };
            let errors = errors_of(&sessions, &patients, None);
            assert_one(&errors, file, line + 2, expected);
        }
    }

    #[test]
    fn every_bad_row_is_reported_at_once() {
        let sessions = with_cell(&with_cell(SESSIONS, 0, 3, "soon"), 1, 5, "-");
        let patients = with_cell(PATIENTS, 1, 6, "old");
        let errors = errors_of(&sessions, &patients, None);
        let at: Vec<(String, Option<usize>, Option<String>)> = errors
            .iter()
            .map(|e| (e.file.clone(), e.row, e.column.clone()))
            .collect();
        assert_eq!(
            at,
            vec![
                ("sessions.csv".into(), Some(2), Some("date".into())),
                ("sessions.csv".into(), Some(3), Some("minutes".into())),
                ("ptl.csv".into(), Some(3), Some("age_months".into())),
            ]
        );
    }

    #[test]
    fn header_problems_are_row_one() {
        let sessions = SESSIONS.replacen("Specialty TFC", "Speciality", 1);
        let errors = errors_of(&sessions, PATIENTS, None);
        assert_one(&errors, "sessions.csv", 1, "specialty");
        let patients = PATIENTS.replacen("Priority", "Patient ID", 1);
        let errors = errors_of(SESSIONS, &patients, None);
        assert!(errors
            .iter()
            .any(|e| e.row == Some(1) && e.column.as_deref() == Some("patient_id")));
        assert!(errors
            .iter()
            .any(|e| e.row == Some(1) && e.column.as_deref() == Some("priority")));
    }

    #[test]
    fn ragged_rows_are_reported() {
        let patients = format!("{PATIENTS}A3,120\n");
        let errors = errors_of(SESSIONS, &patients, None);
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].file.as_str(), errors[0].row), ("ptl.csv", Some(4)));
    }

    #[test]
    fn validation_errors_map_back_to_file_row_and_column() {
        // Well-formed cells that break the request's rules: an unknown site, a duplicate id, a
        // COMPLETED pre-op without a date, a booking of an unknown session.
        let patients = with_cell(&with_cell(PATIENTS, 0, 10, "XYZ"), 0, 8, "");
        let patients = with_cell(&patients, 1, 0, "A1");
        let errors = errors_of(
            SESSIONS,
            &patients,
            Some("patient_id,session_id,state\nA1,S9,offered\n"),
        );
        let at = |file: &str, row: usize, column: &str| {
            errors
                .iter()
                .any(|e| e.file == file && e.row == Some(row) && e.column.as_deref() == Some(column))
        };
        assert!(
            at("ptl.csv", 2, "accepted_sites"),
            "{}",
            ImportErrors(errors.clone())
        );
        assert!(at("ptl.csv", 2, "preop_date"), "{}", ImportErrors(errors.clone()));
        assert!(at("ptl.csv", 3, "patient_id"), "{}", ImportErrors(errors.clone()));
        assert!(
            errors.iter().any(|e| e.message.contains("first at row 2")),
            "{}",
            ImportErrors(errors.clone())
        );
        assert!(
            at("bookings.csv", 2, "session_id"),
            "{}",
            ImportErrors(errors.clone())
        );
        for e in &errors {
            assert!(!e.to_string().contains("A1"), "echoes a patient id: {e}");
        }
    }

    #[test]
    fn a_bad_planning_date_is_reported() {
        let errors = match import(&sources(SESSIONS, PATIENTS, None), "tomorrow", "default") {
            Err(ImportErrors(e)) => e,
            Ok(_) => panic!("accepted"),
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].file, "--planning-date");
    }

    #[test]
    fn headers_normalise() {
        assert_eq!(normalise_header("\u{feff} Pre-op Status "), "preop_status");
        assert_eq!(normalise_header("OPCS-4 procedure"), "opcs_4_procedure");
        assert_eq!(normalise_header("Age (in months)"), "age_in_months");
    }
}
