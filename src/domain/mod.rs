//! The domain.

pub mod calendar;
pub mod policy;
mod request;

pub use calendar::{months_between, Date, Phase};
pub use request::*;
