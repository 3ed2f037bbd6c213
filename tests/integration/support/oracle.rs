//! Two independent oracles for small requests, for judging the planner's optimum.
//!
//! Both work from the raw proto request fields and the policy's numbers alone: they never call
//! `rules::`, `planning::`, the plan checker or the helper methods of `PlanningRequest`, and they
//! compute ages with their own calendar arithmetic. [`Instance::new`] re-derives who may go on
//! which list, each list's capacity and every term of the objective; [`Instance::brute_force`]
//! enumerates every allocation, and [`Instance::highs_optimum`] solves a plain pair model of the
//! same instance exactly with HiGHS.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::domain::policy::Policy;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a valid request's date")
}

fn days(from: NaiveDate, to: NaiveDate) -> i64 {
    to.num_days_from_ce() as i64 - from.num_days_from_ce() as i64
}

/// Whole calendar months from `from` to `to` (`to` not before `from`): month numbers counted from
/// year 0, less one when `to`'s day of the month has not yet reached `from`'s.
fn whole_months(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    let mut months = index(to) - index(from);
    if to.day() < from.day() {
        months -= 1;
    }
    months.max(0) as u32
}

/// A small request re-derived from its raw fields: per patient the lists it may go on (`None`
/// in the list of options stands for "unbooked"), loads, capacities and the objective's terms.
pub struct Instance {
    /// Per patient: the lists it may take (a pinned booking: its own list only) and whether it
    /// may stay unbooked.
    pub options: Vec<Vec<usize>>,
    pub may_be_unbooked: Vec<bool>,
    /// Per patient and list: `value[p][s]` (booking value, breach after the due date included).
    value: Vec<Vec<f64>>,
    /// Per patient: the cost of leaving it unbooked.
    unbooked: Vec<f64>,
    /// Per patient: the list of its movable (OFFERED, not locked) booking.
    offered_on: Vec<Option<usize>>,
    move_cost: f64,
    /// Per patient: minutes and minutes plus a turnaround.
    minutes: Vec<i64>,
    load: Vec<i64>,
    /// Per list: the minutes pool cases may take (pinned cases always fit).
    capacity: Vec<i64>,
    target: Vec<u32>,
    /// `utilisation_target × minutes − reserved` (may be negative).
    floor_less_reserved: Vec<f64>,
    shortfall_weight: f64,
    under_weight: f64,
    /// Per list: its bed night (site and date whose beds are limited), if any; per night the
    /// overnight cases it may hold (its beds, or more when pinned overnight cases are more); per
    /// patient: whether it stays the night.
    night: Vec<Option<usize>>,
    night_limit: Vec<i64>,
    overnight: Vec<bool>,
}

impl Instance {
    /// Re-derives the instance. `policy` gives the numbers only (the request's profile with its
    /// overrides applied).
    pub fn new(r: &pb::ProposeAllocationsRequest, policy: &Policy) -> Instance {
        let planning = date(&r.planning_date);
        let sessions = &r.sessions;
        let turnaround = i64::from(policy.lists.turnaround_minutes);
        let specialist: HashMap<&str, bool> = r
            .sites
            .iter()
            .map(|s| (s.id.as_str(), s.specialist_centre))
            .collect();
        let session_ix: HashMap<&str, usize> = sessions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let ahead: Vec<i64> = sessions.iter().map(|s| days(planning, date(&s.date))).collect();
        let locked = |s: usize| ahead[s] < policy.phases.locked_days;
        let horizon = ahead.iter().copied().max().unwrap_or(0).max(1);
        let horizon_end = planning + chrono::Duration::days(horizon);

        // Bookings: (list, pinned) per patient.
        let mut booking: Vec<Option<(usize, bool)>> = vec![None; r.patients.len()];
        for b in &r.existing_bookings {
            let p = r.patients.iter().position(|x| x.id == b.patient_id).unwrap();
            let s = session_ix[b.session_id.as_str()];
            let confirmed = b.state == pb::BookingState::Confirmed as i32;
            booking[p] = Some((s, confirmed || locked(s)));
        }

        // The longest HVLC prefix of a procedure names its group(s).
        let groups_of = |procedure: &str| -> Vec<&str> {
            let mut best = 0;
            let mut names = Vec::new();
            for (name, g) in &policy.cases_per_list.groups {
                for prefix in g.prefixes.iter().filter(|x| procedure.starts_with(x.as_str())) {
                    if prefix.len() > best {
                        best = prefix.len();
                        names.clear();
                    }
                    if prefix.len() == best {
                        names.push(name.as_str());
                    }
                }
            }
            names
        };

        // Ex-premature infants: gestation plus age since birth, in days, at the list, under its
        // threshold.
        let apnoea = |p: usize, s: usize| -> bool {
            let patient = &r.patients[p];
            let age = patient.age_months.max(0) as u32 + whole_months(planning, date(&sessions[s].date));
            patient.gestation_weeks.is_some_and(|g| {
                let since_birth = match patient.age_days {
                    Some(d) => i64::from(d) + ahead[s].max(0),
                    None => i64::from(age) * 487 / 16,
                };
                let x = &policy.ex_premature;
                let until = if (g as u32) < x.preterm_under_gestation_weeks {
                    x.preterm_until_post_conception_weeks
                } else {
                    x.term_until_post_conception_weeks
                };
                i64::from(g) * 7 + since_birth < i64::from(until) * 7
            })
        };
        // A case that needs no specialist centre, at one, of a family that accepts another site.
        let local_at_hub = |p: usize, s: usize| -> bool {
            let patient = &r.patients[p];
            let age = patient.age_months.max(0) as u32 + whole_months(planning, date(&sessions[s].date));
            let needs = patient.complex || age < policy.age.specialist_centre_under_months || apnoea(p, s);
            let accepts_local = if patient.accepted_site_ids.is_empty() {
                specialist.values().any(|&x| !x)
            } else {
                patient
                    .accepted_site_ids
                    .iter()
                    .any(|id| specialist.get(id.as_str()) == Some(&false))
            };
            specialist[sessions[s].site_id.as_str()] && !needs && accepts_local
        };

        // May patient `p` be on list `s`? `new`: it does not already hold a booking there.
        let allowed = |p: usize, s: usize, new: bool| -> bool {
            let patient = &r.patients[p];
            let session = &sessions[s];
            let age = patient.age_months.max(0) as u32 + whole_months(planning, date(&session.date));
            let a = &policy.age;
            let list_type = pb::ListType::try_from(session.list_type).unwrap();
            let preop = patient.preop.clone().unwrap_or_default();
            let preop_valid = preop.status == pb::PreopStatus::Completed as i32
                && preop.date.as_deref().is_some_and(|d| {
                    date(d) + chrono::Duration::days(policy.preop.valid_days) >= date(&session.date)
                });
            let needs_ebi = policy
                .ebi
                .procedure_prefixes
                .iter()
                .any(|x| patient.procedure.starts_with(x.as_str()));
            let session_date = date(&session.date);
            session.status != pb::SessionStatus::Released as i32
                && patient.specialty == session.specialty
                && patient
                    .surgeon
                    .as_ref()
                    .is_none_or(|n| session.surgeon.as_ref() == Some(n))
                && session
                    .hvlc_group
                    .as_ref()
                    .is_none_or(|g| groups_of(&patient.procedure).contains(&g.as_str()))
                && (patient.accepted_site_ids.is_empty()
                    || patient.accepted_site_ids.contains(&session.site_id))
                && !(list_type == pb::ListType::Adult
                    && age < a.paediatric_list_under_months
                    && !(age >= a.adult_services_choice_from_months && patient.accepts_adult_services))
                && !(list_type == pb::ListType::Paediatric && age >= a.paediatric_list_under_months)
                && session.min_age_months.is_none_or(|m| age as i64 >= i64::from(m))
                && session.max_age_months.is_none_or(|m| age as i64 <= i64::from(m))
                && !((age < a.specialist_centre_under_months || patient.complex)
                    && !specialist[session.site_id.as_str()])
                && (age >= a.paediatric_anaesthetist_under_months || session.paediatric_anaesthetist)
                && !(new && ahead[s] < policy.phases.booking_days && !preop_valid)
                && !(new && locked(s) && !policy.phases.locked_lists_fill_gaps)
                && !patient
                    .unavailable
                    .iter()
                    .any(|u| date(&u.from) <= session_date && session_date <= date(&u.to))
                && (!needs_ebi || patient.ebi_approved)
                && !(apnoea(p, s)
                    && !(specialist[session.site_id.as_str()] && session.paediatric_anaesthetist))
        };

        let mut options = Vec::new();
        let mut may_be_unbooked = Vec::new();
        let mut offered_on = Vec::new();
        for (p, held_booking) in booking.iter().enumerate() {
            match *held_booking {
                Some((s, true)) => {
                    options.push(vec![s]);
                    may_be_unbooked.push(false);
                    offered_on.push(None);
                }
                held => {
                    let here = held.map(|(s, _)| s);
                    options.push(
                        (0..sessions.len())
                            .filter(|&s| allowed(p, s, Some(s) != here))
                            .collect(),
                    );
                    may_be_unbooked.push(true);
                    offered_on.push(here);
                }
            }
        }

        let o = &policy.objective;
        let rule = |priority: i32| match pb::Priority::try_from(priority).unwrap() {
            pb::Priority::P2 => &policy.priority.P2,
            pb::Priority::P3 => &policy.priority.P3,
            _ => &policy.priority.P4,
        };
        // The procedure's age window: the clinician's date, else the date the child reaches the
        // window's age (longest prefix), when it is not before the date listed.
        let window = |p: usize| {
            let patient = &r.patients[p];
            if let Some(t) = &patient.treat_by {
                return Some(date(t));
            }
            let months = policy
                .age_windows
                .values()
                .flat_map(|w| w.prefixes.iter().map(move |x| (x, w.treat_by_months)))
                .filter(|(x, _)| patient.procedure.starts_with(x.as_str()))
                .max_by_key(|(x, _)| x.len())
                .map(|(_, m)| m)?;
            let born_or_now = match patient.age_days {
                Some(d) => (planning - chrono::Duration::days(i64::from(d)), months as i64),
                None => (planning, months as i64 - i64::from(patient.age_months)),
            };
            let (from, shift) = born_or_now;
            let reached = if shift >= 0 {
                from.checked_add_months(chrono::Months::new(shift as u32))
            } else {
                from.checked_sub_months(chrono::Months::new((-shift) as u32))
            }?;
            (reached >= date(&patient.date_listed)).then_some(reached)
        };
        let due = |p: usize| {
            let patient = &r.patients[p];
            let d = rule(patient.priority).due_days;
            let priority = (d > 0).then(|| date(&patient.date_listed) + chrono::Duration::days(d));
            match (priority, window(p)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let value = (0..r.patients.len())
            .map(|p| {
                let patient = &r.patients[p];
                let weight = rule(patient.priority).weight;
                let waited = (days(date(&patient.rtt_clock_start), planning) as f64 / 7.0).max(0.0);
                (0..sessions.len())
                    .map(|s| {
                        let late = due(p).is_some_and(|d| date(&sessions[s].date) > d);
                        weight
                            * (1.0 + waited / o.wait_scale_weeks)
                            * (1.0 - o.earliness * ahead[s] as f64 / horizon as f64)
                            - if late { o.breach } else { 0.0 }
                            - if local_at_hub(p, s) {
                                o.hub_non_complex
                            } else {
                                0.0
                            }
                    })
                    .collect()
            })
            .collect();
        let unbooked = (0..r.patients.len())
            .map(|p| {
                if due(p).is_some_and(|d| d <= horizon_end) {
                    o.breach
                } else {
                    0.0
                }
            })
            .collect();

        let minutes: Vec<i64> = r.patients.iter().map(|p| i64::from(p.expected_minutes)).collect();
        let load: Vec<i64> = minutes.iter().map(|m| m + turnaround).collect();
        let capacity = (0..sessions.len())
            .map(|s| {
                let session = &sessions[s];
                let bonus = if session.reserved_minutes == 0 {
                    turnaround
                } else {
                    0
                };
                let free = i64::from(session.minutes) - i64::from(session.reserved_minutes) + bonus;
                let pinned: i64 = (0..r.patients.len())
                    .filter(|&p| booking[p] == Some((s, true)))
                    .map(|p| load[p])
                    .sum();
                free.max(pinned)
            })
            .collect();
        let cpl = &policy.cases_per_list;
        let target = sessions
            .iter()
            .map(|session| match session.cases_per_list_target {
                Some(t) => t as u32,
                None => {
                    let per_240 = match &session.hvlc_group {
                        Some(g) => cpl.groups.get(g).map(|g| g.per_240_minutes),
                        None => cpl.specialties.get(&session.specialty).copied(),
                    };
                    per_240.map_or(0, |v| {
                        (v * f64::from(session.minutes) / 240.0 + 1e-9).floor() as u32
                    })
                }
            })
            .collect();
        // Bed nights: a site's beds on a list's date (that night's own number, else the site's).
        let overnight: Vec<bool> = r.patients.iter().map(|p| p.overnight).collect();
        let mut nights: Vec<(String, String)> = Vec::new();
        let mut night_limit: Vec<i64> = Vec::new();
        let night: Vec<Option<usize>> = sessions
            .iter()
            .map(|session| {
                let site = r.sites.iter().find(|x| x.id == session.site_id)?;
                let beds = site
                    .bed_nights
                    .iter()
                    .find(|n| n.date == session.date)
                    .map(|n| n.beds)
                    .or(site.children_beds)?;
                let key = (session.site_id.clone(), session.date.clone());
                Some(match nights.iter().position(|k| *k == key) {
                    Some(g) => g,
                    None => {
                        nights.push(key);
                        night_limit.push(i64::from(beds));
                        nights.len() - 1
                    }
                })
            })
            .collect();
        // Pinned overnight cases stay whatever the beds: the limit is at least their number.
        let mut pinned_stays = vec![0i64; night_limit.len()];
        for (p, b) in booking.iter().enumerate() {
            if let Some((s, true)) = *b {
                if let (Some(g), true) = (night[s], overnight[p]) {
                    pinned_stays[g] += 1;
                }
            }
        }
        for (limit, pinned) in night_limit.iter_mut().zip(pinned_stays) {
            *limit = (*limit).max(pinned);
        }
        let floor_less_reserved = sessions
            .iter()
            .map(|s| policy.lists.utilisation_target * f64::from(s.minutes) - f64::from(s.reserved_minutes))
            .collect();
        Instance {
            options,
            may_be_unbooked,
            value,
            unbooked,
            offered_on,
            move_cost: o.move_,
            minutes,
            load,
            capacity,
            target,
            floor_less_reserved,
            shortfall_weight: o.cases_per_list_shortfall,
            under_weight: o.under_utilisation,
            night,
            night_limit,
            overnight,
        }
    }

    /// The bed night patient `p` takes a bed of on list `s`, if any.
    fn stay(&self, p: usize, s: usize) -> Option<usize> {
        self.night[s].filter(|_| self.overnight[p])
    }

    /// Eligible (patient, list) pairs.
    pub fn pairs(&self) -> usize {
        self.options.iter().map(Vec::len).sum()
    }

    /// The value of an allocation (each patient's list, `None`: unbooked), or why it is not a
    /// plan of this instance.
    pub fn evaluate(&self, a: &[Option<usize>]) -> Result<f64, String> {
        let lists = self.capacity.len();
        let mut cases = vec![0u32; lists];
        let mut touch = vec![0i64; lists];
        let mut used = vec![0i64; lists];
        let mut value = 0.0;
        for (p, slot) in a.iter().enumerate() {
            match *slot {
                Some(s) if self.options[p].contains(&s) => {
                    value += self.value[p][s];
                    cases[s] += 1;
                    touch[s] += self.minutes[p];
                    used[s] += self.load[p];
                }
                Some(s) => return Err(format!("patient {p} may not go on list {s}")),
                None if self.may_be_unbooked[p] => value -= self.unbooked[p],
                None => return Err(format!("pinned patient {p} is off its list")),
            }
            if self.offered_on[p].is_some() && *slot != self.offered_on[p] {
                value -= self.move_cost;
            }
        }
        let mut stays = vec![0i64; self.night_limit.len()];
        for (p, slot) in a.iter().enumerate() {
            if let Some(g) = slot.and_then(|s| self.stay(p, s)) {
                stays[g] += 1;
            }
        }
        if let Some(g) = (0..stays.len()).find(|&g| stays[g] > self.night_limit[g]) {
            return Err(format!("bed night {g} holds more overnight cases than beds"));
        }
        for s in 0..lists {
            if used[s] > self.capacity[s] {
                return Err(format!("list {s} is over capacity"));
            }
            if cases[s] > 0 {
                value -= self.shortfall_weight * f64::from(self.target[s].saturating_sub(cases[s]));
                value -= self.under_weight * (self.floor_less_reserved[s] - touch[s] as f64).max(0.0);
            }
        }
        Ok(value)
    }

    /// The best value over every allocation, by exhaustive enumeration (capacity and beds
    /// pruned).
    pub fn brute_force(&self) -> f64 {
        struct Used {
            minutes: Vec<i64>,
            stays: Vec<i64>,
        }
        fn go(i: &Instance, p: usize, used: &mut Used, a: &mut Vec<Option<usize>>, best: &mut f64) {
            if p == a.len() {
                *best = best.max(i.evaluate(a).expect("enumerated allocations are plans"));
                return;
            }
            if i.may_be_unbooked[p] {
                a[p] = None;
                go(i, p + 1, used, a, best);
            }
            for &s in &i.options[p] {
                let stay = i.stay(p, s);
                let bed = stay.is_none_or(|g| used.stays[g] < i.night_limit[g]);
                if used.minutes[s] + i.load[p] <= i.capacity[s] && bed {
                    used.minutes[s] += i.load[p];
                    if let Some(g) = stay {
                        used.stays[g] += 1;
                    }
                    a[p] = Some(s);
                    go(i, p + 1, used, a, best);
                    used.minutes[s] -= i.load[p];
                    if let Some(g) = stay {
                        used.stays[g] -= 1;
                    }
                }
            }
            a[p] = None;
        }
        let mut best = f64::NEG_INFINITY;
        let mut used = Used {
            minutes: vec![0; self.capacity.len()],
            stays: vec![0; self.night_limit.len()],
        };
        let mut a = vec![None; self.options.len()];
        go(self, 0, &mut used, &mut a, &mut best);
        best
    }

    /// The optimum of a plain pair model of the instance, solved by HiGHS to a zero gap:
    ///
    /// ```text
    /// x[p,s], y[s] ∈ {0,1}; short[s], under[s] ≥ 0
    /// Σ_s x[p,s] ≤ 1 (= 1 when pinned);  Σ_p load[p]·x[p,s] ≤ capacity[s]·y[s];  x[p,s] ≤ y[s]
    /// short[s] ≥ target[s]·y[s] − Σ_p x[p,s];  under[s] ≥ (floor[s] − reserved[s])·y[s] − Σ_p minutes[p]·x[p,s]
    /// Σ_{s on night g, p overnight} x[p,s] ≤ limit[g]
    /// maximise Σ (value[p,s] + unbooked[p] + move·[s offered to p])·x[p,s] − shortfall·Σ short − under·Σ under
    ///          − Σ unbooked[p] − move·#offered
    /// ```
    pub fn highs_optimum(&self) -> f64 {
        use highs::{HighsModelStatus, RowProblem, Sense};
        let lists = self.capacity.len();
        let mut pb = RowProblem::default();
        let y: Vec<_> = (0..lists).map(|_| pb.add_integer_column(0.0, 0..=1)).collect();
        let short: Vec<_> = (0..lists)
            .map(|_| pb.add_column(-self.shortfall_weight, 0.0..))
            .collect();
        let under: Vec<_> = (0..lists)
            .map(|_| pb.add_column(-self.under_weight, 0.0..))
            .collect();
        let mut constant = 0.0;
        let mut by_list: Vec<Vec<(usize, highs::Col)>> = vec![Vec::new(); lists];
        for p in 0..self.options.len() {
            let mut row = Vec::new();
            if self.may_be_unbooked[p] {
                constant -= self.unbooked[p];
            }
            if self.offered_on[p].is_some() {
                constant -= self.move_cost;
            }
            for &s in &self.options[p] {
                let mut c = self.value[p][s];
                if self.may_be_unbooked[p] {
                    c += self.unbooked[p];
                }
                if self.offered_on[p] == Some(s) {
                    c += self.move_cost;
                }
                let x = pb.add_integer_column(c, 0..=1);
                row.push((x, 1.0));
                by_list[s].push((p, x));
            }
            if self.may_be_unbooked[p] {
                pb.add_row(..=1.0, &row);
            } else {
                pb.add_row(1.0..=1.0, &row);
            }
        }
        for s in 0..lists {
            let mut capacity = vec![(y[s], -(self.capacity[s] as f64))];
            capacity.extend(by_list[s].iter().map(|&(p, x)| (x, self.load[p] as f64)));
            pb.add_row(..=0.0, &capacity);
            for &(_, x) in &by_list[s] {
                pb.add_row(..=0.0, [(x, 1.0), (y[s], -1.0)]);
            }
            let mut shortfall = vec![(short[s], 1.0), (y[s], -f64::from(self.target[s]))];
            shortfall.extend(by_list[s].iter().map(|&(_, x)| (x, 1.0)));
            pb.add_row(0.0.., &shortfall);
            let mut minutes_under = vec![(under[s], 1.0), (y[s], -self.floor_less_reserved[s])];
            minutes_under.extend(by_list[s].iter().map(|&(p, x)| (x, self.minutes[p] as f64)));
            pb.add_row(0.0.., &minutes_under);
        }
        let mut stays: Vec<Vec<(highs::Col, f64)>> = vec![Vec::new(); self.night_limit.len()];
        for (s, cases) in by_list.iter().enumerate() {
            for &(p, x) in cases {
                if let Some(g) = self.stay(p, s) {
                    stays[g].push((x, 1.0));
                }
            }
        }
        for (g, row) in stays.iter().enumerate() {
            pb.add_row(..=(self.night_limit[g] as f64), row);
        }
        let mut model = pb.optimise(Sense::Maximise);
        model.make_quiet();
        model.set_option("mip_rel_gap", 0.0);
        model.set_option("mip_abs_gap", 0.0);
        model.set_option("threads", 1);
        let solved = model.solve();
        assert_eq!(
            solved.status(),
            HighsModelStatus::Optimal,
            "the pair model is solved"
        );
        solved.objective_value() + constant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_months_count_from_the_day_of_the_month() {
        let d = |s: &str| date(s);
        assert_eq!(whole_months(d("2026-01-15"), d("2026-02-14")), 0);
        assert_eq!(whole_months(d("2026-01-15"), d("2026-02-15")), 1);
        assert_eq!(whole_months(d("2025-12-31"), d("2026-12-31")), 12);
        assert_eq!(whole_months(d("2026-01-31"), d("2026-02-28")), 0);
        assert_eq!(whole_months(d("2026-03-01"), d("2026-01-01")), 0);
    }
}
