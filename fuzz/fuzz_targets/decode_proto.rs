//! Arbitrary bytes as a protobuf `ProposeAllocationsRequest`, then validation (and, when accepted,
//! a baseline plan re-checked by the plan checker). Must never panic, hang or blow up memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use theatre_optimiser::api::proto as pb;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = pb::ProposeAllocationsRequest::decode(data) {
        theatre_optimiser_fuzz::exercise(request);
    }
});
