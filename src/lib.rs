//! # theatre-optimiser
//!
//! Plans NHS operating-theatre lists for children and young people. A booking system sends the
//! theatre sessions of the coming weeks and the booking pool; the service answers with proposed
//! list allocations that follow 6-4-2 scheduling, HVLC cases-per-list targets and age-appropriate
//! list rules, and says why every patient left unallocated could not be booked.

pub mod api;
pub mod check;
pub mod domain;
pub mod io;
pub mod planning;
pub mod rules;
pub mod synth;
