//! The booking desk's requests answered: validated (`convert::desk`), answered by
//! `planning::desk` and converted back. The same path for the gRPC service and the command line.
//! Each answer is timed in two spans, `validate` and `answer`, so validation's share shows.

use crate::api::convert::desk::{
    backfill_query, backfill_response, check_query, check_response, offer_query, offer_response, validation,
};
use crate::api::convert::response::to_response;
use crate::api::error::ProposeError;
use crate::api::proto as pb;
use crate::planning::desk;

/// `RecommendBackfill`: who in the pool can fill a list's free minutes now.
pub fn recommend_backfill(
    r: pb::RecommendBackfillRequest,
) -> Result<pb::RecommendBackfillResponse, ProposeError> {
    let (req, ask) = {
        let _span = tracing::info_span!("validate").entered();
        backfill_query(r)?
    };
    let _span = tracing::info_span!("answer").entered();
    let answer = desk::recommend_backfill(&req, ask);
    Ok(backfill_response(&req, &ask, &answer))
}

/// `OfferDates`: the lists one child can be offered.
pub fn offer_dates(r: pb::OfferDatesRequest) -> Result<pb::OfferDatesResponse, ProposeError> {
    let (req, ask) = {
        let _span = tracing::info_span!("validate").entered();
        offer_query(r)?
    };
    let _span = tracing::info_span!("answer").entered();
    let answer = desk::offer_dates(&req, ask);
    Ok(offer_response(&req, &answer))
}

/// `CheckPlan`: the independent checker's verdict on a plan made elsewhere. Logs count the
/// violations by rule; they never name a patient.
pub fn check_plan(r: pb::CheckPlanRequest) -> Result<pb::CheckPlanResponse, ProposeError> {
    let (req, lists) = {
        let _span = tracing::info_span!("validate").entered();
        check_query(r)?
    };
    let _span = tracing::info_span!("answer").entered();
    let (plan, violations) = desk::check_hand_plan(&req, &lists);
    if !violations.is_empty() {
        tracing::info!(count = violations.len(), "the plan breaks hard rules");
    }
    let kpis = to_response(&req, &plan).kpis;
    Ok(check_response(&req, &plan, kpis, &violations))
}

/// `ValidateRequest`: every violation of a world, as data.
pub fn validate_request(r: pb::ValidateRequestRequest) -> pb::ValidateRequestResponse {
    let _span = tracing::info_span!("validate").entered();
    validation(r)
}
