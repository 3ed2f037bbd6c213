//! The domain: what a request and a plan are, in the ward's words. Validated inputs (sites,
//! sessions, the booking pool, the bookings already held), the planning policy and its 6-4-2
//! phases, the calendar, every rule's code and sentence, and the plan's types.
//!
//! Imports: nothing of the crate. No I/O, no proto types, no solver.

pub mod calendar;
pub mod plan;
pub mod policy;
mod request;
mod rule_code;

pub use calendar::{months_between, Date, Phase};
pub use request::{
    BookingState, ExistingBooking, ListType, Patient, PatientIx, PlannerKind, PlanningRequest, PreopStatus,
    Priority, Session, SessionIx, Site, SiteIx,
};
pub use rule_code::RuleCode;
