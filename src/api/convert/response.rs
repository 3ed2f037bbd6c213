//! Domain plan -> proto response.

use crate::api::proto as pb;
use crate::domain::plan::{ListPlan, Plan, PlanStatus};
use crate::domain::{Phase, PlannerKind, PlanningRequest, Priority};

pub fn priority(p: Priority) -> pb::Priority {
    match p {
        Priority::P2 => pb::Priority::P2,
        Priority::P3 => pb::Priority::P3,
        Priority::P4 => pb::Priority::P4,
    }
}

pub fn phase(p: Phase) -> pb::Phase {
    match p {
        Phase::Past => pb::Phase::Past,
        Phase::Locked => pb::Phase::Locked,
        Phase::Booking => pb::Phase::Booking,
        Phase::Confirming => pb::Phase::Confirming,
        Phase::Provisional => pb::Phase::Provisional,
    }
}

pub fn planner(p: PlannerKind) -> pb::Planner {
    match p {
        PlannerKind::Optimiser => pb::Planner::Optimiser,
        PlannerKind::Baseline => pb::Planner::Baseline,
    }
}

pub fn hhmm(t: chrono::NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// One list of a plan as the response shows it.
pub fn session_plan(req: &PlanningRequest, l: &ListPlan) -> pb::SessionPlan {
    let pid = |p: usize| req.patients[p].id.clone();
    let session = &req.sessions[l.session];
    pb::SessionPlan {
        session_id: session.id.clone(),
        site_id: req.sites[session.site].id.clone(),
        date: session.date.format("%Y-%m-%d").to_string(),
        phase: phase(l.phase) as i32,
        cases: l
            .cases
            .iter()
            .enumerate()
            .map(|(i, c)| pb::Case {
                patient_id: pid(c.patient),
                position: i as i32 + 1,
                start_time: hhmm(c.start),
                end_time: hhmm(c.end),
                minutes: c.minutes as i32,
                existing: c.existing,
                priority: priority(req.patients[c.patient].priority) as i32,
                procedure: req.patients[c.patient].procedure.clone(),
                hub_reason: c.hub_reason.map(|h| h.code().to_string()).unwrap_or_default(),
            })
            .collect(),
        booked_minutes: l.booked_minutes as i32,
        reserved_minutes: session.reserved_minutes as i32,
        utilisation: round4(l.utilisation),
        cases_target: l.cases_target as i32,
        released: session.released,
        release_candidate: l.release_candidate,
        theatre: session.theatre.clone(),
        specialty: session.specialty.clone(),
        start_time: hhmm(session.start),
        end_time: hhmm(session.start + chrono::Duration::minutes(i64::from(session.minutes))),
        minutes: session.minutes as i32,
        surgeon: session.surgeon.clone(),
    }
}

/// The plan's KPIs as the response shows them.
pub fn kpis(req: &PlanningRequest, plan: &Plan) -> pb::Kpis {
    let k = &plan.kpis;
    pb::Kpis {
        by_priority: k
            .by_priority
            .iter()
            .map(|c| pb::PriorityCount {
                priority: priority(c.priority) as i32,
                booked: c.booked as i32,
                unallocated: c.unallocated as i32,
            })
            .collect(),
        booked: k.booked as i32,
        unallocated: k.unallocated as i32,
        due_date_breaches: k.due_date_breaches as i32,
        utilisation: round4(k.utilisation),
        utilisation_by_site: k
            .utilisation_by_site
            .iter()
            .map(|u| pb::SiteUtilisation {
                site_id: req.sites[u.site].id.clone(),
                utilisation: round4(u.utilisation),
                lists: u.lists as i32,
            })
            .collect(),
        lists_on_target: k.lists_on_target as i32,
        lists_with_target: k.lists_with_target as i32,
        over_18_weeks_booked: k.over_18_weeks_booked as i32,
        over_18_weeks_left: k.over_18_weeks_left as i32,
        over_52_weeks_booked: k.over_52_weeks_booked as i32,
        over_52_weeks_left: k.over_52_weeks_left as i32,
        moves: k.moves as i32,
        release_candidates: k.release_candidates as i32,
        age_window_booked_past: k.age_window_booked_past as i32,
        age_window_left_past: k.age_window_left_past as i32,
        non_complex_booked: k.non_complex_booked as i32,
        non_complex_at_hubs: k.non_complex_at_hubs as i32,
        hub_minutes: k.hub_minutes as i32,
        hub_minutes_complex: k.hub_minutes_complex as i32,
        day_cases_by_site: k
            .day_cases_by_site
            .iter()
            .map(|d| pb::SiteDayCases {
                site_id: req.sites[d.site].id.clone(),
                cases: d.cases as i32,
                day_cases: d.day_cases as i32,
                rate: d.rate(),
                peak_overnight: d.peak_overnight as i32,
            })
            .collect(),
        day_case_target: req.policy.day_case.target_rate,
        day_case_aim: req.policy.day_case.aim_rate,
    }
}

/// The response for a plan of a request.
pub fn to_response(req: &PlanningRequest, plan: &Plan) -> pb::ProposeAllocationsResponse {
    let pid = |p: usize| req.patients[p].id.clone();
    let sid = |s: usize| req.sessions[s].id.clone();
    let sessions = plan.lists.iter().map(|l| session_plan(req, l)).collect();
    let s = &plan.stats;
    pb::ProposeAllocationsResponse {
        status: match plan.status {
            PlanStatus::Optimal => pb::PlanStatus::Optimal,
            PlanStatus::Feasible => pb::PlanStatus::Feasible,
        } as i32,
        planner: planner(plan.planner) as i32,
        sessions,
        unallocated: plan
            .unallocated
            .iter()
            .map(|u| pb::Unallocated {
                patient_id: pid(u.patient),
                priority: priority(req.patients[u.patient].priority) as i32,
                specialty: req.patients[u.patient].specialty.clone(),
                reasons: u.reasons.iter().map(|r| r.code().to_string()).collect(),
                detail: u.detail.clone(),
            })
            .collect(),
        kpis: Some(kpis(req, plan)),
        solver: Some(pb::SolverStats {
            objective: round6(s.objective),
            best_bound: round6(s.best_bound),
            relative_gap: round6(s.relative_gap),
            absolute_gap: round6(s.absolute_gap),
            decision_gap: round6(s.decision_gap),
            solve_seconds: round4(s.solve_seconds),
            work_units: round4(s.work_units),
            baseline_objective: round6(s.baseline_objective),
            components: s.components as i32,
            eligible_pairs: s.eligible_pairs as i32,
            variables: s.variables as i32,
            constraints: s.constraints as i32,
            stop_reason: s.stop_reason.as_str().to_string(),
            bound_errors: s.bound_errors,
        }),
        moves: plan
            .moves
            .iter()
            .map(|m| pb::Move {
                patient_id: pid(m.patient),
                from_session_id: sid(m.from),
                to_session_id: m.to.map(sid).unwrap_or_default(),
            })
            .collect(),
        conflicts: plan
            .conflicts
            .iter()
            .map(|c| pb::Conflict {
                patient_id: pid(c.patient),
                session_id: sid(c.session),
                reasons: c.reasons.iter().map(|r| r.code().to_string()).collect(),
            })
            .collect(),
        profile: req.profile.clone(),
        policy: Some(pb::PlanPolicy {
            utilisation_target: req.policy.lists.utilisation_target,
            locked_days: days(req.policy.phases.locked_days),
            booking_days: days(req.policy.phases.booking_days),
            confirming_days: days(req.policy.phases.confirming_days),
        }),
    }
}

/// A policy's day count on the wire (policies hold sane values; a huge one saturates).
fn days(d: i64) -> i32 {
    i32::try_from(d).unwrap_or(i32::MAX)
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
