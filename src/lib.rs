//! # theatre-optimiser
//!
//! Plans NHS operating-theatre lists for children and young people. A booking system sends the
//! theatre sessions of the coming weeks and the booking pool; the service answers with proposed
//! list allocations that follow 6-4-2 scheduling, HVLC cases-per-list targets and age-appropriate
//! list rules, and says why every patient left unallocated could not be booked.
//!
//! The layers, top down as a request flows (ARCHITECTURE.md has the table of who may import whom,
//! and `tests/integration/architecture.rs` holds the code to it):
//!
//! - [`api`]: the only door for proto types: conversion to and from the domain (every violation
//!   at once), [`api::propose`], the gRPC service and server, what-if scenarios.
//! - [`planning`]: [`planning::propose`] plans a validated request and checks the plan: the
//!   baseline, the objective, the optimiser's models, the plan's lists, reasons and KPIs.
//! - [`check`]: the independent plan checker, beside the planner and sharing none of its code.
//! - [`rules`]: one pure function per eligibility rule, each naming its [`domain::RuleCode`].
//! - [`domain`]: the request, the policy and its 6-4-2 phases, the calendar, the plan's types.
//! - [`io`] (CSV import, the HTML report, the text summary) and [`synth`] (the realistic
//!   generator) read and write the API's proto messages.
//!
//! The binaries (`src/main.rs` with `cli/`, and `src/bin/theatre-load/`) sit on top.

pub mod api;
pub mod check;
pub mod domain;
pub mod io;
pub mod planning;
pub mod rules;
pub mod synth;
