//! Filling a list's free minutes: the pool patients who may go on the list now (the planner's
//! rules) and fit the window, alone or together, ranked by the objective's gain with everything
//! else held fixed. Combinations come from an exact knapsack over the candidates, one state per
//! (cases, minutes used), so the best option is the best set of any size, and the list penalty
//! (cases-per-list shortfall, under-use), which depends only on the cases and minutes, is exact.

use std::cmp::Ordering;

use super::{decisive_reason, Held};
use crate::domain::plan::ListPlan;
use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};
use crate::planning::plan::build_list;
use crate::rules;

/// Knapsack states (candidates × cases × minute steps) at most; beyond it only the most valuable
/// candidates enter the knapsack (singles are still all ranked). Keeps one answer within
/// milliseconds whatever the list.
pub const MAX_KNAPSACK_STATES: usize = 8_000_000;

/// What is asked: a list, an optional free window, how many answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillAsk {
    pub session: SessionIx,
    /// The free window in capacity minutes (cases with their changeovers); `None`: what the
    /// list has left.
    pub window: Option<u32>,
    /// Options, and non-eligible candidates, to return.
    pub limit: usize,
}

/// One way to fill the window.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillOption {
    /// The patients who join the list, most valuable first.
    pub patients: Vec<PatientIx>,
    /// The change in the plan's objective.
    pub gain: f64,
    /// Capacity minutes taken from the window.
    pub load: i64,
    /// The list as it would run.
    pub list: ListPlan,
}

/// A pool patient of the list's specialty who cannot fill the window, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NotEligible {
    pub patient: PatientIx,
    /// The first rule broken; `Capacity` when eligible but longer than the window; `NoBed` when
    /// an overnight case and the night has no children's bed left.
    pub reason: RuleCode,
    /// The gain booking the patient would bring, were it allowed.
    pub gain: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackfillAnswer {
    /// The window searched: the smaller of the one asked for and what the list has left.
    pub window: i64,
    pub options: Vec<BackfillOption>,
    pub not_eligible: Vec<NotEligible>,
    /// Candidates who may go on the list and fit the window.
    pub eligible: usize,
}

/// The best ways to fill list `ask.session`'s free window from the pool. Nobody already booked
/// moves; pool patients are those without an existing booking.
pub fn recommend_backfill(req: &PlanningRequest, ask: BackfillAsk) -> BackfillAnswer {
    let held = Held::of(req);
    let s = ask.session;
    let left = held.free(req, s);
    let window = ask.window.map_or(left, |w| left.min(i64::from(w)));

    let mut candidates: Vec<(PatientIx, f64)> = Vec::new();
    let mut not_eligible = Vec::new();
    for p in (0..req.patients.len()).filter(|&p| held.list_of[p].is_none()) {
        // Patients of other specialties are no one's candidates; they are not listed.
        if rules::specialty(req, p, s).is_err() {
            continue;
        }
        let gain = held.joining_gain(req, s, &[p]);
        match decisive_reason(req, p, s) {
            Some(reason) => not_eligible.push(NotEligible {
                patient: p,
                reason,
                gain,
            }),
            None if req.case_load(p) > window => not_eligible.push(NotEligible {
                patient: p,
                reason: RuleCode::Capacity,
                gain,
            }),
            None if held.lacks_bed(req, p, s) => not_eligible.push(NotEligible {
                patient: p,
                reason: RuleCode::NoBed,
                gain,
            }),
            None => candidates.push((p, gain)),
        }
    }
    let by_gain = |a: &(PatientIx, f64), b: &(PatientIx, f64)| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| req.patients[a.0].id.cmp(&req.patients[b.0].id))
    };
    candidates.sort_by(by_gain);
    not_eligible.sort_by(|a, b| by_gain(&(a.patient, a.gain), &(b.patient, b.gain)));
    not_eligible.truncate(ask.limit);

    let mut sets: Vec<(Vec<PatientIx>, f64)> = candidates
        .iter()
        .take(ask.limit)
        .map(|&(p, gain)| (vec![p], gain))
        .collect();
    // A set needs no more beds than the night has left (the knapsack counts minutes and cases
    // only; sets over the beds are dropped).
    let beds = held.beds_left(s);
    let stays = |set: &[PatientIx]| set.iter().filter(|&&p| req.patients[p].overnight).count();
    for set in combinations(req, &held, s, window, &candidates, ask.limit) {
        if beds.is_some_and(|b| stays(&set) > b as usize) {
            continue;
        }
        if !sets.iter().any(|(have, _)| have == &set) {
            let gain = held.joining_gain(req, s, &set);
            sets.push((set, gain));
        }
    }
    sets.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.0.len().cmp(&b.0.len()))
            .then_with(|| a.0.cmp(&b.0))
    });
    sets.truncate(ask.limit);
    let options = sets
        .into_iter()
        .map(|(patients, gain)| {
            let mut on = held.on_list[s].clone();
            on.extend(&patients);
            BackfillOption {
                load: patients.iter().map(|&p| req.case_load(p)).sum(),
                list: build_list(req, s, &on),
                patients,
                gain,
            }
        })
        .collect();
    BackfillAnswer {
        window,
        options,
        not_eligible,
        eligible: candidates.len(),
    }
}

/// The best sets of two or more candidates that fit `window`, best first, at most `limit`: the
/// best set for each (cases, minutes used) state of an exact 0/1 knapsack, valued by the
/// candidates' gains and the list penalty of the state. `candidates` is sorted by gain.
fn combinations(
    req: &PlanningRequest,
    held: &Held,
    s: SessionIx,
    window: i64,
    candidates: &[(PatientIx, f64)],
    limit: usize,
) -> Vec<Vec<PatientIx>> {
    if candidates.len() < 2 || window <= 0 {
        return Vec::new();
    }
    let loads: Vec<i64> = candidates.iter().map(|&(p, _)| req.case_load(p)).collect();
    // Minutes in steps of the loads' common divisor keep the table small (cases come in fives).
    let step = loads.iter().fold(window, |g, &l| gcd(g, l)).max(1);
    let width = (window / step) as usize + 1;
    let fewest = *loads.iter().min().expect("two candidates");
    let most_cases = ((window / fewest) as usize).min(candidates.len());
    if most_cases < 2 {
        return Vec::new();
    }
    let depth = most_cases + 1;
    let used = (MAX_KNAPSACK_STATES / (depth * width)).clamp(2, candidates.len());
    let items = &candidates[..used];
    // The candidates' own values; the list penalty is added per state at the end.
    let values: Vec<f64> = items
        .iter()
        .map(|&(p, _)| Held::joining_value(req, p, s))
        .collect();
    let mut best = vec![f64::NEG_INFINITY; depth * width];
    best[0] = 0.0;
    let mut took = vec![false; items.len() * depth * width];
    for (i, (&load, &value)) in loads.iter().zip(&values).enumerate() {
        let w = (load / step) as usize;
        for k in (1..depth).rev() {
            for b in (w..width).rev() {
                let from = best[(k - 1) * width + b - w];
                if from > f64::NEG_INFINITY && from + value > best[k * width + b] {
                    best[k * width + b] = from + value;
                    took[(i * depth + k) * width + b] = true;
                }
            }
        }
    }
    let turnaround = i64::from(req.policy.lists.turnaround_minutes);
    let mut states: Vec<(usize, usize, f64)> = Vec::new();
    for k in 2..depth {
        for b in 0..width {
            let v = best[k * width + b];
            if v > f64::NEG_INFINITY {
                let minutes = b as i64 * step - k as i64 * turnaround;
                states.push((k, b, v - held.penalty_change(req, s, k as i64, minutes)));
            }
        }
    }
    states.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(Ordering::Equal));
    states
        .into_iter()
        .take(limit)
        .map(|(mut k, mut b, _)| {
            let mut set = Vec::with_capacity(k);
            for i in (0..items.len()).rev() {
                if k > 0 && took[(i * depth + k) * width + b] {
                    set.push(items[i].0);
                    k -= 1;
                    b -= (loads[i] / step) as usize;
                }
            }
            set.reverse();
            set
        })
        .collect()
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}
