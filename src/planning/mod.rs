//! Planning a validated request, transport-free: [`propose`] is what the gRPC service, the command
//! line and what-if all call. The pipeline (`pipeline.rs`): a [`crate::domain::PlanningRequest`]
//! (validated by construction) is planned by `solve` (eligibility from `rules`, the `baseline`
//! first-fit, then the optimiser's `model` per independent component, every plan valued by
//! `objective`), built into a plan by `plan` (order, times, reasons, KPIs), and checked by
//! `check` before it is returned.
//!
//! Imports: `check`, `rules`, `domain`.

pub mod baseline;
pub mod beds;
pub mod desk;
pub mod model;
pub mod objective;
mod pipeline;
pub mod plan;
pub mod solve;

pub use model::highs_run::SolverError;
pub use pipeline::{propose, propose_with, PlanError};
pub use solve::{Progress, ProgressSink, SolveOptions};
