//! One passing and one failing case for every rule.

use super::*;
use crate::domain::policy::Policy;
use crate::domain::*;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// One specialist site, one general site; one list 35 days out at the general site; one patient
/// who fits it. Each test changes one thing.
fn base() -> PlanningRequest {
    PlanningRequest {
        planning_date: d("2026-11-23"),
        sites: vec![
            Site {
                id: "RCH".into(),
                name: "RCH".into(),
                specialist_centre: true,
                children_beds: None,
                bed_nights: vec![],
            },
            Site {
                id: "DGH".into(),
                name: "DGH".into(),
                specialist_centre: false,
                children_beds: None,
                bed_nights: vec![],
            },
        ],
        sessions: vec![Session {
            id: "S1".into(),
            site: 1,
            theatre: "T1".into(),
            date: d("2026-12-28"),
            start: chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            minutes: 240,
            specialty: "120".into(),
            surgeon: Some("Mr A".into()),
            list_type: ListType::Paediatric,
            min_age_months: None,
            max_age_months: None,
            paediatric_anaesthetist: false,
            reserved_minutes: 0,
            released: false,
            cases_per_list_target: None,
            hvlc_group: None,
        }],
        patients: vec![Patient {
            id: "P1".into(),
            specialty: "120".into(),
            procedure: "F34.1".into(),
            minutes: 50,
            age_months: 60,
            priority: Priority::P3,
            date_listed: d("2026-09-01"),
            rtt_clock_start: d("2026-08-01"),
            preop_status: PreopStatus::NotDone,
            preop_date: None,
            complex: false,
            ebi_approved: false,
            accepted_sites: None,
            surgeon: None,
            unavailable: vec![],
            diabetes: false,
            latex_allergy: false,
            accepts_adult_services: false,
            gestation_weeks: None,
            age_days: None,
            treat_by: None,
            overnight: false,
        }],
        bookings: vec![],
        policy: Policy::default_profile(),
        profile: "default".into(),
        planner: PlannerKind::Optimiser,
    }
}

fn verdict(req: &PlanningRequest, rule: fn(&PlanningRequest, PatientIx, SessionIx) -> Verdict) -> Verdict {
    rule(req, 0, 0)
}

#[test]
fn the_base_pair_is_eligible() {
    let req = base();
    assert!(eligible(&req, 0, 0), "{:?}", pair_reasons(&req, 0, 0));
}

#[test]
fn released() {
    let mut req = base();
    assert_eq!(verdict(&req, super::released), Ok(()));
    req.sessions[0].released = true;
    assert_eq!(verdict(&req, super::released), Err(RuleCode::SessionReleased));
}

#[test]
fn specialty() {
    let mut req = base();
    assert_eq!(verdict(&req, super::specialty), Ok(()));
    req.sessions[0].specialty = "171".into();
    assert_eq!(verdict(&req, super::specialty), Err(RuleCode::SpecialtyMismatch));
}

#[test]
fn surgeon() {
    let mut req = base();
    req.patients[0].surgeon = Some("Mr A".into());
    assert_eq!(verdict(&req, super::surgeon), Ok(()));
    req.patients[0].surgeon = Some("Ms B".into());
    assert_eq!(verdict(&req, super::surgeon), Err(RuleCode::SurgeonMismatch));
}

#[test]
fn hvlc_group() {
    let mut req = base();
    req.sessions[0].hvlc_group = Some("tonsillectomy".into());
    assert_eq!(verdict(&req, super::hvlc_group), Ok(()));
    req.patients[0].procedure = "D15.1".into();
    assert_eq!(verdict(&req, super::hvlc_group), Err(RuleCode::HvlcGroupMismatch));
}

#[test]
fn accepted_site() {
    let mut req = base();
    req.patients[0].accepted_sites = Some(vec![1]);
    assert_eq!(verdict(&req, super::accepted_site), Ok(()));
    req.patients[0].accepted_sites = Some(vec![0]);
    assert_eq!(
        verdict(&req, super::accepted_site),
        Err(RuleCode::SiteNotAccepted)
    );
}

#[test]
fn adult_list() {
    let mut req = base();
    req.sessions[0].list_type = ListType::Adult;
    req.patients[0].age_months = 200;
    assert_eq!(verdict(&req, super::adult_list), Err(RuleCode::ChildOnAdultList));
    req.patients[0].accepts_adult_services = true;
    assert_eq!(verdict(&req, super::adult_list), Ok(()));
    req.patients[0].age_months = 100;
    assert_eq!(verdict(&req, super::adult_list), Err(RuleCode::ChildOnAdultList));
}

#[test]
fn paediatric_list() {
    let mut req = base();
    req.patients[0].age_months = 214;
    assert_eq!(verdict(&req, super::paediatric_list), Ok(()));
    // 216 months at the list's date (one month after planning): an adult.
    req.patients[0].age_months = 215;
    assert_eq!(
        verdict(&req, super::paediatric_list),
        Err(RuleCode::AdultOnPaediatricList)
    );
}

#[test]
fn age_band() {
    let mut req = base();
    req.sessions[0].min_age_months = Some(36);
    req.sessions[0].max_age_months = Some(120);
    assert_eq!(verdict(&req, super::age_band), Ok(()));
    req.patients[0].age_months = 30;
    assert_eq!(verdict(&req, super::age_band), Err(RuleCode::OutsideAgeBand));
    req.patients[0].age_months = 130;
    assert_eq!(verdict(&req, super::age_band), Err(RuleCode::OutsideAgeBand));
}

#[test]
fn specialist_age() {
    let mut req = base();
    req.patients[0].age_months = 10;
    assert_eq!(
        verdict(&req, super::specialist_age),
        Err(RuleCode::SpecialistCentreRequired)
    );
    req.sessions[0].site = 0;
    assert_eq!(verdict(&req, super::specialist_age), Ok(()));
}

#[test]
fn complex_case() {
    let mut req = base();
    req.patients[0].complex = true;
    assert_eq!(
        verdict(&req, super::complex_case),
        Err(RuleCode::SpecialistCentreRequired)
    );
    req.sessions[0].site = 0;
    assert_eq!(verdict(&req, super::complex_case), Ok(()));
}

#[test]
fn paediatric_anaesthetist() {
    let mut req = base();
    req.patients[0].age_months = 24;
    assert_eq!(
        verdict(&req, super::paediatric_anaesthetist),
        Err(RuleCode::PaediatricAnaesthetistRequired)
    );
    req.sessions[0].paediatric_anaesthetist = true;
    assert_eq!(verdict(&req, super::paediatric_anaesthetist), Ok(()));
}

#[test]
fn preop_ready() {
    let mut req = base();
    // 35 days out: beyond T-4, no pre-op needed.
    assert_eq!(verdict(&req, super::preop_ready), Ok(()));
    req.sessions[0].date = d("2026-12-10");
    assert_eq!(verdict(&req, super::preop_ready), Err(RuleCode::PreopNotReady));
    req.patients[0].preop_status = PreopStatus::Completed;
    req.patients[0].preop_date = Some(d("2026-11-01"));
    assert_eq!(verdict(&req, super::preop_ready), Ok(()));
    // Expired by the list's date.
    req.patients[0].preop_date = Some(d("2026-05-01"));
    assert_eq!(verdict(&req, super::preop_ready), Err(RuleCode::PreopNotReady));
}

#[test]
fn locked_list() {
    let mut req = base();
    req.sessions[0].date = d("2026-11-30");
    assert_eq!(verdict(&req, super::locked_list), Ok(()));
    req.policy.phases.locked_lists_fill_gaps = false;
    assert_eq!(verdict(&req, super::locked_list), Err(RuleCode::LockedList));
}

#[test]
fn unavailable() {
    let mut req = base();
    req.patients[0].unavailable = vec![(d("2026-12-01"), d("2026-12-27"))];
    assert_eq!(verdict(&req, super::unavailable), Ok(()));
    req.patients[0]
        .unavailable
        .push((d("2026-12-28"), d("2026-12-28")));
    assert_eq!(verdict(&req, super::unavailable), Err(RuleCode::Unavailable));
}

#[test]
fn case_fits() {
    let mut req = base();
    req.patients[0].minutes = 240;
    // No reserved time: the last case needs no turnaround after it.
    assert_eq!(verdict(&req, super::case_fits), Ok(()));
    req.sessions[0].reserved_minutes = 1;
    assert_eq!(verdict(&req, super::case_fits), Err(RuleCode::CaseTooLong));
}

#[test]
fn ebi() {
    let mut req = base();
    assert_eq!(super::ebi(&req, 0), Ok(()));
    req.patients[0].procedure = "D15.1".into();
    assert_eq!(super::ebi(&req, 0), Err(RuleCode::EbiNotApproved));
    req.patients[0].ebi_approved = true;
    assert_eq!(super::ebi(&req, 0), Ok(()));
}

#[test]
fn pinned_bookings_are_their_own_only_option() {
    let mut req = base();
    req.sessions[0].date = d("2026-11-30");
    req.patients[0].specialty = "171".into();
    req.bookings.push(ExistingBooking {
        patient: 0,
        session: 0,
        state: BookingState::Offered,
    });
    assert!(req.is_pinned(&req.bookings[0]));
    assert_eq!(eligible_sessions(&req), vec![vec![0]]);
    assert_eq!(pinned_reasons(&req, 0, 0), vec![RuleCode::SpecialtyMismatch]);
}

#[test]
fn list_order_youngest_then_flags_then_age() {
    let mut req = base();
    let mk = |id: &str, age: u32, diabetes: bool, latex: bool| {
        let mut p = req.patients[0].clone();
        p.id = id.into();
        p.age_months = age;
        p.diabetes = diabetes;
        p.latex_allergy = latex;
        p
    };
    req.patients = vec![
        mk("old", 150, false, false),
        mk("latex", 120, false, true),
        mk("baby", 40, false, false),
        mk("diabetic", 130, true, false),
        mk("mid", 60, false, false),
    ];
    let order: Vec<&str> = list_order(&req, 0, &[0, 1, 2, 3, 4])
        .iter()
        .map(|&p| req.patients[p].id.as_str())
        .collect();
    assert_eq!(order, ["baby", "diabetic", "latex", "mid", "old"]);
}

/// An infant of 100 days born at `gestation` weeks, on the list 35 days out.
fn infant(gestation: Option<u32>) -> PlanningRequest {
    let mut req = base();
    let p = &mut req.patients[0];
    p.age_months = 3;
    p.age_days = Some(100);
    p.gestation_weeks = gestation;
    req
}

#[test]
fn ex_premature() {
    // Born at 30 weeks, 135 days old at the list: 49 weeks post-conception, under 60.
    let mut req = infant(Some(30));
    assert_eq!(
        verdict(&req, super::ex_premature),
        Err(RuleCode::ExPrematureInfant)
    );
    req.sessions[0].site = 0;
    assert_eq!(
        verdict(&req, super::ex_premature),
        Err(RuleCode::ExPrematureInfant),
        "a specialist centre without a paediatric anaesthetist is not enough"
    );
    req.sessions[0].paediatric_anaesthetist = true;
    assert_eq!(verdict(&req, super::ex_premature), Ok(()));
    // Term-born: 39 weeks + 135 days is 58 weeks, over the term threshold of 44.
    assert_eq!(verdict(&infant(Some(39)), super::ex_premature), Ok(()));
    // No gestation on record: the rule does not apply.
    assert_eq!(verdict(&infant(None), super::ex_premature), Ok(()));
    // Past 60 weeks: 30 weeks + 335 days.
    let mut older = infant(Some(30));
    older.patients[0].age_days = Some(300);
    assert_eq!(verdict(&older, super::ex_premature), Ok(()));
    // From whole months when the age in days is absent: 4 months at the list is 121 days.
    let mut months = infant(Some(30));
    months.patients[0].age_days = None;
    assert_eq!(req.post_conception_days(0, 0), Some(210 + 135));
    assert_eq!(months.post_conception_days(0, 0), Some(210 + 121));
    assert_eq!(
        verdict(&months, super::ex_premature),
        Err(RuleCode::ExPrematureInfant)
    );
}

#[test]
fn ex_premature_bites_where_the_age_rules_do_not() {
    // A site whose local policy sends only under-6-months to the specialist centre: a 7-month-old
    // born at 26 weeks (56 weeks post-conception at the list) still needs it.
    let mut req = infant(Some(26));
    req.policy.age.specialist_centre_under_months = 6;
    req.policy.age.paediatric_anaesthetist_under_months = 6;
    req.patients[0].age_months = 6;
    req.patients[0].age_days = None;
    assert_eq!(pair_reasons(&req, 0, 0), vec![RuleCode::ExPrematureInfant]);
    req.patients[0].gestation_weeks = Some(38);
    assert!(pair_reasons(&req, 0, 0).is_empty());
}

#[test]
fn age_window_due_date() {
    let mut req = base();
    let p = &mut req.patients[0];
    p.procedure = "N08.1".into();
    p.specialty = "171".into();
    p.priority = Priority::P4;
    p.age_months = 15;
    p.date_listed = d("2026-10-01");
    // 15 months at 2026-11-23: 18 months at 2027-02-23.
    assert_eq!(req.age_window_date(0), Some(d("2027-02-23")));
    assert_eq!(req.due_date(0), Some(d("2027-02-23")));
    // The earlier of the priority's date and the window's.
    req.patients[0].priority = Priority::P3;
    assert_eq!(req.priority_due_date(0), Some(d("2026-12-31")));
    assert_eq!(req.due_date(0), Some(d("2026-12-31")));
    // Exact from the age in days: born 2025-08-20, 18 months on 2027-02-20.
    req.patients[0].priority = Priority::P4;
    req.patients[0].age_days = Some(460);
    assert_eq!(req.due_date(0), Some(d("2027-02-20")));
    // The clinician's date replaces the window, later or earlier.
    req.patients[0].treat_by = Some(d("2027-03-31"));
    assert_eq!(req.due_date(0), Some(d("2027-03-31")));
    // A child listed after its window had passed is planned by its priority alone.
    let mut late = base();
    late.patients[0].procedure = "N09.2".into();
    late.patients[0].age_months = 40;
    assert_eq!(late.age_window_date(0), None);
    assert_eq!(late.due_date(0), late.priority_due_date(0));
    // Another procedure has no window.
    assert_eq!(base().age_window_date(0), None);
}
