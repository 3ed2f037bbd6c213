//! Rounding the master LP to a plan: patterns by decreasing weight, then a greedy fill.

use std::collections::{HashMap, HashSet};

use super::pricing::{pattern_value, ListData, Pattern};
use crate::domain::{PatientIx, PlanningRequest, SessionIx};

/// Rounds an LP solution to a plan: patterns by decreasing LP weight, each keeping only its cases
/// not already placed; then every unplaced patient goes where it adds most value, if anywhere.
pub(super) fn round_lp<'a>(
    req: &PlanningRequest,
    lists: &'a [ListData],
    pool: &[Pattern],
    lambda: &[f64],
    pinned: &HashSet<PatientIx>,
) -> Vec<(&'a ListData, Vec<PatientIx>)> {
    let by_session: HashMap<SessionIx, &ListData> = lists.iter().map(|l| (l.session, l)).collect();
    let mut order: Vec<usize> = (0..pool.len().min(lambda.len()))
        .filter(|&k| lambda[k] > 1e-6)
        .collect();
    order.sort_by(|&a, &b| {
        lambda[b]
            .total_cmp(&lambda[a])
            .then(pool[b].value.total_cmp(&pool[a].value))
            .then(a.cmp(&b))
    });
    let mut placed: HashSet<PatientIx> = HashSet::new();
    let mut chosen: HashMap<SessionIx, Vec<PatientIx>> = HashMap::new();
    // Pinned cases first, always where they are.
    for l in lists {
        if !l.pinned.is_empty() {
            chosen.insert(l.session, l.pinned.clone());
            placed.extend(l.pinned.iter().copied());
        }
    }
    for k in order {
        let pattern = &pool[k];
        if chosen
            .get(&pattern.session)
            .is_some_and(|c| c.len() > by_session[&pattern.session].pinned.len())
        {
            continue;
        }
        let extra: Vec<PatientIx> = pattern
            .patients
            .iter()
            .copied()
            .filter(|p| !placed.contains(p) && !pinned.contains(p))
            .collect();
        if extra.is_empty() {
            continue;
        }
        placed.extend(extra.iter().copied());
        chosen.entry(pattern.session).or_default().extend(extra);
    }
    // Greedy fill: each unplaced patient to the list where it adds most (if it adds anything).
    let used = |req: &PlanningRequest, patients: &[PatientIx]| -> i64 {
        patients.iter().map(|&p| req.case_load(p)).sum()
    };
    let mut candidates: Vec<(PatientIx, SessionIx)> = lists
        .iter()
        .flat_map(|l| l.candidates.iter().map(move |&p| (p, l.session)))
        .collect();
    let coef = |p: PatientIx, s: SessionIx| by_session[&s].coef[&p];
    candidates.sort_by(|a, b| coef(b.0, b.1).total_cmp(&coef(a.0, a.1)).then(a.cmp(b)));
    for (p, s) in candidates {
        if placed.contains(&p) {
            continue;
        }
        let l = by_session[&s];
        let current = chosen.get(&s).cloned().unwrap_or_default();
        if used(req, &current) + req.case_load(p) > l.capacity {
            continue;
        }
        let mut with = current.clone();
        with.push(p);
        if pattern_value(req, l, &with) > pattern_value(req, l, &current) + 1e-9 {
            placed.insert(p);
            chosen.insert(s, with);
        }
    }
    let mut out: Vec<(&ListData, Vec<PatientIx>)> = chosen
        .into_iter()
        .filter(|(_, patients)| !patients.is_empty())
        .map(|(s, mut patients)| {
            patients.sort_unstable();
            (by_session[&s], patients)
        })
        .collect();
    out.sort_by_key(|(l, _)| l.session);
    out
}
