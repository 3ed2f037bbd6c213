//! Domain plan -> proto response.

use crate::api::proto as pb;
use crate::domain::{Phase, PlannerKind, PlanningRequest, Priority};
use crate::planning::plan::{Plan, PlanStatus};

fn priority(p: Priority) -> pb::Priority {
    match p {
        Priority::P2 => pb::Priority::P2,
        Priority::P3 => pb::Priority::P3,
        Priority::P4 => pb::Priority::P4,
    }
}

fn phase(p: Phase) -> pb::Phase {
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

fn hhmm(t: chrono::NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// The response for a plan of a request.
pub fn to_response(req: &PlanningRequest, plan: &Plan) -> pb::ProposeAllocationsResponse {
    let pid = |p: usize| req.patients[p].id.clone();
    let sid = |s: usize| req.sessions[s].id.clone();
    let sessions = plan
        .lists
        .iter()
        .map(|l| {
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
        })
        .collect();
    let k = &plan.kpis;
    let s = &plan.stats;
    pb::ProposeAllocationsResponse {
        status: match plan.status {
            PlanStatus::Optimal => pb::PlanStatus::Optimal,
            PlanStatus::Feasible => pb::PlanStatus::Feasible,
            PlanStatus::NoSolution => pb::PlanStatus::NoSolution,
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
        kpis: Some(pb::Kpis {
            by_priority: k
                .by_priority
                .iter()
                .map(|&(p, booked, left)| pb::PriorityCount {
                    priority: priority(p) as i32,
                    booked: booked as i32,
                    unallocated: left as i32,
                })
                .collect(),
            booked: k.booked as i32,
            unallocated: k.unallocated as i32,
            due_date_breaches: k.due_date_breaches as i32,
            utilisation: round4(k.utilisation),
            utilisation_by_site: k
                .utilisation_by_site
                .iter()
                .map(|&(site, u, lists)| pb::SiteUtilisation {
                    site_id: req.sites[site].id.clone(),
                    utilisation: round4(u),
                    lists: lists as i32,
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
        }),
        solver: Some(pb::SolverStats {
            objective: round6(s.objective),
            best_bound: round6(s.best_bound),
            relative_gap: round6(s.relative_gap),
            solve_seconds: round4(s.solve_seconds),
            baseline_objective: round6(s.baseline_objective),
            components: s.components as i32,
            eligible_pairs: s.eligible_pairs as i32,
            variables: s.variables as i32,
            constraints: s.constraints as i32,
            stop_reason: s.stop_reason.clone(),
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
    }
}

fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Reads a plan response back into a domain plan for `req` (for the plan checker), mapping ids to
/// indexes. Fails on ids the request does not know or on malformed times.
pub fn from_response(req: &PlanningRequest, r: &pb::ProposeAllocationsResponse) -> Result<Plan, String> {
    use crate::planning::plan::{CasePlan, Conflict, ListPlan, Move, SolverStats, Unallocated};
    use crate::rules::Reason;
    use std::collections::HashMap;
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
    let p_ix = |id: &str| {
        patients
            .get(id)
            .copied()
            .ok_or_else(|| "plan names a patient the request does not have".to_string())
    };
    let s_ix = |id: &str| {
        sessions
            .get(id)
            .copied()
            .ok_or_else(|| format!("plan names unknown session {id}"))
    };
    let time = |t: &str| {
        chrono::NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| "malformed time in plan".to_string())
    };
    let all_reasons: Vec<Reason> = crate::rules::ALL_REASONS.to_vec();
    let reason = |code: &str| {
        all_reasons
            .iter()
            .copied()
            .find(|r| r.code() == code)
            .ok_or_else(|| format!("unknown reason code {code}"))
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
                    .collect::<Result<_, String>>()?,
                detail: u.detail.clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
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
        .collect::<Result<Vec<_>, String>>()?;
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
                    .collect::<Result<_, String>>()?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let status = match pb::PlanStatus::try_from(r.status) {
        Ok(pb::PlanStatus::Optimal) => PlanStatus::Optimal,
        Ok(pb::PlanStatus::Feasible) => PlanStatus::Feasible,
        _ => PlanStatus::NoSolution,
    };
    let planner = match pb::Planner::try_from(r.planner) {
        Ok(pb::Planner::Baseline) => PlannerKind::Baseline,
        _ => PlannerKind::Optimiser,
    };
    let stats = r
        .solver
        .as_ref()
        .map_or_else(SolverStats::default, |s| SolverStats {
            objective: s.objective,
            best_bound: s.best_bound,
            relative_gap: s.relative_gap,
            solve_seconds: s.solve_seconds,
            baseline_objective: s.baseline_objective,
            components: s.components.max(0) as usize,
            eligible_pairs: s.eligible_pairs.max(0) as usize,
            variables: s.variables.max(0) as usize,
            constraints: s.constraints.max(0) as usize,
            stop_reason: s.stop_reason.clone(),
        });
    Ok(Plan {
        status,
        planner,
        assignment,
        lists,
        unallocated,
        moves,
        conflicts,
        kpis: Default::default(),
        stats,
    })
}
