//! `parse_message` reads the common case with a hand-written reader and
//! leaves everything else to serde_json; `parse_message_full` reads every
//! message with serde_json alone. These properties hold the two to the same
//! `Message`, error words included, for generated lone objects and batches
//! (escapes in member names and values, members given twice, odd
//! whitespace, numbers of every shape, nested params), for the same texts
//! broken at every position, and under each `Accept`, each `Version` and
//! tight limits.

use bytes::Bytes;
use proptest::prelude::*;
use sansrpc::wire::{Accept, Message, parse_message, parse_message_full};
use sansrpc::{Limits, Version};

/// Every way of reading a message the reader has a say in.
fn configs() -> Vec<(Limits, Accept)> {
    let mut out = Vec::new();
    for version in [Version::V2, Version::V1, Version::Auto] {
        for (max_batch_len, max_depth) in [(1024, 32), (2, 3)] {
            for accept in [Accept::Requests, Accept::Responses, Accept::Both] {
                let limits = Limits {
                    version,
                    max_batch_len,
                    max_depth,
                    ..Limits::default()
                };
                out.push((limits, accept));
            }
        }
    }
    out
}

fn same_verdict(text: &[u8], configs: &[(Limits, Accept)]) -> Result<(), TestCaseError> {
    let frame = Bytes::copy_from_slice(text);
    for (limits, accept) in configs {
        let fast: Message = parse_message(&frame, limits, *accept);
        let full = parse_message_full(&frame, limits, *accept);
        prop_assert_eq!(
            &fast,
            &full,
            "{:?} {:?} {:?}",
            limits.version,
            accept,
            String::from_utf8_lossy(text)
        );
    }
    Ok(())
}

/// JSON whitespace, often none, and sometimes a byte that is not JSON's.
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        12 => Just(""),
        3 => Just(" "),
        1 => Just("\n\t "),
        1 => Just("\r\n"),
        1 => Just("\u{c}"),
        1 => Just("\u{a0}"),
    ]
}

/// A string token with the characters a reader could stumble on: escapes
/// of every kind (valid, invalid, lone surrogates), quotes, brackets, a raw
/// control character, non-ASCII text.
fn string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => Just("a"),
            2 => Just("2.0"),
            1 => Just("subtract"),
            1 => Just("\\\""),
            1 => Just("\\\\"),
            1 => Just("\\/"),
            1 => Just("\\b\\f\\n\\r\\t"),
            1 => Just("\\u0041"),
            1 => Just("\\u00e9"),
            1 => Just("\\ud800"),
            1 => Just("\\ud83d\\ude00"),
            1 => Just("\\uZZZZ"),
            1 => Just("\\x"),
            1 => Just("\u{1}"),
            1 => Just("}"),
            1 => Just("]"),
            1 => Just("{"),
            1 => Just(","),
            1 => Just(":"),
            1 => Just(" "),
            1 => Just("é€😀"),
        ],
        0..5,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()))
}

/// Numbers of every shape, valid and not.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_owned()),
        Just("-0".to_owned()),
        Just("1".to_owned()),
        Just("-12".to_owned()),
        Just("1.5".to_owned()),
        Just("1.5e3".to_owned()),
        Just("1E+3".to_owned()),
        Just("2e-7".to_owned()),
        Just("1e400".to_owned()),
        Just("-1e-400".to_owned()),
        Just("123456789012345678901234567890".to_owned()),
        Just("01".to_owned()),
        Just("1.".to_owned()),
        Just(".5".to_owned()),
        Just("1e".to_owned()),
        Just("-".to_owned()),
        Just("+1".to_owned()),
        Just("1.e3".to_owned()),
        Just("0x10".to_owned()),
        Just("NaN".to_owned()),
        (0u64..100_000).prop_map(|n| n.to_string()),
        (any::<i64>(), 0u32..1000, -30i32..30).prop_map(|(i, f, e)| format!("{i}.{f}e{e}")),
    ]
}

/// Any JSON value (or a near miss), nested a little.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        2 => Just("null".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("false".to_owned()),
        1 => Just("nul".to_owned()),
        1 => Just("True".to_owned()),
        3 => number(),
        2 => Just("\"2.0\"".to_owned()),
        4 => string(),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (prop::collection::vec((inner.clone(), ws()), 0..4), ws()).prop_map(|(items, w)| {
                let items: Vec<String> = items.into_iter().map(|(v, w)| format!("{w}{v}{w}")).collect();
                format!("[{w}{}]", items.join(","))
            }),
            (prop::collection::vec((string(), inner, ws()), 0..4), ws()).prop_map(|(members, w)| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v, w)| format!("{w}{k}{w}:{w}{v}{w}"))
                    .collect();
                format!("{{{w}{}}}", members.join(","))
            }),
        ]
    })
}

/// A member name: the ones the rules read (each may come twice, or be
/// spelled with an escape), and others.
fn name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just("\"jsonrpc\""),
        4 => Just("\"method\""),
        3 => Just("\"params\""),
        4 => Just("\"id\""),
        2 => Just("\"result\""),
        2 => Just("\"error\""),
        1 => Just("\"meth\\u006fd\""),
        1 => Just("\"\\u0069d\""),
        1 => Just("\"x\""),
        1 => Just("\"ID\""),
        1 => Just("\"method2\""),
        1 => Just("\"\""),
    ]
}

/// A member's value, mostly of the shapes a request or response has.
fn member_value(name: &str) -> BoxedStrategy<String> {
    match name {
        "\"jsonrpc\"" => prop_oneof![8 => Just("\"2.0\"".to_owned()), 1 => Just("\"1.0\"".to_owned()), 1 => Just("\"2\\u002e0\"".to_owned()), 2 => value()].boxed(),
        "\"method\"" => prop_oneof![6 => string(), 1 => number(), 1 => value()].boxed(),
        "\"id\"" => prop_oneof![3 => number(), 2 => string(), 1 => Just("null".to_owned()), 1 => value()].boxed(),
        "\"params\"" => prop_oneof![
            3 => Just("[42,23]".to_owned()),
            1 => Just("{\"subtrahend\":23,\"minuend\":42}".to_owned()),
            3 => value()
        ]
        .boxed(),
        "\"error\"" => prop_oneof![
            2 => Just("{\"code\":-32601,\"message\":\"no\"}".to_owned()),
            1 => Just("{\"code\":1,\"message\":\"m\",\"data\":[1,{\"a\":null}]}".to_owned()),
            2 => value()
        ]
        .boxed(),
        _ => value().boxed(),
    }
}

/// One object: its members, order and spacing arbitrary.
fn object() -> impl Strategy<Value = String> {
    prop::collection::vec(name(), 0..7)
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

/// A whole message: a lone object (most often), a batch of objects and
/// other values, or something else; with a byte order mark now and then.
fn message() -> impl Strategy<Value = String> {
    let entry = prop_oneof![6 => object(), 1 => value()];
    let body = prop_oneof![
        6 => object(),
        3 => (prop::collection::vec((entry, ws()), 0..5), ws()).prop_map(|(entries, w)| {
            let entries: Vec<String> = entries.into_iter().map(|(e, w)| format!("{w}{e}{w}")).collect();
            format!("[{w}{}]", entries.join(","))
        }),
        1 => value(),
    ];
    (
        prop_oneof![12 => Just(""), 1 => Just("\u{feff}")],
        ws(),
        body,
        ws(),
    )
        .prop_map(|(bom, w1, body, w2)| format!("{bom}{w1}{body}{w2}"))
}

/// Bytes that break JSON where they land (or, sometimes, do not).
fn breaker() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"{"[..],
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\"",
        b"\\",
        b"0",
        b"-",
        b".",
        b"e",
        b"x",
        b" ",
        b"\x01",
        b"\xff",
        b"\xc3",
        b"",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn generated_messages_read_as_the_full_parse_reads_them(text in message()) {
        same_verdict(text.as_bytes(), &configs())?;
    }

    #[test]
    fn a_message_broken_at_one_place_reads_as_the_full_parse_reads_it(
        text in message(),
        at in any::<prop::sample::Index>(),
        cut in 0usize..3,
        with in breaker(),
    ) {
        let bytes = text.as_bytes();
        let at = at.index(bytes.len() + 1);
        let (before, after) = bytes.split_at(at);
        // Replace one byte, insert before it, or cut the message there.
        let after = match cut {
            0 => after.get(1..).unwrap_or_default(),
            1 => after,
            _ => &[][..],
        };
        let broken = [before, with, after].concat();
        same_verdict(&broken, &configs())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The same text cut, and given one wrong byte, at every position in turn.
    #[test]
    fn a_message_broken_at_every_position_reads_as_the_full_parse_reads_it(
        text in message(),
        with in breaker(),
    ) {
        let configs: Vec<_> = configs().into_iter().filter(|(l, _)| l.max_depth == 32).collect();
        let bytes = text.as_bytes();
        for at in 0..=bytes.len() {
            let (before, after) = bytes.split_at(at);
            same_verdict(before, &configs)?;
            let replaced = [before, with, after.get(1..).unwrap_or_default()].concat();
            same_verdict(&replaced, &configs)?;
        }
    }
}

/// The spec's examples and the cases the reader hands on, one by one.
#[test]
fn fixed_cases_read_as_the_full_parse_reads_them() {
    for text in [
        r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
        r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
        r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
        r#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method""#,
        r#"[]"#,
        r#"[1]"#,
        r#"[1,2,3]"#,
        r#"{"jsonrpc":"2.0","method":"a","method":"b","id":1}"#,
        r#"{"jsonrpc":"2.0","meth\u006fd":"a","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"m","id":1,"id":2}"#,
        r#"{"jsonrpc":"2.0","method":"m","id":1e400}"#,
        r#"{"jsonrpc":"2.0","method":1e400,"id":1}"#,
        r#"{"jsonrpc":"2.0","method":"\ud800","id":1}"#,
        r#"{"jsonrpc":"2.0","m\udc00ethod":"ping","id":1}"#,
        r#"{"jsonrpc":"2.0","m\udc00ethod":"ping","id":1"#,
        r#"{"jsonrpc":"2.0","method":"m","id":01}"#,
        r#"{"jsonrpc":"2.0","method":"m","id":1,}"#,
        r#"{"jsonrpc":"2.0","method":"m","id":1} x"#,
        r#"{"jsonrpc":"2.0","result":1,"id":1}"#,
        r#"{"jsonrpc":"2.0","error":{"code":1,"message":"m"},"id":null}"#,
        r#"{"method":"m","params":[1],"id":1}"#,
        r#"{"method":"m","params":null,"id":null}"#,
        "\u{feff}{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}",
        " \t\r\n[ {\"jsonrpc\":\"2.0\",\"method\":\"m\"} , 7 ]\n",
    ] {
        let deep = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{}1{},\"id\":1}}",
            "[".repeat(70),
            "]".repeat(70)
        );
        let mut all = configs();
        all.push((
            Limits {
                max_depth: 200,
                ..Limits::default()
            },
            Accept::Requests,
        ));
        for text in [text, deep.as_str()] {
            same_verdict(text.as_bytes(), &all).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
