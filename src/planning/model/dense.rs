//! A component in dense form: patients and lists renumbered from 0, each list's candidates in one
//! array with their objective coefficients, so pricing and search index vectors instead of hash
//! maps. Built once per component; read-only afterwards.

use super::{pair_coefficient, Component};
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::beds::BedNights;
use crate::planning::objective::ListCosts;

/// Local index of a patient within its component.
pub type Local = u32;

/// A component's plan: each local patient's (list, position in that list's candidates), if booked.
pub type LocalPlan = Vec<Option<(u32, u32)>>;

/// One list of a component, as pricing and search see it.
#[derive(Debug, Clone)]
pub struct DenseList {
    pub session: SessionIx,
    /// Minutes the list offers to cases (turnarounds included), widened so pinned cases fit.
    pub capacity: i64,
    /// Cases-per-list target (0: none).
    pub target: u32,
    /// The list's cost terms (the objective's one list penalty).
    pub costs: ListCosts,
    /// Patients pinned to this list: in every plan.
    pub pinned: Vec<Local>,
    pub pinned_load: i64,
    pub pinned_touch: i64,
    pub pinned_value: f64,
    /// Other patients that may go on the list, with c[p,s] and their load (minutes + turnaround).
    pub cands: Vec<Local>,
    pub coef: Vec<f64>,
    pub load: Vec<i64>,
    /// Candidate positions sorted by load (then position).
    pub by_load: Vec<u32>,
    /// The list's bed night (local index), where its site limits beds that night.
    pub night: Option<u32>,
    /// Whether each candidate takes a bed of the night here (an overnight case on a list with a
    /// bed night).
    pub bed: Vec<bool>,
}

impl DenseList {
    /// Fills `by_load`: candidate positions by load, then position.
    pub fn sort_by_load(&mut self) {
        self.by_load = (0..self.cands.len() as u32).collect();
        let load = &self.load;
        self.by_load.sort_by_key(|&k| (load[k as usize], k));
    }
}

/// The policy's list-cost weights, which pricing needs term by term (what one more case or
/// minute relieves).
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    pub shortfall: f64,
    pub under: f64,
    pub turnaround: i64,
}

impl Weights {
    pub fn of(req: &PlanningRequest) -> Weights {
        Weights {
            shortfall: req.policy.objective.cases_per_list_shortfall,
            under: req.policy.objective.under_utilisation,
            turnaround: i64::from(req.policy.lists.turnaround_minutes),
        }
    }

    /// The list penalty of `list` with `count` cases and `touch` minutes of cases (0 when empty).
    #[inline]
    pub fn penalty(&self, list: &DenseList, count: u32, touch: i64) -> f64 {
        list.costs.penalty(count, touch as f64)
    }
}

/// A component renumbered densely.
#[derive(Debug, Clone)]
pub struct Dense {
    /// Local patient -> request patient.
    pub patients: Vec<PatientIx>,
    pub pinned: Vec<bool>,
    /// Minutes of each patient's case (touch time).
    pub minutes: Vec<i64>,
    pub lists: Vec<DenseList>,
    /// For each patient, the (list, position in that list's `cands`) it may go on; empty for pinned.
    pub options: Vec<Vec<(u32, u32)>>,
    /// The list a pinned patient is on.
    pub pinned_on: Vec<Option<u32>>,
    pub costs: Weights,
    /// Beds each bed night of the component has for free patients (pinned overnight cases
    /// already counted out).
    pub night_beds: Vec<i64>,
}

impl Dense {
    pub fn build(
        req: &PlanningRequest,
        comp: &Component,
        options: &[Vec<SessionIx>],
        nights: &BedNights,
    ) -> Dense {
        let costs = Weights::of(req);
        let list_of = |s: SessionIx| comp.sessions.binary_search(&s).ok();
        debug_assert!(comp.sessions.windows(2).all(|w| w[0] < w[1]));
        // The component's bed nights, numbered locally in order of first list.
        let mut night_beds: Vec<i64> = Vec::new();
        let mut local_night: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        let list_night: Vec<Option<u32>> = comp
            .sessions
            .iter()
            .map(|&s| {
                let g = nights.of_session[s]?;
                Some(*local_night.entry(g).or_insert_with(|| {
                    night_beds.push(i64::from(nights.free(g)));
                    night_beds.len() as u32 - 1
                }))
            })
            .collect();
        let mut lists: Vec<DenseList> = comp
            .sessions
            .iter()
            .zip(&list_night)
            .map(|(&s, &night)| DenseList {
                session: s,
                capacity: req.case_capacity(s),
                target: req.cases_target(s),
                costs: ListCosts::of(req, s),
                pinned: vec![],
                pinned_load: 0,
                pinned_touch: 0,
                pinned_value: 0.0,
                cands: vec![],
                coef: vec![],
                load: vec![],
                by_load: vec![],
                night,
                bed: vec![],
            })
            .collect();
        let n = comp.patients.len();
        let mut pinned = vec![false; n];
        let mut pinned_on = vec![None; n];
        let mut minutes = vec![0; n];
        let mut opts = vec![Vec::new(); n];
        for (i, &p) in comp.patients.iter().enumerate() {
            minutes[i] = i64::from(req.patients[p].minutes);
            let is_pinned = req.booking_of(p).is_some_and(|b| req.is_pinned(b));
            pinned[i] = is_pinned;
            for &s in &options[p] {
                let l = list_of(s).expect("an eligible list of a component's patient is in the component");
                let list = &mut lists[l];
                let coef = pair_coefficient(req, p, s);
                if is_pinned {
                    list.pinned.push(i as Local);
                    list.pinned_load += req.case_load(p);
                    list.pinned_touch += minutes[i];
                    list.pinned_value += coef;
                    pinned_on[i] = Some(l as u32);
                } else {
                    opts[i].push((l as u32, list.cands.len() as u32));
                    list.cands.push(i as Local);
                    list.coef.push(coef);
                    list.load.push(req.case_load(p));
                    list.bed.push(list.night.is_some() && req.patients[p].overnight);
                }
            }
        }
        for list in &mut lists {
            // Pinned cases always fit.
            list.capacity = list.capacity.max(list.pinned_load);
            list.sort_by_load();
        }
        Dense {
            patients: comp.patients.clone(),
            pinned,
            minutes,
            lists,
            options: opts,
            pinned_on,
            costs,
            night_beds,
        }
    }

    /// Minutes list `l` has left for free patients once its pinned cases are on.
    pub fn free_minutes(&self, l: usize) -> i64 {
        let list = &self.lists[l];
        (list.capacity - list.pinned_load).max(0)
    }

    /// What one more case relieves of list `l`'s shortfall cost while the list is short of its
    /// target with only its pinned cases (0 once they meet it).
    pub fn shortfall_relief(&self, l: usize) -> f64 {
        let list = &self.lists[l];
        if list.target > list.pinned.len() as u32 {
            self.costs.shortfall
        } else {
            0.0
        }
    }

    /// Eligible (patient, list) pairs of free patients.
    pub fn pairs(&self) -> usize {
        self.lists.iter().map(|l| l.cands.len()).sum()
    }

    /// The value of a list holding its pinned cases and `extra` (positions in `cands`).
    pub fn list_value(&self, l: usize, extra: impl IntoIterator<Item = u32>) -> f64 {
        let list = &self.lists[l];
        let (mut value, mut count, mut touch) =
            (list.pinned_value, list.pinned.len() as u32, list.pinned_touch);
        for k in extra {
            let k = k as usize;
            value += list.coef[k];
            count += 1;
            touch += self.minutes[list.cands[k] as usize];
        }
        value - self.costs.penalty(list, count, touch)
    }

    /// The value of the empty plan: pinned cases only.
    pub fn empty_value(&self) -> f64 {
        (0..self.lists.len()).map(|l| self.list_value(l, [])).sum()
    }
}
