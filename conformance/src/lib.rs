//! JSON-RPC 2.0 conformance suite (work in progress).
