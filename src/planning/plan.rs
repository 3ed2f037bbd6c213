//! The result of planning: lists in order with times, every unallocated patient with its reasons,
//! moves, conflicts, KPIs and solver statistics. Built the same way whichever planner chose the
//! allocation, so plans compare like for like.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveTime};

use crate::domain::{PatientIx, Phase, PlannerKind, PlanningRequest, Priority, SessionIx};
use crate::planning::objective;
use crate::rules::{self, Reason};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStatus {
    /// Proven optimal within the relative gap asked for.
    Optimal,
    /// A valid plan, not proven optimal.
    Feasible,
    NoSolution,
}

/// How the planner got to the plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SolverStats {
    pub objective: f64,
    pub best_bound: f64,
    pub relative_gap: f64,
    pub solve_seconds: f64,
    pub baseline_objective: f64,
    pub components: usize,
    pub eligible_pairs: usize,
    pub variables: usize,
    pub constraints: usize,
    pub stop_reason: String,
}

impl SolverStats {
    /// Relative gap between an objective and a bound, on a scale that is safe near zero.
    pub fn gap(objective: f64, bound: f64) -> f64 {
        ((bound - objective) / bound.abs().max(1.0)).max(0.0)
    }
}

/// One case on a list.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePlan {
    pub patient: PatientIx,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub minutes: u32,
    /// The patient was already booked on this list.
    pub existing: bool,
}

/// One list of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPlan {
    pub session: SessionIx,
    pub phase: Phase,
    pub cases: Vec<CasePlan>,
    pub booked_minutes: u32,
    pub utilisation: f64,
    pub cases_target: u32,
    pub release_candidate: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unallocated {
    pub patient: PatientIx,
    pub reasons: Vec<Reason>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub patient: PatientIx,
    pub from: SessionIx,
    pub to: Option<SessionIx>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub patient: PatientIx,
    pub session: SessionIx,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kpis {
    /// (priority, booked, unallocated).
    pub by_priority: Vec<(Priority, u32, u32)>,
    pub booked: u32,
    pub unallocated: u32,
    pub due_date_breaches: u32,
    pub utilisation: f64,
    /// (site, utilisation, lists with cases).
    pub utilisation_by_site: Vec<(usize, f64, u32)>,
    pub lists_on_target: u32,
    pub lists_with_target: u32,
    pub over_18_weeks_booked: u32,
    pub over_18_weeks_left: u32,
    pub over_52_weeks_booked: u32,
    pub over_52_weeks_left: u32,
    pub moves: u32,
    pub release_candidates: u32,
}

/// A complete plan for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub status: PlanStatus,
    pub planner: PlannerKind,
    /// Each patient's list, or `None` when unallocated.
    pub assignment: Vec<Option<SessionIx>>,
    pub lists: Vec<ListPlan>,
    pub unallocated: Vec<Unallocated>,
    pub moves: Vec<Move>,
    pub conflicts: Vec<Conflict>,
    pub kpis: Kpis,
    pub stats: SolverStats,
}

impl Plan {
    /// Builds the plan for an allocation: list order and times, reasons, moves, conflicts, KPIs.
    pub fn build(
        req: &PlanningRequest,
        assignment: Vec<Option<SessionIx>>,
        status: PlanStatus,
        planner: PlannerKind,
        mut stats: SolverStats,
    ) -> Plan {
        stats.objective = objective::evaluate(req, &assignment);
        let lists = build_lists(req, &assignment);
        let unallocated = explain_unallocated(req, &assignment);
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
    let turnaround = Duration::minutes(i64::from(req.policy.lists.turnaround_minutes));
    on_list
        .into_iter()
        .enumerate()
        .map(|(s, patients)| {
            let session = &req.sessions[s];
            let mut clock = session.start;
            let cases: Vec<CasePlan> = rules::list_order(req, s, &patients)
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
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
                    }
                })
                .collect();
            let booked_minutes: u32 = cases.iter().map(|c| c.minutes).sum();
            let utilisation =
                f64::from(booked_minutes + session.reserved_minutes) / f64::from(session.minutes);
            let phase = req.phase(s);
            ListPlan {
                session: s,
                phase,
                release_candidate: cases.is_empty() && !session.released && session.reserved_minutes == 0,
                cases,
                booked_minutes,
                utilisation,
                cases_target: req.cases_target(s),
            }
        })
        .collect()
}

fn explain_unallocated(req: &PlanningRequest, assignment: &[Option<SessionIx>]) -> Vec<Unallocated> {
    let options = rules::eligible_sessions(req);
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
            if !options[p].is_empty() {
                return Unallocated {
                    patient: p,
                    reasons: vec![Reason::Capacity],
                    detail: format!(
                        "{} eligible list(s), all full with more urgent or longer-waiting cases",
                        options[p].len()
                    ),
                };
            }
            // Nearest candidates: lists of the patient's specialty, or every list if none.
            let same: Vec<SessionIx> = (0..req.sessions.len())
                .filter(|&s| req.sessions[s].specialty == req.patients[p].specialty)
                .collect();
            let candidates = if same.is_empty() {
                (0..req.sessions.len()).collect()
            } else {
                same
            };
            let mut counts: BTreeMap<Reason, usize> = BTreeMap::new();
            for &s in &candidates {
                for r in rules::pair_reasons(req, p, s) {
                    *counts.entry(r).or_default() += 1;
                }
            }
            let mut ranked: Vec<(Reason, usize)> = counts.into_iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut reasons = vec![Reason::NoEligibleSession];
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
        k.by_priority.push((prio, booked, left));
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
            k.utilisation_by_site.push((
                site,
                mean(at.iter().map(|l| l.utilisation.min(1.0))),
                at.len() as u32,
            ));
        }
    }
    for l in &used {
        if l.cases_target > 0 {
            k.lists_with_target += 1;
            k.lists_on_target += u32::from(l.cases.len() as u32 >= l.cases_target);
        }
    }
    k.release_candidates = lists.iter().filter(|l| l.release_candidate).count() as u32;
    k
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}
