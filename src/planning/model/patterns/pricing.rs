//! Pricing: a pattern's exact value, and the best patterns of a list at given patient prices by
//! an exact knapsack over (capacity, case count). Every price vector gives a proven bound
//! (`price_all`).

use std::collections::{HashMap, HashSet};

use super::super::{pair_coefficient, Component};
use super::COLUMNS_PER_LIST;
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::objective::ListCosts;

/// One list's set of cases, with its exact value.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pattern {
    pub(super) session: SessionIx,
    pub(super) patients: Vec<PatientIx>,
    pub(super) value: f64,
}

/// The per-list data pricing needs.
pub(super) struct ListData {
    pub(super) session: SessionIx,
    /// Pinned patients: in every pattern of this list.
    pub(super) pinned: Vec<PatientIx>,
    /// Other eligible patients.
    pub(super) candidates: Vec<PatientIx>,
    /// Minutes for cases and changeovers, pinned cases always fitting
    /// ([`PlanningRequest::effective_capacity`]).
    pub(super) capacity: i64,
    /// The list's cost terms (target, floor, reserved minutes).
    pub(super) costs: ListCosts,
    /// Objective coefficient c[p,s] of every patient that may go on the list.
    pub(super) coef: HashMap<PatientIx, f64>,
}

pub(super) fn pattern_value(req: &PlanningRequest, l: &ListData, patients: &[PatientIx]) -> f64 {
    let gain: f64 = patients.iter().map(|p| l.coef[p]).sum();
    let touch: f64 = patients.iter().map(|&p| f64::from(req.patients[p].minutes)).sum();
    gain - l.costs.penalty(patients.len() as u32, touch)
}

pub(super) fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// The best patterns of a list at patient prices `price`: an exact 0/1 knapsack over (capacity,
/// case count). Returns up to `keep` patterns (the best for different case counts), best first,
/// each with its reduced value v − Σ π; the first is the list's best pattern.
pub(super) fn price_list(
    req: &PlanningRequest,
    l: &ListData,
    price: &HashMap<PatientIx, f64>,
    keep: usize,
) -> Vec<(Vec<PatientIx>, f64)> {
    let o = &req.policy.objective;
    let t = i64::from(req.policy.lists.turnaround_minutes);
    let forced_load: i64 = l.pinned.iter().map(|&p| req.case_load(p)).sum();
    let forced_profit: f64 = l.pinned.iter().map(|p| l.coef[p] - price[p]).sum();
    let capacity = l.capacity;
    // Items that could ever help: a case can at best save one shortfall case and its minutes of
    // under-utilisation, so lower profits never enter an optimal pattern.
    let items: Vec<(PatientIx, i64, f64)> = l
        .candidates
        .iter()
        .map(|&p| (p, req.case_load(p), l.coef[&p] - price[&p]))
        .filter(|&(p, load, r)| {
            load <= capacity - forced_load
                && r + o.cases_per_list_shortfall + o.under_utilisation * f64::from(req.patients[p].minutes)
                    > 1e-9
        })
        .collect();
    let free = capacity - forced_load;
    let g = items
        .iter()
        .fold(free.max(1), |g, &(_, load, _)| gcd(g, load))
        .max(1);
    let units = (free / g) as usize;
    let min_u = items
        .iter()
        .map(|&(_, load, _)| (load / g) as usize)
        .min()
        .unwrap_or(1)
        .max(1);
    let max_n = items.len().min(units / min_u);
    let width = max_n + 1;
    let states = (units + 1) * width;
    let mut dp = vec![f64::NEG_INFINITY; states];
    dp[0] = 0.0;
    let mut take = vec![false; items.len() * states];
    for (i, &(_, load, r)) in items.iter().enumerate() {
        let u = (load / g) as usize;
        for c in (u..=units).rev() {
            for n in (1..=max_n.min(i + 1)).rev() {
                let from = dp[(c - u) * width + n - 1];
                if from > f64::NEG_INFINITY && from + r > dp[c * width + n] {
                    dp[c * width + n] = from + r;
                    take[i * states + c * width + n] = true;
                }
            }
        }
    }
    let forced_n = l.pinned.len() as u32;
    let forced_touch = (forced_load - t * i64::from(forced_n)) as f64;
    // The best state for each number of added cases.
    let mut per_count: Vec<(f64, usize, usize)> = Vec::with_capacity(width);
    for n in 0..=max_n {
        let mut best = (f64::NEG_INFINITY, 0usize, n);
        for c in 0..=units {
            let v = dp[c * width + n];
            if v == f64::NEG_INFINITY {
                continue;
            }
            let count = forced_n + n as u32;
            let touch = forced_touch + (c as i64 * g - t * n as i64) as f64;
            let total = forced_profit + v - l.costs.penalty(count, touch);
            if total > best.0 + 1e-12 {
                best = (total, c, n);
            }
        }
        if best.0 > f64::NEG_INFINITY {
            per_count.push(best);
        }
    }
    per_count.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    per_count
        .into_iter()
        .take(keep.max(1))
        .map(|(value, mut c, mut n)| {
            let mut chosen = l.pinned.clone();
            for i in (0..items.len()).rev() {
                if n > 0 && take[i * states + c * width + n] {
                    chosen.push(items[i].0);
                    c -= (items[i].1 / g) as usize;
                    n -= 1;
                }
            }
            chosen.sort_unstable();
            (chosen, value)
        })
        .collect()
}

/// Prices every list at `price`: the Lagrangian bound UB(price) and the columns with a positive
/// reduced value.
pub(super) fn price_all<'a>(
    req: &PlanningRequest,
    lists: &'a [ListData],
    price: &HashMap<PatientIx, f64>,
) -> (f64, Vec<(&'a ListData, Vec<PatientIx>)>) {
    let mut ub: f64 = price.values().sum();
    let mut columns = Vec::new();
    for l in lists {
        let priced = price_list(req, l, price, COLUMNS_PER_LIST);
        let reduced = priced.first().map_or(0.0, |(_, r)| *r);
        ub += if l.pinned.is_empty() {
            reduced.max(0.0)
        } else {
            reduced
        };
        columns.extend(
            priced
                .into_iter()
                .filter(|(_, r)| *r > 1e-7)
                .map(|(patients, _)| (l, patients)),
        );
    }
    (ub, columns)
}

/// The reduced value of a pattern at `price`.
pub(super) fn reduced_at(
    req: &PlanningRequest,
    l: &ListData,
    patients: &[PatientIx],
    price: &HashMap<PatientIx, f64>,
) -> f64 {
    pattern_value(req, l, patients) - patients.iter().map(|p| price[p]).sum::<f64>()
}

/// The component's patients whose bookings are pinned (they keep their list).
pub(super) fn pinned_patients(req: &PlanningRequest, comp: &Component) -> HashSet<PatientIx> {
    comp.patients
        .iter()
        .copied()
        .filter(|&p| req.booking_of(p).is_some_and(|b| req.is_pinned(b)))
        .collect()
}

/// Every list of the component with the patients that may go on it and their coefficients.
pub(super) fn list_data(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    pinned: &HashSet<PatientIx>,
) -> Vec<ListData> {
    let mut lists: Vec<ListData> = comp
        .sessions
        .iter()
        .map(|&s| ListData {
            session: s,
            pinned: vec![],
            candidates: vec![],
            capacity: req.effective_capacity(s),
            costs: ListCosts::of(req, s),
            coef: HashMap::new(),
        })
        .collect();
    let list_ix: HashMap<SessionIx, usize> = comp.sessions.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    for &p in &comp.patients {
        for &s in &options[p] {
            let l = &mut lists[list_ix[&s]];
            l.coef.insert(p, pair_coefficient(req, p, s));
            if pinned.contains(&p) {
                l.pinned.push(p);
            } else {
                l.candidates.push(p);
            }
        }
    }
    lists
}
