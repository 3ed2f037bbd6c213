//! Proto <-> domain, in both directions: `request` turns a proto request into a validated
//! [`crate::domain::PlanningRequest`] (every violation at once, `violations`; the policy and its
//! overrides, `policy`; a site and its beds, `site`), `response` turns a plan into the proto response.

pub mod desk;
mod policy;
pub mod request;
pub mod response;
mod site;
mod violations;

pub use violations::{
    FieldViolation, InvalidRequest, MAX_AGE_MONTHS, MAX_DAYS_AHEAD, MAX_MINUTES, MAX_TEXT_LEN,
};
