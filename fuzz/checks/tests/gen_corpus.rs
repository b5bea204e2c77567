//! Writes the seed corpora under `fuzz/corpus/`. Not run by default:
//! `cargo test -p sansrpc-fuzz-checks --test gen_corpus -- --ignored`.

use std::fs;
use std::path::{Path, PathBuf};

use sansrpc::conn::{ContentLength, Framer};
use sansrpc_fuzz_checks::Case;

/// The JSON-RPC 2.0 specification's section 7 examples, then edge cases.
const MESSAGES: &[(&str, &[u8])] = &[
    ("spec_positional_1", br#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#),
    ("spec_positional_2", br#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#),
    ("spec_named_3", br#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#),
    ("spec_named_4", br#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#),
    ("spec_notification_update", br#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#),
    ("spec_notification_foobar", br#"{"jsonrpc": "2.0", "method": "foobar"}"#),
    ("spec_unknown_method", br#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#),
    ("spec_invalid_json", br#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#),
    ("spec_invalid_request", br#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#),
    ("spec_batch_invalid_json", b"[\n  {\"jsonrpc\": \"2.0\", \"method\": \"sum\", \"params\": [1,2,4], \"id\": \"1\"},\n  {\"jsonrpc\": \"2.0\", \"method\"\n]"),
    ("spec_empty_batch", b"[]"),
    ("spec_batch_one_invalid", b"[1]"),
    ("spec_batch_three_invalid", b"[1,2,3]"),
    ("spec_batch_mixed", br#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}, {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"}, {"foo": "boo"}, {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"}, {"jsonrpc": "2.0", "method": "get_data", "id": "9"}]"#),
    ("spec_batch_all_notifications", br#"[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"#),
    ("spec_response_result", br#"{"jsonrpc": "2.0", "result": 19, "id": 1}"#),
    ("spec_response_error", br#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#),
    ("spec_response_parse_error", br#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#),
    ("spec_response_batch", br#"[{"jsonrpc": "2.0", "result": 7, "id": "1"}, {"jsonrpc": "2.0", "result": 19, "id": "2"}, {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}, {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"}, {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}]"#),
    ("edge_bom", b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}"),
    ("edge_duplicate_method", br#"{"jsonrpc":"2.0","method":"a","method":"b","id":1}"#),
    ("edge_duplicate_id", br#"{"jsonrpc":"2.0","method":"a","id":1,"id":2}"#),
    ("edge_duplicate_unknown", br#"{"jsonrpc":"2.0","method":"a","x":1,"x":2,"id":1}"#),
    ("edge_deep", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
    ("edge_deep_params", br#"{"jsonrpc":"2.0","method":"a","params":[[[[{"a":[[1]]}]]]],"id":1}"#),
    ("edge_huge_number_id", br#"{"jsonrpc":"2.0","method":"a","id":1e400}"#),
    ("edge_lone_surrogate", br#"{"jsonrpc":"2.0","method":"a","params":["\ud800"],"id":1}"#),
    ("edge_ids", br#"[{"jsonrpc":"2.0","method":"a","id":1.50},{"jsonrpc":"2.0","method":"a","id":-0},{"jsonrpc":"2.0","method":"a","id":123456789012345678901234567890},{"jsonrpc":"2.0","method":"a","id":null},{"jsonrpc":"2.0","method":"a","id":"\u0031"}]"#),
    ("edge_bad_ids", br#"[{"jsonrpc":"2.0","method":"a","id":{}},{"jsonrpc":"2.0","method":"a","id":[1]},{"jsonrpc":"2.0","method":"a","id":true}]"#),
    ("edge_bad_params", br#"[{"jsonrpc":"2.0","method":"a","params":null,"id":1},{"jsonrpc":"2.0","method":"a","params":"x","id":2},{"jsonrpc":"2.0","method":"a","params":1}]"#),
    ("edge_bad_version", br#"[{"jsonrpc":"2.00","method":"a","id":1},{"jsonrpc":2.0,"method":"a","id":2},{"method":"a","id":3},{"jsonrpc":"\u0032.0","method":"a","id":4}]"#),
    ("edge_result_and_error", br#"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":1}"#),
    ("edge_error_array", br#"{"jsonrpc":"2.0","error":[-32000,"x"],"id":1}"#),
    ("edge_error_data_null", br#"{"jsonrpc":"2.0","error":{"code":5,"message":"x","data":null},"id":1}"#),
    ("edge_method_null", br#"{"jsonrpc":"2.0","method":null,"result":1,"id":1}"#),
    ("edge_whitespace", b" \t\r\n{\"jsonrpc\":\"2.0\",\"method\":\"a\"} \r\n"),
    ("edge_trailing_garbage", b"{} x"),
    ("edge_invalid_utf8", b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}"),
    ("edge_scalars", b"null"),
    ("edge_escaped_key", br#"{"jsonrpc":"2.0","m\u0065thod":"a","id":1}"#),
];

/// Params texts for the `params` and `router` targets.
const PARAMS: &[(&str, &[u8])] = &[
    ("absent", b""),
    ("pair", b"[42, 23]"),
    ("named", br#"{"a": 1, "b": "x", "c": [true]}"#),
    ("named_by_position", br#"[1, "x", [false]]"#),
    ("named_missing_default", br#"{"a": 1}"#),
    ("named_duplicate", br#"{"a": 1, "a": 2}"#),
    ("map", br#"{"x": 1, "y": -2}"#),
    ("map_duplicate", br#"{"x": 1, "x": 2}"#),
    ("option_null_inside", b"[null, true]"),
    ("strings", br#"["a\u00e9\ud83d\ude00"]"#),
    ("too_long", b"[1, 2, 3]"),
    ("float_for_int", b"[1.0, 2]"),
    ("big_int", b"[18446744073709551616, 1]"),
    ("huge_number", b"[1e400]"),
    ("lone_surrogate", br#"["\udc00"]"#),
    ("empty_array", b"[]"),
    ("empty_object", b"{}"),
    ("scalar", b"7"),
    ("nbsp_around", b"\xc2\xa0[1, 2]"),
    ("deep", b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
];

/// Seeds that reproduce an open core bug (`fuzz/regressions/OPEN_BUGS`)
/// go to the regressions, so the corpus itself always passes.
const OPEN: &[&str] = &[
    "framers/cl_truncated",
    "differential/edge_error_array",
    "params/nbsp_around",
];

fn write(target: &str, name: &str, data: &[u8]) {
    let folder = if OPEN.contains(&format!("{target}/{name}").as_str()) {
        "../regressions"
    } else {
        "../corpus"
    };
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder).join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), data).unwrap();
}

/// A fixed pseudo-random tail, so operation seeds are reproducible.
fn tail(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn stream(kind: u8, msgs: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    match kind % 3 {
        0 => {
            for m in msgs {
                out.extend_from_slice(m);
                out.extend_from_slice(b"\r\n");
            }
        }
        1 => {
            let f = ContentLength::new(usize::MAX);
            for m in msgs {
                f.encode(m, &mut out);
            }
        }
        _ => out.extend_from_slice(msgs.first().copied().unwrap_or_default()),
    }
    out
}

#[test]
#[ignore = "writes the seed corpora; run by hand"]
fn generate() {
    for (name, m) in MESSAGES {
        write("parse_message", name, m);
        write("parse_reader", name, m);
        write("differential", name, m);
    }
    for (name, p) in PARAMS {
        write("params", name, p);
        write("router", name, p);
    }
    let groups: &[(&str, &[usize])] = &[
        ("spec_calls", &[0, 1, 2, 3]),
        ("spec_mixed", &[4, 5, 6, 7, 8]),
        ("spec_batches", &[9, 10, 11, 12, 13, 14]),
        ("edges", &[19, 20, 21, 23, 27, 28, 29, 30, 35, 36, 37]),
        ("deep", &[23, 24, 0]),
    ];
    // Configuration byte: framer = c % 3, limits = c / 3.
    for (gname, idx) in groups {
        let msgs: Vec<&[u8]> = idx.iter().map(|&i| MESSAGES[i].1).collect();
        for kind in 0..3u8 {
            let kname = ["newline", "content_length", "body"][usize::from(kind)];
            for (limits, ops_seed) in [(0u8, 0u64), (1, 7)] {
                let config = kind + 3 * limits;
                let s = stream(kind, &msgs);
                let ops = if ops_seed == 0 {
                    Vec::new()
                } else {
                    tail(ops_seed + u64::from(config), 48)
                };
                let data = Case::encode(config, &s, &ops);
                write("server", &format!("{gname}_{kname}_l{limits}"), &data);
                if limits == 0 {
                    write(
                        "framers",
                        &format!("{gname}_{kname}"),
                        &Case::encode(config, &s, &tail(3, 24)),
                    );
                }
            }
        }
    }
    // Framer edges: over-long lines, CR placement, bad headers, huge declared length.
    let framer_edges: &[(&str, u8, &[u8])] = &[
        ("newline_long_line", 0, b"0123456789abcdefghij\nok\n"),
        (
            "newline_cr_at_limit",
            0,
            b"0123456789abcdef\r\n0123456789abcdefg\r\n",
        ),
        ("newline_blank_lines", 0, b"\n\r\n \t\r\n{}\n"),
        ("cl_bad_header", 1, b"Content-Type: x\r\n\r\n{}"),
        ("cl_huge_declared", 1, b"Content-Length: 99999999999\r\n\r\nxxxx"),
        ("cl_truncated", 1, b"Content-Length: 10\r\n\r\n{}"),
        (
            "cl_blank_between",
            1,
            b"Content-Length: 2\r\n\r\n{}\r\nContent-Length: 2\r\n\r\n[]",
        ),
        ("body_over_limit", 2, b"0123456789abcdefghij"),
    ];
    for (name, config, s) in framer_edges {
        write("framers", name, &Case::encode(*config, s, &tail(5, 16)));
    }
    // Client: the raw stream is extra input; the operations do the work.
    for (i, config) in [0u8, 1, 2, 3, 4, 6].iter().enumerate() {
        for seed in 0..4u64 {
            let raw = if seed == 0 {
                stream(*config, &[MESSAGES[15].1, MESSAGES[17].1])
            } else {
                Vec::new()
            };
            let data = Case::encode(*config, &raw, &tail(100 + seed + 10 * i as u64, 96));
            write("client", &format!("ops_c{config}_{seed}"), &data);
        }
    }
}
