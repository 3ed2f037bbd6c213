//! The API boundary: proto <-> domain. Nothing below this module sees a proto type.

pub mod request;
pub mod response;

pub use request::{FieldViolation, InvalidRequest};
