//! A plan made elsewhere (by hand, or by another tool) as a [`Plan`]: the lists in the order
//! given and timed as they would run, everyone else unallocated with reasons, and the KPIs and
//! objective computed as for the planners' plans, so that the checker can judge it and its
//! numbers compare with the optimiser's.

use crate::check;
use crate::domain::plan::{Plan, PlanStatus, SolverStats, StopReason};
use crate::domain::{PatientIx, PlannerKind, PlanningRequest, RuleCode, SessionIx};
use crate::planning::desk::World;
use crate::planning::plan::timed_list;

/// One way a plan breaks a hard rule, as the independent checker found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: RuleCode,
    pub patient: Option<PatientIx>,
    pub session: Option<SessionIx>,
    /// In rule words; never a patient id, age or date.
    pub detail: String,
}

/// The plan running `lists` (see [`hand_plan`]) and the independent checker's findings on it.
pub fn check_hand_plan(world: &World, lists: &[(SessionIx, Vec<PatientIx>)]) -> (Plan, Vec<Finding>) {
    let req = &world.req;
    let plan = hand_plan(req, world.eligible(), lists);
    let findings = check::check(req, &plan)
        .into_iter()
        .map(|v| Finding {
            rule: v.rule,
            patient: v.patient,
            session: v.session,
            detail: v.detail,
        })
        .collect();
    (plan, findings)
}

/// The plan running `lists` (each list's patients in running order); lists not named have no
/// cases. A patient named twice is on both lists in `lists` but counted once (its first list)
/// in the KPIs and objective; the checker reports it.
/// `eligible` is every patient's lists ([`crate::rules::eligible_sessions`]).
pub fn hand_plan(
    req: &PlanningRequest,
    eligible: &[Vec<SessionIx>],
    lists: &[(SessionIx, Vec<PatientIx>)],
) -> Plan {
    let mut assignment = vec![None; req.patients.len()];
    for (s, patients) in lists {
        for &p in patients {
            assignment[p].get_or_insert(*s);
        }
    }
    let stats = SolverStats {
        objective: 0.0,
        best_bound: 0.0,
        relative_gap: 0.0,
        absolute_gap: 0.0,
        decision_gap: 0.0,
        solve_seconds: 0.0,
        work_units: 0.0,
        bound_errors: 0,
        baseline_objective: 0.0,
        components: 0,
        eligible_pairs: 0,
        variables: 0,
        constraints: 0,
        stop_reason: StopReason::Baseline,
    };
    let mut plan = Plan::build(
        req,
        eligible,
        assignment,
        PlanStatus::Feasible,
        PlannerKind::Baseline,
        stats,
    );
    for (s, patients) in lists {
        plan.lists[*s] = timed_list(req, *s, patients);
    }
    plan
}
