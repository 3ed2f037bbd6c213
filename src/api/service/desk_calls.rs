//! How the service admits a booking-desk call: its world sent (within the size limits) or held
//! under its `world_id`, then answered off the async runtime without a solve slot.

use std::sync::Arc;

use crate::api::desk;
use crate::api::error::ProposeError;
use crate::api::proto as pb;
use crate::api::service::OptimiserService;
use crate::planning::desk::World;

impl OptimiserService {
    /// A desk request's world within the size limits (a missing world is validation's to refuse).
    pub(super) fn world_size(
        &self,
        world: Option<&pb::ProposeAllocationsRequest>,
    ) -> Result<(), ProposeError> {
        world.map_or(Ok(()), |w| self.check_size(w))
    }

    /// A desk request's world: sent (within the size limits; `None` here) or held under
    /// `world_id` (NOT_FOUND when not held). Both given is left to validation to refuse.
    pub(super) fn held(
        &self,
        world: Option<&pb::ProposeAllocationsRequest>,
        world_id: &str,
    ) -> Result<Option<Arc<World>>, ProposeError> {
        match world {
            Some(w) => self.check_size(w).map(|()| None),
            None if world_id.is_empty() => Ok(None),
            None => self
                .worlds
                .get(world_id)
                .map(Some)
                .ok_or(ProposeError::UnknownWorld),
        }
    }

    /// Answers a booking-desk request off the async runtime, once its world is known (`held`: the
    /// world held under its `world_id`, if any); no solve slot is taken (the answers take
    /// milliseconds, and no solver runs).
    pub(super) async fn desk<T: Send + 'static>(
        &self,
        held: Result<Option<Arc<World>>, ProposeError>,
        span: tracing::Span,
        answer: impl FnOnce(Option<Arc<World>>) -> Result<T, ProposeError> + Send + 'static,
    ) -> Result<T, ProposeError> {
        self.metrics.requests.inc();
        let result = match held {
            Err(e) => Err(e),
            Ok(held) => {
                let dispatch = tracing::dispatcher::get_default(|d| d.clone());
                tokio::task::spawn_blocking(move || {
                    tracing::dispatcher::with_default(&dispatch, || {
                        let _entered = span.enter();
                        // The panic payload is not logged: it could quote request data.
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer(held)))
                            .unwrap_or_else(|_| {
                                tracing::error!("a desk answer panicked; answering INTERNAL");
                                Err(ProposeError::Internal("the answer panicked".into()))
                            })
                    })
                })
                .await
                .map_err(|e| ProposeError::Internal(format!("desk task failed: {e}")))
                .and_then(|r| r)
            }
        };
        if result.is_err() {
            self.metrics.errors.inc();
        }
        result
    }

    /// `LoadWorld`: the world validated and held; its id, counts and idle time answered.
    pub(super) async fn hold_world(
        &self,
        request: pb::LoadWorldRequest,
    ) -> Result<pb::LoadWorldResponse, ProposeError> {
        let span = tracing::info_span!("load_world");
        let sized = self.world_size(request.world.as_ref()).map(|()| None);
        let worlds = Arc::clone(&self.worlds);
        self.desk(sized, span, move |_| {
            let world = desk::load_world(request)?;
            let (sessions, patients) = (world.req.sessions.len() as i32, world.req.patients.len() as i32);
            let world_id = worlds
                .load(world)
                .map_err(|e| ProposeError::Internal(format!("no world id: {e}")))?;
            tracing::info!(sessions, patients, held = worlds.len(), "world loaded");
            Ok(pb::LoadWorldResponse {
                world_id,
                sessions,
                patients,
                idle_seconds: worlds.idle().as_secs().min(i32::MAX as u64) as i32,
            })
        })
        .await
    }
}
