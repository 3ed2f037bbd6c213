//! Each file's rows as proto messages: sessions, patients, sites, bookings.

use crate::api::proto as pb;

use super::sheet::{each_row, parse_date, Sheet};
use super::ImportError;

pub(super) fn sessions(sheet: &Sheet, errors: &mut Vec<ImportError>) -> (Vec<pb::Session>, Vec<usize>) {
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

pub(super) fn minutes_of(hhmm: &str) -> Option<i32> {
    let (h, m) = hhmm.split_once(':')?;
    Some(h.parse::<i32>().ok()? * 60 + m.parse::<i32>().ok()?)
}

/// `a; b | c` (also commas) -> `[a, b, c]`.
pub(super) fn split_list(cell: &str) -> Vec<String> {
    cell.split([';', '|', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn patients(sheet: &Sheet, errors: &mut Vec<ImportError>) -> (Vec<pb::Patient>, Vec<usize>) {
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
            gestation_weeks: r.int("gestation_weeks", false),
            age_days: r.int("age_days", false),
            treat_by: r.date("treat_by", false),
            overnight: r.boolean("overnight"),
        });
    });
    (out, rows)
}

pub(super) fn sites(sheet: &Sheet, errors: &mut Vec<ImportError>) -> (Vec<pb::Site>, Vec<usize>) {
    let mut out = Vec::new();
    let rows = each_row(sheet, errors, |r| {
        let id = r.text("site_id");
        let mut bed_nights = Vec::new();
        if let Some(cell) = r.cell("bed_nights").map(str::to_string) {
            for part in cell.split([';', '|']).map(str::trim).filter(|p| !p.is_empty()) {
                let night = part.split_once('=').and_then(|(date, beds)| {
                    Some((parse_date(date.trim())?, beds.trim().parse::<i32>().ok()?))
                });
                match night {
                    Some((date, beds)) => bed_nights.push(pb::BedNight { date, beds }),
                    None => r.err(
                        "bed_nights",
                        "not a night's beds (DATE=BEDS, e.g. 2026-12-24=2; separate several with ;)",
                    ),
                }
            }
        }
        out.push(pb::Site {
            name: r.optional_text("name").unwrap_or_else(|| id.clone()),
            id,
            specialist_centre: r.boolean("specialist_centre"),
            children_beds: r.int("children_beds", false),
            bed_nights,
        });
    });
    (out, rows)
}

pub(super) fn bookings(
    sheet: &Sheet,
    errors: &mut Vec<ImportError>,
) -> (Vec<pb::ExistingBooking>, Vec<usize>) {
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
