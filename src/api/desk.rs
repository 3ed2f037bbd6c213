//! The booking desk's requests answered: validated (`convert::desk`), answered by
//! `planning::desk` and converted back. The same path for the gRPC service and the command line.
//! Each answer is timed in two spans, `validate` and `answer`, so validation's share shows.

use std::sync::Arc;

use crate::api::convert::desk::{
    backfill_query, backfill_response, check_query, check_response, offer_query, offer_response, validation,
    world,
};
use crate::api::convert::response::kpis;
use crate::api::error::ProposeError;
use crate::api::proto as pb;
use crate::planning::desk::{self, World};

/// `RecommendBackfill`: who in the pool can fill a list's free minutes now. `held` is the world
/// named by the request's `world_id`, when one is held under it (so for every desk call).
pub fn recommend_backfill(
    r: pb::RecommendBackfillRequest,
    held: Option<Arc<World>>,
) -> Result<pb::RecommendBackfillResponse, ProposeError> {
    let (world, ask) = {
        let _span = tracing::info_span!("validate").entered();
        backfill_query(r, held)?
    };
    let _span = tracing::info_span!("answer").entered();
    let answer = desk::recommend_backfill(&world.req, ask);
    Ok(backfill_response(&world.req, &ask, &answer))
}

/// `OfferDates`: the lists one child can be offered.
pub fn offer_dates(
    r: pb::OfferDatesRequest,
    held: Option<Arc<World>>,
) -> Result<pb::OfferDatesResponse, ProposeError> {
    let (world, ask) = {
        let _span = tracing::info_span!("validate").entered();
        offer_query(r, held)?
    };
    let _span = tracing::info_span!("answer").entered();
    let answer = desk::offer_dates(&world.req, ask);
    Ok(offer_response(&world.req, &answer))
}

/// `CheckPlan`: the independent checker's verdict on a plan made elsewhere. Logs count the
/// violations by rule; they never name a patient.
pub fn check_plan(
    r: pb::CheckPlanRequest,
    held: Option<Arc<World>>,
) -> Result<pb::CheckPlanResponse, ProposeError> {
    let (world, lists) = {
        let _span = tracing::info_span!("validate").entered();
        check_query(r, held)?
    };
    let _span = tracing::info_span!("answer").entered();
    let (plan, violations) = desk::check_hand_plan(&world, &lists);
    if !violations.is_empty() {
        tracing::info!(count = violations.len(), "the plan breaks hard rules");
    }
    let kpis = kpis(&world.req, &plan);
    Ok(check_response(&world.req, &plan, Some(kpis), &violations))
}

/// `ValidateRequest`: every violation of a world, as data.
pub fn validate_request(r: pb::ValidateRequestRequest) -> pb::ValidateRequestResponse {
    let _span = tracing::info_span!("validate").entered();
    validation(r)
}

/// `LoadWorld`: the world validated (refused with every violation, under `world.`), to be held.
pub fn load_world(r: pb::LoadWorldRequest) -> Result<World, ProposeError> {
    let _span = tracing::info_span!("validate").entered();
    Ok(world(r.world)?)
}
