//! Planning a request.

pub mod baseline;
pub mod model;
pub mod objective;
pub mod plan;
pub mod solve;
