//! The property tests' generator: small, valid proto requests built from plain numbers, with
//! the adversarial shapes the properties run on (see the parent module's doc).

use std::collections::HashMap;

use proptest::prelude::*;
use theatre_optimiser::api::proto as pb;

pub(super) const PLANNING_DATE: &str = "2026-11-23";
pub(super) const SPECIALTIES: [&str; 2] = ["120", "171"];
pub(super) const SURGEONS: [&str; 2] = ["Mr Adeyemi", "Ms Okafor"];
/// Tonsillectomy, grommets (EBI), adenoidectomy (EBI), circumcision, herniotomy, no group, dental.
pub(super) const PROCEDURES: [&str; 8] = [
    "F34.1", "D15.1", "E20.1", "N30.3", "T19.1", "A01.1", "F09.1", "N08.1",
];
pub(super) const HVLC_GROUPS: [&str; 2] = ["tonsillectomy", "grommets"];
pub(super) const PROFILES: [&str; 3] = ["default", "fast", "high-intensity"];
pub(super) const LIST_MINUTES: [i32; 5] = [60, 120, 180, 240, 300];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Mixed,
    AllIneligible,
    OneHugeCase,
    AllLocked,
    ExactlyFull,
    Ties,
}

#[derive(Debug, Clone)]
pub(super) struct SessionSpec {
    pub(super) site: usize,
    pub(super) day: i64,
    pub(super) afternoon: bool,
    pub(super) minutes: usize,
    pub(super) specialty: usize,
    pub(super) surgeon: Option<usize>,
    pub(super) list_type: i32,
    pub(super) band: (Option<i32>, Option<i32>),
    pub(super) paediatric_anaesthetist: bool,
    pub(super) reserved_quarters: i32,
    pub(super) released: bool,
    pub(super) target: Option<i32>,
    pub(super) hvlc: Option<usize>,
}

#[derive(Debug, Clone)]
pub(super) struct PatientSpec {
    pub(super) specialty: usize,
    pub(super) procedure: usize,
    pub(super) minutes: i32,
    pub(super) age_months: i32,
    pub(super) priority: i32,
    pub(super) listed_days_ago: i64,
    pub(super) clock_days_before_listing: i64,
    pub(super) preop_status: i32,
    pub(super) preop_days_ago: Option<i64>,
    pub(super) complex: bool,
    pub(super) ebi_approved: bool,
    pub(super) site_mask: u8,
    pub(super) surgeon: Option<usize>,
    pub(super) unavailable: Option<(i64, i64)>,
    pub(super) diabetes: bool,
    pub(super) latex_allergy: bool,
    pub(super) accepts_adult_services: bool,
    /// Weeks' gestation at birth.
    pub(super) gestation_weeks: Option<i32>,
    /// Age in days, as days past the latest birth date its whole months allow (kept only when it
    /// agrees with them).
    pub(super) age_days_extra: Option<i64>,
    /// The clinician's treat-by date, days after the planning date.
    pub(super) treat_by_days: Option<i64>,
    /// Stays the night after the procedure.
    pub(super) overnight: bool,
}

#[derive(Debug, Clone)]
pub(super) struct BookingSpec {
    pub(super) patient: usize,
    pub(super) session: usize,
    pub(super) confirmed: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Spec {
    pub(super) shape: Shape,
    pub(super) specialist: [bool; 2],
    /// Children's beds of each site a night (`None`: not limited).
    pub(super) beds: [Option<i32>; 2],
    pub(super) sites: usize,
    pub(super) sessions: Vec<SessionSpec>,
    pub(super) patients: Vec<PatientSpec>,
    pub(super) bookings: Vec<BookingSpec>,
    pub(super) profile: usize,
    pub(super) fill_gaps: bool,
    pub(super) planner_baseline: bool,
}

pub(super) fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        3 => Just(Shape::Mixed),
        1 => Just(Shape::AllIneligible),
        1 => Just(Shape::OneHugeCase),
        1 => Just(Shape::AllLocked),
        1 => Just(Shape::ExactlyFull),
        1 => Just(Shape::Ties),
    ]
}

/// Ages around every threshold: infants, under-3s, children, 16-17s, adults.
pub(super) fn age_months() -> impl Strategy<Value = i32> {
    prop_oneof![0..12i32, 12..36i32, 36..192i32, 192..216i32, 216..260i32]
}

pub(super) fn session_spec() -> impl Strategy<Value = SessionSpec> {
    (
        (
            0..2usize,
            0..70i64,
            any::<bool>(),
            0..LIST_MINUTES.len(),
            0..2usize,
        ),
        (
            proptest::option::weighted(0.3, 0..2usize),
            prop_oneof![6 => Just(1i32), 3 => Just(2i32), 1 => Just(3i32)],
            (
                proptest::option::weighted(0.2, 0..100i32),
                proptest::option::weighted(0.2, 100..240i32),
            ),
            proptest::bool::weighted(0.7),
        ),
        (
            prop_oneof![3 => Just(0i32), 1 => 1..3i32],
            proptest::bool::weighted(0.1),
            proptest::option::weighted(0.2, 0..8i32),
            proptest::option::weighted(0.2, 0..HVLC_GROUPS.len()),
        ),
    )
        .prop_map(
            |(
                (site, day, afternoon, minutes, specialty),
                (surgeon, list_type, band, paediatric_anaesthetist),
                (reserved_quarters, released, target, hvlc),
            )| SessionSpec {
                site,
                day,
                afternoon,
                minutes,
                specialty,
                surgeon,
                list_type,
                band,
                paediatric_anaesthetist,
                reserved_quarters,
                released,
                target,
                hvlc,
            },
        )
}

pub(super) fn patient_spec() -> impl Strategy<Value = PatientSpec> {
    (
        (0..2usize, 0..PROCEDURES.len(), 10..300i32, age_months(), 2..=4i32),
        (
            0..500i64,
            0..200i64,
            1..=3i32,
            proptest::option::weighted(0.8, 0..400i64),
        ),
        (
            proptest::bool::weighted(0.1),
            proptest::bool::weighted(0.7),
            any::<u8>(),
            proptest::option::weighted(0.2, 0..2usize),
            proptest::option::weighted(0.2, (0..70i64, 0..10i64)),
        ),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::option::weighted(0.3, 22..=44i32),
            proptest::option::weighted(0.5, 0..31i64),
            proptest::option::weighted(0.1, 0..200i64),
            proptest::bool::weighted(0.3),
        ),
    )
        .prop_map(
            |(
                (specialty, procedure, minutes, age_months, priority),
                (listed_days_ago, clock_days_before_listing, preop_status, preop_days_ago),
                (complex, ebi_approved, site_mask, surgeon, unavailable),
                (
                    diabetes,
                    latex_allergy,
                    accepts_adult_services,
                    gestation_weeks,
                    age_days_extra,
                    treat_by_days,
                    overnight,
                ),
            )| PatientSpec {
                specialty,
                procedure,
                minutes,
                age_months,
                priority,
                listed_days_ago,
                clock_days_before_listing,
                preop_status,
                preop_days_ago,
                complex,
                ebi_approved,
                site_mask,
                surgeon,
                unavailable,
                diabetes,
                latex_allergy,
                accepts_adult_services,
                gestation_weeks,
                age_days_extra,
                treat_by_days,
                overnight,
            },
        )
}

pub(super) fn booking_spec() -> impl Strategy<Value = BookingSpec> {
    (0..10usize, 0..6usize, any::<bool>()).prop_map(|(patient, session, confirmed)| BookingSpec {
        patient,
        session,
        confirmed,
    })
}

/// Small requests: 1 to 6 lists, up to 10 patients.
pub(super) fn spec() -> impl Strategy<Value = Spec> {
    sized_spec(1..=6, 0..=10)
}

/// Larger requests: 25 to 30 lists, 120 to 150 patients.
pub(super) fn large_spec() -> impl Strategy<Value = Spec> {
    sized_spec(25..=30, 120..=150)
}

fn sized_spec(
    lists: std::ops::RangeInclusive<usize>,
    patients: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Spec> {
    (
        shape(),
        (
            (any::<bool>(), any::<bool>()),
            (
                proptest::option::weighted(0.5, 0..=2i32),
                proptest::option::weighted(0.5, 0..=2i32),
            ),
        ),
        1..=2usize,
        proptest::collection::vec(session_spec(), lists),
        proptest::collection::vec(patient_spec(), patients),
        proptest::collection::vec(booking_spec(), 0..=4),
        (
            0..PROFILES.len(),
            proptest::bool::weighted(0.8),
            proptest::bool::weighted(0.1),
        ),
    )
        .prop_map(
            |(
                shape,
                ((a, b), (beds_a, beds_b)),
                sites,
                sessions,
                patients,
                bookings,
                (profile, fill_gaps, planner_baseline),
            )| {
                Spec {
                    shape,
                    specialist: [a, b],
                    beds: [beds_a, beds_b],
                    sites,
                    sessions,
                    patients,
                    bookings,
                    profile,
                    fill_gaps,
                    planner_baseline,
                }
            },
        )
}

pub(super) fn date(days_after_planning: i64) -> String {
    let planning = chrono::NaiveDate::parse_from_str(PLANNING_DATE, "%Y-%m-%d").unwrap();
    (planning + chrono::Duration::days(days_after_planning))
        .format("%Y-%m-%d")
        .to_string()
}

pub(super) fn session_proto(i: usize, spec: &SessionSpec, sites: usize, shape: Shape) -> pb::Session {
    let mut minutes = LIST_MINUTES[spec.minutes];
    let mut day = spec.day;
    let mut reserved = minutes * spec.reserved_quarters / 4;
    let mut list_type = spec.list_type;
    let mut band = spec.band;
    let mut paediatric_anaesthetist = spec.paediatric_anaesthetist;
    let mut surgeon = spec.surgeon.map(|s| SURGEONS[s].to_string());
    let mut hvlc = spec.hvlc.map(|g| HVLC_GROUPS[g].to_string());
    let mut target = spec.target;
    let mut released = spec.released;
    match shape {
        Shape::AllLocked => day %= 14,
        Shape::ExactlyFull => {
            // Easy lists that most children may go on, filled to the minute by the cases.
            minutes = 240;
            reserved = 0;
            list_type = pb::ListType::Paediatric as i32;
            band = (None, None);
            paediatric_anaesthetist = true;
            surgeon = None;
            hvlc = None;
            released = false;
            day = 30 + day % 40;
        }
        Shape::Ties => target = target.or(Some(3)),
        _ => {}
    }
    if shape == Shape::ExactlyFull {
        target = None;
    }
    pb::Session {
        id: format!("S{i}"),
        site_id: format!("SITE{}", spec.site % sites),
        theatre: format!("T{}", i % 3 + 1),
        date: date(day),
        start_time: if spec.afternoon { "13:00" } else { "08:00" }.to_string(),
        minutes,
        specialty: SPECIALTIES[spec.specialty].to_string(),
        surgeon,
        list_type,
        min_age_months: band.0,
        max_age_months: band.1,
        paediatric_anaesthetist,
        reserved_minutes: reserved,
        status: if released {
            pb::SessionStatus::Released
        } else {
            pb::SessionStatus::Confirmed
        } as i32,
        cases_per_list_target: target,
        hvlc_group: hvlc,
    }
}

pub(super) fn patient_proto(
    i: usize,
    spec: &PatientSpec,
    sites: usize,
    shape: Shape,
    longest: i32,
) -> pb::Patient {
    let mut p = pb::Patient {
        id: format!("CYP-{i:03}"),
        specialty: SPECIALTIES[spec.specialty].to_string(),
        procedure: PROCEDURES[spec.procedure].to_string(),
        expected_minutes: spec.minutes.min(longest),
        age_months: spec.age_months,
        priority: spec.priority,
        date_listed: date(-spec.listed_days_ago),
        rtt_clock_start: date(-spec.listed_days_ago - spec.clock_days_before_listing),
        preop: Some(pb::PreopAssessment {
            status: spec.preop_status,
            date: match (spec.preop_status, spec.preop_days_ago) {
                // A completed assessment needs a date on or before the planning date.
                (3, d) => Some(date(-d.unwrap_or(0))),
                // A booked one may be in the future.
                (_, d) => d.map(|d| date(30 - d)),
            },
        }),
        complex: spec.complex,
        ebi_approved: spec.ebi_approved,
        accepted_site_ids: (0..sites)
            .filter(|s| spec.site_mask & (1 << s) != 0 && spec.site_mask & 0x80 != 0)
            .map(|s| format!("SITE{s}"))
            .collect(),
        surgeon: spec.surgeon.map(|s| SURGEONS[s].to_string()),
        unavailable: spec
            .unavailable
            .map(|(from, len)| pb::DateRange {
                from: date(from),
                to: date(from + len),
            })
            .into_iter()
            .collect(),
        diabetes: spec.diabetes,
        latex_allergy: spec.latex_allergy,
        accepts_adult_services: spec.accepts_adult_services,
        gestation_weeks: spec.gestation_weeks,
        age_days: spec
            .age_days_extra
            .and_then(|extra| age_days_agreeing(spec.age_months, extra)),
        treat_by: spec.treat_by_days.map(date),
        overnight: spec.overnight,
    };
    match shape {
        Shape::AllIneligible => {
            if spec.ebi_approved {
                p.specialty = "999".into();
            } else {
                p.procedure = "D15.1".into();
            }
        }
        Shape::OneHugeCase if i == 0 => p.expected_minutes = longest,
        Shape::ExactlyFull => {
            // Cases of 40, 115 or 240 minutes: with a 10-minute changeover, 5, 2 or 1 of them fill
            // a 240-minute list exactly.
            p.expected_minutes = [40, 115, 240][spec.minutes as usize % 3];
            p.age_months = 36 + spec.age_months % 150;
            p.age_days = None;
            p.complex = false;
            p.surgeon = None;
            p.accepted_site_ids.clear();
            p.unavailable.clear();
            p.ebi_approved = true;
            p.preop = Some(pb::PreopAssessment {
                status: pb::PreopStatus::Completed as i32,
                date: Some(date(-10)),
            });
        }
        _ => {}
    }
    p
}

/// An age in days at the planning date that agrees with `months` whole months: `extra` days past
/// the latest birth date those months allow, if that birth date still gives `months`.
fn age_days_agreeing(months: i32, extra: i64) -> Option<i32> {
    let planning = chrono::NaiveDate::parse_from_str(PLANNING_DATE, "%Y-%m-%d").unwrap();
    let latest = planning.checked_sub_months(chrono::Months::new(months as u32))?;
    let days = (planning - latest).num_days() + extra;
    let born = planning - chrono::Duration::days(days);
    (theatre_optimiser::domain::months_between(born, planning) == months).then_some(days as i32)
}

/// A valid proto request from the spec.
pub(super) fn request(spec: &Spec) -> pb::ProposeAllocationsRequest {
    let shape = spec.shape;
    let sites = (0..spec.sites)
        .map(|s| pb::Site {
            id: format!("SITE{s}"),
            name: format!("Site {s}"),
            specialist_centre: spec.specialist[s],
            children_beds: spec.beds[s],
            bed_nights: vec![],
        })
        .collect();
    let mut sessions: Vec<pb::Session> = spec
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| session_proto(i, s, spec.sites, shape))
        .collect();
    if shape == Shape::Ties {
        for i in 1..sessions.len() {
            let id = sessions[i].id.clone();
            sessions[i] = pb::Session {
                id,
                ..sessions[0].clone()
            };
        }
    }
    let longest = sessions.iter().map(|s| s.minutes).max().unwrap_or(60);
    let mut patients: Vec<pb::Patient> = spec
        .patients
        .iter()
        .enumerate()
        .map(|(i, p)| patient_proto(i, p, spec.sites, shape, longest))
        .collect();
    if shape == Shape::Ties {
        for i in 1..patients.len() {
            let id = patients[i].id.clone();
            patients[i] = pb::Patient {
                id,
                ..patients[0].clone()
            };
        }
    }
    let mut existing_bookings = Vec::new();
    let mut booked = std::collections::HashSet::new();
    let mut held = vec![0i32; sessions.len()];
    if !patients.is_empty() {
        for b in &spec.bookings {
            let p = b.patient % patients.len();
            let s = b.session % sessions.len();
            // Bookings held on one list, with changeovers and reserved time, never run past
            // midnight: validation refuses that (see
            // `pinned_bookings_past_midnight_are_refused_or_planned`).
            let start = if sessions[s].start_time == "08:00" {
                8 * 60
            } else {
                13 * 60
            };
            let load = patients[p].expected_minutes + 10;
            if sessions[s].status == pb::SessionStatus::Released as i32
                || start + held[s] + load + sessions[s].reserved_minutes > 24 * 60
                || !booked.insert(p)
            {
                continue;
            }
            held[s] += load;
            existing_bookings.push(pb::ExistingBooking {
                patient_id: patients[p].id.clone(),
                session_id: sessions[s].id.clone(),
                state: if b.confirmed {
                    pb::BookingState::Confirmed
                } else {
                    pb::BookingState::Offered
                } as i32,
            });
        }
    }
    // Exactly-full lists are sized for the default 10-minute changeover.
    let profile = if shape == Shape::ExactlyFull {
        0
    } else {
        spec.profile
    };
    let mut overrides = HashMap::new();
    if !spec.fill_gaps {
        overrides.insert("phases.locked_lists_fill_gaps".to_string(), 0.0);
    }
    pb::ProposeAllocationsRequest {
        planning_date: PLANNING_DATE.into(),
        sites,
        sessions,
        patients,
        existing_bookings,
        policy: Some(pb::Policy {
            profile: PROFILES[profile].into(),
            overrides,
            ..Default::default()
        }),
        planner: if spec.planner_baseline {
            pb::Planner::Baseline
        } else {
            pb::Planner::Unspecified
        } as i32,
    }
}
