//! Connection lifecycle verbs: graceful input close, cancelling calls,
//! idleness, and splitting peer events by side.

use sansrpc::{
    ClientConnection, ClientEvent, Context, Event, Id, Limits, Newline, Peer, PeerEvent, ProtocolError,
    RawParams, ServerConnection, Transport,
};

#[test]
fn close_input_answers_what_was_handed_out_and_drops_the_rest() {
    let mut conn = ServerConnection::new(Newline::new(1024), Limits::default());
    conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}\n")
        .unwrap();
    let Some(Event::Call { ticket, .. }) = conn.poll_event() else {
        panic!("a call")
    };
    // A complete message and a partial one arrive after the call was taken.
    conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":2}\n{\"jsonrpc\"")
        .unwrap();
    conn.close_input();
    assert!(!conn.wants_input());
    assert!(conn.poll_event().is_none(), "nothing more is parsed");
    assert!(!conn.is_finished(), "call 1 is still in flight");
    conn.respond(ticket, sansrpc::result(&"a")).unwrap();
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":\"a\",\"id\":1}\n");
    assert!(conn.is_finished());
}

#[test]
fn a_partial_message_does_not_keep_a_connection_busy() {
    let mut conn = ServerConnection::new(Newline::new(1024), Limits::default());
    conn.handle_input(b"{\"jsonrpc\":").unwrap();
    assert!(conn.poll_event().is_none());
    assert!(conn.is_idle());
}

#[test]
fn cancelled_calls_free_their_slot_and_late_answers_are_unmatched() {
    let limits = Limits {
        max_in_flight: 1,
        ..Limits::default()
    };
    let mut client = ClientConnection::new(Newline::new(1024), limits);
    let id = client.call("slow", RawParams::none(), None).unwrap();
    assert!(client.call("other", RawParams::none(), None).is_err());
    assert!(client.cancel(&id));
    assert!(!client.cancel(&id));
    assert_eq!(client.in_flight(), 0);
    let id2 = client.call("other", RawParams::none(), None).unwrap();
    client
        .handle_input(b"{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}\n")
        .unwrap();
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Unexpected(ProtocolError::UnmatchedResponse(
            "1".into()
        )))
    );
    assert_eq!(id2, Id::from(2u64));
}

#[test]
fn peer_events_split_by_side() {
    let mut a = Peer::new(Newline::new(1024), Limits::default());
    a.handle_input(
        b"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":9}\n",
    )
    .unwrap();
    let call = a.poll_event().unwrap();
    assert!(matches!(call.into_event(), Ok(Event::Call { ref method, .. }) if method == "m"));
    let stray = a.poll_event().unwrap();
    assert!(matches!(stray, PeerEvent::Unexpected(_)));
    assert!(matches!(stray.into_event(), Err(ClientEvent::Unexpected(_))));
    a.close_input();
}

#[test]
fn a_context_gains_an_extension_without_touching_other_clones() {
    #[derive(Clone, Debug, PartialEq)]
    struct Handle(u32);
    let ctx = Context::builder(Transport::Tcp).header("x-a", "1").build();
    let other = ctx.clone();
    let with = ctx.with_extension(Handle(7));
    assert_eq!(with.extension::<Handle>(), Some(&Handle(7)));
    assert_eq!(with.header("x-a"), Some("1"));
    assert_eq!(other.extension::<Handle>(), None);
    // Both still share one connection state.
    with.connection().insert(5u8);
    assert_eq!(other.connection().get::<u8>(), Some(5));
    // Unshared: updated in place.
    let only = Context::default()
        .with_extension(Handle(1))
        .with_extension(Handle(2));
    assert_eq!(only.extension::<Handle>(), Some(&Handle(2)));
}
