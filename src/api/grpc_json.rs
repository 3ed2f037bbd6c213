//! gRPC with JSON messages (`application/grpc+json`), for booking systems that hold their export
//! as JSON: the same service, the same handlers and the same validation as protobuf; only the
//! codec differs. The messages use the canonical proto3 JSON mapping already used for request
//! files (pbjson: lowerCamelCase or the proto's own names, enums by name). [`ByContentType`] sends
//! each call to the protobuf or the JSON server by its `content-type`.
//!
//! JSON that does not decode is refused as bad input (`INVALID_ARGUMENT` with a
//! `google.rpc.BadRequest` field violation at the path where decoding stopped, in the proto's
//! field names), never as an internal error. Its description names the kind of fault and its line
//! and column, never the value found there.

use std::marker::PhantomData;
use std::task::{Context, Poll};

use prost::bytes::{Buf, BufMut};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::api::error::cut_caller_text;

/// The generated server of the JSON codec (from `build.rs`).
#[allow(clippy::all, missing_docs, unused_qualifications)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/grpc_json/theatre.optimiser.v1.rs"));
}
pub use generated::theatre_optimiser_server::TheatreOptimiserServer as TheatreOptimiserJsonServer;

/// The content type of gRPC with JSON messages.
pub const GRPC_JSON: &str = "application/grpc+json";

/// A tonic codec whose messages are canonical proto3 JSON (the pbjson serde impls).
#[derive(Debug)]
pub struct JsonCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for JsonCodec<T, U> {
    fn default() -> Self {
        JsonCodec(PhantomData)
    }
}

impl<T, U> Codec for JsonCodec<T, U>
where
    T: Serialize + Send + 'static,
    U: DeserializeOwned + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = JsonEncoder<T>;
    type Decoder = JsonDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        JsonEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        JsonDecoder(PhantomData)
    }
}

/// Writes one message as JSON.
#[derive(Debug)]
pub struct JsonEncoder<T>(PhantomData<T>);

impl<T: Serialize> Encoder for JsonEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        serde_json::to_writer(dst.writer(), &item)
            .map_err(|e| Status::internal(format!("encoding a JSON response: {}", e.classify_name())))
    }
}

/// Reads one message from JSON; what does not decode is refused with its field path.
#[derive(Debug)]
pub struct JsonDecoder<U>(PhantomData<U>);

impl<U: DeserializeOwned> Decoder for JsonDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        decode_json(&bytes).map(Some).map_err(|(field, description)| {
            let mut details = ErrorDetails::new();
            details.add_bad_request_violation(cut_caller_text(&field), description);
            Status::with_error_details(
                Code::InvalidArgument,
                "invalid request: the JSON does not decode; see BadRequest details",
                details,
            )
        })
    }
}

/// Decodes `bytes` as one JSON message, or says where and why not: (field path, description).
/// The path uses the proto's field names (`sessions[0].start_time`); `request` is the whole
/// message. Nothing the caller sent appears in the description.
pub fn decode_json<U: DeserializeOwned>(bytes: &[u8]) -> Result<U, (String, String)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| violation(e.path(), e.inner()))?;
    de.end().map_err(|e| ("request".to_string(), describe(&e)))?;
    Ok(value)
}

fn violation(path: &serde_path_to_error::Path, e: &serde_json::Error) -> (String, String) {
    let mut field = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => push_field(&mut field, key),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    // A field given twice is itself the place of the fault (an unknown one is on the path already).
    if let Some(name) = named_field(e, "duplicate field `") {
        let name = snake_case(&name);
        if !(field == name || field.ends_with(&format!(".{name}"))) {
            push_field(&mut field, &name);
        }
    }
    if field.is_empty() {
        field.push_str("request");
    }
    (field, describe(e))
}

fn push_field(path: &mut String, json_name: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(&snake_case(json_name));
}

/// A proto field's name from its JSON name (`startTime` -> `start_time`); proto names pass
/// unchanged.
fn snake_case(json_name: &str) -> String {
    let mut out = String::with_capacity(json_name.len() + 4);
    for c in json_name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The field name in serde's "duplicate field `x`" message.
fn named_field(e: &serde_json::Error, prefix: &str) -> Option<String> {
    let message = e.to_string();
    let rest = message.strip_prefix(prefix)?;
    rest.find('`').map(|end| rest[..end].to_string())
}

/// What went wrong and where, without the value found: serde names it in "invalid type: string
/// \"...\", expected ...", so only the expectation after the last ", expected " is kept.
fn describe(e: &serde_json::Error) -> String {
    let at = format!("line {}, column {}", e.line(), e.column());
    let message = e.to_string();
    let what = match e.classify() {
        serde_json::error::Category::Syntax => "not valid JSON".to_string(),
        serde_json::error::Category::Eof => "the JSON ends too early".to_string(),
        serde_json::error::Category::Io => "the JSON could not be read".to_string(),
        serde_json::error::Category::Data => {
            let expected = message
                .rfind(", expected ")
                .map(|i| &message[i + ", expected ".len()..])
                .map(|rest| rest.rsplit_once(" at line ").map_or(rest, |(head, _)| head));
            if message.starts_with("unknown field") {
                "no such field in this message".to_string()
            } else if message.starts_with("duplicate field") {
                "field given twice (its JSON and proto names count as one)".to_string()
            } else if message.starts_with("unknown variant") || expected.is_some_and(|e| e.contains("one of"))
            {
                "not a value of this enum".to_string()
            } else if let Some(expected) = expected.filter(|_| message.starts_with("invalid ")) {
                format!("wrong type or value: expected {expected}")
            } else {
                "wrong type or value for this field".to_string()
            }
        }
    };
    format!("{what} ({at})")
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}

/// The optimiser service in both encodings: calls whose `content-type` is
/// `application/grpc+json` (or `application/grpc+json; ...`) go to the JSON server, every other
/// call to the protobuf one. JSON answers carry the JSON content type.
#[derive(Debug, Clone)]
pub struct ByContentType<P, J> {
    proto: P,
    json: J,
}

impl<P, J> ByContentType<P, J> {
    pub fn new(proto: P, json: J) -> Self {
        ByContentType { proto, json }
    }
}

impl<P: tonic::server::NamedService, J> tonic::server::NamedService for ByContentType<P, J> {
    const NAME: &'static str = P::NAME;
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(GRPC_JSON))
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<P, J, B, R> tower_service::Service<http::Request<B>> for ByContentType<P, J>
where
    P: tower_service::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    J: tower_service::Service<http::Request<B>, Response = http::Response<R>, Error = P::Error>
        + Clone
        + Send
        + 'static,
    P::Future: Send + 'static,
    J::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = P::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Both generated servers are always ready; each call is readied on its own clone below.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if is_json(request.headers()) {
            let mut json = self.json.clone();
            Box::pin(async move {
                std::future::poll_fn(|cx| json.poll_ready(cx)).await?;
                let mut response = json.call(request).await?;
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(GRPC_JSON),
                );
                Ok(response)
            })
        } else {
            let mut proto = self.proto.clone();
            Box::pin(async move {
                std::future::poll_fn(|cx| proto.poll_ready(cx)).await?;
                proto.call(request).await
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::proto as pb;

    fn refusal(json: &str) -> (String, String) {
        decode_json::<pb::ProposeAllocationsRequest>(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_wrong_type_is_named_by_its_proto_path_without_its_value() {
        let (field, description) =
            refusal(r#"{"sessions": [{"id": "S1"}, {"startTime": "secret-7", "minutes": "secret-9"}]}"#);
        assert_eq!(field, "sessions[1].minutes");
        assert!(!description.contains("secret"), "{description}");
        assert!(description.contains("line 1"), "{description}");
    }

    #[test]
    fn unknown_and_duplicate_fields_are_the_fault_itself() {
        assert_eq!(
            refusal(r#"{"sites": [{"id": "A", "colour": 1}]}"#).0,
            "sites[0].colour"
        );
        let (field, description) = refusal(r#"{"planningDate": "secret-1", "planning_date": "secret-2"}"#);
        assert_eq!(field, "planning_date");
        assert!(!description.contains("secret"), "{description}");
    }

    #[test]
    fn not_json_at_all_is_the_whole_request() {
        assert_eq!(refusal("").0, "request");
        assert_eq!(refusal("[]").0, "request");
        assert_eq!(refusal("{} trailing").0, "request");
    }

    #[test]
    fn only_the_json_content_type_goes_to_json() {
        let with = |v: &'static str| {
            let mut h = http::HeaderMap::new();
            h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(v));
            is_json(&h)
        };
        assert!(with("application/grpc+json"));
        assert!(with("application/grpc+json; charset=utf-8"));
        assert!(!with("application/grpc"));
        assert!(!with("application/grpc+proto"));
        assert!(!is_json(&http::HeaderMap::new()));
    }
}
