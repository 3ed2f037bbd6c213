//! Independent plan checker: re-derives every hard rule from the raw request fields and the
//! policy numbers, and reports each way a plan breaks them.
//!
//! It deliberately shares no code with the planners: nothing from `rules`, `objective`,
//! `baseline`, `solve` or `model`, and none of the helper methods of [`PlanningRequest`]. Ages,
//! phases, pinned bookings, list capacity, procedure groups and list order are all worked out
//! again here, so a bug in the shared rules cannot hide itself.
//!
//! Details never carry patient ids, ages or dates: only indexes, session ids and rule words.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{NaiveTime, Timelike};

use crate::domain::policy::OrderFlag;
use crate::domain::{
    months_between, BookingState, ExistingBooking, ListType, PatientIx, PlanningRequest, PreopStatus,
    SessionIx,
};
use crate::planning::plan::{ListPlan, Plan};

/// Every rule code the checker reports.
pub const RULES: &[&str] = &[
    "specialty",
    "surgeon",
    "hvlc_group",
    "accepted_site",
    "released",
    "adult_list",
    "paediatric_list",
    "age_band",
    "specialist_centre",
    "paediatric_anaesthetist",
    "preop",
    "locked_list",
    "unavailable",
    "ebi",
    "capacity",
    "times",
    "order",
    "conservation",
    "pinned",
    "moves",
    "conflict_unreported",
];

/// One way a plan breaks a hard rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule's code, one of [`RULES`].
    pub rule: &'static str,
    pub patient: Option<PatientIx>,
    pub session: Option<SessionIx>,
    /// What is wrong, in rule words; never a patient id, age or date.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule)?;
        if let Some(p) = self.patient {
            write!(f, " patient #{p}")?;
        }
        if let Some(s) = self.session {
            write!(f, " list #{s}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Checks a plan against the request it answers; empty when the plan keeps every hard rule.
pub fn check(req: &PlanningRequest, plan: &Plan) -> Vec<Violation> {
    let mut c = Checker {
        req,
        plan,
        out: Vec::new(),
        on_lists: vec![Vec::new(); req.patients.len()],
    };
    c.conservation();
    for list in &plan.lists {
        if list.session < req.sessions.len() {
            c.list(list);
        }
    }
    c.pinned();
    c.moves();
    c.out
}

struct Checker<'a> {
    req: &'a PlanningRequest,
    plan: &'a Plan,
    out: Vec<Violation>,
    /// The lists each patient is on, read from `plan.lists`.
    on_lists: Vec<Vec<SessionIx>>,
}

impl Checker<'_> {
    fn report(
        &mut self,
        rule: &'static str,
        patient: Option<PatientIx>,
        session: Option<SessionIx>,
        detail: impl Into<String>,
    ) {
        self.out.push(Violation {
            rule,
            patient,
            session,
            detail: detail.into(),
        });
    }

    /// Every patient exactly once, the assignment agrees with the lists, every session once.
    fn conservation(&mut self) {
        let (req, plan) = (self.req, self.plan);
        let (n_patients, n_sessions) = (req.patients.len(), req.sessions.len());

        let mut list_count = vec![0usize; n_sessions];
        for list in &plan.lists {
            if list.session >= n_sessions {
                self.report(
                    "conservation",
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
                        "conservation",
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
                self.report("conservation", None, Some(s), detail);
            }
        }

        let mut unallocated = vec![0usize; n_patients];
        for u in &plan.unallocated {
            if u.patient >= n_patients {
                let detail = format!(
                    "an unallocated entry names patient #{} who is not in the request",
                    u.patient
                );
                self.report("conservation", None, None, detail);
                continue;
            }
            unallocated[u.patient] += 1;
            if u.reasons.is_empty() {
                self.report(
                    "conservation",
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
                self.report("conservation", Some(p), None, detail);
            }
        }

        if plan.assignment.len() != n_patients {
            let detail = format!(
                "the assignment has {} entries for {n_patients} patients",
                plan.assignment.len()
            );
            self.report("conservation", None, None, detail);
        }
        for (p, assigned) in plan.assignment.iter().enumerate().take(n_patients) {
            let agrees = match assigned {
                Some(s) => self.on_lists[p].contains(s),
                None => self.on_lists[p].is_empty(),
            };
            if !agrees {
                self.report(
                    "conservation",
                    Some(p),
                    *assigned,
                    "the assignment disagrees with the lists",
                );
            }
        }
    }

    /// The case rules, capacity, times and order of one list.
    fn list(&mut self, list: &ListPlan) {
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
                            "a pinned booking breaks {rule} ({detail}) and the plan's conflicts do not say so"
                        );
                        self.report("conflict_unreported", Some(p), Some(s), detail);
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
            self.report("capacity", None, Some(s), detail);
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
                        "times",
                        p,
                        Some(s),
                        "the first case does not start when the list starts",
                    );
                }
                Some(prev) if start < prev + t => {
                    self.report(
                        "times",
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
                    "times",
                    p,
                    Some(s),
                    format!("case {} runs from start to end other than its minutes", i + 1),
                );
            }
            if let Some(p) = p {
                if case.minutes != req.patients[p].minutes {
                    self.report(
                        "times",
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
                self.report("times", None, Some(s), detail);
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
                    "order",
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
                self.report("order", Some(cases[i]), Some(s), detail);
            }
        }
    }

    /// Every pinned booking stays on its list.
    fn pinned(&mut self) {
        let req = self.req;
        for b in req.bookings.iter().filter(|b| is_pinned(req, b)) {
            if b.patient < req.patients.len() && !self.on_lists[b.patient].contains(&b.session) {
                let detail = format!(
                    "a pinned booking was taken off list {}",
                    session_id(req, b.session)
                );
                self.report("pinned", Some(b.patient), Some(b.session), detail);
            }
        }
    }

    /// The moves are exactly the existing bookings whose patient left the list, and each case's
    /// `existing` flag says whether it was already booked there.
    fn moves(&mut self) {
        let (req, plan) = (self.req, self.plan);
        for b in req.bookings.iter().filter(|b| b.patient < req.patients.len()) {
            if self.on_lists[b.patient].contains(&b.session) {
                continue;
            }
            let recorded = plan
                .moves
                .iter()
                .filter(|m| m.patient == b.patient && m.from == b.session)
                .count();
            if recorded != 1 {
                let detail = format!(
                    "the booking on list {} moved but is recorded {recorded} times in the moves",
                    session_id(req, b.session)
                );
                self.report("moves", Some(b.patient), Some(b.session), detail);
            }
        }
        for m in &plan.moves {
            let booked = req
                .bookings
                .iter()
                .any(|b| b.patient == m.patient && b.session == m.from);
            let detail = if m.patient >= req.patients.len() || !booked {
                "a move names no existing booking"
            } else if self.on_lists[m.patient].contains(&m.from) {
                "a move is recorded for a booking that stayed on its list"
            } else if m.to != self.on_lists[m.patient].first().copied() {
                "a move's destination disagrees with the lists"
            } else {
                continue;
            };
            self.report("moves", Some(m.patient), Some(m.from), detail);
        }
        for list in &plan.lists {
            for case in list.cases.iter().filter(|c| c.patient < req.patients.len()) {
                let was_booked = req
                    .bookings
                    .iter()
                    .any(|b| b.patient == case.patient && b.session == list.session);
                if case.existing != was_booked {
                    self.report(
                        "moves",
                        Some(case.patient),
                        Some(list.session),
                        "the case's existing-booking flag disagrees with the bookings",
                    );
                }
            }
        }
    }
}

/// The rules patient `p` breaks on list `s`, as (code, detail). `new_booking`: the patient was
/// not already booked on this list, so the rules about taking new patients apply too.
fn case_breaks(
    req: &PlanningRequest,
    p: PatientIx,
    s: SessionIx,
    new_booking: bool,
) -> Vec<(&'static str, String)> {
    let patient = &req.patients[p];
    let session = &req.sessions[s];
    let policy = &req.policy;
    let age = age_at(req, p, s);
    let specialist = req
        .sites
        .get(session.site)
        .is_some_and(|site| site.specialist_centre);
    let mut breaks: Vec<(&'static str, String)> = Vec::new();
    let mut add = |rule: &'static str, detail: String| breaks.push((rule, detail));

    if patient.specialty != session.specialty {
        add(
            "specialty",
            format!("list {} is held by another specialty", session.id),
        );
    }
    if let Some(named) = &patient.surgeon {
        if session.surgeon.as_ref() != Some(named) {
            add(
                "surgeon",
                format!("the named surgeon is not on list {}", session.id),
            );
        }
    }
    if let Some(group) = &session.hvlc_group {
        if !procedure_groups(req, &patient.procedure).contains(group.as_str()) {
            add(
                "hvlc_group",
                format!("list {} is an HVLC list for another procedure group", session.id),
            );
        }
    }
    if let Some(sites) = &patient.accepted_sites {
        if !sites.contains(&session.site) {
            add(
                "accepted_site",
                format!("the family has not accepted the site of list {}", session.id),
            );
        }
    }
    if session.released {
        add("released", format!("list {} has been released", session.id));
    }
    let a = &policy.age;
    if session.list_type == ListType::Adult
        && age < a.paediatric_list_under_months
        && !(age >= a.adult_services_choice_from_months && patient.accepts_adult_services)
    {
        add("adult_list", format!("a child is on adult list {}", session.id));
    }
    if session.list_type == ListType::Paediatric && age >= a.paediatric_list_under_months {
        add(
            "paediatric_list",
            format!("an adult is on paediatric list {}", session.id),
        );
    }
    let below = session.min_age_months.is_some_and(|min| age < min);
    let above = session.max_age_months.is_some_and(|max| age > max);
    if below || above {
        add("age_band", format!("outside the age band of list {}", session.id));
    }
    if (age < a.specialist_centre_under_months || patient.complex) && !specialist {
        add(
            "specialist_centre",
            format!(
                "an infant or complex case is on list {} away from a specialist centre",
                session.id
            ),
        );
    }
    if age < a.paediatric_anaesthetist_under_months && !session.paediatric_anaesthetist {
        add(
            "paediatric_anaesthetist",
            format!(
                "a young child is on list {} without a paediatric anaesthetist",
                session.id
            ),
        );
    }
    if new_booking && days_ahead(req, s) < policy.phases.booking_days {
        let valid_until = patient
            .preop_date
            .map(|d| d + chrono::Duration::days(policy.preop.valid_days));
        let ready = patient.preop_status == PreopStatus::Completed
            && valid_until.is_some_and(|until| until >= session.date);
        if !ready {
            add(
                "preop",
                format!(
                    "newly booked within T-4 on list {} without a valid pre-operative assessment",
                    session.id
                ),
            );
        }
    }
    if new_booking && is_locked(req, s) && !policy.phases.locked_lists_fill_gaps {
        add(
            "locked_list",
            format!("a new patient on locked list {}", session.id),
        );
    }
    if patient
        .unavailable
        .iter()
        .any(|(from, to)| *from <= session.date && session.date <= *to)
    {
        add(
            "unavailable",
            format!("the family is unavailable on the day of list {}", session.id),
        );
    }
    let needs_ebi = policy
        .ebi
        .procedure_prefixes
        .iter()
        .any(|prefix| patient.procedure.starts_with(prefix.as_str()));
    if needs_ebi && !patient.ebi_approved {
        add(
            "ebi",
            "the procedure needs Evidence-Based Interventions approval".to_string(),
        );
    }
    breaks
}

/// Days from the planning date to the session.
fn days_ahead(req: &PlanningRequest, s: SessionIx) -> i64 {
    (req.sessions[s].date - req.planning_date).num_days()
}

/// Within T-2 weeks (6-4-2): bookings on it stay.
fn is_locked(req: &PlanningRequest, s: SessionIx) -> bool {
    days_ahead(req, s) < req.policy.phases.locked_days
}

/// A booking the planner may not move: confirmed by the family, or on a locked list.
fn is_pinned(req: &PlanningRequest, b: &ExistingBooking) -> bool {
    b.session < req.sessions.len() && (b.state == BookingState::Confirmed || is_locked(req, b.session))
}

/// Whole months of age on the session's date.
fn age_at(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> u32 {
    let ahead = months_between(req.planning_date, req.sessions[s].date).max(0);
    req.patients[p].age_months + ahead.unsigned_abs()
}

fn turnaround(req: &PlanningRequest) -> i64 {
    i64::from(req.policy.lists.turnaround_minutes)
}

/// Minutes the list offers to pool cases counted with a turnaround after each: the last case
/// needs none unless reserved time follows it.
fn case_capacity(req: &PlanningRequest, s: SessionIx) -> i64 {
    let session = &req.sessions[s];
    let bonus = if session.reserved_minutes == 0 {
        turnaround(req)
    } else {
        0
    };
    i64::from(session.minutes) - i64::from(session.reserved_minutes) + bonus
}

/// The HVLC groups whose prefix matches the procedure longest (several only if the policy repeats
/// a prefix; any of them is accepted).
fn procedure_groups<'a>(req: &'a PlanningRequest, procedure: &str) -> BTreeSet<&'a str> {
    let mut best = 0usize;
    let mut groups = BTreeSet::new();
    for (name, group) in &req.policy.cases_per_list.groups {
        for prefix in group
            .prefixes
            .iter()
            .filter(|pre| procedure.starts_with(pre.as_str()))
        {
            if prefix.len() > best {
                best = prefix.len();
                groups.clear();
            }
            if prefix.len() == best {
                groups.insert(name.as_str());
            }
        }
    }
    groups
}

fn seconds(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight())
}

fn session_id(req: &PlanningRequest, s: SessionIx) -> &str {
    req.sessions
        .get(s)
        .map_or("(unknown)", |session| session.id.as_str())
}

/// A small request for tests: two sites (A a specialist centre), eight lists (one locked, a
/// mixed list with reserved minutes, an adult list, a released one, an HVLC tonsillectomy list)
/// and eighteen patients, with bookings held: pinned on the locked list, confirmed, offered, and
/// one confirmed child on the adult list (a conflict the plan must report).
#[cfg(test)]
pub fn sample_request() -> PlanningRequest {
    use crate::domain::policy::Policy;
    use crate::domain::{Date, Patient, PlannerKind, Priority, Session, Site};

    let planning_date: Date = "2026-03-02".parse().expect("date");
    let day = |n: i64| planning_date + chrono::Duration::days(n);
    let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").expect("time");
    let sites = vec![
        Site {
            id: "A".into(),
            name: "Children's hospital".into(),
            specialist_centre: true,
        },
        Site {
            id: "B".into(),
            name: "District general".into(),
            specialist_centre: false,
        },
    ];
    // (id, site, days ahead, start, specialty, surgeon, type, min age, max age, paed anaesthetist,
    //  reserved, released, hvlc group)
    type S<'a> = (
        &'a str,
        usize,
        i64,
        &'a str,
        &'a str,
        Option<&'a str>,
        ListType,
        Option<u32>,
        Option<u32>,
        bool,
        u32,
        bool,
        Option<&'a str>,
    );
    #[rustfmt::skip]
    let rows: [S; 8] = [
        ("S0", 0, 7, "08:30", "120", Some("MrA"), ListType::Paediatric, None, None, true, 0, false, None),
        ("S1", 1, 21, "08:30", "120", Some("MrB"), ListType::Mixed, None, None, false, 60, false, None),
        ("S2", 1, 35, "13:30", "120", Some("MrB"), ListType::Adult, None, None, false, 0, false, None),
        ("S3", 0, 30, "08:30", "120", None, ListType::Paediatric, None, None, true, 0, true, None),
        ("S4", 0, 50, "08:30", "120", None, ListType::Paediatric, None, None, true, 0, false,
         Some("tonsillectomy")),
        ("S5", 0, 45, "08:30", "171", None, ListType::Paediatric, None, Some(200), true, 0, false, None),
        ("S6", 1, 60, "08:30", "142", None, ListType::Paediatric, None, None, false, 0, false, None),
        ("S7", 1, 40, "13:30", "120", Some("MrC"), ListType::Paediatric, Some(24), None, true, 0, false,
         None),
    ];
    let sessions = rows
        .iter()
        .map(|r| Session {
            id: r.0.into(),
            site: r.1,
            theatre: format!("T{}", r.1),
            date: day(r.2),
            start: time(r.3),
            minutes: 240,
            specialty: r.4.into(),
            surgeon: r.5.map(Into::into),
            list_type: r.6,
            min_age_months: r.7,
            max_age_months: r.8,
            paediatric_anaesthetist: r.9,
            reserved_minutes: r.10,
            released: r.11,
            cases_per_list_target: None,
            hvlc_group: r.12.map(Into::into),
        })
        .collect();

    let done = Some(day(-15));
    let patient = |i: usize, specialty: &str, procedure: &str, minutes: u32, age_months: u32| Patient {
        id: format!("SECRET-NHS-{i:03}"),
        specialty: specialty.into(),
        procedure: procedure.into(),
        minutes,
        age_months,
        priority: Priority::P3,
        date_listed: day(-60 - i as i64),
        rtt_clock_start: day(-90 - 7 * i as i64),
        preop_status: PreopStatus::Completed,
        preop_date: done,
        complex: false,
        ebi_approved: false,
        accepted_sites: None,
        surgeon: None,
        unavailable: Vec::new(),
        diabetes: false,
        latex_allergy: false,
        accepts_adult_services: false,
    };
    let not_done = |mut p: Patient| {
        p.preop_status = PreopStatus::NotDone;
        p.preop_date = None;
        p
    };
    let patients = vec![
        // 0: pinned on the locked list.
        patient(0, "120", "F34.1", 45, 60),
        // 1: grommets, EBI approved, a young child.
        Patient {
            ebi_approved: true,
            priority: Priority::P2,
            ..patient(1, "120", "D15.1", 20, 30)
        },
        // 2: grommets without EBI approval: never booked.
        patient(2, "120", "D15.1", 20, 40),
        // 3: an infant tonsillectomy, pre-op not done: the HVLC list at the specialist centre.
        not_done(patient(3, "120", "F34.1", 45, 8)),
        // 4: a 16-year-old who accepts adult services.
        Patient {
            accepts_adult_services: true,
            ..patient(4, "120", "F34.1", 45, 200)
        },
        // 5: an adult, site B only.
        Patient {
            accepted_sites: Some(vec![1]),
            ..patient(5, "120", "F34.3", 45, 230)
        },
        // 6: circumcision, diabetes.
        Patient {
            diabetes: true,
            ..patient(6, "171", "N30.3", 30, 48)
        },
        // 7: an infant herniotomy, complex.
        Patient {
            complex: true,
            ..patient(7, "171", "T19.1", 40, 6)
        },
        // 8: orchidopexy, latex allergy, confirmed booking on S5.
        Patient {
            latex_allergy: true,
            ..patient(8, "171", "N08.1", 60, 100)
        },
        // 9: unavailable on the day of S5, the only list of the specialty.
        Patient {
            unavailable: vec![(day(44), day(46))],
            ..patient(9, "171", "N30.3", 30, 70)
        },
        // 10: adenoidectomy for a named surgeon at site B.
        Patient {
            ebi_approved: true,
            surgeon: Some("MrB".into()),
            accepted_sites: Some(vec![1]),
            ..patient(10, "120", "E20.1", 40, 120)
        },
        // 11: dental extraction, offered on S6.
        not_done(patient(11, "142", "F09.1", 30, 90)),
        // 12: a toddler tonsillectomy, pre-op not done.
        not_done(patient(12, "120", "F34.1", 45, 18)),
        // 13: a complex tonsillectomy, pre-op not done.
        Patient {
            complex: true,
            ..not_done(patient(13, "120", "F34.1", 45, 100))
        },
        // 14: grommets, a young child at site B.
        Patient {
            ebi_approved: true,
            accepted_sites: Some(vec![1]),
            ..patient(14, "120", "D15.2", 20, 30)
        },
        // 15: offered on S1 (T-3 weeks) before pre-op was done: may stay.
        not_done(patient(15, "120", "F34.1", 45, 80)),
        // 16: confirmed on the adult list as a child: a conflict.
        patient(16, "120", "F34.1", 45, 100),
        // 17: a tonsillectomy with pre-op not done.
        not_done(patient(17, "120", "F34.1", 45, 50)),
    ];
    let bookings = vec![
        ExistingBooking {
            patient: 0,
            session: 0,
            state: BookingState::Offered,
        },
        ExistingBooking {
            patient: 8,
            session: 5,
            state: BookingState::Confirmed,
        },
        ExistingBooking {
            patient: 11,
            session: 6,
            state: BookingState::Offered,
        },
        ExistingBooking {
            patient: 15,
            session: 1,
            state: BookingState::Offered,
        },
        ExistingBooking {
            patient: 16,
            session: 2,
            state: BookingState::Confirmed,
        },
    ];
    PlanningRequest {
        planning_date,
        sites,
        sessions,
        patients,
        bookings,
        policy: Policy::default_profile(),
        profile: "default".into(),
        planner: PlannerKind::Baseline,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PlannerKind;
    use crate::planning::plan::{CasePlan, Move, Unallocated};
    use crate::planning::solve::{plan, SolveOptions};
    use crate::rules::Reason;

    fn planned(req: &PlanningRequest) -> Plan {
        plan(req, &SolveOptions::default()).expect("the sample plans")
    }

    fn baseline() -> (PlanningRequest, Plan) {
        let req = sample_request();
        let p = planned(&req);
        (req, p)
    }

    fn codes(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|v| v.rule).collect()
    }

    /// The checker reports `rule`, and nothing else.
    fn assert_only(v: &[Violation], rule: &str) {
        assert!(!v.is_empty(), "expected {rule}, got nothing");
        assert!(
            v.iter().all(|v| v.rule == rule),
            "expected only {rule}, got {:#?}",
            v.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
    }

    /// The checker reports `rule` (among others).
    fn assert_reports(v: &[Violation], rule: &str) {
        assert!(
            v.iter().any(|v| v.rule == rule),
            "expected {rule}, got {:#?}",
            v.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
    }

    fn where_is(plan: &Plan, p: PatientIx) -> Option<SessionIx> {
        plan.lists
            .iter()
            .find(|l| l.cases.iter().any(|c| c.patient == p))
            .map(|l| l.session)
    }

    fn list_mut(plan: &mut Plan, s: SessionIx) -> &mut ListPlan {
        plan.lists
            .iter_mut()
            .find(|l| l.session == s)
            .expect("every session has a list")
    }

    /// Sets the cases' times from the list start, in their current order.
    fn retime(req: &PlanningRequest, list: &mut ListPlan) {
        let session = &req.sessions[list.session];
        let t = chrono::Duration::minutes(turnaround(req));
        let mut clock = session.start;
        for (i, case) in list.cases.iter_mut().enumerate() {
            if i > 0 {
                clock += t;
            }
            case.minutes = req.patients[case.patient].minutes;
            case.start = clock;
            clock += chrono::Duration::minutes(i64::from(case.minutes));
            case.end = clock;
        }
    }

    /// Rebuilds lists, unallocated and moves for a new assignment, keeping everything else
    /// consistent (order, times, reasons, moves), so a test plants exactly one kind of violation.
    fn reassign(req: &PlanningRequest, plan: &mut Plan, assignment: Vec<Option<SessionIx>>) {
        for list in plan.lists.iter_mut() {
            let s = list.session;
            let mut patients: Vec<PatientIx> = (0..req.patients.len())
                .filter(|&p| assignment[p] == Some(s))
                .collect();
            let youngest = patients.iter().copied().min_by_key(|&p| (age_at(req, p, s), p));
            let band = |p: PatientIx| {
                let patient = &req.patients[p];
                if Some(p) == youngest {
                    0
                } else if patient.diabetes {
                    1
                } else if patient.latex_allergy {
                    2
                } else {
                    3
                }
            };
            patients.sort_by_key(|&p| (band(p), age_at(req, p, s), p));
            list.cases = patients
                .into_iter()
                .map(|p| CasePlan {
                    patient: p,
                    start: NaiveTime::MIN,
                    end: NaiveTime::MIN,
                    minutes: 0,
                    existing: req.bookings.iter().any(|b| b.patient == p && b.session == s),
                })
                .collect();
            retime(req, list);
        }
        plan.unallocated.retain(|u| assignment[u.patient].is_none());
        for (p, s) in assignment.iter().enumerate() {
            if s.is_none() && !plan.unallocated.iter().any(|u| u.patient == p) {
                plan.unallocated.push(Unallocated {
                    patient: p,
                    reasons: vec![Reason::Capacity],
                    detail: String::new(),
                });
            }
        }
        plan.moves = req
            .bookings
            .iter()
            .filter(|b| assignment[b.patient] != Some(b.session))
            .map(|b| Move {
                patient: b.patient,
                from: b.session,
                to: assignment[b.patient],
            })
            .collect();
        plan.assignment = assignment;
    }

    /// Puts patient `p` on list `s` (or unallocates it), keeping the rest of the plan consistent.
    fn place(req: &PlanningRequest, plan: &mut Plan, p: PatientIx, s: Option<SessionIx>) {
        let mut assignment = plan.assignment.clone();
        assignment[p] = s;
        reassign(req, plan, assignment);
    }

    /// The sample planned by `planner`, placed to move `p` to `s`, checked.
    fn moved(p: PatientIx, s: SessionIx) -> Vec<Violation> {
        let (req, mut plan) = baseline();
        place(&req, &mut plan, p, Some(s));
        check(&req, &plan)
    }

    #[test]
    fn sample_is_sound() {
        let req = sample_request();
        assert_eq!(req.policy, crate::domain::policy::Policy::default_profile());
        assert!(is_locked(&req, 0) && !is_locked(&req, 1));
        assert_eq!(procedure_groups(&req, "D15.1"), BTreeSet::from(["grommets"]));
        assert!(procedure_groups(&req, "Z99").is_empty());
        // The rebuild helper reproduces the planner's plan, so planted edits change one thing.
        let (req, plan) = baseline();
        let mut rebuilt = plan.clone();
        reassign(&req, &mut rebuilt, plan.assignment.clone());
        assert_eq!(rebuilt.lists, plan.lists);
        assert_eq!(rebuilt.moves, plan.moves);
    }

    #[test]
    fn baseline_plan_passes() {
        let mut req = sample_request();
        req.planner = PlannerKind::Baseline;
        let plan = planned(&req);
        assert_eq!(plan.planner, PlannerKind::Baseline);
        let v = check(&req, &plan);
        assert!(
            v.is_empty(),
            "{:#?}",
            v.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        // The sample exercises what it should: a pinned conflict, an unbookable patient, cases
        // on the locked list and the mixed list, the offered booking kept without pre-op.
        assert!(plan.conflicts.iter().any(|c| c.patient == 16 && c.session == 2));
        assert_eq!(plan.assignment[2], None);
        assert_eq!(plan.assignment[0], Some(0));
        assert_eq!(plan.assignment[8], Some(5));
        assert_eq!(plan.assignment[15], Some(1));
        assert!(plan.lists.iter().all(|l| l.session != 3 || l.cases.is_empty()));
    }

    #[test]
    fn optimiser_plan_passes() {
        let mut req = sample_request();
        req.planner = PlannerKind::Optimiser;
        let plan = planned(&req);
        assert_eq!(plan.planner, PlannerKind::Optimiser);
        let v = check(&req, &plan);
        assert!(
            v.is_empty(),
            "{:#?}",
            v.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
        assert!(plan.assignment.iter().filter(|s| s.is_some()).count() >= 10);
    }

    #[test]
    fn plans_without_gap_filling_pass() {
        let mut req = sample_request();
        req.policy.phases.locked_lists_fill_gaps = false;
        for planner in [PlannerKind::Baseline, PlannerKind::Optimiser] {
            req.planner = planner;
            let v = check(&req, &planned(&req));
            assert!(v.is_empty(), "{planner:?}: {v:?}");
        }
    }

    #[test]
    fn specialty() {
        assert_only(&moved(1, 5), "specialty");
    }

    #[test]
    fn surgeon() {
        assert_only(&moved(10, 7), "surgeon");
    }

    #[test]
    fn hvlc_group() {
        assert_only(&moved(1, 4), "hvlc_group");
    }

    #[test]
    fn accepted_site() {
        assert_only(&moved(14, 0), "accepted_site");
    }

    #[test]
    fn released() {
        assert_only(&moved(1, 3), "released");
    }

    #[test]
    fn adult_list() {
        assert_only(&moved(10, 2), "adult_list");
        // A 16-year-old who accepts adult services may go there.
        assert!(moved(4, 2).is_empty());
    }

    #[test]
    fn paediatric_list() {
        assert_only(&moved(5, 7), "paediatric_list");
    }

    #[test]
    fn age_band() {
        assert_only(&moved(12, 7), "age_band");
    }

    #[test]
    fn specialist_centre() {
        assert_only(&moved(13, 7), "specialist_centre");
    }

    #[test]
    fn paediatric_anaesthetist() {
        // S1 (mixed, no paediatric anaesthetist) cleared of new bookings to make room.
        let (req, mut plan) = baseline();
        let mut assignment = plan.assignment.clone();
        for s in assignment.iter_mut().filter(|s| **s == Some(1)) {
            *s = None;
        }
        assignment[15] = Some(1);
        assignment[1] = Some(1);
        reassign(&req, &mut plan, assignment);
        assert_only(&check(&req, &plan), "paediatric_anaesthetist");
    }

    #[test]
    fn preop() {
        assert_only(&moved(12, 0), "preop");
        // The offered booking without pre-op may stay on its list, but not come back to it
        // after the booking is gone, nor go to another list within T-4.
        let (mut req, mut plan) = baseline();
        assert_eq!(where_is(&plan, 15), Some(1));
        req.bookings.retain(|b| b.patient != 15);
        plan.moves.clear();
        plan.moves.extend(
            req.bookings
                .iter()
                .filter(|b| plan.assignment[b.patient] != Some(b.session))
                .map(|b| Move {
                    patient: b.patient,
                    from: b.session,
                    to: plan.assignment[b.patient],
                }),
        );
        for case in list_mut(&mut plan, 1)
            .cases
            .iter_mut()
            .filter(|c| c.patient == 15)
        {
            case.existing = false;
        }
        assert_only(&check(&req, &plan), "preop");
    }

    #[test]
    fn locked_list() {
        let mut req = sample_request();
        req.policy.phases.locked_lists_fill_gaps = false;
        let mut plan = planned(&req);
        assert!(check(&req, &plan).is_empty());
        place(&req, &mut plan, 1, Some(0));
        assert_only(&check(&req, &plan), "locked_list");
    }

    #[test]
    fn unavailable() {
        assert_only(&moved(9, 5), "unavailable");
    }

    #[test]
    fn ebi() {
        assert_only(&moved(2, 7), "ebi");
    }

    #[test]
    fn capacity() {
        let (req, mut plan) = baseline();
        let mut assignment = plan.assignment.clone();
        for s in assignment.iter_mut().filter(|s| **s == Some(4)) {
            *s = None;
        }
        for p in [3, 12, 13, 17] {
            assignment[p] = Some(4);
        }
        reassign(&req, &mut plan, assignment);
        // Four tonsillectomies and their changeovers fit a four-hour list; a fifth does not.
        let v = check(&req, &plan);
        assert!(v.is_empty(), "{v:?}");
        place(&req, &mut plan, 4, Some(4));
        let v = check(&req, &plan);
        assert_reports(&v, "capacity");
        assert!(
            codes(&v).iter().all(|c| ["capacity", "times"].contains(c)),
            "{v:?}"
        );
    }

    #[test]
    fn capacity_allows_pinned_overflow_only() {
        let (mut req, mut plan) = baseline();
        // The confirmed case on S5 now takes longer than the list: a conflict, not an overfill.
        req.patients[8].minutes = 300;
        let mut assignment = plan.assignment.clone();
        for p in [6, 7] {
            assignment[p] = None;
        }
        reassign(&req, &mut plan, assignment.clone());
        plan.conflicts.push(crate::planning::plan::Conflict {
            patient: 8,
            session: 5,
            reasons: vec![Reason::CaseTooLong],
        });
        let v = check(&req, &plan);
        assert!(v.is_empty(), "{v:?}");
        // But nobody else may join it.
        assignment[6] = Some(5);
        reassign(&req, &mut plan, assignment);
        assert_reports(&check(&req, &plan), "capacity");
    }

    #[test]
    fn times() {
        let (req, plan) = baseline();
        let s = plan
            .lists
            .iter()
            .find(|l| l.cases.len() >= 2)
            .expect("a list with two cases")
            .session;
        let five = chrono::Duration::minutes(5);

        let mut late_start = plan.clone();
        let list = list_mut(&mut late_start, s);
        list.cases[0].start += five;
        list.cases[0].end += five;
        assert_only(&check(&req, &late_start), "times");

        let mut short_turnaround = plan.clone();
        let list = list_mut(&mut short_turnaround, s);
        list.cases[1].start -= five;
        list.cases[1].end -= five;
        assert_only(&check(&req, &short_turnaround), "times");

        let mut wrong_length = plan.clone();
        list_mut(&mut wrong_length, s).cases[1].end += five;
        assert_only(&check(&req, &wrong_length), "times");

        let mut wrong_minutes = plan.clone();
        list_mut(&mut wrong_minutes, s).cases[1].minutes += 5;
        assert_only(&check(&req, &wrong_minutes), "times");

        let mut overrun = plan.clone();
        let list = list_mut(&mut overrun, s);
        let last = list.cases.len() - 1;
        let push = chrono::Duration::minutes(240);
        list.cases[last].start += push;
        list.cases[last].end += push;
        assert_only(&check(&req, &overrun), "times");
    }

    #[test]
    fn times_count_reserved_minutes() {
        let (req, mut plan) = baseline();
        // S1 keeps 60 minutes for reserved adult cases after the children: 180 for the pool.
        let mut assignment = plan.assignment.clone();
        assignment[5] = Some(1);
        assignment[10] = Some(1);
        reassign(&req, &mut plan, assignment);
        assert!(check(&req, &plan).is_empty());
        let list = list_mut(&mut plan, 1);
        let last = list.cases.len() - 1;
        let end = req.sessions[1].start + chrono::Duration::minutes(240 - 60 - 10);
        let minutes = chrono::Duration::minutes(i64::from(list.cases[last].minutes));
        list.cases[last].end = end + chrono::Duration::minutes(1);
        list.cases[last].start = list.cases[last].end - minutes;
        assert_only(&check(&req, &plan), "times");
    }

    #[test]
    fn order() {
        let (req, plan) = baseline();
        // S5: the infant first, then the child with diabetes, then latex allergy.
        assert_eq!(
            list_of(&plan, 5)
                .cases
                .iter()
                .map(|c| c.patient)
                .collect::<Vec<_>>(),
            vec![7, 6, 8]
        );
        for (i, j) in [(0, 1), (1, 2)] {
            let mut swapped = plan.clone();
            let list = list_mut(&mut swapped, 5);
            list.cases.swap(i, j);
            retime(&req, list);
            assert_only(&check(&req, &swapped), "order");
        }
        // Without youngest-first the flagged children lead and the infant runs last.
        let mut req = req;
        req.policy.list_order.youngest_first = false;
        assert_only(&check(&req, &plan), "order");
        let mut reordered = plan.clone();
        let list = list_mut(&mut reordered, 5);
        list.cases.rotate_left(1);
        retime(&req, list);
        assert!(check(&req, &reordered).is_empty());
    }

    fn list_of(plan: &Plan, s: SessionIx) -> &ListPlan {
        plan.lists.iter().find(|l| l.session == s).expect("list")
    }

    #[test]
    fn conservation() {
        let (req, plan) = baseline();
        let booked = (0..req.patients.len())
            .find(|&p| plan.assignment[p].is_some() && !req.bookings.iter().any(|b| b.patient == p))
            .expect("a new booking");
        let s = plan.assignment[booked].expect("booked");
        let other = plan
            .lists
            .iter()
            .find(|l| l.session != s)
            .expect("another list")
            .session;

        // Dropped from both the lists and the unallocated.
        let mut dropped = plan.clone();
        list_mut(&mut dropped, s).cases.retain(|c| c.patient != booked);
        retime(&req, list_mut(&mut dropped, s));
        dropped.assignment[booked] = None;
        assert_only(&check(&req, &dropped), "conservation");

        // Duplicated onto a second list.
        let mut duplicated = plan.clone();
        let case = list_of(&plan, s)
            .cases
            .iter()
            .find(|c| c.patient == booked)
            .cloned();
        list_mut(&mut duplicated, other).cases.push(case.expect("case"));
        assert_reports(&check(&req, &duplicated), "conservation");

        // Both booked and unallocated.
        let mut both = plan.clone();
        both.unallocated.push(Unallocated {
            patient: booked,
            reasons: vec![Reason::Capacity],
            detail: String::new(),
        });
        assert_only(&check(&req, &both), "conservation");

        // The assignment disagrees with the lists.
        let mut disagrees = plan.clone();
        disagrees.assignment[booked] = Some(other);
        assert_only(&check(&req, &disagrees), "conservation");
        let mut short = plan.clone();
        short.assignment.pop();
        assert_only(&check(&req, &short), "conservation");

        // An unallocated patient without a reason.
        let mut no_reason = plan.clone();
        no_reason.unallocated[0].reasons.clear();
        assert_only(&check(&req, &no_reason), "conservation");

        // A session listed twice, and one missing.
        let mut twice = plan.clone();
        let copy = ListPlan {
            cases: Vec::new(),
            ..list_of(&plan, other).clone()
        };
        twice.lists.push(copy);
        assert_only(&check(&req, &twice), "conservation");
        let mut missing = plan.clone();
        missing.lists.retain(|l| l.session != 3);
        assert_only(&check(&req, &missing), "conservation");

        // Indexes outside the request.
        let mut unknown = plan.clone();
        unknown.unallocated.push(Unallocated {
            patient: 99,
            reasons: vec![Reason::Capacity],
            detail: String::new(),
        });
        assert_only(&check(&req, &unknown), "conservation");
    }

    #[test]
    fn pinned() {
        // The confirmed booking taken off its list; the move is recorded, but it may not move.
        let (req, mut plan) = baseline();
        place(&req, &mut plan, 8, None);
        assert_only(&check(&req, &plan), "pinned");
        // An offered booking on a locked list is pinned too.
        let (req, mut plan) = baseline();
        place(&req, &mut plan, 0, Some(4));
        assert_only(&check(&req, &plan), "pinned");
        // An offered booking outside the locked phase may move.
        let (req, mut plan) = baseline();
        place(&req, &mut plan, 15, Some(4));
        assert!(check(&req, &plan).is_empty());
    }

    #[test]
    fn moves() {
        let (req, mut plan) = baseline();
        place(&req, &mut plan, 11, None);
        assert!(check(&req, &plan).is_empty());

        let mut unrecorded = plan.clone();
        unrecorded.moves.retain(|m| m.patient != 11);
        assert_only(&check(&req, &unrecorded), "moves");

        let mut twice = plan.clone();
        let m = twice
            .moves
            .iter()
            .find(|m| m.patient == 11)
            .cloned()
            .expect("move");
        twice.moves.push(m);
        assert_only(&check(&req, &twice), "moves");

        let mut wrong_to = plan.clone();
        wrong_to
            .moves
            .iter_mut()
            .find(|m| m.patient == 11)
            .expect("move")
            .to = Some(6);
        assert_only(&check(&req, &wrong_to), "moves");

        let mut spurious = plan.clone();
        spurious.moves.push(Move {
            patient: 1,
            from: 0,
            to: plan.assignment[1],
        });
        assert_only(&check(&req, &spurious), "moves");

        let mut stayed = plan.clone();
        stayed.moves.push(Move {
            patient: 0,
            from: 0,
            to: None,
        });
        assert_only(&check(&req, &stayed), "moves");

        let mut flag = plan.clone();
        list_mut(&mut flag, 0)
            .cases
            .iter_mut()
            .for_each(|c| c.existing = !c.existing);
        assert_only(&check(&req, &flag), "moves");
    }

    #[test]
    fn conflict_unreported() {
        let (req, mut plan) = baseline();
        // The confirmed child on the adult list is reported as a conflict, so it passes...
        assert!(check(&req, &plan).is_empty());
        // ...until the conflict goes unreported.
        plan.conflicts.retain(|c| !(c.patient == 16 && c.session == 2));
        let v = check(&req, &plan);
        assert_only(&v, "conflict_unreported");
        assert!(v[0].detail.contains("adult_list"));
        // A conflict entry does not excuse a booking that is not pinned.
        let (req, mut plan) = baseline();
        place(&req, &mut plan, 10, Some(2));
        plan.conflicts.push(crate::planning::plan::Conflict {
            patient: 10,
            session: 2,
            reasons: vec![Reason::ChildOnAdultList],
        });
        assert_only(&check(&req, &plan), "adult_list");
    }

    #[test]
    fn details_are_private() {
        let (req, mut plan) = baseline();
        // Everyone on the adult list, and a mess of times: many violations at once.
        let assignment = vec![Some(2); req.patients.len()];
        reassign(&req, &mut plan, assignment);
        list_mut(&mut plan, 2).cases.reverse();
        plan.conflicts.clear();
        let v = check(&req, &plan);
        assert!(v.len() > 20);
        let seen: BTreeSet<&str> = codes(&v).into_iter().collect();
        assert!(seen.len() >= 8, "{seen:?}");
        for violation in &v {
            assert!(RULES.contains(&violation.rule));
            let text = violation.to_string();
            assert!(!text.contains("SECRET"), "{text}");
            assert!(!text.contains("2026") && !text.contains("-03-"), "{text}");
            assert!(!text.contains("month"), "{text}");
        }
        let shown = v[0].to_string();
        assert!(shown.starts_with(v[0].rule), "{shown}");
    }

    #[test]
    fn every_rule_is_tested() {
        // Each rule code names a test in this module (kept in step by hand: a new rule needs a
        // planted-violation test).
        let source = include_str!("mod.rs");
        for rule in RULES {
            assert!(source.contains(&format!("fn {rule}()")), "no test for {rule}");
        }
    }
}
