//! The result of planning, as data: lists in order with times, every unallocated patient with its
//! reasons, moves, conflicts, KPIs and solver statistics. Only the types live here, so that the
//! plan checker (`check/`) can judge a plan without seeing the code that built it
//! (`planning::plan`).

use chrono::NaiveTime;

use super::{PatientIx, Phase, PlannerKind, Priority, RuleCode, SessionIx, SiteIx};

/// How good the plan is known to be. A request that cannot be planned is an error, not a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStatus {
    /// Proven optimal within the relative gap asked for.
    Optimal,
    /// A valid plan, not proven optimal.
    Feasible,
}

/// Why the planner stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Every component was solved to its gap.
    Optimal,
    /// The time limit (the policy's, or the client's deadline) ended the solve: a safety stop,
    /// after which the same request may give another plan on another run.
    TimeLimit,
    /// The solver's work budget (`solver.work_budget`) was spent: deterministic.
    WorkLimit,
    /// The bound and the plan search stopped improving before the gap closed: deterministic.
    NoProgress,
    /// The caller cancelled the solve.
    Cancelled,
    /// The baseline planner was asked for: first-fit, no solver.
    Baseline,
}

impl StopReason {
    /// The stable word used in responses.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Optimal => "optimal",
            StopReason::TimeLimit => "time_limit",
            StopReason::WorkLimit => "work_limit",
            StopReason::NoProgress => "no_progress",
            StopReason::Cancelled => "cancelled",
            StopReason::Baseline => "baseline",
        }
    }
}

/// How the planner got to the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverStats {
    pub objective: f64,
    pub best_bound: f64,
    pub relative_gap: f64,
    /// `best_bound - objective`.
    pub absolute_gap: f64,
    /// `(best_bound - objective) / (best_bound - value of the empty plan)`: the share of what
    /// planning can still win that this plan may be missing; no additive constant inflates it.
    pub decision_gap: f64,
    pub solve_seconds: f64,
    /// Work the solver spent, millions of units (knapsack cells and search moves).
    pub work_units: f64,
    /// Times a component's proven bound fell below its own plan's value: a solver bug, logged as
    /// an error and reported here; the bound is never raised to hide it.
    pub bound_errors: u32,
    pub baseline_objective: f64,
    pub components: usize,
    pub eligible_pairs: usize,
    pub variables: usize,
    pub constraints: usize,
    pub stop_reason: StopReason,
}

impl SolverStats {
    /// Relative gap between an objective and a bound, on a scale that is safe near zero.
    pub fn gap(objective: f64, bound: f64) -> f64 {
        ((bound - objective) / bound.abs().max(1.0)).max(0.0)
    }

    /// Decision gap between an objective and a bound, given the empty plan's value.
    pub fn decision_gap(objective: f64, bound: f64, empty: f64) -> f64 {
        let range = bound - empty;
        if range <= 1e-9 {
            0.0
        } else {
            ((bound - objective) / range).max(0.0)
        }
    }
}

/// One case on a list.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePlan {
    pub patient: PatientIx,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub minutes: u32,
    /// The patient was already booked on this list.
    pub existing: bool,
    /// Why a case that needs no specialist centre is on a list at one, when the family accepts a
    /// non-specialist site (`None` for every other case).
    pub hub_reason: Option<HubReason>,
}

/// Why a case that could be done locally is booked at a specialist centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubReason {
    /// No list at a non-specialist site the family accepts, that the child may go on, has room
    /// for the case in this plan.
    NoLocalCapacity,
    /// A local list has room, but the hub list is worth more under the objective (an earlier date,
    /// before the due date) by more than the hub cost.
    HubBetterValue,
}

impl HubReason {
    /// The stable code used in responses.
    pub fn code(self) -> &'static str {
        match self {
            HubReason::NoLocalCapacity => "no_local_capacity",
            HubReason::HubBetterValue => "hub_better_value",
        }
    }

    /// The reason of a stable code, if it names one.
    pub fn from_code(code: &str) -> Option<HubReason> {
        [HubReason::NoLocalCapacity, HubReason::HubBetterValue]
            .into_iter()
            .find(|h| h.code() == code)
    }
}

/// One list of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPlan {
    pub session: SessionIx,
    pub phase: Phase,
    pub cases: Vec<CasePlan>,
    pub booked_minutes: u32,
    pub utilisation: f64,
    pub cases_target: u32,
    pub release_candidate: bool,
}

/// A patient the plan does not book, and why (most decisive reason first).
#[derive(Debug, Clone, PartialEq)]
pub struct Unallocated {
    pub patient: PatientIx,
    pub reasons: Vec<RuleCode>,
    pub detail: String,
}

/// An existing booking the plan moves (`to`: its new list) or drops (`to: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub patient: PatientIx,
    pub from: SessionIx,
    pub to: Option<SessionIx>,
}

/// A pinned booking that breaks a rule: it stays, and a person must look.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub patient: PatientIx,
    pub session: SessionIx,
    pub reasons: Vec<RuleCode>,
}

/// Patients of one priority booked and left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorityCount {
    pub priority: Priority,
    pub booked: u32,
    pub unallocated: u32,
}

/// Mean utilisation of a site's lists with cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteUtilisation {
    pub site: SiteIx,
    pub utilisation: f64,
    /// Lists with cases at the site.
    pub lists: u32,
}

/// Day cases and overnight stays of one site's cases in the plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteDayCases {
    pub site: SiteIx,
    /// Cases booked at the site (pool cases and held bookings).
    pub cases: u32,
    /// Of them, cases without an overnight stay.
    pub day_cases: u32,
    /// The most overnight cases on one night at the site.
    pub peak_overnight: u32,
}

impl SiteDayCases {
    /// The planned day-case rate: day cases over cases (1 without cases).
    pub fn rate(&self) -> f64 {
        if self.cases == 0 {
            1.0
        } else {
            f64::from(self.day_cases) / f64::from(self.cases)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kpis {
    pub by_priority: Vec<PriorityCount>,
    pub booked: u32,
    pub unallocated: u32,
    pub due_date_breaches: u32,
    /// Children booked after their procedure's age window closes (part of the breaches).
    pub age_window_booked_past: u32,
    /// Children left unbooked with their procedure's age window closing inside the horizon.
    pub age_window_left_past: u32,
    /// Booked cases that need no specialist centre, of children whose family accepts a
    /// non-specialist site (right procedure, right place).
    pub non_complex_booked: u32,
    /// Of them, cases booked at a specialist centre.
    pub non_complex_at_hubs: u32,
    /// Minutes of pool cases booked at specialist centres.
    pub hub_minutes: u32,
    /// Of them, minutes of children who need a specialist centre (complex cases, infants under the
    /// specialist age, ex-premature infants at risk).
    pub hub_minutes_complex: u32,
    pub utilisation: f64,
    pub utilisation_by_site: Vec<SiteUtilisation>,
    /// Every site with cases in the plan, in site order.
    pub day_cases_by_site: Vec<SiteDayCases>,
    pub lists_on_target: u32,
    pub lists_with_target: u32,
    pub over_18_weeks_booked: u32,
    pub over_18_weeks_left: u32,
    pub over_52_weeks_booked: u32,
    pub over_52_weeks_left: u32,
    pub moves: u32,
    pub release_candidates: u32,
}

/// A complete plan for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub status: PlanStatus,
    pub planner: PlannerKind,
    /// Each patient's list, or `None` when unallocated.
    pub assignment: Vec<Option<SessionIx>>,
    pub lists: Vec<ListPlan>,
    pub unallocated: Vec<Unallocated>,
    pub moves: Vec<Move>,
    pub conflicts: Vec<Conflict>,
    pub kpis: Kpis,
    pub stats: SolverStats,
}
