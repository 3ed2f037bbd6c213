use super::columns::normalise_header;
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

#[test]
fn birth_columns_are_read_when_present() {
    let patients = "\
Pseudonymised ID,Specialty,OPCS-4 procedure,Priority,Date listed,RTT clock start,Age in months,Pre-op status,Expected minutes,Gestation at birth,Age in days,Treat by date
B1,171,T19.1,P2,2026-11-09,2026-11-02,5,not done,40,29,166,
B2,171,N08.1,P3,2026-10-26,2026-10-12,17,not done,60,,,20/12/2026
";
    let r = import(&sources(SESSIONS, patients, None), "2026-11-23", "default").unwrap();
    let (b1, b2) = (&r.request.patients[0], &r.request.patients[1]);
    assert_eq!(
        (b1.gestation_weeks, b1.age_days, b1.treat_by.as_deref()),
        (Some(29), Some(166), None)
    );
    assert_eq!(
        (b2.gestation_weeks, b2.age_days, b2.treat_by.as_deref()),
        (None, None, Some("2026-12-20"))
    );
    // Absent columns leave the fields absent.
    let old = import(&sources(SESSIONS, PATIENTS, None), "2026-11-23", "default").unwrap();
    assert!(old
        .request
        .patients
        .iter()
        .all(|p| p.gestation_weeks.is_none() && p.age_days.is_none() && p.treat_by.is_none()));
    // A bad cell is an error at its row and column.
    let bad = patients.replace(",29,166,", ",twenty,166,");
    assert_one(&errors_of(SESSIONS, &bad, None), "ptl.csv", 2, "gestation_weeks");
}
