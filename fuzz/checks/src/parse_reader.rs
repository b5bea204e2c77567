//! Target `parse_reader`: `parse_message`, which reads the common case with
//! a hand-written reader, against `parse_message_full`, serde_json alone.
//!
//! Asserts that the two give the same [`Message`] (every verdict, error
//! code and error text, id and params) for each [`Accept`], each
//! [`Version`], with the default limits and with tight ones: the reader
//! decides only what it reads exactly as the full parse does, and leaves
//! the rest to it.

use bytes::Bytes;
use sansrpc::wire::{Accept, Message, parse_message, parse_message_full};
use sansrpc::{Limits, Version};

use crate::parse::limit_sets;

/// Runs one input.
pub fn check(data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    for base in limit_sets() {
        for version in [Version::V2, Version::V1, Version::Auto] {
            let limits = Limits {
                version,
                ..base.clone()
            };
            for accept in [Accept::Requests, Accept::Responses, Accept::Both] {
                let read: Message = parse_message(&frame, &limits, accept);
                let full = parse_message_full(&frame, &limits, accept);
                assert_eq!(
                    read, full,
                    "the reader and the full parse differ ({version:?}, {accept:?}, max_depth {}, max_batch_len {})",
                    limits.max_depth, limits.max_batch_len
                );
            }
        }
    }
}
