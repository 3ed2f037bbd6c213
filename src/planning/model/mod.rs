//! The MILP formulation on good_lp, read like the maths (docs/model.md):
//!
//! maximise  Σ c[p,s]·x[p,s] − shortfall·Σ short[s] − under_utilisation·Σ under[s]   (+ constant)
//!
//! x[p,s] ∈ {0,1}  patient p goes on list s (eligible pairs only; pinned bookings fixed to 1)
//! y[s]   ∈ {0,1}  list s has cases (only where a list-level cost needs it)
//!
//! One component (a set of patients and lists that share no eligible pair with any other) is one
//! model; `solve` runs them.

pub mod highs_run;
pub mod patterns;

use std::collections::HashMap;

use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};

use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::objective::{booking_value, unbooked_cost, ListCosts};

/// Patients and lists that share no eligible pair with the rest of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub patients: Vec<PatientIx>,
    pub sessions: Vec<SessionIx>,
    /// Eligible (patient, list) pairs.
    pub pairs: usize,
}

/// Splits the request into independent components (union-find over eligible pairs). Patients with
/// no eligible list and lists no patient can use belong to none.
pub fn components(req: &PlanningRequest, options: &[Vec<SessionIx>]) -> Vec<Component> {
    let n_p = req.patients.len();
    let mut parent: Vec<usize> = (0..n_p + req.sessions.len()).collect();
    fn find(parent: &mut [usize], mut a: usize) -> usize {
        while parent[a] != a {
            parent[a] = parent[parent[a]];
            a = parent[a];
        }
        a
    }
    for (p, opts) in options.iter().enumerate() {
        for &s in opts {
            let (a, b) = (find(&mut parent, p), find(&mut parent, n_p + s));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut by_root: HashMap<usize, Component> = HashMap::new();
    for (p, opts) in options.iter().enumerate() {
        if opts.is_empty() {
            continue;
        }
        let root = find(&mut parent, p);
        let c = by_root.entry(root).or_insert_with(|| Component {
            patients: vec![],
            sessions: vec![],
            pairs: 0,
        });
        c.patients.push(p);
        c.pairs += opts.len();
    }
    for s in 0..req.sessions.len() {
        let root = find(&mut parent, n_p + s);
        if let Some(c) = by_root.get_mut(&root) {
            c.sessions.push(s);
        }
    }
    let mut list: Vec<Component> = by_root.into_values().collect();
    // Largest first (they get the most time and start first); ties by first patient for determinism.
    list.sort_by(|a, b| b.pairs.cmp(&a.pairs).then(a.patients[0].cmp(&b.patients[0])));
    list
}

/// The part of the objective no decision changes: every patient starts unbooked (breach cost if
/// due inside the horizon) and every movable OFFERED booking starts moved.
pub fn objective_constant(req: &PlanningRequest) -> f64 {
    let unbooked: f64 = (0..req.patients.len()).map(|p| unbooked_cost(req, p)).sum();
    let movable = req.bookings.iter().filter(|b| !req.is_pinned(b)).count() as f64;
    -unbooked - req.policy.objective.move_ * movable
}

/// Objective coefficient of x[p,s]: its booking value, plus the breach and move costs it avoids.
pub fn pair_coefficient(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> f64 {
    let offered_here = req
        .booking_of(p)
        .is_some_and(|b| !req.is_pinned(b) && b.session == s);
    booking_value(req, p, s)
        + unbooked_cost(req, p)
        + if offered_here {
            req.policy.objective.move_
        } else {
            0.0
        }
}

/// One component's model: the variables by name, ready to hand to HiGHS.
pub struct ListModel {
    /// (patient, list, x[p,s]) for every eligible pair of the component.
    pub x: Vec<(PatientIx, SessionIx, Variable)>,
    /// (list, y[s], short[s], under[s]) for the component's lists that carry list-level costs.
    pub lists: Vec<(SessionIx, Variable, Option<Variable>, Option<Variable>)>,
    pub problem: good_lp::solvers::highs::HighsProblem,
    pub variables: usize,
    pub constraints: usize,
}

impl ListModel {
    /// Builds the model of one component.
    pub fn build(req: &PlanningRequest, comp: &Component, options: &[Vec<SessionIx>]) -> ListModel {
        let o = &req.policy.objective;
        let mut vars = ProblemVariables::new();
        let mut x = Vec::with_capacity(comp.pairs);
        let mut objective = Expression::with_capacity(comp.pairs + 2 * comp.sessions.len());
        for &p in &comp.patients {
            for &s in &options[p] {
                let v = vars.add(variable().binary());
                objective.add_mul(pair_coefficient(req, p, s), v);
                x.push((p, s, v));
            }
        }
        let mut lists = Vec::new();
        for &s in &comp.sessions {
            let target = req.cases_target(s);
            let short_cost = o.cases_per_list_shortfall > 0.0 && target > 0;
            let under_cost = o.under_utilisation > 0.0 && req.policy.lists.utilisation_target > 0.0;
            if !(short_cost || under_cost) {
                continue;
            }
            let y = vars.add(variable().binary());
            let short = short_cost.then(|| vars.add(variable().min(0.0)));
            let under = under_cost.then(|| vars.add(variable().min(0.0)));
            if let Some(v) = short {
                objective.add_mul(-o.cases_per_list_shortfall, v);
            }
            if let Some(v) = under {
                objective.add_mul(-o.under_utilisation, v);
            }
            lists.push((s, y, short, under));
        }
        let variables = x.len()
            + lists
                .iter()
                .map(|l| 1 + l.2.is_some() as usize + l.3.is_some() as usize)
                .sum::<usize>();
        let mut problem = vars.maximise(objective).using(good_lp::solvers::highs::highs);
        let mut constraints = 0;

        let mut by_list: HashMap<SessionIx, Vec<(PatientIx, Variable)>> = HashMap::new();
        let mut by_patient: HashMap<PatientIx, Vec<Variable>> = HashMap::new();
        for &(p, s, v) in &x {
            by_list.entry(s).or_default().push((p, v));
            by_patient.entry(p).or_default().push(v);
        }
        // one_list: Σ_s x[p,s] ≤ 1 — a patient is on at most one list (= 1 when pinned).
        for &p in &comp.patients {
            let row: Expression = by_patient[&p].iter().copied().map(Expression::from).sum();
            let pinned = req.booking_of(p).is_some_and(|b| req.is_pinned(b));
            problem.add_constraint(if pinned { row.eq(1.0) } else { row.leq(1.0) });
            constraints += 1;
        }
        let list_vars: HashMap<SessionIx, (Variable, Option<Variable>, Option<Variable>)> =
            lists.iter().map(|&(s, y, sh, un)| (s, (y, sh, un))).collect();
        for &s in &comp.sessions {
            let cases = by_list.get(&s).map(Vec::as_slice).unwrap_or(&[]);
            // capacity: Σ_p (minutes[p] + turnaround)·x[p,s] ≤ free[s]·y[s] — cases and changeovers
            // fit in the list's minutes less reserved time (pinned cases always fit: free is widened
            // to hold them).
            let free = req.effective_capacity(s) as f64;
            let load: Expression = cases.iter().map(|&(p, v)| req.case_load(p) as f64 * v).sum();
            match list_vars.get(&s) {
                Some(&(y, short, under)) => {
                    problem.add_constraint((load - free * y).leq(0.0));
                    // link: x[p,s] ≤ y[s] — a list with a case is a kept list.
                    for &(_, v) in cases {
                        problem.add_constraint((v - y).leq(0.0));
                        constraints += 1;
                    }
                    // shortfall: short[s] ≥ target[s]·y[s] − Σ_p x[p,s] — cases short of target.
                    if let Some(short) = short {
                        let n: Expression = cases.iter().map(|&(_, v)| Expression::from(v)).sum();
                        let target = f64::from(req.cases_target(s));
                        problem.add_constraint((short + n - target * y).geq(0.0));
                        constraints += 1;
                    }
                    // under: under[s] ≥ floor[s]·y[s] − reserved[s]·y[s] − Σ_p minutes[p]·x[p,s].
                    if let Some(under) = under {
                        let touch: Expression = cases
                            .iter()
                            .map(|&(p, v)| f64::from(req.patients[p].minutes) * v)
                            .sum();
                        let costs = ListCosts::of(req, s);
                        let floor = costs.floor - costs.reserved;
                        problem.add_constraint((under + touch - floor * y).geq(0.0));
                        constraints += 1;
                    }
                }
                None => {
                    problem.add_constraint(load.leq(free));
                }
            }
            constraints += 1;
        }
        ListModel {
            x,
            lists,
            problem,
            variables,
            constraints,
        }
    }

    /// Values of every column for an allocation (a warm start), in the order the variables were
    /// created: every x[p,s] first (as in `self.x`), then y, short and under list by list.
    pub fn values_for(&self, req: &PlanningRequest, assignment: &[Option<SessionIx>]) -> Vec<f64> {
        let mut values: Vec<f64> = Vec::with_capacity(self.variables);
        let mut cases: HashMap<SessionIx, (u32, u32)> = HashMap::new();
        for &(p, s, _) in &self.x {
            let on = assignment[p] == Some(s);
            values.push(f64::from(u8::from(on)));
            if on {
                let e = cases.entry(s).or_default();
                e.0 += 1;
                e.1 += req.patients[p].minutes;
            }
        }
        for &(s, _, short, under) in &self.lists {
            let (n, minutes) = cases.get(&s).copied().unwrap_or_default();
            let kept = n > 0;
            let costs = ListCosts::of(req, s);
            values.push(f64::from(u8::from(kept)));
            if short.is_some() {
                let gap = if kept {
                    f64::from(costs.cases_short(n))
                } else {
                    0.0
                };
                values.push(gap);
            }
            if under.is_some() {
                let gap = if kept {
                    costs.minutes_under(f64::from(minutes))
                } else {
                    0.0
                };
                values.push(gap);
            }
        }
        values
    }
}

// Keep the trait in scope for `add_constraint`.
#[allow(unused_imports)]
use SolverModel as _;
