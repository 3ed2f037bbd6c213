//! A plan made elsewhere (by hand, or by another tool) as a [`Plan`]: the lists in the order
//! given and timed as they would run, everyone else unallocated with reasons, and the KPIs and
//! objective computed as for the planners' plans, so that the checker can judge it and its
//! numbers compare with the optimiser's.

use crate::domain::plan::{Plan, PlanStatus, SolverStats, StopReason};
use crate::domain::{PatientIx, PlannerKind, PlanningRequest, SessionIx};
use crate::planning::plan::timed_list;

/// The plan running `lists` (each list's patients in running order); lists not named have no
/// cases. A patient named twice is on both lists in `lists` but counted once (its first list)
/// in the KPIs and objective; the checker reports it.
pub fn hand_plan(req: &PlanningRequest, lists: &[(SessionIx, Vec<PatientIx>)]) -> Plan {
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
        solve_seconds: 0.0,
        baseline_objective: 0.0,
        components: 0,
        eligible_pairs: 0,
        variables: 0,
        constraints: 0,
        stop_reason: StopReason::Baseline,
    };
    let mut plan = Plan::build(
        req,
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
