//! One list: the case rules of every case on it (a pinned case's breaks must be reported as
//! conflicts), capacity, times and order.

use crate::domain::plan::ListPlan;
use crate::domain::policy::OrderFlag;
use crate::domain::{ExistingBooking, PatientIx, RuleCode};

use super::eligibility::case_breaks;
use super::facts::{age_at, case_capacity, is_pinned, seconds, turnaround};
use super::Checker;

impl Checker<'_> {
    /// The case rules, capacity, times and order of one list.
    pub(super) fn list(&mut self, list: &ListPlan) {
        let req = self.req;
        let s = list.session;
        let mut pinned_load = 0i64;
        let mut load = 0i64;
        for case in list.cases.iter().filter(|c| c.patient < req.patients.len()) {
            let p = case.patient;
            let here: Vec<&ExistingBooking> = req
                .bookings
                .iter()
                .filter(|b| b.patient == p && b.session == s)
                .collect();
            let pinned_here = here.iter().any(|b| is_pinned(req, b));
            let case_load = i64::from(req.patients[p].minutes) + turnaround(req);
            load += case_load;
            if pinned_here {
                pinned_load += case_load;
            }
            let breaks = case_breaks(req, p, s, here.is_empty());
            if pinned_here {
                let reported = self
                    .plan
                    .conflicts
                    .iter()
                    .any(|c| c.patient == p && c.session == s);
                if !reported {
                    for (rule, detail) in breaks {
                        let detail = format!(
                            "a pinned booking breaks {} ({detail}) and the plan's conflicts do not say so",
                            rule.code()
                        );
                        self.report(RuleCode::ConflictUnreported, Some(p), Some(s), detail);
                    }
                }
            } else {
                for (rule, detail) in breaks {
                    self.report(rule, Some(p), Some(s), detail);
                }
            }
        }

        let capacity = case_capacity(req, s);
        let overflow = pinned_load > capacity;
        if load > capacity.max(pinned_load) {
            let detail = format!(
                "cases and changeovers take {load} minutes; list {} offers {capacity}",
                req.sessions[s].id
            );
            self.report(RuleCode::Capacity, None, Some(s), detail);
        }
        self.times(list, overflow);
        self.order(list);
    }

    /// Each case starts on time, runs its minutes, leaves a turnaround, and the list ends in time.
    fn times(&mut self, list: &ListPlan, overflow: bool) {
        let req = self.req;
        let s = list.session;
        let session = &req.sessions[s];
        let t = turnaround(req) * 60;
        let mut previous_end: Option<i64> = None;
        for (i, case) in list.cases.iter().enumerate() {
            let (start, end) = (seconds(case.start), seconds(case.end));
            let p = Some(case.patient).filter(|&p| p < req.patients.len());
            match previous_end {
                None if start != seconds(session.start) => {
                    self.report(
                        RuleCode::Times,
                        p,
                        Some(s),
                        "the first case does not start when the list starts",
                    );
                }
                Some(prev) if start < prev + t => {
                    self.report(
                        RuleCode::Times,
                        p,
                        Some(s),
                        format!(
                            "case {} starts less than a turnaround after the case before",
                            i + 1
                        ),
                    );
                }
                _ => {}
            }
            if end - start != i64::from(case.minutes) * 60 {
                self.report(
                    RuleCode::Times,
                    p,
                    Some(s),
                    format!("case {} runs from start to end other than its minutes", i + 1),
                );
            }
            if let Some(p) = p {
                if case.minutes != req.patients[p].minutes {
                    self.report(
                        RuleCode::Times,
                        Some(p),
                        Some(s),
                        format!("case {} does not take the patient's expected minutes", i + 1),
                    );
                }
            }
            previous_end = Some(end);
        }
        if let (Some(last_end), false) = (previous_end, overflow) {
            let after = if session.reserved_minutes > 0 {
                (turnaround(req) + i64::from(session.reserved_minutes)) * 60
            } else {
                0
            };
            let list_end = seconds(session.start) + i64::from(session.minutes) * 60;
            if last_end + after > list_end {
                let detail = if session.reserved_minutes > 0 {
                    format!(
                        "the cases and the reserved time run past the end of list {}",
                        session.id
                    )
                } else {
                    format!("the cases run past the end of list {}", session.id)
                };
                self.report(RuleCode::Times, None, Some(s), detail);
            }
        }
    }

    /// Youngest first (if the policy says so), then the flagged children in flag order, then the
    /// rest youngest first: (band, age) never goes down along the list.
    fn order(&mut self, list: &ListPlan) {
        let req = self.req;
        let s = list.session;
        let cases: Vec<PatientIx> = list
            .cases
            .iter()
            .map(|c| c.patient)
            .filter(|&p| p < req.patients.len())
            .collect();
        if cases.len() < 2 {
            return;
        }
        let order = &req.policy.list_order;
        let ages: Vec<u32> = cases.iter().map(|&p| age_at(req, p, s)).collect();
        let mut keys: Vec<(usize, u32)> = cases
            .iter()
            .zip(&ages)
            .map(|(&p, &age)| {
                let patient = &req.patients[p];
                let band = order
                    .flags_first
                    .iter()
                    .position(|flag| match flag {
                        OrderFlag::Diabetes => patient.diabetes,
                        OrderFlag::LatexAllergy => patient.latex_allergy,
                    })
                    .map_or(usize::MAX, |i| i + 1);
                (band, age)
            })
            .collect();
        if order.youngest_first {
            let youngest = ages.iter().copied().min().unwrap_or(0);
            if ages[0] != youngest {
                self.report(
                    RuleCode::Order,
                    Some(cases[0]),
                    Some(s),
                    "the youngest child does not run first",
                );
            }
            keys[0].0 = 0;
        }
        for i in 1..keys.len() {
            if keys[i] < keys[i - 1] {
                let detail = format!(
                    "case {} should run before case {} (youngest first, then flagged children, then by age)",
                    i + 1,
                    i
                );
                self.report(RuleCode::Order, Some(cases[i]), Some(s), detail);
            }
        }
    }
}
