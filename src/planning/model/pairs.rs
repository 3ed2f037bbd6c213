//! The pair model: one binary per eligible (patient, list) pair, read like the maths
//! (docs/model.md, "The pair model"):
//!
//! maximise  Σ c[p,s]·x[p,s] − shortfall·Σ short[s] − under_utilisation·Σ under[s]   (+ constant)
//!
//! x[p,s] ∈ {0,1}  patient p goes on list s (eligible pairs only; pinned bookings fixed to 1)
//! (rows: one list per patient; per list capacity, links, shortfall and under-use; per bed
//! night, its beds)
//! y[s]   ∈ {0,1}  list s has cases (only where a list-level cost needs it)
//!
//! Each constraint family is a method of [`Rows`]. Correct but weak (its LP relaxation dilutes a
//! list's costs); price-and-branch finishes with it on small components to prove optimality.

use std::collections::HashMap;

use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};

use super::{pair_coefficient, Component};
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::beds::BedNights;
use crate::planning::objective::ListCosts;

/// The variables of one list that carries list-level costs.
#[derive(Debug, Clone, Copy)]
pub struct ListVars {
    pub session: SessionIx,
    /// y[s]: the list has cases.
    pub kept: Variable,
    /// short[s]: cases short of the target (when the target costs anything).
    pub short: Option<Variable>,
    /// under[s]: minutes short of the utilisation floor (when under-use costs anything).
    pub under: Option<Variable>,
}

/// One component's model: the variables by name, ready to hand to HiGHS.
pub struct ListModel {
    /// (patient, list, x[p,s]) for every eligible pair of the component.
    pub x: Vec<(PatientIx, SessionIx, Variable)>,
    /// The component's lists that carry list-level costs.
    pub lists: Vec<ListVars>,
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
            lists.push(ListVars {
                session: s,
                kept: y,
                short,
                under,
            });
        }
        let variables = x.len()
            + lists
                .iter()
                .map(|l| 1 + l.short.is_some() as usize + l.under.is_some() as usize)
                .sum::<usize>();
        let mut rows = Rows {
            req,
            problem: vars.maximise(objective).using(good_lp::solvers::highs::highs),
            count: 0,
        };

        let mut by_list: HashMap<SessionIx, Vec<(PatientIx, Variable)>> = HashMap::new();
        let mut by_patient: HashMap<PatientIx, Vec<Variable>> = HashMap::new();
        for &(p, s, v) in &x {
            by_list.entry(s).or_default().push((p, v));
            by_patient.entry(p).or_default().push(v);
        }
        // Rows in this order: one_list per patient; then per list its capacity, links,
        // shortfall and under-use.
        for &p in &comp.patients {
            rows.one_list(p, &by_patient[&p]);
        }
        let list_vars: HashMap<SessionIx, ListVars> = lists.iter().map(|l| (l.session, *l)).collect();
        for &s in &comp.sessions {
            let cases = by_list.get(&s).map(Vec::as_slice).unwrap_or(&[]);
            match list_vars.get(&s) {
                Some(l) => {
                    rows.capacity(s, cases, Some(l.kept));
                    rows.link(cases, l.kept);
                    if let Some(short) = l.short {
                        rows.shortfall(s, cases, l.kept, short);
                    }
                    if let Some(under) = l.under {
                        rows.under_use(s, cases, l.kept, under);
                    }
                }
                None => rows.capacity(s, cases, None),
            }
        }
        // Then one bed row per bed night an overnight case may take.
        let nights = BedNights::of(req);
        let mut by_night: std::collections::BTreeMap<u32, Vec<Variable>> = Default::default();
        for &(p, s, v) in &x {
            let pinned = req.booking_of(p).is_some_and(|b| req.is_pinned(b));
            if let (Some(g), false) = (nights.night(req, p, s), pinned) {
                by_night.entry(g).or_default().push(v);
            }
        }
        for (g, stays) in &by_night {
            rows.beds(stays, nights.free(*g));
        }
        let (problem, constraints) = (rows.problem, rows.count);
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
        for &ListVars {
            session: s,
            short,
            under,
            ..
        } in &self.lists
        {
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

/// The model's rows as they are added, family by family.
struct Rows<'r> {
    req: &'r PlanningRequest,
    problem: good_lp::solvers::highs::HighsProblem,
    count: usize,
}

impl Rows<'_> {
    fn add(&mut self, c: good_lp::Constraint) {
        self.problem.add_constraint(c);
        self.count += 1;
    }

    /// one_list: `Σ_s x[p,s] ≤ 1` (`= 1` when pinned): a patient is on at most one list, a
    /// pinned patient on exactly one.
    fn one_list(&mut self, p: PatientIx, x: &[Variable]) {
        let row: Expression = x.iter().copied().map(Expression::from).sum();
        let pinned = self.req.booking_of(p).is_some_and(|b| self.req.is_pinned(b));
        self.add(if pinned { row.eq(1.0) } else { row.leq(1.0) });
    }

    /// capacity: `Σ_p (minutes[p] + turnaround)·x[p,s] ≤ free[s]·y[s]` (or `≤ free[s]` for a list
    /// without list costs): cases and changeovers fit in the list's minutes less reserved time,
    /// `free` being the effective capacity (pinned cases always fit).
    fn capacity(&mut self, s: SessionIx, cases: &[(PatientIx, Variable)], kept: Option<Variable>) {
        let free = self.req.effective_capacity(s) as f64;
        let load: Expression = cases.iter().map(|&(p, v)| self.req.case_load(p) as f64 * v).sum();
        self.add(match kept {
            Some(y) => (load - free * y).leq(0.0),
            None => load.leq(free),
        });
    }

    /// beds: `Σ_{s on night g, p overnight, not pinned} x[p,s] ≤ beds[g] − pinned[g]` (at least
    /// 0): the overnight cases of a bed night fit in the beds its pinned overnight cases leave.
    fn beds(&mut self, stays: &[Variable], beds: u32) {
        let row: Expression = stays.iter().copied().map(Expression::from).sum();
        self.add(row.leq(f64::from(beds)));
    }

    /// link: `x[p,s] ≤ y[s]`: a list with a case is a kept list.
    fn link(&mut self, cases: &[(PatientIx, Variable)], kept: Variable) {
        for &(_, v) in cases {
            self.add((v - kept).leq(0.0));
        }
    }

    /// shortfall: `short[s] ≥ target[s]·y[s] − Σ_p x[p,s]`: cases short of the target.
    fn shortfall(&mut self, s: SessionIx, cases: &[(PatientIx, Variable)], kept: Variable, short: Variable) {
        let n: Expression = cases.iter().map(|&(_, v)| Expression::from(v)).sum();
        let target = f64::from(self.req.cases_target(s));
        self.add((short + n - target * kept).geq(0.0));
    }

    /// under_use: `under[s] ≥ (floor[s] − reserved[s])·y[s] − Σ_p minutes[p]·x[p,s]`: minutes
    /// short of the utilisation floor, reserved minutes counted as used.
    fn under_use(&mut self, s: SessionIx, cases: &[(PatientIx, Variable)], kept: Variable, under: Variable) {
        let touch: Expression = cases
            .iter()
            .map(|&(p, v)| f64::from(self.req.patients[p].minutes) * v)
            .sum();
        let costs = ListCosts::of(self.req, s);
        let floor = costs.floor - costs.reserved;
        self.add((under + touch - floor * kept).geq(0.0));
    }
}

// Keep the trait in scope for `add_constraint`.
#[allow(unused_imports)]
use SolverModel as _;
