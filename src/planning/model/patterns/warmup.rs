//! The subgradient warm-up of the patient prices on large components: pricing only, no LP.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::super::highs_run::Control;
use super::pricing::{price_list, ListData};
use super::{WARMUP_FIRST_STEP, WARMUP_ITERATIONS, WARMUP_MIN_STEP, WARMUP_PATIENCE};
use crate::domain::{PatientIx, PlanningRequest};

/// Where the subgradient warm-up left the prices.
pub(super) struct Warmup {
    /// The lowest Lagrangian bound UB(π) seen, and its prices.
    pub(super) bound: f64,
    pub(super) price: HashMap<PatientIx, f64>,
    pub(super) iterations: usize,
}

/// Subgradient descent on the Lagrangian bound UB(π) before column generation: each step prices
/// every list once (knapsack DPs only, no LP), moves each patient's price by how often the lists'
/// best patterns over- or under-use them (Polyak step towards `lower`, a known plan value), and
/// keeps the best prices. A bound from good prices costs a fraction of the master LP rounds it
/// would take, and those prices are the stability centre the smoothed column generation starts
/// from. Every UB(π) is a valid bound: pricing is exact.
pub(super) fn lagrangian_warmup(
    req: &PlanningRequest,
    lists: &[ListData],
    patients: &[PatientIx],
    pinned: &HashSet<PatientIx>,
    lower: f64,
    until: Instant,
    control: &Control<'_>,
) -> Warmup {
    let mut price: HashMap<PatientIx, f64> = patients.iter().map(|&p| (p, 0.0)).collect();
    let mut best = Warmup {
        bound: f64::INFINITY,
        price: price.clone(),
        iterations: 0,
    };
    let mut step = WARMUP_FIRST_STEP;
    let mut since_better = 0;
    let mut used: HashMap<PatientIx, i32> = HashMap::with_capacity(patients.len());
    while best.iterations < WARMUP_ITERATIONS && step > WARMUP_MIN_STEP {
        if Instant::now() >= until
            || Instant::now() >= control.deadline
            || control.cancel.load(std::sync::atomic::Ordering::Relaxed)
        {
            break;
        }
        best.iterations += 1;
        used.clear();
        let mut ub: f64 = price.values().sum();
        for l in lists {
            let Some((chosen, reduced)) = price_list(req, l, &price, 1).into_iter().next() else {
                continue;
            };
            if reduced > 0.0 || !l.pinned.is_empty() {
                ub += reduced;
                for p in chosen {
                    *used.entry(p).or_insert(0) += 1;
                }
            }
        }
        if ub < best.bound - 1e-9 {
            best.bound = ub;
            best.price.clone_from(&price);
            since_better = 0;
        } else {
            since_better += 1;
            if since_better >= WARMUP_PATIENCE {
                step /= 2.0;
                since_better = 0;
            }
        }
        // Subgradient of UB at π: 1 − (times p is used); zero for pinned patients, always once.
        let gradient = |p: &PatientIx| 1.0 - f64::from(used.get(p).copied().unwrap_or(0));
        let norm: f64 = patients.iter().map(|p| gradient(p).powi(2)).sum();
        if norm == 0.0 {
            break; // every patient used exactly once: these prices are optimal
        }
        let t = step * (ub - lower).max(1e-6) / norm;
        for p in patients {
            let moved = price[p] - t * gradient(p);
            price.insert(*p, if pinned.contains(p) { moved } else { moved.max(0.0) });
        }
    }
    best
}
