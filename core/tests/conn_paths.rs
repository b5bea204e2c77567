//! The stream connection's quick paths write the bytes its general paths
//! write: `Router::dispatch_on` (a plain `fn` answered straight into the
//! connection's output, framed in place) against `Router::dispatch` plus
//! `respond`, for any mix of messages, fed in any pieces, with the output
//! taken at any points, over every framer (newline, Content-Length, whole
//! messages taken one by one), under tight limits and loose ones.

use futures_executor::block_on;
use proptest::prelude::*;
use sansrpc::conn::{ContentLength, Dispatch, Event, Framer, Messages, Newline, ServerConnection};
use sansrpc::{Context, Error, Limits, Params, Router, Version};

/// The messages the mixes are made of: calls to plain and async handlers,
/// failing ones, unknown methods, notifications, batches (in order and
/// not), invalid requests, JSON-RPC 1.0, text that is not JSON, and one
/// over the frame limit.
const MESSAGES: &[&str] = &[
    r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
    r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"two"}"#,
    r#"{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":3}"#,
    r#"{"jsonrpc":"2.0","method":"subtract","params":["x"],"id":4}"#,
    r#"{"jsonrpc":"2.0","method":"nope","id":4.50}"#,
    r#"{"jsonrpc":"2.0","method":"later","params":[21],"id":6}"#,
    r#"{"jsonrpc":"2.0","method":"refuse","id":[7]}"#,
    r#"{"jsonrpc":"2.0","method":"refuse","id":7}"#,
    r#"{"jsonrpc":"2.0","method":"unserializable","id":8}"#,
    r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#,
    r#"{"jsonrpc":"2.0","method":"later","params":[1]}"#,
    r#"{"jsonrpc":"2.0","method":"p\u0069ng","id":"\u00e9"}"#,
    r#"[{"jsonrpc":"2.0","method":"later","params":[2],"id":9},{"jsonrpc":"2.0","method":"ping","id":10},1,{"jsonrpc":"2.0","method":"ping"}]"#,
    r#"[{"jsonrpc":"2.0","method":"ping","id":11},{"jsonrpc":"2.0","method":"subtract","params":[1,2],"id":12}]"#,
    r#"[{"jsonrpc":"2.0","method":"update"}]"#,
    r#"[]"#,
    r#"{"jsonrpc":"2.0","method":"ping","params":"bad","id":13}"#,
    r#"{"method":"ping","params":[],"id":14}"#,
    r#"{"jsonrpc":"2.0","method":"ping","id":1"#,
    r#"{"jsonrpc":"2.0","result":1,"id":15}"#,
    r#"{"jsonrpc":"2.0","method":"echo","params":["a long string that goes over the frame limit of the tight limits ......"],"id":16}"#,
];

fn router(limits: &Limits) -> Router {
    let mut router = sansrpc::reference::router();
    router
        .method("later", |Params((a,)): Params<(i64,)>| async move { a * 2 })
        .unwrap()
        .method("refuse", || -> Result<(), Error> {
            Err(Error::new(7, "no").with_data(&[1, 2]))
        })
        .unwrap()
        // Serializing fails halfway: a map whose keys are not strings.
        .method("unserializable", || {
            std::collections::BTreeMap::from([((1, 2), "a"), ((3, 4), "b")])
        })
        .unwrap();
    router.set_limits(limits.clone());
    router
}

/// Which framer a run uses.
#[derive(Clone, Copy, Debug)]
enum Framing {
    Newline,
    ContentLength,
    Messages,
}

/// The input for `messages`: one piece per message for [`Framing::Messages`],
/// else the whole stream cut at `cuts`.
fn pieces(framing: Framing, messages: &[usize], cuts: &[usize]) -> Vec<Vec<u8>> {
    let texts = messages.iter().map(|&m| MESSAGES[m % MESSAGES.len()].as_bytes());
    let mut whole = Vec::new();
    match framing {
        Framing::Messages => return texts.map(<[u8]>::to_vec).collect(),
        Framing::Newline => {
            for (i, t) in texts.enumerate() {
                whole.extend_from_slice(t);
                // Both line ends.
                whole.extend_from_slice(if i % 3 == 2 { b"\r\n" } else { b"\n" });
            }
        }
        Framing::ContentLength => {
            let framer = ContentLength::new(1 << 20);
            for t in texts {
                framer.encode(t, &mut whole);
            }
        }
    }
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (whole.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts.into_iter().chain([whole.len()]) {
        out.push(whole[at..c].to_vec());
        at = c;
    }
    out
}

/// Runs `input` through a connection, answering with `dispatch_on` (`on`)
/// or with `dispatch` and `respond`; takes the output after every
/// `transmit_every`-th event (and at the end), as bytes or, with
/// `one_by_one`, message by message. The async handler's calls are
/// answered only after the rest of the piece was polled (last first), so
/// that answers interleave and batches complete out of order.
fn run<F: Framer>(
    framer: impl Fn() -> F,
    limits: &Limits,
    input: &[Vec<u8>],
    on: bool,
    transmit_every: usize,
    one_by_one: bool,
) -> Vec<Vec<u8>> {
    let router = router(limits);
    let mut conn = ServerConnection::new(framer(), limits.clone());
    let ctx = Context::default();
    let mut out = Vec::new();
    let take = |conn: &mut ServerConnection<F>, out: &mut Vec<Vec<u8>>| {
        if one_by_one {
            while let Some(m) = conn.poll_transmit_message() {
                out.push(m);
            }
        } else {
            let mut buf = Vec::new();
            if conn.poll_transmit(&mut buf).is_some() {
                out.push(buf);
            }
        }
    };
    let mut events = 0;
    let mut later = Vec::new();
    let mut pieces = input.iter();
    loop {
        if conn.wants_input() {
            match pieces.next() {
                Some(piece) => conn.handle_input(piece).unwrap(),
                None => conn.handle_eof(),
            }
        }
        while let Some(event) = conn.poll_event() {
            // The async handler's calls wait (in both runs), the rest are
            // answered at once, as the driver answers what is ready.
            let wait = matches!(&event, Event::Call { method, .. } if method == "later");
            let work = if on {
                router.dispatch_on(&mut conn, event, &ctx).unwrap()
            } else {
                Some(router.dispatch(event, &ctx))
            };
            match work {
                None => {}
                Some(Dispatch::Call(ticket, fut)) if wait => later.push((ticket, fut)),
                Some(Dispatch::Call(ticket, fut)) => conn.respond(ticket, block_on(fut)).unwrap(),
                Some(Dispatch::Notification(fut)) => block_on(fut),
            }
            events += 1;
            if events % transmit_every == 0 {
                take(&mut conn, &mut out);
            }
        }
        // Answered last first: out of request order.
        while let Some((ticket, fut)) = later.pop() {
            conn.respond(ticket, block_on(fut)).unwrap();
        }
        take(&mut conn, &mut out);
        if conn.is_finished() {
            break;
        }
    }
    out
}

fn limits(tight: bool, version: Version) -> Limits {
    let mut limits = Limits {
        version,
        ..Limits::default()
    };
    if tight {
        limits.max_message_bytes = 100;
        limits.max_in_flight = 2;
        limits.max_buffered_out = 150;
        limits.max_batch_len = 3;
    }
    limits
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dispatch_on_writes_what_dispatch_writes(
        messages in proptest::collection::vec(0..MESSAGES.len(), 0..24),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        transmit_every in 1usize..6,
        tight in any::<bool>(),
        version in prop_oneof![Just(Version::V2), Just(Version::Auto), Just(Version::V1)],
        framing in prop_oneof![Just(Framing::Newline), Just(Framing::ContentLength), Just(Framing::Messages)],
    ) {
        let limits = limits(tight, version);
        let input = pieces(framing, &messages, &cuts);
        let max = limits.max_message_bytes;
        let both = |on| match framing {
            Framing::Newline => run(|| Newline::new(max), &limits, &input, on, transmit_every, false),
            Framing::ContentLength => run(|| ContentLength::new(max), &limits, &input, on, transmit_every, false),
            Framing::Messages => run(|| Messages::new(max), &limits, &input, on, transmit_every, true),
        };
        let (general, quick) = (both(false), both(true));
        let text = |v: &[Vec<u8>]| v.iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect::<Vec<_>>();
        prop_assert_eq!(text(&quick), text(&general));
    }
}

#[test]
fn the_mix_answers_something_on_every_framer() {
    // The comparison above is not vacuous: the general path answers the
    // mix with the expected bytes.
    let limits = limits(false, Version::V2);
    let all: Vec<usize> = (0..MESSAGES.len()).collect();
    let input = pieces(Framing::Newline, &all, &[]);
    let out = run(|| Newline::new(1 << 20), &limits, &input, true, 1, false).concat();
    let text = String::from_utf8(out).unwrap();
    for expected in [
        "{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n",
        "{\"jsonrpc\":\"2.0\",\"result\":19,\"id\":\"two\"}\n",
        "{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":\"\\u00e9\"}\n",
        "[{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":11},{\"jsonrpc\":\"2.0\",\"result\":-1,\"id\":12}]\n",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let input = pieces(Framing::ContentLength, &[0, 1], &[]);
    let out = run(|| ContentLength::new(1 << 20), &limits, &input, true, 1, false).concat();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"result\":19,\"id\":\"two\"}"
    );
    let input = pieces(Framing::Messages, &[0, 1], &[]);
    let out = run(|| Messages::new(1 << 20), &limits, &input, true, 1, true);
    assert_eq!(
        out,
        [
            b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}".to_vec(),
            b"{\"jsonrpc\":\"2.0\",\"result\":19,\"id\":\"two\"}".to_vec()
        ]
    );
}
