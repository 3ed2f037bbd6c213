//! The booking desk's calls under load: `--rpc backfill | offer | check | validate` sends
//! RecommendBackfill, OfferDates, CheckPlan or ValidateRequest on generated worlds instead of
//! plans. Each call asks about another list (backfill) or another pool patient (offer) in turn;
//! a check sends the world's held bookings as the plan. With `--world held` (the default) each
//! world is loaded once (LoadWorld) and the calls name it by id, as a booking system would between
//! changes; `--world sent` sends the whole world with every call. ValidateRequest always sends it.

use std::time::Duration;

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;
use tonic::Status;

/// Which RPC a load run sends.
#[derive(Clone, Copy, clap::ValueEnum, Debug, PartialEq, Eq)]
pub(crate) enum LoadRpc {
    /// ProposeAllocations (a whole plan).
    Propose,
    RecommendBackfill,
    OfferDates,
    CheckPlan,
    ValidateRequest,
}

impl LoadRpc {
    pub(crate) fn name(self) -> &'static str {
        match self {
            LoadRpc::Propose => "ProposeAllocations",
            LoadRpc::RecommendBackfill => "RecommendBackfill",
            LoadRpc::OfferDates => "OfferDates",
            LoadRpc::CheckPlan => "CheckPlan",
            LoadRpc::ValidateRequest => "ValidateRequest",
        }
    }
}

/// How a desk call carries its world.
#[derive(Clone, Copy, clap::ValueEnum, Debug, PartialEq, Eq)]
pub(crate) enum WorldBy {
    /// Loaded once with LoadWorld; each call names it by `world_id`.
    Held,
    /// The whole world in every call.
    Sent,
}

/// What each world is asked about: its open lists and its pool, and its held bookings as lists.
pub(crate) struct DeskCalls {
    rpc: LoadRpc,
    worlds: Vec<pb::ProposeAllocationsRequest>,
    /// Each world's id on the server, once held (`hold`); empty when the worlds are sent.
    ids: Vec<String>,
    lists: Vec<Vec<String>>,
    pool: Vec<Vec<String>>,
    held: Vec<Vec<pb::PlannedList>>,
}

impl DeskCalls {
    pub(crate) fn new(rpc: LoadRpc, worlds: Vec<pb::ProposeAllocationsRequest>) -> DeskCalls {
        let lists = worlds
            .iter()
            .map(|w| {
                w.sessions
                    .iter()
                    .filter(|s| s.status != pb::SessionStatus::Released as i32)
                    .map(|s| s.id.clone())
                    .collect()
            })
            .collect();
        let pool = worlds
            .iter()
            .map(|w| {
                w.patients
                    .iter()
                    .filter(|p| !w.existing_bookings.iter().any(|b| b.patient_id == p.id))
                    .map(|p| p.id.clone())
                    .collect()
            })
            .collect();
        let held = worlds
            .iter()
            .map(|w| {
                let mut lists: Vec<pb::PlannedList> = Vec::new();
                for b in &w.existing_bookings {
                    match lists.iter_mut().find(|l| l.session_id == b.session_id) {
                        Some(l) => l.patient_ids.push(b.patient_id.clone()),
                        None => lists.push(pb::PlannedList {
                            session_id: b.session_id.clone(),
                            patient_ids: vec![b.patient_id.clone()],
                        }),
                    }
                }
                lists
            })
            .collect();
        DeskCalls {
            rpc,
            worlds,
            ids: Vec::new(),
            lists,
            pool,
            held,
        }
    }

    /// Loads every world on the server (LoadWorld), so that the calls name them by id. Not for
    /// ValidateRequest, whose work is the world sent.
    pub(crate) async fn hold(
        &mut self,
        client: &mut TheatreOptimiserClient<Channel>,
        token: Option<&MetadataValue<Ascii>>,
    ) -> Result<(), Status> {
        if matches!(self.rpc, LoadRpc::ValidateRequest | LoadRpc::Propose) {
            return Ok(());
        }
        for world in &self.worlds {
            let message = pb::LoadWorldRequest {
                world: Some(world.clone()),
            };
            let mut r = tonic::Request::new(message);
            if let Some(t) = token {
                r.metadata_mut().insert("authorization", t.clone());
            }
            self.ids.push(client.load_world(r).await?.into_inner().world_id);
        }
        Ok(())
    }

    /// Sends call `n`; `Ok` is an OK answer.
    pub(crate) async fn send(
        &self,
        client: &mut TheatreOptimiserClient<Channel>,
        n: u64,
        timeout: Duration,
        token: Option<&MetadataValue<Ascii>>,
    ) -> Result<(), Status> {
        let w = (n % self.worlds.len() as u64) as usize;
        let turn = (n / self.worlds.len() as u64) as usize;
        let (world, world_id) = match self.ids.get(w) {
            Some(id) => (None, id.clone()),
            None => (Some(self.worlds[w].clone()), String::new()),
        };
        fn call<T>(message: T, timeout: Duration, token: Option<&MetadataValue<Ascii>>) -> tonic::Request<T> {
            let mut r = tonic::Request::new(message);
            r.set_timeout(timeout);
            if let Some(t) = token {
                r.metadata_mut().insert("authorization", t.clone());
            }
            r
        }
        match self.rpc {
            LoadRpc::Propose => unreachable!("plans are sent by the load loop"),
            LoadRpc::RecommendBackfill => {
                let lists = &self.lists[w];
                let message = pb::RecommendBackfillRequest {
                    world,
                    session_id: lists[turn % lists.len()].clone(),
                    free_minutes: None,
                    limit: 10,
                    world_id,
                };
                client
                    .recommend_backfill(call(message, timeout, token))
                    .await
                    .map(drop)
            }
            LoadRpc::OfferDates => {
                let pool = &self.pool[w];
                let message = pb::OfferDatesRequest {
                    world,
                    patient: Some(pb::offer_dates_request::Patient::PatientId(
                        pool[turn % pool.len()].clone(),
                    )),
                    limit: 10,
                    world_id,
                };
                client.offer_dates(call(message, timeout, token)).await.map(drop)
            }
            LoadRpc::CheckPlan => {
                let message = pb::CheckPlanRequest {
                    world,
                    lists: self.held[w].clone(),
                    world_id,
                };
                client.check_plan(call(message, timeout, token)).await.map(drop)
            }
            LoadRpc::ValidateRequest => {
                let message = pb::ValidateRequestRequest { world };
                client
                    .validate_request(call(message, timeout, token))
                    .await
                    .map(drop)
            }
        }
    }
}
