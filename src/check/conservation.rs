//! Conservation: every patient exactly once (on one list or unallocated, with a reason), the
//! assignment agreeing with the lists, every session listed once.

use crate::domain::RuleCode;

use super::Checker;

impl Checker<'_> {
    /// Every patient exactly once, the assignment agrees with the lists, every session once.
    pub(super) fn conservation(&mut self) {
        let (req, plan) = (self.req, self.plan);
        let (n_patients, n_sessions) = (req.patients.len(), req.sessions.len());

        let mut list_count = vec![0usize; n_sessions];
        for list in &plan.lists {
            if list.session >= n_sessions {
                self.report(
                    RuleCode::Conservation,
                    None,
                    None,
                    format!(
                        "a list names session #{} that is not in the request",
                        list.session
                    ),
                );
                continue;
            }
            list_count[list.session] += 1;
            for case in &list.cases {
                if case.patient >= n_patients {
                    self.report(
                        RuleCode::Conservation,
                        None,
                        Some(list.session),
                        format!("a case names patient #{} who is not in the request", case.patient),
                    );
                } else {
                    self.on_lists[case.patient].push(list.session);
                }
            }
        }
        for (s, &count) in list_count.iter().enumerate() {
            if count != 1 {
                let detail = format!(
                    "list {} appears {count} times in the plan, not once",
                    req.sessions[s].id
                );
                self.report(RuleCode::Conservation, None, Some(s), detail);
            }
        }

        let mut unallocated = vec![0usize; n_patients];
        for u in &plan.unallocated {
            if u.patient >= n_patients {
                let detail = format!(
                    "an unallocated entry names patient #{} who is not in the request",
                    u.patient
                );
                self.report(RuleCode::Conservation, None, None, detail);
                continue;
            }
            unallocated[u.patient] += 1;
            if u.reasons.is_empty() {
                self.report(
                    RuleCode::Conservation,
                    Some(u.patient),
                    None,
                    "unallocated without a reason",
                );
            }
        }

        for (p, &unallocated) in unallocated.iter().enumerate() {
            let on_lists = self.on_lists[p].len();
            let places = on_lists + unallocated;
            if places != 1 {
                let detail = if places == 0 {
                    "neither on a list nor unallocated".to_string()
                } else {
                    format!(
                        "appears {places} times ({on_lists} on lists, {unallocated} unallocated), not once"
                    )
                };
                self.report(RuleCode::Conservation, Some(p), None, detail);
            }
        }

        if plan.assignment.len() != n_patients {
            let detail = format!(
                "the assignment has {} entries for {n_patients} patients",
                plan.assignment.len()
            );
            self.report(RuleCode::Conservation, None, None, detail);
        }
        for (p, assigned) in plan.assignment.iter().enumerate().take(n_patients) {
            let agrees = match assigned {
                Some(s) => self.on_lists[p].contains(s),
                None => self.on_lists[p].is_empty(),
            };
            if !agrees {
                self.report(
                    RuleCode::Conservation,
                    Some(p),
                    *assigned,
                    "the assignment disagrees with the lists",
                );
            }
        }
    }
}
