//! # theatre-optimiser
//!
//! Plans NHS operating-theatre lists for children and young people. A booking system sends the
//! theatre sessions of the coming weeks and the booking pool; the service answers with proposed
//! list allocations that follow 6-4-2 scheduling, HVLC cases-per-list targets and age-appropriate
//! list rules, and says why every patient left unallocated could not be booked.
//!
//! Data flow:
//! 1. `convert::request` turns the gRPC/JSON request into a validated [`domain::PlanningRequest`].
//! 2. `rules` decides which lists each patient may go on (one function per hard rule).
//! 3. `baseline` books first-fit; `solve` splits the request into independent components and
//!    solves one MILP per component (`model`, good_lp on HiGHS), warm-started from the baseline.
//! 4. `plan` orders each list, times the cases, explains the unallocated and computes KPIs.
//! 5. `check` independently re-checks every hard rule on the plan before it is returned.

pub mod baseline;
pub mod bench;
pub mod check;
pub mod config;
pub mod convert;
pub mod domain;
pub mod import;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod plan;
pub mod proto;
pub mod report;
pub mod rules;
pub mod scenario;
pub mod server;
pub mod service;
pub mod solve;
pub mod summary;
pub mod synth;
