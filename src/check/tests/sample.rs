//! The checker's test request.

use chrono::NaiveTime;

use crate::domain::policy::Policy;
use crate::domain::{
    BookingState, Date, ExistingBooking, ListType, Patient, PlannerKind, PlanningRequest, PreopStatus,
    Priority, Session, Site,
};

/// A small request for tests: two sites (A a specialist centre), eight lists (one locked, a
/// mixed list with reserved minutes, an adult list, a released one, an HVLC tonsillectomy list)
/// and eighteen patients, with bookings held: pinned on the locked list, confirmed, offered, and
/// one confirmed child on the adult list (a conflict the plan must report).
pub(super) fn sample_request() -> PlanningRequest {
    let planning_date: Date = "2026-03-02".parse().expect("date");
    let day = |n: i64| planning_date + chrono::Duration::days(n);
    let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").expect("time");
    let sites = vec![
        Site {
            id: "A".into(),
            name: "Children's hospital".into(),
            specialist_centre: true,
            children_beds: None,
            bed_nights: vec![],
        },
        Site {
            id: "B".into(),
            name: "District general".into(),
            specialist_centre: false,
            children_beds: None,
            bed_nights: vec![],
        },
    ];
    // (id, site, days ahead, start, specialty, surgeon, type, min age, max age, paed anaesthetist,
    //  reserved, released, hvlc group)
    type S<'a> = (
        &'a str,
        usize,
        i64,
        &'a str,
        &'a str,
        Option<&'a str>,
        ListType,
        Option<u32>,
        Option<u32>,
        bool,
        u32,
        bool,
        Option<&'a str>,
    );
    #[rustfmt::skip]
    let rows: [S; 8] = [
        ("S0", 0, 7, "08:30", "120", Some("MrA"), ListType::Paediatric, None, None, true, 0, false, None),
        ("S1", 1, 21, "08:30", "120", Some("MrB"), ListType::Mixed, None, None, false, 60, false, None),
        ("S2", 1, 35, "13:30", "120", Some("MrB"), ListType::Adult, None, None, false, 0, false, None),
        ("S3", 0, 30, "08:30", "120", None, ListType::Paediatric, None, None, true, 0, true, None),
        ("S4", 0, 50, "08:30", "120", None, ListType::Paediatric, None, None, true, 0, false,
         Some("tonsillectomy")),
        ("S5", 0, 45, "08:30", "171", None, ListType::Paediatric, None, Some(200), true, 0, false, None),
        ("S6", 1, 60, "08:30", "142", None, ListType::Paediatric, None, None, false, 0, false, None),
        ("S7", 1, 40, "13:30", "120", Some("MrC"), ListType::Paediatric, Some(24), None, true, 0, false,
         None),
    ];
    let sessions = rows
        .iter()
        .map(|r| Session {
            id: r.0.into(),
            site: r.1,
            theatre: format!("T{}", r.1),
            date: day(r.2),
            start: time(r.3),
            minutes: 240,
            specialty: r.4.into(),
            surgeon: r.5.map(Into::into),
            list_type: r.6,
            min_age_months: r.7,
            max_age_months: r.8,
            paediatric_anaesthetist: r.9,
            reserved_minutes: r.10,
            released: r.11,
            cases_per_list_target: None,
            hvlc_group: r.12.map(Into::into),
        })
        .collect();

    let done = Some(day(-15));
    let patient = |i: usize, specialty: &str, procedure: &str, minutes: u32, age_months: u32| Patient {
        id: format!("SECRET-NHS-{i:03}"),
        specialty: specialty.into(),
        procedure: procedure.into(),
        minutes,
        age_months,
        priority: Priority::P3,
        date_listed: day(-60 - i as i64),
        rtt_clock_start: day(-90 - 7 * i as i64),
        preop_status: PreopStatus::Completed,
        preop_date: done,
        complex: false,
        ebi_approved: false,
        accepted_sites: None,
        surgeon: None,
        unavailable: Vec::new(),
        diabetes: false,
        latex_allergy: false,
        accepts_adult_services: false,
        gestation_weeks: None,
        age_days: None,
        treat_by: None,
        overnight: false,
    };
    let not_done = |mut p: Patient| {
        p.preop_status = PreopStatus::NotDone;
        p.preop_date = None;
        p
    };
    let patients = vec![
        // 0: pinned on the locked list.
        patient(0, "120", "F34.1", 45, 60),
        // 1: grommets, EBI approved, a young child.
        Patient {
            ebi_approved: true,
            priority: Priority::P2,
            ..patient(1, "120", "D15.1", 20, 30)
        },
        // 2: grommets without EBI approval: never booked.
        patient(2, "120", "D15.1", 20, 40),
        // 3: an infant tonsillectomy, pre-op not done: the HVLC list at the specialist centre.
        not_done(patient(3, "120", "F34.1", 45, 8)),
        // 4: a 16-year-old who accepts adult services.
        Patient {
            accepts_adult_services: true,
            ..patient(4, "120", "F34.1", 45, 200)
        },
        // 5: an adult, site B only.
        Patient {
            accepted_sites: Some(vec![1]),
            ..patient(5, "120", "F34.3", 45, 230)
        },
        // 6: circumcision, diabetes.
        Patient {
            diabetes: true,
            ..patient(6, "171", "N30.3", 30, 48)
        },
        // 7: an infant herniotomy, complex.
        Patient {
            complex: true,
            ..patient(7, "171", "T19.1", 40, 6)
        },
        // 8: orchidopexy, latex allergy, confirmed booking on S5.
        Patient {
            latex_allergy: true,
            ..patient(8, "171", "N08.1", 60, 100)
        },
        // 9: unavailable on the day of S5, the only list of the specialty.
        Patient {
            unavailable: vec![(day(44), day(46))],
            ..patient(9, "171", "N30.3", 30, 70)
        },
        // 10: adenoidectomy for a named surgeon at site B.
        Patient {
            ebi_approved: true,
            surgeon: Some("MrB".into()),
            accepted_sites: Some(vec![1]),
            ..patient(10, "120", "E20.1", 40, 120)
        },
        // 11: dental extraction, offered on S6.
        not_done(patient(11, "142", "F09.1", 30, 90)),
        // 12: a toddler tonsillectomy, pre-op not done.
        not_done(patient(12, "120", "F34.1", 45, 18)),
        // 13: a complex tonsillectomy, pre-op not done.
        Patient {
            complex: true,
            ..not_done(patient(13, "120", "F34.1", 45, 100))
        },
        // 14: grommets, a young child at site B.
        Patient {
            ebi_approved: true,
            accepted_sites: Some(vec![1]),
            ..patient(14, "120", "D15.2", 20, 30)
        },
        // 15: offered on S1 (T-3 weeks) before pre-op was done: may stay.
        not_done(patient(15, "120", "F34.1", 45, 80)),
        // 16: confirmed on the adult list as a child: a conflict.
        patient(16, "120", "F34.1", 45, 100),
        // 17: a tonsillectomy with pre-op not done.
        not_done(patient(17, "120", "F34.1", 45, 50)),
    ];
    let bookings = vec![
        ExistingBooking {
            patient: 0,
            session: 0,
            state: BookingState::Offered,
        },
        ExistingBooking {
            patient: 8,
            session: 5,
            state: BookingState::Confirmed,
        },
        ExistingBooking {
            patient: 11,
            session: 6,
            state: BookingState::Offered,
        },
        ExistingBooking {
            patient: 15,
            session: 1,
            state: BookingState::Offered,
        },
        ExistingBooking {
            patient: 16,
            session: 2,
            state: BookingState::Confirmed,
        },
    ];
    PlanningRequest {
        planning_date,
        sites,
        sessions,
        patients,
        bookings,
        policy: Policy::default_profile(),
        profile: "default".into(),
        planner: PlannerKind::Baseline,
    }
}
