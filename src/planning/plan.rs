//! Building the plan of an allocation: list order and times, why every unallocated patient is
//! unallocated, moves, conflicts and KPIs. Built the same way whichever planner chose the
//! allocation, so plans compare like for like. The plan's types are `domain::plan`.

use std::collections::BTreeMap;

use chrono::Duration;

use crate::domain::plan::{
    CasePlan, Conflict, HubReason, Kpis, ListPlan, Move, Plan, PlanStatus, PriorityCount, SiteDayCases,
    SiteUtilisation, SolverStats, Unallocated,
};
use crate::domain::{PatientIx, PlannerKind, PlanningRequest, Priority, RuleCode, SessionIx};
use crate::planning::beds::{BedNights, Beds};
use crate::planning::objective;
use crate::rules;

impl Plan {
    /// Builds the plan for an allocation: list order and times, reasons, moves, conflicts, KPIs.
    /// `eligible` is every patient's lists as [`rules::eligible_sessions`] gives them (the
    /// unallocated patients' reasons count them).
    pub fn build(
        req: &PlanningRequest,
        eligible: &[Vec<SessionIx>],
        assignment: Vec<Option<SessionIx>>,
        status: PlanStatus,
        planner: PlannerKind,
        mut stats: SolverStats,
    ) -> Plan {
        let _span = tracing::debug_span!("plan_build").entered();
        stats.objective = objective::evaluate(req, &assignment);
        let mut lists = build_lists(req, &assignment);
        let by_specialty = rules::ListsBySpecialty::of(req);
        explain_hub_cases(req, &by_specialty, &assignment, &mut lists);
        let unallocated = explain_unallocated(req, &by_specialty, eligible, &assignment);
        let moves: Vec<Move> = req
            .bookings
            .iter()
            .filter(|b| assignment[b.patient] != Some(b.session))
            .map(|b| Move {
                patient: b.patient,
                from: b.session,
                to: assignment[b.patient],
            })
            .collect();
        let conflicts = req
            .bookings
            .iter()
            .filter(|b| req.is_pinned(b))
            .filter_map(|b| {
                let reasons = rules::pinned_reasons(req, b.patient, b.session);
                (!reasons.is_empty()).then_some(Conflict {
                    patient: b.patient,
                    session: b.session,
                    reasons,
                })
            })
            .collect();
        let kpis = kpis(req, &assignment, &lists, moves.len());
        Plan {
            status,
            planner,
            assignment,
            lists,
            unallocated,
            moves,
            conflicts,
            kpis,
            stats,
        }
    }
}

fn build_lists(req: &PlanningRequest, assignment: &[Option<SessionIx>]) -> Vec<ListPlan> {
    let mut on_list: Vec<Vec<PatientIx>> = vec![Vec::new(); req.sessions.len()];
    for (p, s) in assignment.iter().enumerate() {
        if let Some(s) = s {
            on_list[*s].push(p);
        }
    }
    on_list
        .into_iter()
        .enumerate()
        .map(|(s, patients)| build_list(req, s, &patients))
        .collect()
}

/// List `s` with `patients` on it, as it would run: ordered by the list-order rules and timed.
pub fn build_list(req: &PlanningRequest, s: SessionIx, patients: &[PatientIx]) -> ListPlan {
    timed_list(req, s, &rules::list_order(req, s, patients))
}

/// List `s` running `ordered` in the order given: each case starts a turnaround after the one
/// before it, the first at the session's start.
pub fn timed_list(req: &PlanningRequest, s: SessionIx, ordered: &[PatientIx]) -> ListPlan {
    let turnaround = Duration::minutes(i64::from(req.policy.lists.turnaround_minutes));
    let session = &req.sessions[s];
    let mut clock = session.start;
    let cases: Vec<CasePlan> = ordered
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            if i > 0 {
                clock += turnaround;
            }
            let minutes = req.patients[p].minutes;
            let start = clock;
            clock += Duration::minutes(i64::from(minutes));
            let existing = req.booking_of(p).is_some_and(|b| b.session == s);
            CasePlan {
                patient: p,
                start,
                end: clock,
                minutes,
                existing,
                hub_reason: None,
            }
        })
        .collect();
    let booked_minutes: u32 = cases.iter().map(|c| c.minutes).sum();
    let utilisation = f64::from(booked_minutes + session.reserved_minutes) / f64::from(session.minutes);
    ListPlan {
        session: s,
        phase: req.phase(s),
        release_candidate: cases.is_empty() && !session.released && session.reserved_minutes == 0,
        cases,
        booked_minutes,
        utilisation,
        cases_target: req.cases_target(s),
    }
}

/// Explains every case that could be done locally and is booked at a specialist centre: no list
/// at a non-specialist site that the child may go on has room for it in this plan, or one has and
/// the hub list is worth more.
fn explain_hub_cases(
    req: &PlanningRequest,
    by_specialty: &rules::ListsBySpecialty,
    assignment: &[Option<SessionIx>],
    lists: &mut [ListPlan],
) {
    let mut used = vec![0i64; req.sessions.len()];
    for (p, s) in assignment.iter().enumerate() {
        if let Some(s) = s {
            used[*s] += req.case_load(p);
        }
    }
    for list in lists.iter_mut() {
        let s = list.session;
        for case in &mut list.cases {
            let p = case.patient;
            if !rules::local_case_at_hub(req, p, s) {
                continue;
            }
            let room = by_specialty.of_patient(req, p).iter().any(|&l| {
                !req.sites[req.sessions[l].site].specialist_centre
                    && req.case_capacity(l) - used[l] >= req.case_load(p)
                    && rules::eligible(req, p, l)
            });
            case.hub_reason = Some(if room {
                HubReason::HubBetterValue
            } else {
                HubReason::NoLocalCapacity
            });
        }
    }
}

fn explain_unallocated(
    req: &PlanningRequest,
    lists: &rules::ListsBySpecialty,
    eligible: &[Vec<SessionIx>],
    assignment: &[Option<SessionIx>],
) -> Vec<Unallocated> {
    // Minutes each list has left and beds each night has left, for the overnight cases left out
    // (only where beds are limited).
    let nights = BedNights::of(req);
    let limited = req.beds_limited();
    let mut free: Vec<i64> = Vec::new();
    let mut beds = Beds::new(&nights);
    if limited {
        let mut pinned_on: Vec<Option<SessionIx>> = vec![None; req.patients.len()];
        let mut pinned_load = vec![0i64; req.sessions.len()];
        for b in req.bookings.iter().filter(|b| req.is_pinned(b)) {
            pinned_on[b.patient] = Some(b.session);
            pinned_load[b.session] += req.case_load(b.patient);
        }
        free = (0..req.sessions.len())
            .map(|s| req.case_capacity(s).max(pinned_load[s]))
            .collect();
        for (p, s) in assignment.iter().enumerate() {
            if let Some(s) = *s {
                free[s] -= req.case_load(p);
                if pinned_on[p] != Some(s) {
                    beds.take(req, p, s);
                }
            }
        }
    }
    (0..req.patients.len())
        .filter(|&p| assignment[p].is_none())
        .map(|p| {
            let patient_rules = rules::patient_reasons(req, p);
            if !patient_rules.is_empty() {
                let detail = patient_rules
                    .iter()
                    .map(|r| r.describe())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Unallocated {
                    patient: p,
                    reasons: patient_rules,
                    detail,
                };
            }
            let same = lists.of_patient(req, p);
            let options = eligible[p].len();
            let with_room: Vec<SessionIx> = if limited && req.patients[p].overnight {
                eligible[p]
                    .iter()
                    .copied()
                    .filter(|&s| free[s] >= req.case_load(p))
                    .collect()
            } else {
                Vec::new()
            };
            if !with_room.is_empty() && with_room.iter().all(|&s| !beds.room(req, p, s)) {
                return Unallocated {
                    patient: p,
                    reasons: vec![RuleCode::NoBed],
                    detail: format!(
                        "{} eligible list(s) with room, all on nights with no children's bed left",
                        with_room.len()
                    ),
                };
            }
            if options > 0 {
                return Unallocated {
                    patient: p,
                    reasons: vec![RuleCode::Capacity],
                    detail: format!(
                        "{options} eligible list(s), all full with more urgent or longer-waiting cases"
                    ),
                };
            }
            // Nearest candidates: lists of the patient's specialty, or every list if none.
            let candidates: Vec<SessionIx> = if same.is_empty() {
                (0..req.sessions.len()).collect()
            } else {
                same.to_vec()
            };
            let mut counts: BTreeMap<RuleCode, usize> = BTreeMap::new();
            for &s in &candidates {
                for r in rules::pair_reasons(req, p, s) {
                    *counts.entry(r).or_default() += 1;
                }
            }
            let mut ranked: Vec<(RuleCode, usize)> = counts.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut reasons = vec![RuleCode::NoEligibleSession];
            reasons.extend(ranked.iter().map(|(r, _)| *r));
            let detail = if candidates.is_empty() {
                "the request has no lists".to_string()
            } else {
                let parts: Vec<String> = ranked
                    .iter()
                    .map(|(r, n)| format!("{n} ruled out by {}", r.code()))
                    .collect();
                format!(
                    "none of {} candidate list(s) takes the patient: {}",
                    candidates.len(),
                    parts.join(", ")
                )
            };
            Unallocated {
                patient: p,
                reasons,
                detail,
            }
        })
        .collect()
}

fn kpis(req: &PlanningRequest, assignment: &[Option<SessionIx>], lists: &[ListPlan], moves: usize) -> Kpis {
    let mut k = Kpis {
        moves: moves as u32,
        ..Kpis::default()
    };
    for prio in Priority::ALL {
        let (mut booked, mut left) = (0, 0);
        for (p, s) in assignment.iter().enumerate() {
            if req.patients[p].priority == prio {
                if s.is_some() {
                    booked += 1
                } else {
                    left += 1
                }
            }
        }
        k.by_priority.push(PriorityCount {
            priority: prio,
            booked,
            unallocated: left,
        });
        k.booked += booked;
        k.unallocated += left;
    }
    let horizon_end = req.horizon_end();
    for (p, s) in assignment.iter().enumerate() {
        let breach = match (req.due_date(p), s) {
            (Some(due), Some(s)) => req.sessions[*s].date > due,
            (Some(due), None) => due <= horizon_end,
            (None, _) => false,
        };
        k.due_date_breaches += u32::from(breach);
        match (req.age_window_date(p), s) {
            (Some(closes), Some(s)) => k.age_window_booked_past += u32::from(req.sessions[*s].date > closes),
            (Some(closes), None) => k.age_window_left_past += u32::from(closes <= horizon_end),
            (None, _) => {}
        }
        if let Some(s) = *s {
            let at_hub = req.sites[req.sessions[s].site].specialist_centre;
            let needs_hub = rules::needs_specialist_centre(req, p, s);
            if at_hub {
                k.hub_minutes += req.patients[p].minutes;
                if needs_hub {
                    k.hub_minutes_complex += req.patients[p].minutes;
                }
            }
            if !needs_hub && rules::accepts_local_site(req, p) {
                k.non_complex_booked += 1;
                k.non_complex_at_hubs += u32::from(at_hub);
            }
        }
        let (o18, o52) = (req.waited_over(p, 18), req.waited_over(p, 52));
        if s.is_some() {
            k.over_18_weeks_booked += u32::from(o18);
            k.over_52_weeks_booked += u32::from(o52);
        } else {
            k.over_18_weeks_left += u32::from(o18);
            k.over_52_weeks_left += u32::from(o52);
        }
    }
    let used: Vec<&ListPlan> = lists.iter().filter(|l| !l.cases.is_empty()).collect();
    k.utilisation = mean(used.iter().map(|l| l.utilisation.min(1.0)));
    for site in 0..req.sites.len() {
        let at: Vec<&&ListPlan> = used
            .iter()
            .filter(|l| req.sessions[l.session].site == site)
            .collect();
        if !at.is_empty() {
            k.utilisation_by_site.push(SiteUtilisation {
                site,
                utilisation: mean(at.iter().map(|l| l.utilisation.min(1.0))),
                lists: at.len() as u32,
            });
        }
    }
    for l in &used {
        if l.cases_target > 0 {
            k.lists_with_target += 1;
            k.lists_on_target += u32::from(l.cases.len() as u32 >= l.cases_target);
        }
    }
    k.release_candidates = lists.iter().filter(|l| l.release_candidate).count() as u32;
    k.day_cases_by_site = day_cases_by_site(req, assignment);
    k
}

/// Each site's cases, day cases and busiest night, over every case the plan books.
fn day_cases_by_site(req: &PlanningRequest, assignment: &[Option<SessionIx>]) -> Vec<SiteDayCases> {
    let mut sites: Vec<SiteDayCases> = (0..req.sites.len())
        .map(|site| SiteDayCases {
            site,
            cases: 0,
            day_cases: 0,
            peak_overnight: 0,
        })
        .collect();
    let mut nights: BTreeMap<(usize, crate::domain::Date), u32> = BTreeMap::new();
    for (p, s) in assignment.iter().enumerate() {
        let Some(s) = *s else { continue };
        let session = &req.sessions[s];
        let site = &mut sites[session.site];
        site.cases += 1;
        if req.patients[p].overnight {
            let n = nights.entry((session.site, session.date)).or_default();
            *n += 1;
            site.peak_overnight = site.peak_overnight.max(*n);
        } else {
            site.day_cases += 1;
        }
    }
    sites.retain(|s| s.cases > 0);
    sites
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}
