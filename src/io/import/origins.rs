//! Validation's violations traced back to the file, row and column they came from.

use super::ImportError;

/// Where a validation violation's field path (e.g. `patients[3].preop.date`) came from.
pub(super) struct Origins<'a> {
    pub(super) sessions: (&'a str, Vec<usize>),
    pub(super) patients: (&'a str, Vec<usize>),
    pub(super) sites: Option<(&'a str, Vec<usize>)>,
    pub(super) bookings: Option<(&'a str, Vec<usize>)>,
}

impl Origins<'_> {
    pub(super) fn locate(&self, field: &str, description: &str) -> ImportError {
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
pub(super) fn rows_for_indices(description: &str, head: &str, rows: &[usize]) -> String {
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
