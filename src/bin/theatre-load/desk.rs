//! The booking desk's calls under load: `--rpc backfill | offer | check | validate` sends
//! RecommendBackfill, OfferDates, CheckPlan or ValidateRequest on generated worlds instead of
//! plans. Each call asks about another list (backfill) or another pool patient (offer) in turn;
//! a check sends the world's held bookings as the plan.

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

/// What each world is asked about: its open lists and its pool, and its held bookings as lists.
pub(crate) struct DeskCalls {
    rpc: LoadRpc,
    worlds: Vec<pb::ProposeAllocationsRequest>,
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
            lists,
            pool,
            held,
        }
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
        let world = Some(self.worlds[w].clone());
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
                };
                client.offer_dates(call(message, timeout, token)).await.map(drop)
            }
            LoadRpc::CheckPlan => {
                let message = pb::CheckPlanRequest {
                    world,
                    lists: self.held[w].clone(),
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
