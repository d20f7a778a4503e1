//! The messages of `graphql-transport-ws` (graphql-ws's PROTOCOL.md): what a client may send,
//! checked as graphql-ws's `validateMessage` and server check them, and the text of what the
//! server sends. No I/O here, so that every rule has a unit test.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::graphql::prescan::json_nesting;
use crate::http::graphql::{Params, params};

/// Longest operation id accepted, in bytes. Ids are echoed in every message of their operation
/// and kept while it runs; graphql-ws clients send UUIDs (36 characters).
pub const MAX_ID: usize = 128;

/// Levels of JSON a message may nest beyond the query limit's: the message and its payload
/// stand around the variables and extensions.
const MESSAGE_LEVELS: usize = 2;

/// A message from the client, checked.
pub enum ClientMessage {
    /// `connection_init`, with its payload (an object, or none).
    ConnectionInit(Option<Map<String, Value>>),
    /// `ping`, with its payload (echoed in the `pong`).
    Ping(Option<Map<String, Value>>),
    /// `pong`: only shows that the client is alive.
    Pong,
    /// `subscribe`: an operation to run under `id`.
    Subscribe { id: String, params: Box<Params> },
    /// `complete`: the client is no longer interested in operation `id`.
    Complete { id: String },
}

/// A close frame: code and reason (at most 123 bytes, as a close frame's payload allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: Cow<'static, str>,
}

impl Close {
    pub const fn new(code: u16, reason: &'static str) -> Self {
        Self {
            code,
            reason: Cow::Borrowed(reason),
        }
    }

    /// A close with a reason made at run time, cut to what a close frame holds.
    pub fn with(code: u16, reason: impl Into<String>) -> Self {
        let mut reason: String = reason.into();
        if reason.len() > 123 {
            let mut end = 120;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
            reason.push('…');
            // '…' is 3 bytes: 120 + 3 = 123.
        }
        Self {
            code,
            reason: Cow::Owned(reason),
        }
    }
}

/// The close codes (the table in `ws.rs`'s module docs says when each is used).
pub mod code {
    /// A message that is not valid `graphql-transport-ws` (graphql-ws: `BadRequest`).
    pub const BAD_REQUEST: u16 = 4400;
    /// `subscribe` before `connection_ack` (graphql-ws: `Unauthorized`).
    pub const UNAUTHORIZED: u16 = 4401;
    /// An unknown or revoked API key (graphql-ws: `Forbidden`).
    pub const FORBIDDEN: u16 = 4403;
    /// The upgrade did not ask for `graphql-transport-ws` (graphql-ws:
    /// `SubprotocolNotAcceptable`).
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    /// No `connection_init` in time (graphql-ws: `ConnectionInitialisationTimeout`).
    pub const INIT_TIMEOUT: u16 = 4408;
    /// An operation id already in flight (graphql-ws: `SubscriberAlreadyExists`).
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    /// A second `connection_init` (graphql-ws: `TooManyInitialisationRequests`).
    pub const TOO_MANY_INITS: u16 = 4429;
    /// Idle: nothing arrived within the idle timeout, or the server shuts down (RFC 6455
    /// "going away"; graphql-ws's client reconnects).
    pub const GOING_AWAY: u16 = 1001;
    /// A message larger than the most allowed (RFC 6455 "message too big"; fatal for
    /// graphql-ws's client, which does not resend it).
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The client does not read fast enough, or the database is unavailable (RFC 6455 "try
    /// again later"; graphql-ws's client treats it as retryable and reconnects).
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// Reads one text message. The error is the reason of the 4400 close, in graphql-ws's words
/// where it has them.
pub fn parse(text: &str, max_nesting: usize) -> Result<ClientMessage, String> {
    let nesting = json_nesting(text.as_bytes());
    let most = max_nesting + MESSAGE_LEVELS;
    if nesting > most {
        return Err(format!(
            "the message nests {nesting} levels deep; the most allowed is {most}"
        ));
    }
    let value = crate::json::from_str(text).map_err(|e| format!("the message is not JSON: {e}"))?;
    let Value::Object(mut message) = value else {
        return Err("Message is expected to be an object".into());
    };
    let kind = match message.get("type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        None | Some(Value::Null) => return Err("Message is missing the 'type' property".into()),
        Some(_) => return Err("Message expects the 'type' property to be a string".into()),
    };
    match kind.as_str() {
        "connection_init" => Ok(ClientMessage::ConnectionInit(optional_payload(
            &kind,
            &mut message,
        )?)),
        "ping" => Ok(ClientMessage::Ping(optional_payload(&kind, &mut message)?)),
        "pong" => optional_payload(&kind, &mut message).map(|_| ClientMessage::Pong),
        "subscribe" => {
            let id = id(&kind, &message)?;
            let payload = message.remove("payload").unwrap_or(Value::Null);
            if !payload.is_object() {
                return Err(
                    "\"subscribe\" message expects the 'payload' property to be an object".into(),
                );
            }
            let params = params(&payload).map_err(|e| format!("\"subscribe\" payload: {e}"))?;
            Ok(ClientMessage::Subscribe {
                id,
                params: Box::new(params),
            })
        }
        "complete" => Ok(ClientMessage::Complete {
            id: id(&kind, &message)?,
        }),
        "connection_ack" | "next" | "error" => {
            Err(format!("Unexpected message of type {kind} received"))
        }
        _ => Err(format!("Invalid message 'type' property \"{kind}\"")),
    }
}

/// The payload of `connection_init`, `ping` and `pong`: an object, or null, or missing.
fn optional_payload(
    kind: &str,
    message: &mut Map<String, Value>,
) -> Result<Option<Map<String, Value>>, String> {
    match message.remove("payload") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(payload)) => Ok(Some(payload)),
        Some(_) => Err(format!(
            "\"{kind}\" message expects the 'payload' property to be an object or nullish or \
             missing"
        )),
    }
}

/// The operation id: a non-empty string of at most [`MAX_ID`] bytes.
fn id(kind: &str, message: &Map<String, Value>) -> Result<String, String> {
    match message.get("id") {
        Some(Value::String(id)) if id.is_empty() => Err(format!(
            "\"{kind}\" message requires a non-empty 'id' property"
        )),
        Some(Value::String(id)) if id.len() > MAX_ID => Err(format!(
            "\"{kind}\" message's 'id' is longer than {MAX_ID} bytes"
        )),
        Some(Value::String(id)) => Ok(id.clone()),
        _ => Err(format!(
            "\"{kind}\" message expects the 'id' property to be a string"
        )),
    }
}

/// What the client sent in `connection_init`'s payload as its key: `Ok(None)` when it sent
/// none, the key of `Bearer <key>` otherwise (the forms of the HTTP `Authorization` header).
pub fn init_key(payload: Option<&Map<String, Value>>) -> Result<Option<String>, String> {
    let Some(payload) = payload else {
        return Ok(None);
    };
    let value = match (payload.get("Authorization"), payload.get("authorization")) {
        (Some(_), Some(_)) => {
            return Err("connection_init's payload has both `Authorization` and \
                        `authorization`: send one"
                .into());
        }
        (Some(value), None) | (None, Some(value)) => value,
        (None, None) => return Ok(None),
    };
    let Value::String(value) = value else {
        return Err(
            "`authorization` in connection_init's payload must be a string: \
                    `Bearer <key>`"
                .into(),
        );
    };
    let (scheme, key) = value.trim().split_once(' ').unwrap_or(("", ""));
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() {
        return Err("`authorization` in connection_init's payload must be `Bearer <key>`".into());
    }
    Ok(Some(key.to_owned()))
}

/// `connection_ack`.
pub fn ack() -> String {
    json!({ "type": "connection_ack" }).to_string()
}

/// The server's `ping`.
pub fn ping() -> String {
    json!({ "type": "ping" }).to_string()
}

/// The `pong` to a client's `ping`, with its payload.
pub fn pong(payload: Option<Map<String, Value>>) -> String {
    match payload {
        Some(payload) => json!({ "type": "pong", "payload": payload }).to_string(),
        None => json!({ "type": "pong" }).to_string(),
    }
}

/// `next` with an execution result that is already JSON text (as the HTTP layer writes it).
pub fn next(id: &str, result: &str) -> String {
    format!(
        "{{\"id\":{},\"type\":\"next\",\"payload\":{result}}}",
        Value::from(id)
    )
}

/// `error` with a list of GraphQL errors.
pub fn error(id: &str, errors: Value) -> String {
    json!({ "id": id, "type": "error", "payload": errors }).to_string()
}

/// `complete`.
pub fn complete(id: &str) -> String {
    json!({ "id": id, "type": "complete" }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        match parse(text, 32) {
            Ok(_) => panic!("{text} was accepted"),
            Err(reason) => reason,
        }
    }

    #[test]
    fn the_client_messages_are_read() {
        assert!(matches!(
            parse(r#"{"type":"connection_init"}"#, 32),
            Ok(ClientMessage::ConnectionInit(None))
        ));
        let Ok(ClientMessage::ConnectionInit(Some(payload))) = parse(
            r#"{"type":"connection_init","payload":{"authorization":"Bearer k"}}"#,
            32,
        ) else {
            panic!("init with a payload")
        };
        assert_eq!(init_key(Some(&payload)), Ok(Some("k".to_owned())));
        assert!(matches!(
            parse(r#"{"type":"ping","payload":{"a":1}}"#, 32),
            Ok(ClientMessage::Ping(Some(_)))
        ));
        assert!(matches!(
            parse(r#"{"type":"pong","payload":null}"#, 32),
            Ok(ClientMessage::Pong)
        ));
        let Ok(ClientMessage::Subscribe { id, params }) = parse(
            r#"{"id":"1","type":"subscribe","payload":{"query":"{ __typename }","variables":{"a":1}}}"#,
            32,
        ) else {
            panic!("subscribe")
        };
        assert_eq!(id, "1");
        assert_eq!(params.query.as_deref(), Some("{ __typename }"));
        assert!(matches!(
            parse(r#"{"id":"1","type":"complete"}"#, 32),
            Ok(ClientMessage::Complete { id }) if id == "1"
        ));
        // A persisted query's hash stands for the query, as over HTTP.
        assert!(matches!(
            parse(
                r#"{"id":"2","type":"subscribe","payload":{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}}"#,
                32
            ),
            Ok(ClientMessage::Subscribe { .. })
        ));
    }

    #[test]
    fn invalid_messages_are_refused_with_a_reason() {
        assert!(refusal("not json").contains("not JSON"));
        assert!(refusal("[1]").contains("expected to be an object"));
        assert!(refusal("{}").contains("missing the 'type'"));
        assert!(refusal(r#"{"type":1}"#).contains("to be a string"));
        assert!(refusal(r#"{"type":"hello"}"#).contains("Invalid message 'type'"));
        assert!(refusal(r#"{"type":"next","id":"1","payload":{}}"#).contains("Unexpected"));
        assert!(refusal(r#"{"type":"connection_ack"}"#).contains("Unexpected"));
        assert!(refusal(r#"{"type":"connection_init","payload":[]}"#).contains("payload"));
        assert!(refusal(r#"{"type":"subscribe","payload":{"query":"{a}"}}"#).contains("'id'"));
        assert!(
            refusal(r#"{"type":"subscribe","id":"","payload":{"query":"{a}"}}"#)
                .contains("non-empty")
        );
        let long = format!(r#"{{"type":"complete","id":"{}"}}"#, "x".repeat(MAX_ID + 1));
        assert!(refusal(&long).contains("longer than"));
        assert!(refusal(r#"{"type":"subscribe","id":"1","payload":"{a}"}"#).contains("object"));
        assert!(refusal(r#"{"type":"subscribe","id":"1","payload":{}}"#).contains("no `query`"));
        assert!(
            refusal(r#"{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[]}}"#)
                .contains("`variables` must be an object")
        );
        assert!(refusal(r#"{"type":"complete","id":1}"#).contains("'id'"));
        // A key named twice is refused, as over HTTP.
        assert!(refusal(r#"{"type":"ping","type":"pong"}"#).contains("duplicate"));
        let deep = format!(
            r#"{{"type":"ping","payload":{{"a":{}1{}}}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert!(refusal(&deep).contains("nests"));
    }

    #[test]
    fn the_key_comes_as_in_the_authorization_header() {
        let payload = |v: Value| v.as_object().cloned();
        assert_eq!(init_key(None), Ok(None));
        assert_eq!(init_key(payload(json!({})).as_ref()), Ok(None));
        assert_eq!(
            init_key(payload(json!({"Authorization": "Bearer iuc_x"})).as_ref()),
            Ok(Some("iuc_x".to_owned()))
        );
        assert_eq!(
            init_key(payload(json!({"authorization": "bearer  iuc_y "})).as_ref()),
            Ok(Some("iuc_y".to_owned()))
        );
        assert!(init_key(payload(json!({"authorization": "iuc_x"})).as_ref()).is_err());
        assert!(init_key(payload(json!({"authorization": 1})).as_ref()).is_err());
        assert!(init_key(payload(json!({"authorization": "Bearer "})).as_ref()).is_err());
        assert!(
            init_key(
                payload(json!({"Authorization": "Bearer a", "authorization": "Bearer b"})).as_ref()
            )
            .is_err()
        );
    }

    #[test]
    fn server_messages_are_json_and_close_reasons_fit_a_frame() {
        let next: Value = serde_json::from_str(&next("a\"b", r#"{"data":{"x":1}}"#)).unwrap();
        assert_eq!(
            next,
            json!({"id": "a\"b", "type": "next", "payload": {"data": {"x": 1}}})
        );
        let error: Value = serde_json::from_str(&error("1", json!([{"message": "m"}]))).unwrap();
        assert_eq!(error["type"], "error");
        assert_eq!(error["payload"][0]["message"], "m");
        assert_eq!(complete("1"), r#"{"id":"1","type":"complete"}"#);
        assert_eq!(pong(None), r#"{"type":"pong"}"#);
        let long = Close::with(4400, "é".repeat(100));
        assert!(long.reason.len() <= 123, "{}", long.reason.len());
        assert_eq!(Close::with(4400, "short").reason, "short");
    }
}
