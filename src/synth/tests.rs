use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveTime};

use super::catalogue::is_bank_holiday;
use super::*;
use crate::domain::{ListType, PlanningRequest};
use crate::rules;

fn convert(req: &pb::ProposeAllocationsRequest) -> PlanningRequest {
    PlanningRequest::try_from(req.clone()).unwrap_or_else(|e| panic!("{e}: {:?}", &e.0[..e.0.len().min(10)]))
}

fn pairs(options: &[Vec<usize>]) -> usize {
    options.iter().map(Vec::len).sum()
}

/// Pool demand (case and turnaround) over what the confirmed lists can take.
fn demand_ratio(req: &PlanningRequest, bookable_only: bool, options: &[Vec<usize>]) -> f64 {
    let demand: i64 = (0..req.patients.len())
        .filter(|&p| !bookable_only || !options[p].is_empty())
        .map(|p| req.case_load(p))
        .sum();
    let capacity: i64 = (0..req.sessions.len())
        .filter(|&s| !req.sessions[s].released)
        .map(|s| req.case_capacity(s))
        .sum();
    demand as f64 / capacity as f64
}

fn share(count: usize, of: usize) -> f64 {
    count as f64 / of as f64
}

#[test]
fn scales_parse_and_name_the_choices() {
    for scale in Scale::ALL {
        assert_eq!(scale.as_str().parse::<Scale>(), Ok(scale));
        assert_eq!(scale.to_string(), scale.as_str());
    }
    assert_eq!("Trust".parse::<Scale>(), Ok(Scale::Trust));
    let err = "county".parse::<Scale>().unwrap_err().to_string();
    for choice in ["theatre", "trust", "region"] {
        assert!(err.contains(choice), "{err}");
    }
}

#[test]
fn theatre_and_trust_convert_without_violations() {
    for scale in [Scale::Theatre, Scale::Trust] {
        for seed in [1, 2, 3] {
            let req = convert(&generate(scale, seed));
            let shape = scale.shape();
            assert_eq!(req.patients.len(), shape.patients);
            assert_eq!(req.sites.len(), shape.sites);
            let n = req.sessions.len() as f64;
            assert!(
                (n - shape.sessions as f64).abs() <= 0.1 * shape.sessions as f64,
                "{scale} {n}"
            );
        }
    }
}

#[test]
fn region_converts_without_violations() {
    let req = convert(&generate(Scale::Region, 1));
    assert_eq!(req.sites.iter().filter(|s| s.specialist_centre).count(), 2);
    assert_eq!(req.patients.len(), 10_000);
    assert!(
        (850..=1_050).contains(&req.sessions.len()),
        "{}",
        req.sessions.len()
    );
}

#[test]
fn small_and_odd_shapes_convert() {
    for shape in [
        Shape {
            sites: 2,
            weeks: 1,
            sessions: 6,
            patients: 15,
        },
        Shape {
            sites: 5,
            weeks: 2,
            sessions: 60,
            patients: 200,
        },
        Shape {
            sites: 1,
            weeks: 4,
            sessions: 0,
            patients: 10,
        },
        Shape {
            sites: 0,
            weeks: 0,
            sessions: 10,
            patients: 0,
        },
    ] {
        convert(&generate_shape(&shape, 9));
    }
}

#[test]
fn requests_round_trip_through_json() {
    let req = generate(Scale::Theatre, 3);
    let text = serde_json::to_string(&req).unwrap();
    assert!(
        text.contains("\"planningDate\":\"2026-11-23\""),
        "{}",
        &text[..80]
    );
    let back: pb::ProposeAllocationsRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(back, req);
}

#[test]
fn same_seed_same_request_other_seed_other_request() {
    for scale in [Scale::Theatre, Scale::Trust] {
        assert_eq!(generate(scale, 7), generate(scale, 7));
        let (a, b) = (generate(scale, 7), generate(scale, 8));
        assert_ne!(a, b);
        assert_ne!(a.patients, b.patients);
        assert_ne!(a.sessions, b.sessions);
    }
}

#[test]
fn trust_has_enough_eligible_pairs_and_demand_exceeds_capacity() {
    let req = convert(&generate(Scale::Trust, 1));
    let options = rules::eligible_sessions(&req);
    let n = pairs(&options);
    assert!((50_000..100_000).contains(&n), "{n} eligible pairs");
    let all = demand_ratio(&req, false, &options);
    let bookable = demand_ratio(&req, true, &options);
    assert!((1.2..=1.5).contains(&all), "demand / capacity {all:.2}");
    assert!(
        (1.1..=1.5).contains(&bookable),
        "bookable demand / capacity {bookable:.2}"
    );
}

#[test]
fn sessions_look_like_a_theatre_timetable() {
    let raw = generate(Scale::Trust, 1);
    let req = convert(&raw);
    let am = NaiveTime::from_hms_opt(8, 30, 0).unwrap();
    let pm = NaiveTime::from_hms_opt(13, 30, 0).unwrap();
    let mut theatres: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    for (s, session) in req.sessions.iter().enumerate() {
        assert!(
            session.date.weekday().num_days_from_monday() < 5,
            "{}",
            session.id
        );
        assert!(!is_bank_holiday(session.date), "{}", session.id);
        assert!((0..42).contains(&req.days_ahead(s)));
        match session.minutes {
            240 => assert!(session.start == am || session.start == pm),
            480 => assert_eq!(session.start, am),
            m => panic!("a {m}-minute list"),
        }
        let site = &req.sites[session.site].id;
        let prefix = format!(
            "S-{site}-{}-{}-",
            session.date.format("%Y-%m-%d"),
            session.theatre
        );
        assert!(session.id.starts_with(&prefix), "{}", session.id);
        theatres
            .entry(session.site)
            .or_default()
            .insert(session.theatre.as_str());
    }
    assert!(
        theatres.values().all(|t| (2..=4).contains(&t.len())),
        "{theatres:?}"
    );
    assert_eq!(req.sites.iter().filter(|s| s.specialist_centre).count(), 1);

    let n = req.sessions.len();
    let released = req.sessions.iter().filter(|s| s.released).count();
    assert!((0.01..0.06).contains(&share(released, n)), "{released} released");
    let all_day = req.sessions.iter().filter(|s| s.minutes == 480).count();
    assert!(all_day > 0 && share(all_day, n) < 0.12, "{all_day} all-day lists");
    let mixed: Vec<_> = req
        .sessions
        .iter()
        .filter(|s| s.list_type == ListType::Mixed)
        .collect();
    assert!(!mixed.is_empty() && mixed.iter().all(|s| (60..=120).contains(&s.reserved_minutes)));
    assert!(req
        .sessions
        .iter()
        .all(|s| (s.list_type == ListType::Mixed) == (s.reserved_minutes > 0)));
    let adult = req
        .sessions
        .iter()
        .filter(|s| s.list_type == ListType::Adult)
        .count();
    assert!(adult > 0 && share(adult, n) < 0.1, "{adult} adult lists");
    let paediatric = req
        .sessions
        .iter()
        .filter(|s| s.list_type == ListType::Paediatric)
        .count();
    assert!(share(paediatric, n) > 0.7);
    let hvlc: BTreeSet<&str> = req
        .sessions
        .iter()
        .filter_map(|s| s.hvlc_group.as_deref())
        .collect();
    assert_eq!(
        hvlc,
        BTreeSet::from(["dental_extraction", "grommets", "tonsillectomy"])
    );
    assert!(req.sessions.iter().any(|s| s.min_age_months == Some(12)));
    assert!(req.sessions.iter().any(|s| s.max_age_months == Some(192)));
    for (s, session) in req.sessions.iter().enumerate() {
        if req.sites[session.site].specialist_centre {
            assert!(
                session.paediatric_anaesthetist && session.list_type == ListType::Paediatric,
                "{s}"
            );
        }
    }
    let specialties: BTreeSet<&str> = req.sessions.iter().map(|s| s.specialty.as_str()).collect();
    assert_eq!(specialties, BTreeSet::from(["110", "120", "130", "142", "171"]));
    // Several named consultants per specialty per site, each keeping their weekly slot.
    let mut consultants: BTreeMap<(usize, &str), BTreeSet<&str>> = BTreeMap::new();
    for session in &req.sessions {
        if let Some(name) = &session.surgeon {
            consultants
                .entry((session.site, session.specialty.as_str()))
                .or_default()
                .insert(name);
        }
    }
    assert!(
        consultants
            .iter()
            .all(|((_, tfc), c)| !["120", "171"].contains(tfc) || c.len() >= 2),
        "{consultants:?}"
    );
}

#[test]
fn the_pool_has_the_expected_mix() {
    let req = convert(&generate(Scale::Trust, 1));
    let options = rules::eligible_sessions(&req);
    let n = req.patients.len();
    let count = |f: &dyn Fn(&crate::domain::Patient) -> bool| req.patients.iter().filter(|p| f(p)).count();

    use crate::domain::{PreopStatus, Priority};
    let p2 = share(count(&|p| p.priority == Priority::P2), n);
    let p3 = share(count(&|p| p.priority == Priority::P3), n);
    let p4 = share(count(&|p| p.priority == Priority::P4), n);
    assert!((0.06..0.15).contains(&p2) && (0.33..0.47).contains(&p3) && (0.42..0.58).contains(&p4));

    let infants = count(&|p| p.age_months < 12);
    assert!(infants > 0 && share(infants, n) < 0.06, "{infants} infants");
    // Infants carry their age in days; some their gestation, a few of them preterm.
    assert!(req
        .patients
        .iter()
        .all(|p| p.age_days.is_some() == (p.age_months < 12)));
    let preterm = count(&|p| p.gestation_weeks.is_some_and(|g| g < 37));
    assert!(
        preterm > 0 && preterm < infants,
        "{preterm} preterm of {infants} infants"
    );
    let windows = count(&|p| {
        req.policy.age_windows["orchidopexy"]
            .prefixes
            .iter()
            .any(|x| p.procedure.starts_with(x.as_str()))
            && p.age_months < 18
    });
    assert!(windows > 0, "no orchidopexy child inside its window");
    let under_eight = share(count(&|p| p.age_months < 96), n);
    assert!(under_eight > 0.5, "{under_eight:.2} under eight");
    assert!(req.patients.iter().all(|p| p.age_months < 216));
    assert!(count(&|p| p.accepts_adult_services) > 0);
    assert!(req
        .patients
        .iter()
        .all(|p| !p.accepts_adult_services || p.age_months >= 192));

    let complex = count(&|p| p.complex);
    assert!(complex > 0 && share(complex, n) < 0.12, "{complex} complex");
    // Infants and complex cases may go to a specialist centre, and nearly all can be booked.
    let specialist = |sites: &Option<Vec<usize>>| {
        sites
            .as_ref()
            .is_none_or(|s| s.iter().any(|&i| req.sites[i].specialist_centre))
    };
    let needs: Vec<usize> = (0..n)
        .filter(|&p| req.patients[p].complex || req.patients[p].age_months < 12)
        .collect();
    assert!(needs.iter().all(|&p| specialist(&req.patients[p].accepted_sites)));
    let bookable = needs.iter().filter(|&&p| !options[p].is_empty()).count();
    assert!(
        share(bookable, needs.len()) > 0.9,
        "{bookable} of {}",
        needs.len()
    );

    let completed = count(&|p| p.preop_status == PreopStatus::Completed);
    assert!((0.55..0.65).contains(&share(completed, n)));
    for p in &req.patients {
        assert!(p.rtt_clock_start <= p.date_listed && p.date_listed <= req.planning_date);
        if p.preop_status == PreopStatus::Completed {
            let d = p.preop_date.unwrap();
            assert!(d <= req.planning_date && (req.planning_date - d).num_days() <= 120);
        }
    }
    let over_52 = count(&|p| (req.planning_date - p.rtt_clock_start).num_days() > 52 * 7);
    assert!(
        over_52 > 0
            && req
                .patients
                .iter()
                .all(|p| (req.planning_date - p.rtt_clock_start).num_days() <= 70 * 7)
    );

    let ebi: Vec<_> = req
        .patients
        .iter()
        .filter(|p| p.procedure.starts_with("D15") || p.procedure.starts_with("E20"))
        .collect();
    let approved = ebi.iter().filter(|p| p.ebi_approved).count();
    assert!(approved < ebi.len() && share(approved, ebi.len()) > 0.75);

    let any_site = share(count(&|p| p.accepted_sites.is_none()), n);
    assert!((0.15..0.25).contains(&any_site), "{any_site:.2}");
    let home_only = share(
        count(&|p| p.accepted_sites.as_ref().is_some_and(|s| s.len() == 1)),
        n,
    );
    assert!(home_only > 0.45, "{home_only:.2}");
    assert!(count(&|p| p.accepted_sites.as_ref().is_some_and(|s| s.len() == 2)) > 0);
    let named = share(count(&|p| p.surgeon.is_some()), n);
    assert!((0.2..0.3).contains(&named), "{named:.2}");
    assert!(count(&|p| !p.unavailable.is_empty()) > 0);
    assert!((1..n / 20).contains(&count(&|p| p.diabetes)));
    assert!((1..n / 20).contains(&count(&|p| p.latex_allergy)));
    let ids: BTreeSet<&str> = req.patients.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), n);
    assert!(req
        .patients
        .iter()
        .all(|p| p.id.len() == 7 && p.id.starts_with('P')));
}

#[test]
fn existing_bookings_are_allowed_and_fit() {
    use crate::domain::BookingState;
    for scale in [Scale::Theatre, Scale::Trust] {
        let req = convert(&generate(scale, 1));
        assert!(!req.bookings.is_empty());
        assert!(req.bookings.iter().any(|b| b.state == BookingState::Offered));
        assert!(req.bookings.iter().any(|b| b.state == BookingState::Confirmed));
        let mut load: BTreeMap<usize, i64> = BTreeMap::new();
        for b in &req.bookings {
            let session = &req.sessions[b.session];
            assert!(!session.released);
            assert!(req.days_ahead(b.session) < req.policy.phases.booking_days);
            assert!(rules::eligible(&req, b.patient, b.session), "{}", session.id);
            *load.entry(b.session).or_default() += req.case_load(b.patient);
        }
        assert!(load.iter().all(|(&s, &l)| l <= req.case_capacity(s)));
        // Every booking is one the plan may keep: nothing is in conflict.
        assert!(req
            .bookings
            .iter()
            .all(|b| rules::pinned_reasons(&req, b.patient, b.session).is_empty()));
    }
}

/// The lists each patient may go on, found through its specialty's lists, are exactly those the
/// rules allow when every list of the request is asked.
#[test]
fn eligible_sessions_are_every_list_the_rules_allow() {
    for req in [
        convert(&generate(Scale::Theatre, 1)),
        convert(&generate(Scale::Theatre, 2)),
        convert(&generate(Scale::Trust, 1)),
    ] {
        let every_list: Vec<Vec<usize>> = (0..req.patients.len())
            .map(|p| {
                if let Some(b) = req.booking_of(p).filter(|b| req.is_pinned(b)) {
                    return vec![b.session];
                }
                if !rules::patient_reasons(&req, p).is_empty() {
                    return Vec::new();
                }
                let offered = req.booking_of(p).map(|b| b.session);
                (0..req.sessions.len())
                    .filter(|&s| {
                        rules::eligible(&req, p, s)
                            || (Some(s) == offered
                                && rules::pair_reasons(&req, p, s)
                                    .iter()
                                    .all(|r| *r == crate::domain::RuleCode::PreopNotReady))
                    })
                    .collect()
            })
            .collect();
        assert!(pairs(&every_list) > 0);
        assert_eq!(rules::eligible_sessions(&req), every_list);
    }
}
