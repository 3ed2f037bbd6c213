//! The optimiser's models, one per component (a set of patients and lists that share no eligible
//! pair with any other): the decomposition (`components`), the objective's coefficients in model
//! terms (`pair_coefficient`, `objective_constant`), the pair model (`pairs`, solved by HiGHS in
//! `highs_run`, written as MPS by `export`), and the Lagrangian planner: components in dense form
//! (`dense`), exact list knapsacks (`pricing`), the subgradient bound (`bound`), ruin-and-recreate
//! plans (`search`), pattern-search proofs of small components (`proof`, its scans over bit
//! columns in `columns`) and the work scheduler
//! (`scheduler`). docs/model.md gives the maths; each constraint family is a named function here.

pub mod bound;
mod columns;
pub mod dense;
pub mod export;
pub mod highs_run;
mod pairs;
pub mod pricing;
pub mod proof;
pub mod scheduler;
pub mod search;

use std::collections::HashMap;

use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::beds::BedNights;
use crate::planning::objective::{booking_value, unbooked_cost};

pub use pairs::{ListModel, ListVars};

/// Patients and lists that share no eligible pair with the rest of the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub patients: Vec<PatientIx>,
    pub sessions: Vec<SessionIx>,
    /// Eligible (patient, list) pairs.
    pub pairs: usize,
}

/// Splits the request into independent components (union-find over eligible pairs, and over the
/// lists of a bed night that an overnight case may go on). Patients with no eligible list and
/// lists no patient can use belong to none.
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
    let union = |parent: &mut Vec<usize>, x: usize, y: usize| {
        let (a, b) = (find(parent, x), find(parent, y));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    };
    for (p, opts) in options.iter().enumerate() {
        for &s in opts {
            union(&mut parent, p, n_p + s);
        }
    }
    // The lists of one bed night on which an overnight case may go share the night's beds: one
    // component.
    let nights = BedNights::of(req);
    let mut first_list: Vec<Option<SessionIx>> = vec![None; nights.beds.len()];
    for (p, opts) in options.iter().enumerate() {
        for &s in opts {
            if let Some(g) = nights.night(req, p, s) {
                match first_list[g as usize] {
                    Some(first) => union(&mut parent, n_p + first, n_p + s),
                    None => first_list[g as usize] = Some(s),
                }
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

/// A small deterministic number generator for the model's unit tests.
#[cfg(test)]
pub(crate) struct Lcg(pub u64);

#[cfg(test)]
impl Lcg {
    /// The next number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as f64 / (1u64 << 31) as f64
    }

    /// The next whole number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n - 1)
    }
}
