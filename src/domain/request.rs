//! Validated inputs, named after the ward: sites, sessions (lists), the booking pool and the
//! bookings already held. Values of these types are valid by construction: they are only made by
//! `api::convert` (from the API) or by code that upholds the same invariants (`synth`).

use chrono::NaiveTime;

use super::calendar::{months_between, Date, Phase};
use super::policy::{age_window_of, CasesPerList, Policy};

/// Index of a site, session or patient in its request.
pub type SiteIx = usize;
pub type SessionIx = usize;
pub type PatientIx = usize;

/// Clinical priority of a planned case (FSSA / RCS): P2 within 4 weeks, P3 within 3 months, P4 longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::P2, Priority::P3, Priority::P4];
}

/// Who a list is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    Paediatric,
    Mixed,
    Adult,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreopStatus {
    NotDone,
    Booked,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingState {
    Offered,
    Confirmed,
}

/// Which planner answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlannerKind {
    #[default]
    Optimiser,
    Baseline,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub specialist_centre: bool,
    /// Children's beds for elective overnight stays each night; `None`: not limited.
    pub children_beds: Option<u32>,
    /// Nights with another number of beds, by date (sorted, one per date).
    pub bed_nights: Vec<(Date, u32)>,
}

impl Site {
    /// The children's beds on the night after `date`, if limited.
    pub fn beds_on(&self, date: Date) -> Option<u32> {
        match self.bed_nights.binary_search_by_key(&date, |&(d, _)| d) {
            Ok(i) => Some(self.bed_nights[i].1),
            Err(_) => self.children_beds,
        }
    }
}

/// A theatre session (list): a block of theatre time at one site, held by one specialty.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub site: SiteIx,
    pub theatre: String,
    pub date: Date,
    pub start: NaiveTime,
    pub minutes: u32,
    pub specialty: String,
    pub surgeon: Option<String>,
    pub list_type: ListType,
    pub min_age_months: Option<u32>,
    pub max_age_months: Option<u32>,
    pub paediatric_anaesthetist: bool,
    /// Minutes already taken by cases outside the pool; they run after the children.
    pub reserved_minutes: u32,
    pub released: bool,
    pub cases_per_list_target: Option<u32>,
    pub hvlc_group: Option<String>,
}

/// A patient in the booking pool. `id` is an opaque pseudonym and is never logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    pub id: String,
    pub specialty: String,
    pub procedure: String,
    pub minutes: u32,
    /// Whole months at the planning date.
    pub age_months: u32,
    pub priority: Priority,
    pub date_listed: Date,
    pub rtt_clock_start: Date,
    pub preop_status: PreopStatus,
    pub preop_date: Option<Date>,
    /// Needs a specialist centre.
    pub complex: bool,
    pub ebi_approved: bool,
    /// Sites the family accepts; `None` means any site in the request (mutual aid).
    pub accepted_sites: Option<Vec<SiteIx>>,
    pub surgeon: Option<String>,
    /// Inclusive date ranges the family cannot come.
    pub unavailable: Vec<(Date, Date)>,
    pub diabetes: bool,
    pub latex_allergy: bool,
    pub accepts_adult_services: bool,
    /// Weeks' gestation at birth, when known (22-44).
    pub gestation_weeks: Option<u32>,
    /// Age in days at the planning date, when known (infants); agrees with `age_months`.
    pub age_days: Option<u32>,
    /// The date the clinician asks the procedure to be done by; it replaces the procedure's age
    /// window.
    pub treat_by: Option<Date>,
    /// Needs an overnight stay after the procedure: takes a children's bed at the list's site on
    /// the night of the operation.
    pub overnight: bool,
}

/// `date` moved by whole calendar months (clamped to the month's last day).
fn add_months(date: Date, months: i32) -> Option<Date> {
    let n = chrono::Months::new(months.unsigned_abs());
    if months >= 0 {
        date.checked_add_months(n)
    } else {
        date.checked_sub_months(n)
    }
}

/// A booking the booking system already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingBooking {
    pub patient: PatientIx,
    pub session: SessionIx,
    pub state: BookingState,
}

/// A validated planning request: the world as of `planning_date` and the policy to plan it by.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanningRequest {
    pub planning_date: Date,
    pub sites: Vec<Site>,
    pub sessions: Vec<Session>,
    pub patients: Vec<Patient>,
    pub bookings: Vec<ExistingBooking>,
    pub policy: Policy,
    pub profile: String,
    pub planner: PlannerKind,
}

impl PlanningRequest {
    /// Days from the planning date to the session.
    pub fn days_ahead(&self, s: SessionIx) -> i64 {
        (self.sessions[s].date - self.planning_date).num_days()
    }

    /// The session's 6-4-2 phase.
    pub fn phase(&self, s: SessionIx) -> Phase {
        self.policy.phase(self.days_ahead(s))
    }

    /// The patient's age in whole months on the session's date.
    pub fn age_at(&self, p: PatientIx, s: SessionIx) -> u32 {
        let ahead = months_between(self.planning_date, self.sessions[s].date).max(0) as u32;
        self.patients[p].age_months + ahead
    }

    /// Days from the planning date to the last session: the horizon of the plan (at least 1).
    pub fn horizon_days(&self) -> i64 {
        let last = self
            .sessions
            .iter()
            .map(|s| s.date)
            .max()
            .unwrap_or(self.planning_date);
        (last - self.planning_date).num_days().max(1)
    }

    /// The last date the plan covers.
    pub fn horizon_end(&self) -> Date {
        self.planning_date + chrono::Duration::days(self.horizon_days())
    }

    /// Whole weeks (fractional) from the RTT clock start to the planning date.
    pub fn weeks_waited(&self, p: PatientIx) -> f64 {
        ((self.planning_date - self.patients[p].rtt_clock_start).num_days() as f64 / 7.0).max(0.0)
    }

    /// The date the patient should be treated by: the earlier of its priority's due date and its
    /// procedure's age-window date, if either applies.
    pub fn due_date(&self, p: PatientIx) -> Option<Date> {
        match (self.priority_due_date(p), self.age_window_date(p)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The date the patient's priority asks them to be treated by, if the priority has one.
    pub fn priority_due_date(&self, p: PatientIx) -> Option<Date> {
        let patient = &self.patients[p];
        let days = self.policy.priority.rule(patient.priority).due_days;
        (days > 0).then(|| patient.date_listed + chrono::Duration::days(days))
    }

    /// The date the procedure's age window closes for this child: the clinician's `treat_by`, else
    /// the date the child reaches the window's age (from `age_days` when given, else from whole
    /// months at the planning date), when the child was listed before that date.
    pub fn age_window_date(&self, p: PatientIx) -> Option<Date> {
        let patient = &self.patients[p];
        if patient.treat_by.is_some() {
            return patient.treat_by;
        }
        let (_, months) = age_window_of(&self.policy.age_windows, &patient.procedure)?;
        let reached = match patient.age_days {
            Some(days) => add_months(
                self.planning_date - chrono::Duration::days(i64::from(days)),
                months as i32,
            ),
            None => add_months(self.planning_date, months as i32 - patient.age_months as i32),
        }?;
        (reached >= patient.date_listed).then_some(reached)
    }

    /// The infant's post-conception age on the session's date, in days, when its gestation at
    /// birth is known: gestation plus age since birth, exact from `age_days` when given, else
    /// `floor(months × 365.25 / 12)` days from its whole months on that date.
    pub fn post_conception_days(&self, p: PatientIx, s: SessionIx) -> Option<i64> {
        let patient = &self.patients[p];
        let gestation = i64::from(patient.gestation_weeks?) * 7;
        let age = match patient.age_days {
            Some(days) => i64::from(days) + self.days_ahead(s).max(0),
            None => (f64::from(self.age_at(p, s)) * 365.25 / 12.0).floor() as i64,
        };
        Some(gestation + age)
    }

    /// The children's beds on the night of session `s` at its site, if limited.
    pub fn beds_of(&self, s: SessionIx) -> Option<u32> {
        let session = &self.sessions[s];
        self.sites[session.site].beds_on(session.date)
    }

    /// Whether any site limits its beds: without a limit, overnight stays constrain nothing.
    pub fn beds_limited(&self) -> bool {
        self.sites
            .iter()
            .any(|site| site.children_beds.is_some() || !site.bed_nights.is_empty())
    }

    /// The existing booking of a patient, if any (validation allows at most one).
    pub fn booking_of(&self, p: PatientIx) -> Option<&ExistingBooking> {
        self.bookings.iter().find(|b| b.patient == p)
    }

    /// A booking the planner may not move: every booking on a locked list, and every booking the
    /// family has confirmed.
    pub fn is_pinned(&self, b: &ExistingBooking) -> bool {
        b.state == BookingState::Confirmed || self.phase(b.session) == Phase::Locked
    }

    /// Minutes a session offers to pool cases, counting a turnaround after every case: the last
    /// case needs none unless reserved time follows it.
    pub fn case_capacity(&self, s: SessionIx) -> i64 {
        let session = &self.sessions[s];
        let t = i64::from(self.policy.lists.turnaround_minutes);
        let bonus = if session.reserved_minutes == 0 { t } else { 0 };
        i64::from(session.minutes) - i64::from(session.reserved_minutes) + bonus
    }

    /// [`PlanningRequest::case_capacity`] widened so that the list's pinned bookings always fit:
    /// a pinned booking stays on its list even when the list is too short for it (it is then
    /// reported as a conflict), and no other case may join such a list.
    pub fn effective_capacity(&self, s: SessionIx) -> i64 {
        let pinned_load: i64 = self
            .bookings
            .iter()
            .filter(|b| b.session == s && self.is_pinned(b))
            .map(|b| self.case_load(b.patient))
            .sum();
        self.case_capacity(s).max(pinned_load)
    }

    /// Minutes one case takes from `case_capacity`: its own and a turnaround.
    pub fn case_load(&self, p: PatientIx) -> i64 {
        i64::from(self.patients[p].minutes) + i64::from(self.policy.lists.turnaround_minutes)
    }

    /// The HVLC procedure group of a patient's procedure.
    pub fn group_of(&self, p: PatientIx) -> Option<&str> {
        self.policy.cases_per_list.group_of(&self.patients[p].procedure)
    }

    /// The cases-per-list target of a session: its own override, else its HVLC group's figure, else
    /// its specialty's; scaled to its length. 0 means no target.
    pub fn cases_target(&self, s: SessionIx) -> u32 {
        let session = &self.sessions[s];
        let cpl = &self.policy.cases_per_list;
        if let Some(t) = session.cases_per_list_target {
            return t;
        }
        let per_240 = match &session.hvlc_group {
            Some(g) => cpl.groups.get(g).map(|g| g.per_240_minutes),
            None => cpl.specialties.get(&session.specialty).copied(),
        };
        per_240.map_or(0, |v| CasesPerList::scaled(v, session.minutes))
    }

    /// Patient weeks waited at the session's date exceed `weeks`.
    pub fn waited_over(&self, p: PatientIx, weeks: i64) -> bool {
        (self.planning_date - self.patients[p].rtt_clock_start).num_days() > weeks * 7
    }
}
