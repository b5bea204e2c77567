//! A framer wrapper that lets a check see how much a connection's framer
//! holds, although the connection owns it.

use std::cell::Cell;
use std::rc::Rc;

use bytes::Bytes;
use sansrpc::ProtocolError;
use sansrpc::conn::Framer;

/// Delegates to the inner framer and records `buffered()` after each call.
pub(crate) struct Spy {
    inner: Box<dyn Framer>,
    buffered: Rc<Cell<usize>>,
}

impl Spy {
    pub(crate) fn new(inner: Box<dyn Framer>) -> (Self, Rc<Cell<usize>>) {
        let buffered = Rc::new(Cell::new(0));
        (
            Self {
                inner,
                buffered: buffered.clone(),
            },
            buffered,
        )
    }

    fn note(&self) {
        self.buffered.set(self.inner.buffered());
    }
}

impl std::fmt::Debug for Spy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spy")
    }
}

impl Framer for Spy {
    fn push(&mut self, bytes: &[u8]) {
        self.inner.push(bytes);
        self.note();
    }

    fn push_eof(&mut self) {
        self.inner.push_eof();
        self.note();
    }

    fn next_frame(&mut self) -> Option<Result<Bytes, ProtocolError>> {
        let r = self.inner.next_frame();
        self.note();
        r
    }

    fn encode(&self, message: &[u8], out: &mut Vec<u8>) {
        self.inner.encode(message, out);
    }

    // Forwarded, so that the checks run the inner framer's own in-place
    // and owned framing (what a connection uses), not the defaults.
    fn encode_in_place(&self, out: &mut Vec<u8>, start: usize) {
        self.inner.encode_in_place(out, start);
    }

    fn encode_owned(&self, message: Vec<u8>) -> Vec<u8> {
        self.inner.encode_owned(message)
    }

    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    fn max_frame(&self) -> usize {
        self.inner.max_frame()
    }

    fn is_failed(&self) -> bool {
        self.inner.is_failed()
    }
}
