//! Files for people.

pub mod import;
pub mod report;
pub mod summary;
