//! Target `parse_message`: one frame parsed with each [`Accept`].
//!
//! Asserts, with the default limits and with tight ones:
//! - shape: a whole-message rejection is `-32700` or `-32600`; a batch has
//!   `1..=max_batch_len` entries; every id is a valid id that re-reads to
//!   itself; params are absent or an array/object of valid JSON borrowed
//!   from the frame; an invalid entry carries `-32600`;
//! - the three `Accept` modes agree: the same rejection and batch length;
//!   `Requests` never yields a response and `Responses` never a request;
//!   where `Both` sees a request it is exactly what `Requests` sees, and
//!   where it sees a response exactly what `Responses` sees;
//! - round trips: a call or notification written back with
//!   `write_request`, a response with `write_response`, and every error
//!   answer with `write_error`, parse back to the same thing;
//! - all of the above in each [`Version`] (`V2`, `V1`, `Auto`), 1.0 entries
//!   ([`Message::V1`]) round-tripping through the 1.0 writers; and `Auto`
//!   is exactly `V1` where it reads a 1.0 object and exactly `V2`
//!   everywhere else.

use bytes::Bytes;
use sansrpc::wire::{Accept, Incoming, Message, parse_message, write_error, write_request, write_response};
use sansrpc::{ErrorCode, Id, IdKind, Limits, RawParams, Response, Version};

/// The limits every message check runs under: the defaults, and tight
/// ones that make the depth and batch limits easy to reach.
pub(crate) fn limit_sets() -> [Limits; 2] {
    let tight = Limits {
        max_depth: 3,
        max_batch_len: 3,
        ..Limits::default()
    };
    [Limits::default(), tight]
}

fn check_id(id: &Id) {
    if id.kind() == IdKind::Other {
        // Only 1.0 allows other ids: any JSON value, kept as sent.
        assert!(crate::json::is_json_text(id.as_json()), "id is not JSON: {id}");
        return;
    }
    assert_eq!(
        Id::from_json(id.as_json()).as_ref(),
        Some(id),
        "id does not re-read to itself"
    );
}

fn check_params(frame: &[u8], params: &RawParams) {
    let Some(text) = params.as_str() else {
        assert!(params.is_none());
        return;
    };
    assert!(
        matches!(text.as_bytes().first(), Some(b'[' | b'{')),
        "params not structured: {text}"
    );
    assert!(crate::json::is_json_text(text), "params not JSON: {text}");
    assert!(
        frame.windows(text.len().max(1)).any(|w| w == text.as_bytes()),
        "params are not a slice of the frame"
    );
}

fn check_entry(frame: &[u8], e: &Incoming, accept: Accept) {
    match e {
        Incoming::Call { id, params, .. } => {
            assert_ne!(accept, Accept::Responses, "a client was handed a call");
            check_id(id);
            check_params(frame, params);
        }
        Incoming::Notification { params, .. } => {
            assert_ne!(accept, Accept::Responses, "a client was handed a notification");
            check_params(frame, params);
        }
        Incoming::Invalid { id, error } => {
            check_id(id);
            assert_eq!(
                error.code(),
                ErrorCode::INVALID_REQUEST,
                "invalid entry with {error}"
            );
        }
        Incoming::InvalidResponse { id, error } => {
            assert_eq!(accept, Accept::Both, "only a peer is told a response was invalid");
            check_id(id);
            assert_eq!(
                error.code(),
                ErrorCode::INVALID_REQUEST,
                "invalid response with {error}"
            );
        }
        Incoming::Response(r) => {
            assert_ne!(accept, Accept::Requests, "a server was handed a response");
            check_id(&r.id);
        }
        other => panic!("unknown entry kind {other:?}"),
    }
}

fn entries(m: &Message) -> Vec<&Incoming> {
    match m {
        Message::Single(e) | Message::V1(e) => vec![e],
        Message::Batch(v) => v.iter().collect(),
        _ => Vec::new(),
    }
}

fn reparse(bytes: Vec<u8>, accept: Accept) -> Message {
    parse_message(&Bytes::from(bytes), &Limits::default(), accept)
}

fn reparse_v1(bytes: Vec<u8>, accept: Accept) -> Message {
    let limits = Limits {
        version: Version::V1,
        ..Limits::default()
    };
    parse_message(&Bytes::from(bytes), &limits, accept)
}

/// A 1.0 entry written back with the 1.0 writers reads back the same (a
/// request without params comes back with `[]`, which 1.0 always sends).
fn check_round_trip_v1(e: &Incoming) {
    let sent_params = |p: &RawParams| p.as_str().unwrap_or("[]").to_owned();
    match e {
        Incoming::Call { id, method, params } => {
            let mut out = Vec::new();
            Version::V1.write_request(Some(id), method, params, &mut out);
            match reparse_v1(out, Accept::Requests) {
                Message::V1(Incoming::Call {
                    id: i2,
                    method: m2,
                    params: p2,
                }) => {
                    assert_eq!(
                        (&i2, &m2, p2.as_str()),
                        (id, method, Some(sent_params(params).as_str()))
                    );
                }
                back => panic!("1.0 call did not round-trip: {back:?}"),
            }
        }
        Incoming::Notification { method, params } => {
            let mut out = Vec::new();
            Version::V1.write_request(None, method, params, &mut out);
            match reparse_v1(out, Accept::Requests) {
                Message::V1(Incoming::Notification {
                    method: m2,
                    params: p2,
                }) => {
                    assert_eq!((&m2, p2.as_str()), (method, Some(sent_params(params).as_str())));
                }
                back => panic!("1.0 notification did not round-trip: {back:?}"),
            }
        }
        Incoming::Invalid { id, error } => {
            let mut out = Vec::new();
            Version::V1.write_response(id, &Err(error.clone()), &mut out);
            let want = Response {
                id: id.clone(),
                outcome: Err(error.clone()),
            };
            assert_eq!(
                reparse_v1(out, Accept::Responses),
                Message::V1(Incoming::Response(want)),
                "1.0 error answer did not round-trip"
            );
        }
        Incoming::Response(r) => {
            let mut out = Vec::new();
            Version::V1.write_response(&r.id, &r.outcome, &mut out);
            assert_eq!(
                reparse_v1(out, Accept::Responses),
                Message::V1(Incoming::Response(r.clone())),
                "1.0 response did not round-trip"
            );
        }
        other => panic!("unknown entry kind {other:?}"),
    }
}

fn check_round_trip(e: &Incoming) {
    match e {
        Incoming::Call { id, method, params } => {
            let mut out = Vec::new();
            write_request(Some(id), method, params, &mut out);
            let back = reparse(out, Accept::Requests);
            let Message::Single(Incoming::Call {
                id: i2,
                method: m2,
                params: p2,
            }) = &back
            else {
                panic!("call did not round-trip: {back:?}");
            };
            assert_eq!((i2, m2, p2.as_str()), (id, method, params.as_str()));
        }
        Incoming::Notification { method, params } => {
            let mut out = Vec::new();
            write_request(None, method, params, &mut out);
            let back = reparse(out, Accept::Requests);
            let Message::Single(Incoming::Notification {
                method: m2,
                params: p2,
            }) = &back
            else {
                panic!("notification did not round-trip: {back:?}");
            };
            assert_eq!((m2, p2.as_str()), (method, params.as_str()));
        }
        Incoming::Invalid { id, error } | Incoming::InvalidResponse { id, error } => {
            let mut out = Vec::new();
            write_error(id, error, &mut out);
            let back = reparse(out, Accept::Responses);
            let want = Response {
                id: id.clone(),
                outcome: Err(error.clone()),
            };
            assert_eq!(
                back,
                Message::Single(Incoming::Response(want)),
                "error answer did not round-trip"
            );
        }
        Incoming::Response(r) => {
            let mut out = Vec::new();
            write_response(&r.id, &r.outcome, &mut out);
            let back = reparse(out, Accept::Responses);
            assert_eq!(
                back,
                Message::Single(Incoming::Response(r.clone())),
                "response did not round-trip"
            );
        }
        other => panic!("unknown entry kind {other:?}"),
    }
}

/// Runs the `parse_message` target on one input.
pub fn check(data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    for base in limit_sets() {
        for version in [Version::V2, Version::V1, Version::Auto] {
            let limits = Limits {
                version,
                ..base.clone()
            };
            check_with(data, &frame, &limits);
        }
        // Auto is V1 where it reads a 1.0 object, V2 everywhere else.
        let with = |version| Limits {
            version,
            ..base.clone()
        };
        for accept in [Accept::Requests, Accept::Responses, Accept::Both] {
            let auto = parse_message(&frame, &with(Version::Auto), accept);
            let same = match auto {
                Message::V1(_) => parse_message(&frame, &with(Version::V1), accept),
                _ => parse_message(&frame, &with(Version::V2), accept),
            };
            assert_eq!(auto, same, "Auto differs from the version it picked ({accept:?})");
        }
    }
}

fn check_with(data: &[u8], frame: &Bytes, limits: &Limits) {
    let frame = frame.clone();
    {
        let limits = limits.clone();
        let req = parse_message(&frame, &limits, Accept::Requests);
        let resp = parse_message(&frame, &limits, Accept::Responses);
        let both = parse_message(&frame, &limits, Accept::Both);
        for (m, accept) in [
            (&req, Accept::Requests),
            (&resp, Accept::Responses),
            (&both, Accept::Both),
        ] {
            match m {
                Message::Rejected(e) => {
                    assert!(
                        [ErrorCode::PARSE_ERROR, ErrorCode::INVALID_REQUEST].contains(&e.code()),
                        "rejected with {e}"
                    );
                    let mut out = Vec::new();
                    write_error(&Id::null(), e, &mut out);
                    let back = reparse(out, Accept::Responses);
                    let want = Response {
                        id: Id::null(),
                        outcome: Err(e.clone()),
                    };
                    assert_eq!(back, Message::Single(Incoming::Response(want)));
                }
                Message::Batch(v) => {
                    assert!(
                        !v.is_empty() && v.len() <= limits.max_batch_len,
                        "batch of {}",
                        v.len()
                    );
                }
                Message::Single(_) => assert_ne!(limits.version, Version::V1, "V1 read a 2.0 object"),
                Message::V1(_) => assert_ne!(limits.version, Version::V2, "V2 read a 1.0 object"),
                other => panic!("unknown message kind {other:?}"),
            }
            for e in entries(m) {
                check_entry(data, e, accept);
                if matches!(m, Message::V1(_)) {
                    check_round_trip_v1(e);
                } else {
                    check_round_trip(e);
                }
            }
        }
        // The three modes agree on everything but the kind of entry wanted.
        match (&req, &resp, &both) {
            (Message::Rejected(a), Message::Rejected(b), Message::Rejected(c)) => {
                assert!(a == b && b == c, "rejections differ by Accept: {a} / {b} / {c}");
            }
            (Message::Rejected(_), _, _) | (_, Message::Rejected(_), _) | (_, _, Message::Rejected(_)) => {
                panic!("only some Accept modes reject: {req:?} / {resp:?} / {both:?}")
            }
            _ => {
                let (r, s, b) = (entries(&req), entries(&resp), entries(&both));
                assert!(
                    r.len() == s.len() && s.len() == b.len(),
                    "entry counts differ by Accept"
                );
                assert_eq!(
                    matches!(req, Message::Batch(_)),
                    matches!(both, Message::Batch(_)),
                    "batch-ness differs by Accept"
                );
                for ((r, s), b) in r.into_iter().zip(s).zip(b) {
                    match b {
                        Incoming::Response(_) => assert_eq!(s, b, "Both and Responses see another response"),
                        Incoming::Call { .. } | Incoming::Notification { .. } => {
                            assert_eq!(r, b, "Both and Requests see another request")
                        }
                        _ => {}
                    }
                    if matches!(r, Incoming::Call { .. } | Incoming::Notification { .. }) {
                        assert_eq!(r, b, "Requests sees a request that Both does not");
                    }
                    if matches!(s, Incoming::Response(_)) {
                        assert_eq!(s, b, "Responses sees a response that Both does not");
                    }
                }
            }
        }
    }
}
