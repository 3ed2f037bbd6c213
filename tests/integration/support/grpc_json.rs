//! A raw gRPC client for JSON messages (`application/grpc+json`): the caller's bytes go on the
//! wire as they are (one gRPC frame), so JSON that does not decode reaches the server too.

use http_body_util::BodyExt;
use prost::bytes::Bytes;
use theatre_optimiser::api::grpc_json::GRPC_JSON;
use tonic::transport::Channel;
use tonic::Status;

/// What a JSON call answered: the response message's JSON, or the status.
pub type JsonAnswer = Result<Vec<u8>, Status>;

/// Calls `method` (e.g. `ProposeAllocations`) of the optimiser service with `json` as the one
/// request message. Checks that a JSON call is answered in JSON.
pub async fn call(channel: &Channel, method: &str, json: &[u8]) -> JsonAnswer {
    let mut frame = Vec::with_capacity(json.len() + 5);
    frame.push(0); // not compressed
    frame.extend_from_slice(&u32::try_from(json.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(json);
    let request = http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://localhost/theatre.optimiser.v1.TheatreOptimiser/{method}"
        ))
        .header(http::header::CONTENT_TYPE, GRPC_JSON)
        .header("te", "trailers")
        .body(tonic::body::Body::new(http_body_util::Full::new(Bytes::from(
            frame,
        ))))
        .unwrap();
    let mut channel = channel.clone();
    std::future::poll_fn(|cx| tower_service::Service::poll_ready(&mut channel, cx))
        .await
        .unwrap();
    let response = tower_service::Service::call(&mut channel, request)
        .await
        .expect("the server answers over HTTP/2");
    assert_eq!(
        response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(GRPC_JSON),
        "a JSON call is answered in JSON"
    );
    let (parts, body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        if status.code() != tonic::Code::Ok {
            return Err(status);
        }
    }
    let collected = body.collect().await.expect("the response body arrives");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let bytes = collected.to_bytes();
    if let Some(status) = Status::from_header_map(&trailers) {
        if status.code() != tonic::Code::Ok {
            return Err(status);
        }
    }
    assert!(bytes.len() >= 5, "an OK answer carries one message");
    let length = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
    assert_eq!(bytes.len(), 5 + length, "one message frame");
    Ok(bytes[5..].to_vec())
}

/// A channel to a test server's address.
pub async fn channel(url: String) -> Channel {
    Channel::from_shared(url).unwrap().connect().await.unwrap()
}
