//! Connection lifecycle verbs: graceful input close, cancelling calls,
//! idleness, and splitting peer events by side.

use sansrpc::conn::{ClientConnection, ClientEvent, Event, Newline, Peer, PeerEvent, ServerConnection};
use sansrpc::{Context, Id, Limits, ProtocolError, RawParams, Transport};

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

// The connection's own deadlines, driven with a fake clock: `now` is
// passed in, nothing sleeps.

mod deadlines {
    use sansrpc::conn::{ClientConnection, ClientEvent, Event, Newline, Peer, ServerConnection};
    use sansrpc::{Limits, RawParams, UsageError};
    use std::time::{Duration, Instant};

    const IDLE: Duration = Duration::from_secs(10);

    fn limits() -> Limits {
        Limits {
            idle_timeout: Some(IDLE),
            ..Limits::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const CALL: &[u8] = b"{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}\n";

    #[test]
    fn idle_deadline_counts_from_the_last_activity() {
        let t0 = Instant::now();
        let mut conn = ServerConnection::new(Newline::new(1024), limits());
        conn.handle_timeout(t0);
        assert_eq!(conn.poll_timeout(), Some(t0 + IDLE));
        // A message that never completes is no activity.
        conn.handle_input(b"{\"jsonrpc\":").unwrap();
        assert!(conn.poll_event().is_none());
        conn.handle_timeout(t0 + ms(5_000));
        assert_eq!(conn.poll_timeout(), Some(t0 + IDLE));
        conn.handle_input(&CALL[11..]).unwrap();
        let Some(Event::Call { ticket, .. }) = conn.poll_event() else {
            panic!("a call")
        };
        // Busy: no idle deadline while a call is in flight.
        conn.handle_timeout(t0 + ms(6_000));
        assert_eq!(conn.poll_timeout(), None);
        conn.handle_timeout(t0 + ms(60_000));
        assert!(!conn.is_finished());
        conn.respond(ticket, sansrpc::result(&1)).unwrap();
        let mut out = Vec::new();
        conn.poll_transmit(&mut out).unwrap();
        conn.handle_timeout(t0 + ms(61_000));
        assert_eq!(conn.poll_timeout(), Some(t0 + ms(61_000) + IDLE));
        conn.handle_timeout(t0 + ms(61_000) + IDLE - ms(1));
        assert!(!conn.is_finished() && !conn.is_timed_out());
        conn.handle_timeout(t0 + ms(61_000) + IDLE);
        assert!(conn.is_timed_out());
        assert!(conn.is_finished(), "a timed-out connection is finished");
        assert_eq!(conn.handle_input(b"\n"), Err(UsageError::Closed));
        assert!(!conn.wants_input());
    }

    #[test]
    fn output_the_transport_does_not_take_closes_the_connection() {
        let t0 = Instant::now();
        let mut conn = ServerConnection::new(Newline::new(1024), limits());
        conn.handle_timeout(t0);
        conn.handle_input(CALL).unwrap();
        let Some(Event::Call { ticket, .. }) = conn.poll_event() else {
            panic!("a call")
        };
        conn.respond(ticket, sansrpc::result(&1)).unwrap();
        // The answer is queued; the driver never takes it (a peer that does
        // not read): not idle, yet the write-progress deadline runs.
        conn.handle_timeout(t0 + ms(1));
        assert!(!conn.is_idle());
        assert_eq!(conn.poll_timeout(), Some(t0 + ms(1) + IDLE));
        conn.handle_timeout(t0 + ms(1) + IDLE);
        assert!(conn.is_timed_out() && conn.is_finished());
    }

    #[test]
    fn bytes_the_driver_holds_unwritten_count_as_pending_output() {
        let t0 = Instant::now();
        let mut conn = ServerConnection::new(Newline::new(1024), limits());
        conn.handle_timeout(t0);
        conn.handle_input(CALL).unwrap();
        let Some(Event::Call { ticket, .. }) = conn.poll_event() else {
            panic!("a call")
        };
        conn.respond(ticket, sansrpc::result(&1)).unwrap();
        let mut out = Vec::new();
        let n = conn.poll_transmit(&mut out).unwrap();
        // The socket took 3 bytes and then no more.
        conn.handle_transmitted(3);
        conn.handle_timeout(t0 + ms(100));
        assert!(!conn.is_idle() && !conn.is_finished());
        conn.handle_eof();
        assert!(!conn.is_finished(), "unwritten bytes keep it open");
        // Progress (one more byte) moves the deadline.
        conn.handle_timeout(t0 + ms(100) + IDLE - ms(1));
        conn.handle_transmitted(1);
        conn.handle_timeout(t0 + ms(100) + IDLE);
        assert!(!conn.is_timed_out());
        assert_eq!(conn.poll_timeout(), Some(t0 + ms(100) + IDLE + IDLE));
        // Everything written: finished (EOF came), no deadline.
        conn.handle_transmitted(n - 4);
        assert!(conn.is_finished() && !conn.is_timed_out());
    }

    #[test]
    fn draining_waits_for_handed_out_calls_then_finishes() {
        let mut conn = Peer::new(Newline::new(1024), limits());
        conn.handle_input(CALL).unwrap();
        let Some(sansrpc::conn::PeerEvent::Call { ticket, .. }) = conn.poll_event() else {
            panic!("a call")
        };
        conn.close_input();
        assert!(!conn.is_finished());
        assert_eq!(conn.call("x", RawParams::none(), None), Err(UsageError::Closed));
        conn.respond(ticket, sansrpc::result(&1)).unwrap();
        assert!(!conn.is_finished(), "the answer is not out yet");
        let mut out = Vec::new();
        conn.poll_transmit(&mut out).unwrap();
        assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}\n");
        assert!(conn.is_finished());
    }

    #[test]
    fn eof_with_calls_in_flight_finishes_once_they_are_answered() {
        let mut conn = ServerConnection::new(Newline::new(1024), limits());
        conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":2}\n")
            .unwrap();
        conn.handle_eof();
        let mut tickets = Vec::new();
        while let Some(Event::Call { ticket, .. }) = conn.poll_event() {
            tickets.push(ticket);
        }
        assert_eq!(tickets.len(), 2);
        let mut out = Vec::new();
        for t in tickets {
            assert!(!conn.is_finished());
            conn.respond(t, sansrpc::result(&0)).unwrap();
        }
        assert!(!conn.is_finished(), "answers still queued");
        conn.poll_transmit(&mut out).unwrap();
        assert!(conn.is_finished());

        // A client: EOF fails its pending calls, then it is finished.
        let mut client = ClientConnection::new(Newline::new(1024), limits());
        let id = client.call("a", RawParams::none(), None).unwrap();
        client.poll_transmit(&mut out).unwrap();
        client.handle_eof();
        assert!(!client.is_finished(), "an event waits");
        assert_eq!(client.poll_event(), Some(ClientEvent::Closed { id }));
        assert!(client.is_finished());
    }

    #[test]
    fn a_client_has_no_idle_deadline_but_a_write_progress_one() {
        let t0 = Instant::now();
        let mut client = ClientConnection::new(Newline::new(1024), limits());
        client.handle_timeout(t0);
        assert_eq!(client.poll_timeout(), None);
        client.handle_timeout(t0 + IDLE * 100);
        assert!(!client.is_finished());
        let id = client.call("a", RawParams::none(), None).unwrap();
        client.handle_timeout(t0 + IDLE * 100 + ms(1));
        client.handle_timeout(t0 + IDLE * 101 + ms(1));
        assert!(client.is_timed_out());
        assert_eq!(client.poll_event(), Some(ClientEvent::Closed { id }));
        assert!(client.is_finished());
    }

    #[test]
    fn the_client_holds_its_output_under_max_buffered_out() {
        let limits = Limits {
            max_buffered_out: 100,
            ..limits()
        };
        let mut client = ClientConnection::new(Newline::new(1024), limits);
        let mut sent = 0;
        while !client.is_output_full() {
            client
                .notify("note", RawParams::from_json("[\"0123456789\"]").unwrap())
                .unwrap();
            sent += 1;
        }
        assert_eq!(sent, 2, "two 53-byte notifications fill 100 bytes");
        assert_eq!(
            client.notify("n", RawParams::none()),
            Err(UsageError::OutputFull(100))
        );
        assert_eq!(
            client.call("n", RawParams::none(), None),
            Err(UsageError::OutputFull(100))
        );
        let mut out = Vec::new();
        client.poll_transmit(&mut out).unwrap();
        assert!(
            !client.is_output_full(),
            "a driver that does not report writes frees the room at once"
        );
        client.handle_transmitted(out.len());
        out.clear();
        for _ in 0..2 {
            client
                .notify("note", RawParams::from_json("[\"0123456789\"]").unwrap())
                .unwrap();
        }
        client.poll_transmit(&mut out).unwrap();
        // Now the driver reports writes: bytes it holds unwritten count.
        assert!(client.is_output_full());
        client.handle_transmitted(out.len());
        assert!(!client.is_output_full());
    }
}

mod in_flight_accounting {
    use sansrpc::Limits;
    use sansrpc::conn::{Event, Newline, Peer, PeerEvent, ServerConnection};

    fn limits(max: usize) -> Limits {
        Limits {
            max_in_flight: max,
            ..Limits::default()
        }
    }

    fn batch(n: usize) -> Vec<u8> {
        let entries: Vec<String> = (0..n)
            .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":{i}}}"))
            .collect();
        format!("[{}]\n", entries.join(",")).into_bytes()
    }

    #[test]
    fn batch_entries_count_one_by_one() {
        let mut conn = ServerConnection::new(Newline::new(1 << 20), limits(2));
        conn.handle_input(&batch(5)).unwrap();
        let mut tickets = Vec::new();
        while let Some(Event::Call { ticket, .. }) = conn.poll_event() {
            tickets.push(ticket);
        }
        assert_eq!(tickets.len(), 2, "no more than max_in_flight handed out");
        assert_eq!(conn.in_flight(), 2);
        assert!(!conn.wants_input());
        let mut answered = 0;
        while let Some(t) = tickets.pop() {
            conn.respond(t, sansrpc::result(&0)).unwrap();
            answered += 1;
            while let Some(Event::Call { ticket, .. }) = conn.poll_event() {
                tickets.push(ticket);
            }
            assert!(conn.in_flight() <= 2);
        }
        assert_eq!(answered, 5);
        let mut out = Vec::new();
        conn.poll_transmit(&mut out).unwrap();
        assert_eq!(
            out.iter().filter(|&&b| b == b'{').count(),
            5,
            "one array of five answers"
        );
    }

    #[test]
    fn background_notifications_count_against_max_in_flight() {
        let mut conn = ServerConnection::new(Newline::new(1024), limits(1));
        conn.handle_input(
            b"{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}\n",
        )
        .unwrap();
        assert!(matches!(conn.poll_event(), Some(Event::Notification { .. })));
        conn.notification_started();
        assert!(
            conn.poll_event().is_none(),
            "the notification holds the only slot"
        );
        assert!(!conn.wants_input());
        conn.notification_finished();
        assert!(matches!(conn.poll_event(), Some(Event::Call { .. })));

        let mut peer = Peer::new(Newline::new(1024), limits(1));
        peer.handle_input(
            b"{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n",
        )
        .unwrap();
        assert!(matches!(peer.poll_event(), Some(PeerEvent::Notification { .. })));
        peer.notification_started();
        assert!(peer.poll_event().is_none());
        peer.notification_finished();
        assert!(matches!(peer.poll_event(), Some(PeerEvent::Notification { .. })));
    }
}

mod hostile_peers {
    use proptest::prelude::*;
    use sansrpc::conn::{Event, Newline, Peer, PeerEvent, ServerConnection};
    use sansrpc::{Limits, RawParams};

    /// Issue 11, item 7: a malformed *response* from the remote is reported
    /// and never answered (an error with its id would answer the remote's
    /// own pending call of that number).
    #[test]
    fn a_peer_never_answers_an_invalid_response() {
        let mut a = Peer::new(Newline::new(1024), Limits::default());
        let _ours = a.call("m", RawParams::none(), None).unwrap();
        let mut out = Vec::new();
        a.poll_transmit(&mut out).unwrap();
        out.clear();
        for bad in [
            &b"{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"},\"id\":1}\n"[..],
            b"{\"jsonrpc\":\"2.0\",\"error\":[1],\"id\":1}\n",
            b"{\"jsonrpc\":\"1.0\",\"result\":1,\"id\":1}\n",
            b"[{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":null,\"id\":1}]\n",
        ] {
            a.handle_input(bad).unwrap();
            match a.poll_event() {
                Some(PeerEvent::Unexpected(_)) => {}
                other => panic!("{}: {other:?}", String::from_utf8_lossy(bad)),
            }
            assert!(a.poll_event().is_none());
            assert_eq!(a.poll_transmit(&mut out), None, "nothing is sent back");
        }
        assert_eq!(a.pending_calls(), 1, "our call still waits for its real answer");
        // An invalid *request* is still answered, as a server would.
        a.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":1,\"id\":7}\n")
            .unwrap();
        assert!(a.poll_event().is_none());
        a.poll_transmit(&mut out).unwrap();
        assert_eq!(
            out,
            br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"method\" must be a string"},"id":7}"#
                .iter()
                .chain(b"\n")
                .copied()
                .collect::<Vec<u8>>()
        );
    }

    #[derive(Clone, Debug)]
    enum Step {
        /// Calls and notifications arrive, as one message or one batch.
        Input { calls: u8, notes: u8, batch: bool },
        /// The application answers the oldest handed-out call.
        Answer,
        /// A background notification finishes.
        Finish,
        /// Take whatever events the connection yields now.
        Poll,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u8..6, 0u8..6, any::<bool>()).prop_map(|(calls, notes, batch)| Step::Input {
                calls,
                notes,
                batch
            }),
            Just(Step::Answer),
            Just(Step::Finish),
            Just(Step::Poll),
        ]
    }

    fn input(calls: u8, notes: u8, batch: bool, next_id: &mut u64) -> Vec<u8> {
        let mut entries = Vec::new();
        for _ in 0..calls {
            *next_id += 1;
            entries.push(format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"c\",\"id\":{next_id}}}"
            ));
        }
        for _ in 0..notes {
            entries.push("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}".to_owned());
        }
        if entries.is_empty() {
            return Vec::new();
        }
        let mut bytes = if batch {
            format!("[{}]", entries.join(","))
        } else {
            entries.join("\n")
        };
        bytes.push('\n');
        bytes.into_bytes()
    }

    proptest! {
        /// Any mix of calls, notifications and batches, answered in any
        /// order: the work handed out and not done (calls unanswered plus
        /// notifications running) never exceeds `max_in_flight`, and all
        /// of it is eventually handed out.
        #[test]
        fn handed_out_work_never_exceeds_max_in_flight(
            max in 1usize..5,
            steps in proptest::collection::vec(step(), 1..60),
        ) {
            let limits = Limits { max_in_flight: max, ..Limits::default() };
            let mut server = ServerConnection::new(Newline::new(1 << 16), limits.clone());
            let mut peer = Peer::new(Newline::new(1 << 16), limits);
            let (mut tickets, mut running) = (std::collections::VecDeque::new(), 0usize);
            let (mut peer_tickets, mut peer_running) = (std::collections::VecDeque::new(), 0usize);
            let (mut next_id, mut sent_calls, mut sent_notes) = (0u64, 0usize, 0usize);
            let (mut got_calls, mut got_notes) = (0usize, 0usize);
            let mut drain = |server: &mut ServerConnection, peer: &mut Peer,
                             tickets: &mut std::collections::VecDeque<sansrpc::conn::Ticket>,
                             peer_tickets: &mut std::collections::VecDeque<sansrpc::conn::Ticket>,
                             running: &mut usize, peer_running: &mut usize| {
                while let Some(e) = server.poll_event() {
                    match e {
                        Event::Call { ticket, .. } => { tickets.push_back(ticket); got_calls += 1; }
                        Event::Notification { .. } => { server.notification_started(); *running += 1; got_notes += 1; }
                        _ => {}
                    }
                }
                while let Some(e) = peer.poll_event() {
                    match e {
                        PeerEvent::Call { ticket, .. } => peer_tickets.push_back(ticket),
                        PeerEvent::Notification { .. } => { peer.notification_started(); *peer_running += 1; }
                        _ => {}
                    }
                }
            };
            for s in steps {
                match s {
                    Step::Input { calls, notes, batch } => {
                        let bytes = input(calls, notes, batch, &mut next_id);
                        sent_calls += calls as usize;
                        sent_notes += notes as usize;
                        server.handle_input(&bytes).unwrap();
                        peer.handle_input(&bytes).unwrap();
                    }
                    Step::Answer => {
                        if let Some(t) = tickets.pop_front() { server.respond(t, sansrpc::result(&0)).unwrap(); }
                        if let Some(t) = peer_tickets.pop_front() { peer.respond(t, sansrpc::result(&0)).unwrap(); }
                    }
                    Step::Finish => {
                        if running > 0 { running -= 1; server.notification_finished(); }
                        if peer_running > 0 { peer_running -= 1; peer.notification_finished(); }
                    }
                    Step::Poll => drain(&mut server, &mut peer, &mut tickets, &mut peer_tickets, &mut running, &mut peer_running),
                }
                prop_assert!(tickets.len() + running <= max, "server: {} calls + {} notifications > {max}", tickets.len(), running);
                prop_assert!(peer_tickets.len() + peer_running <= max, "peer over the limit");
                prop_assert_eq!(server.serving(), tickets.len() + running);
                prop_assert_eq!(peer.serving(), peer_tickets.len() + peer_running);
                // Output is taken as it comes (the transport keeps up).
                let mut out = Vec::new();
                server.poll_transmit(&mut out);
                peer.poll_transmit(&mut out);
            }
            // Finish everything: every request is handed out in the end.
            for _ in 0..(sent_calls + sent_notes + 2) {
                drain(&mut server, &mut peer, &mut tickets, &mut peer_tickets, &mut running, &mut peer_running);
                while let Some(t) = tickets.pop_front() { server.respond(t, sansrpc::result(&0)).unwrap(); }
                while let Some(t) = peer_tickets.pop_front() { peer.respond(t, sansrpc::result(&0)).unwrap(); }
                for _ in 0..running { server.notification_finished(); }
                for _ in 0..peer_running { peer.notification_finished(); }
                running = 0;
                peer_running = 0;
                let mut out = Vec::new();
                server.poll_transmit(&mut out);
                peer.poll_transmit(&mut out);
            }
            prop_assert_eq!((got_calls, got_notes), (sent_calls, sent_notes));
        }
    }
}
