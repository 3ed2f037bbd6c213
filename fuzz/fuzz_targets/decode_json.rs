//! Arbitrary bytes as canonical proto3 JSON of a `ProposeAllocationsRequest` (serde / pbjson),
//! then validation (and, when accepted, a baseline plan re-checked by the plan checker). Must
//! never panic, hang or blow up memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use theatre_optimiser::api::proto as pb;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<pb::ProposeAllocationsRequest>(data) {
        theatre_optimiser_fuzz::exercise(request);
    }
});
