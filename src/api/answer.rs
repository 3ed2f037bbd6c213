//! A proto request answered: validated into the domain, planned by [`planning::propose`] and
//! converted back. The same path for the gRPC service, the offline command line and what-if.

use std::time::Instant;

use crate::api::convert::response::to_response;
use crate::api::error::ProposeError;
use crate::api::proto as pb;
use crate::domain::plan::Plan;
use crate::domain::PlanningRequest;
use crate::planning::{self, SolveOptions, SolverError};

/// The solver behind [`propose_with`]: [`planning::solve::plan`] in production.
pub type Solver = dyn Fn(&PlanningRequest, &SolveOptions) -> Result<Plan, SolverError> + Send + Sync;

/// `opts.time_limit`, when set, counts from this call.
pub fn propose(
    request: pb::ProposeAllocationsRequest,
    opts: &SolveOptions,
) -> Result<pb::ProposeAllocationsResponse, ProposeError> {
    propose_with(request, opts, &planning::solve::plan)
}

/// [`propose`] with another solver behind the same validation, plan checker and conversion (a
/// test seam: a solver that plants a fault shows that the checker stands between it and the
/// answer).
pub fn propose_with(
    request: pb::ProposeAllocationsRequest,
    opts: &SolveOptions,
    solver: &Solver,
) -> Result<pb::ProposeAllocationsResponse, ProposeError> {
    let started = Instant::now();
    let req = {
        let _span = tracing::info_span!("validate").entered();
        PlanningRequest::try_from(request)?
    };
    // A time limit counts from the call, so validation time comes out of it.
    let adjusted;
    let opts = match opts.time_limit {
        Some(limit) => {
            adjusted = SolveOptions {
                time_limit: Some(limit.saturating_sub(started.elapsed())),
                ..opts.clone()
            };
            &adjusted
        }
        None => opts,
    };
    let plan = planning::propose_with(&req, opts, solver)?;
    let _span = tracing::info_span!("extract").entered();
    Ok(to_response(&req, &plan))
}
