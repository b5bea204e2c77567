//! Batch entries are read by the hand-written reader (`core/src/message/reader.rs`),
//! which splits the batch and finds each entry's members in one pass;
//! anything unusual (a member name with an escape, a member given twice)
//! takes the full parse. These properties hold the two paths to the same
//! verdict for any object: the same entry with an extra, escaped, unknown
//! member (which forces the full parse and changes nothing by the rules)
//! must read the same, and so must the entry sent on its own. The direct
//! comparison with serde_json alone is `parse_reader.rs`.

use bytes::Bytes;
use proptest::prelude::*;
use sansrpc::Limits;
use sansrpc::wire::{Accept, Incoming, Message, parse_message};

/// JSON whitespace, often none.
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\n\t "), 1 => Just("\r\n")]
}

/// A JSON string token, with the characters a scan could stumble on.
fn string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("a"),
            Just("2.0"),
            Just("subtract"),
            Just("\\\""),
            Just("\\\\"),
            Just("\\u0041"),
            Just("}"),
            Just("]"),
            Just("{"),
            Just(","),
            Just(":"),
            Just(" "),
            Just("é"),
        ],
        0..5,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()))
}

/// Any JSON value, nested a little.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("0".to_owned()),
        Just("-12".to_owned()),
        Just("1.5e3".to_owned()),
        Just("\"2.0\"".to_owned()),
        Just("\"1.0\"".to_owned()),
        string(),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            (prop::collection::vec((inner.clone(), ws()), 0..4)).prop_map(|items| {
                let items: Vec<String> = items.into_iter().map(|(v, w)| format!("{w}{v}{w}")).collect();
                format!("[{}]", items.join(","))
            }),
            (prop::collection::vec((string(), inner, ws()), 0..4)).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v, w)| format!("{w}{k}{w}:{w}{v}{w}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// A member name: the ones the rules read (each may come twice), and others.
fn name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just("\"jsonrpc\""),
        3 => Just("\"method\""),
        3 => Just("\"params\""),
        3 => Just("\"id\""),
        1 => Just("\"result\""),
        1 => Just("\"error\""),
        1 => Just("\"x\""),
        1 => Just("\"ID\""),
        1 => Just("\"method2\""),
    ]
}

/// A member's value, mostly of the shapes a request has.
fn member_value(name: &str) -> BoxedStrategy<String> {
    match name {
        "\"jsonrpc\"" => prop_oneof![6 => Just("\"2.0\"".to_owned()), 1 => value()].boxed(),
        "\"method\"" => prop_oneof![6 => string(), 1 => value()].boxed(),
        "\"id\"" => prop_oneof![
            3 => Just("1".to_owned()),
            2 => string(),
            1 => Just("-0.5".to_owned()),
            1 => value()
        ]
        .boxed(),
        _ => value().boxed(),
    }
}

/// The text of one object: the members, their order and spacing arbitrary.
fn object() -> impl Strategy<Value = String> {
    prop::collection::vec(name(), 0..6)
        .prop_flat_map(|names| {
            let members: Vec<_> = names
                .into_iter()
                .map(|n| (Just(n), member_value(n), ws(), ws()))
                .collect();
            (members, ws())
        })
        .prop_map(|(members, w)| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(n, v, w1, w2)| format!("{w1}{n}{w2}:{w1}{v}{w2}"))
                .collect();
            format!("{{{w}{}{w}}}", members.join(","))
        })
}

/// The same object with an unknown member whose name has an escape first.
fn with_escaped_member(object: &str) -> String {
    let rest = object.strip_prefix('{').unwrap_or(object).trim_start();
    if rest.starts_with('}') {
        format!("{{\"\\u005f\":0{rest}")
    } else {
        format!("{{\"\\u005f\":0,{rest}")
    }
}

fn batch_of_one(text: &str, accept: Accept) -> Incoming {
    let frame = Bytes::from(format!("[{text}]"));
    match parse_message(&frame, &Limits::default(), accept) {
        Message::Batch(mut entries) if entries.len() == 1 => entries.remove(0),
        other => panic!("a batch of one entry read as {other:?}: {text}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn a_scanned_entry_reads_as_the_full_parse_reads_it(object in object()) {
        for accept in [Accept::Requests, Accept::Responses, Accept::Both] {
            let scanned = batch_of_one(&object, accept);
            let parsed = batch_of_one(&with_escaped_member(&object), accept);
            prop_assert_eq!(&scanned, &parsed, "{:?} {}", accept, object);
        }
    }

    #[test]
    fn a_batch_entry_reads_as_the_same_object_sent_alone(object in object()) {
        let entry = batch_of_one(&object, Accept::Requests);
        let alone = match parse_message(&Bytes::from(object.clone()), &Limits::default(), Accept::Requests) {
            Message::Single(incoming) => incoming,
            other => panic!("one object read as {other:?}: {object}"),
        };
        prop_assert_eq!(entry, alone, "{}", object);
    }
}
