//! The columns of each file: canonical names, accepted header spellings, and how a header is
//! read.

/// A column: its canonical name (used in messages and the README) and the header spellings
/// accepted for it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

pub(super) const fn col(name: &'static str, aliases: &'static [&'static str], required: bool) -> Column {
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
    col(
        "gestation_weeks",
        &["gestation", "gestational_age_at_birth", "gestation_at_birth"],
        false,
    ),
    col("age_days", &["age_in_days"], false),
    col("treat_by", &["treat_by_date", "age_window_date"], false),
    col("overnight", &["overnight_stay", "inpatient", "needs_bed"], false),
];

/// Sites, one a row.
pub const SITE_COLUMNS: &[Column] = &[
    col("site_id", &["site", "id"], true),
    col("name", &["site_name"], false),
    col("specialist_centre", &["specialist", "tertiary"], false),
    col(
        "children_beds",
        &["children_s_beds", "beds", "overnight_beds", "paediatric_beds"],
        false,
    ),
    col("bed_nights", &["beds_by_night", "bed_overrides"], false),
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
pub(super) fn normalise_header(h: &str) -> String {
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
