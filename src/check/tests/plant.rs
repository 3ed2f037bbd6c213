//! Planting violations: the sample planned, and a plan edited so that it breaks exactly one rule
//! (order, times, moves and reasons kept consistent by rebuilding them).

use chrono::NaiveTime;

use super::super::facts::{age_at, turnaround};
use super::super::{check, Violation};
use super::sample::sample_request;
use crate::domain::plan::{CasePlan, ListPlan, Move, Plan, Unallocated};
use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};
use crate::planning::solve::{plan, SolveOptions};

pub(super) fn planned(req: &PlanningRequest) -> Plan {
    plan(req, &SolveOptions::default()).expect("the sample plans")
}

pub(super) fn baseline() -> (PlanningRequest, Plan) {
    let req = sample_request();
    let p = planned(&req);
    (req, p)
}

pub(super) fn codes(v: &[Violation]) -> Vec<RuleCode> {
    v.iter().map(|v| v.rule).collect()
}

/// The checker reports `rule`, and nothing else.
pub(super) fn assert_only(v: &[Violation], rule: RuleCode) {
    assert!(!v.is_empty(), "expected {rule:?}, got nothing");
    assert!(
        v.iter().all(|v| v.rule == rule),
        "expected only {rule:?}, got {:#?}",
        v.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
}

/// The checker reports `rule` (among others).
pub(super) fn assert_reports(v: &[Violation], rule: RuleCode) {
    assert!(
        v.iter().any(|v| v.rule == rule),
        "expected {rule:?}, got {:#?}",
        v.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
}

pub(super) fn where_is(plan: &Plan, p: PatientIx) -> Option<SessionIx> {
    plan.lists
        .iter()
        .find(|l| l.cases.iter().any(|c| c.patient == p))
        .map(|l| l.session)
}

pub(super) fn list_mut(plan: &mut Plan, s: SessionIx) -> &mut ListPlan {
    plan.lists
        .iter_mut()
        .find(|l| l.session == s)
        .expect("every session has a list")
}

/// Sets the cases' times from the list start, in their current order.
pub(super) fn retime(req: &PlanningRequest, list: &mut ListPlan) {
    let session = &req.sessions[list.session];
    let t = chrono::Duration::minutes(turnaround(req));
    let mut clock = session.start;
    for (i, case) in list.cases.iter_mut().enumerate() {
        if i > 0 {
            clock += t;
        }
        case.minutes = req.patients[case.patient].minutes;
        case.start = clock;
        clock += chrono::Duration::minutes(i64::from(case.minutes));
        case.end = clock;
    }
}

/// Rebuilds lists, unallocated and moves for a new assignment, keeping everything else
/// consistent (order, times, reasons, moves), so a test plants exactly one kind of violation.
pub(super) fn reassign(req: &PlanningRequest, plan: &mut Plan, assignment: Vec<Option<SessionIx>>) {
    for list in plan.lists.iter_mut() {
        let s = list.session;
        let mut patients: Vec<PatientIx> = (0..req.patients.len())
            .filter(|&p| assignment[p] == Some(s))
            .collect();
        let youngest = patients.iter().copied().min_by_key(|&p| (age_at(req, p, s), p));
        let band = |p: PatientIx| {
            let patient = &req.patients[p];
            if Some(p) == youngest {
                0
            } else if patient.diabetes {
                1
            } else if patient.latex_allergy {
                2
            } else {
                3
            }
        };
        patients.sort_by_key(|&p| (band(p), age_at(req, p, s), p));
        list.cases = patients
            .into_iter()
            .map(|p| CasePlan {
                patient: p,
                start: NaiveTime::MIN,
                end: NaiveTime::MIN,
                minutes: 0,
                existing: req.bookings.iter().any(|b| b.patient == p && b.session == s),
                hub_reason: None,
            })
            .collect();
        retime(req, list);
    }
    plan.unallocated.retain(|u| assignment[u.patient].is_none());
    for (p, s) in assignment.iter().enumerate() {
        if s.is_none() && !plan.unallocated.iter().any(|u| u.patient == p) {
            plan.unallocated.push(Unallocated {
                patient: p,
                reasons: vec![RuleCode::Capacity],
                detail: String::new(),
            });
        }
    }
    plan.moves = req
        .bookings
        .iter()
        .filter(|b| assignment[b.patient] != Some(b.session))
        .map(|b| Move {
            patient: b.patient,
            from: b.session,
            to: assignment[b.patient],
        })
        .collect();
    plan.assignment = assignment;
    recount(req, plan);
}

/// Sets the right-place and day-case counts and hub reasons as the planner would for the plan's assignment
/// (after a planted edit of the plan or of the request changed them).
pub(super) fn recount(req: &PlanningRequest, plan: &mut Plan) {
    let fresh = Plan::build(
        req,
        &crate::rules::eligible_sessions(req),
        plan.assignment.clone(),
        plan.status,
        plan.planner,
        plan.stats.clone(),
    );
    let k = &mut plan.kpis;
    (k.non_complex_booked, k.non_complex_at_hubs) =
        (fresh.kpis.non_complex_booked, fresh.kpis.non_complex_at_hubs);
    (k.hub_minutes, k.hub_minutes_complex) = (fresh.kpis.hub_minutes, fresh.kpis.hub_minutes_complex);
    k.day_cases_by_site = fresh.kpis.day_cases_by_site;
    for (list, built) in plan.lists.iter_mut().zip(&fresh.lists) {
        for case in &mut list.cases {
            case.hub_reason = built
                .cases
                .iter()
                .find(|c| c.patient == case.patient)
                .and_then(|c| c.hub_reason);
        }
    }
}

/// Puts patient `p` on list `s` (or unallocates it), keeping the rest of the plan consistent.
pub(super) fn place(req: &PlanningRequest, plan: &mut Plan, p: PatientIx, s: Option<SessionIx>) {
    let mut assignment = plan.assignment.clone();
    assignment[p] = s;
    reassign(req, plan, assignment);
}

/// The sample planned by `planner`, placed to move `p` to `s`, checked.
pub(super) fn moved(p: PatientIx, s: SessionIx) -> Vec<Violation> {
    let (req, mut plan) = baseline();
    place(&req, &mut plan, p, Some(s));
    check(&req, &plan)
}
