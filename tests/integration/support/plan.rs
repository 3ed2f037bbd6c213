//! A plan response read back into a domain plan, so that the independent plan checker can judge
//! what a server answered.

use std::collections::HashMap;

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::domain::plan::{
    CasePlan, Conflict, HubReason, Kpis, ListPlan, Move, Plan, PlanStatus, SiteDayCases, SolverStats,
    StopReason, Unallocated,
};
use theatre_optimiser::domain::{PlannerKind, PlanningRequest, RuleCode};

/// Why a response cannot be read as a plan of its request.
#[derive(Debug)]
pub enum Unreadable {
    UnknownPatient,
    UnknownSession(String),
    UnknownSite(String),
    MalformedTime,
    UnknownReason(String),
    NotAPlanStatus(i32),
    UnknownStopReason(String),
}

/// Reads a plan response back into a domain plan for `req` (for the plan checker), mapping ids to
/// indexes. Fails on ids the request does not know, on malformed times and on unknown codes.
pub fn from_response(req: &PlanningRequest, r: &pb::ProposeAllocationsResponse) -> Result<Plan, Unreadable> {
    let patients: HashMap<&str, usize> = req
        .patients
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let sessions: HashMap<&str, usize> = req
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let p_ix = |id: &str| patients.get(id).copied().ok_or(Unreadable::UnknownPatient);
    let s_ix = |id: &str| {
        sessions
            .get(id)
            .copied()
            .ok_or_else(|| Unreadable::UnknownSession(id.to_string()))
    };
    let time = |t: &str| chrono::NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| Unreadable::MalformedTime);
    let reason =
        |code: &str| RuleCode::from_code(code).ok_or_else(|| Unreadable::UnknownReason(code.to_string()));
    let hub_reason = |code: &str| match code {
        "" => Ok(None),
        _ => HubReason::from_code(code)
            .map(Some)
            .ok_or_else(|| Unreadable::UnknownReason(code.to_string())),
    };
    let mut assignment = vec![None; req.patients.len()];
    let mut lists = Vec::with_capacity(r.sessions.len());
    for sp in &r.sessions {
        let s = s_ix(&sp.session_id)?;
        let mut cases = Vec::with_capacity(sp.cases.len());
        for c in &sp.cases {
            let p = p_ix(&c.patient_id)?;
            assignment[p] = Some(s);
            cases.push(CasePlan {
                patient: p,
                start: time(&c.start_time)?,
                end: time(&c.end_time)?,
                minutes: c.minutes.max(0) as u32,
                existing: c.existing,
                hub_reason: hub_reason(&c.hub_reason)?,
            });
        }
        lists.push(ListPlan {
            session: s,
            phase: req.phase(s),
            cases,
            booked_minutes: sp.booked_minutes.max(0) as u32,
            utilisation: sp.utilisation,
            cases_target: sp.cases_target.max(0) as u32,
            release_candidate: sp.release_candidate,
        });
    }
    let unallocated = r
        .unallocated
        .iter()
        .map(|u| {
            Ok(Unallocated {
                patient: p_ix(&u.patient_id)?,
                reasons: u
                    .reasons
                    .iter()
                    .map(|c| reason(c))
                    .collect::<Result<_, Unreadable>>()?,
                detail: u.detail.clone(),
            })
        })
        .collect::<Result<Vec<_>, Unreadable>>()?;
    let moves = r
        .moves
        .iter()
        .map(|m| {
            Ok(Move {
                patient: p_ix(&m.patient_id)?,
                from: s_ix(&m.from_session_id)?,
                to: if m.to_session_id.is_empty() {
                    None
                } else {
                    Some(s_ix(&m.to_session_id)?)
                },
            })
        })
        .collect::<Result<Vec<_>, Unreadable>>()?;
    let conflicts = r
        .conflicts
        .iter()
        .map(|c| {
            Ok(Conflict {
                patient: p_ix(&c.patient_id)?,
                session: s_ix(&c.session_id)?,
                reasons: c
                    .reasons
                    .iter()
                    .map(|x| reason(x))
                    .collect::<Result<_, Unreadable>>()?,
            })
        })
        .collect::<Result<Vec<_>, Unreadable>>()?;
    let status = match pb::PlanStatus::try_from(r.status) {
        Ok(pb::PlanStatus::Optimal) => PlanStatus::Optimal,
        Ok(pb::PlanStatus::Feasible) => PlanStatus::Feasible,
        _ => return Err(Unreadable::NotAPlanStatus(r.status)),
    };
    let planner = match pb::Planner::try_from(r.planner) {
        Ok(pb::Planner::Baseline) => PlannerKind::Baseline,
        _ => PlannerKind::Optimiser,
    };
    let stop_reason = |word: &str| {
        [
            StopReason::Optimal,
            StopReason::TimeLimit,
            StopReason::WorkLimit,
            StopReason::NoProgress,
            StopReason::Cancelled,
            StopReason::Baseline,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
        .ok_or_else(|| Unreadable::UnknownStopReason(word.to_string()))
    };
    let s = r.solver.clone().unwrap_or_default();
    let k = r.kpis.clone().unwrap_or_default();
    let site_of = |id: &str| {
        req.sites
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| Unreadable::UnknownSite(id.to_string()))
    };
    let stats = SolverStats {
        objective: s.objective,
        best_bound: s.best_bound,
        relative_gap: s.relative_gap,
        absolute_gap: s.absolute_gap,
        decision_gap: s.decision_gap,
        solve_seconds: s.solve_seconds,
        work_units: s.work_units,
        baseline_objective: s.baseline_objective,
        components: s.components.max(0) as usize,
        eligible_pairs: s.eligible_pairs.max(0) as usize,
        variables: s.variables.max(0) as usize,
        constraints: s.constraints.max(0) as usize,
        stop_reason: stop_reason(&s.stop_reason)?,
        bound_errors: s.bound_errors,
    };
    Ok(Plan {
        status,
        planner,
        assignment,
        lists,
        unallocated,
        moves,
        conflicts,
        // The counts the checker judges; the others it does not read.
        kpis: Kpis {
            age_window_booked_past: k.age_window_booked_past.max(0) as u32,
            age_window_left_past: k.age_window_left_past.max(0) as u32,
            non_complex_booked: k.non_complex_booked.max(0) as u32,
            non_complex_at_hubs: k.non_complex_at_hubs.max(0) as u32,
            hub_minutes: k.hub_minutes.max(0) as u32,
            hub_minutes_complex: k.hub_minutes_complex.max(0) as u32,
            day_cases_by_site: k
                .day_cases_by_site
                .iter()
                .map(|d| {
                    Ok(SiteDayCases {
                        site: site_of(&d.site_id)?,
                        cases: d.cases.max(0) as u32,
                        day_cases: d.day_cases.max(0) as u32,
                        peak_overnight: d.peak_overnight.max(0) as u32,
                    })
                })
                .collect::<Result<_, Unreadable>>()?,
            ..Kpis::default()
        },
        stats,
    })
}
