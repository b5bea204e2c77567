//! The hand-written reader of the common case: one pass over a lone
//! request object, or over a batch array, that validates the JSON and finds
//! each object's members at once.
//!
//! It decides only what it reads exactly as serde_json and the derived
//! `Wire` would: valid JSON, member names without escapes, no member the
//! rules read given twice, nesting within [`MAX_NESTING`]. Everything else
//! stops it ([`Stop`]), and the serde path, which this reader never
//! replaces, gives the verdict and its words. `core/tests/parse_reader.rs`
//! and the `differential` fuzz target hold the two to the same answers.

use super::Head;

/// Why the reader gave up: either way the serde path decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// Probably not JSON: serde_json's error account is all that is
    /// needed (a guess, never a verdict: the caller only uses it to pick
    /// which serde pass runs first).
    Invalid,
    /// Valid or not, something the reader leaves to serde_json (nesting
    /// deeper than it follows).
    Unusual,
}

type Read<T> = Result<T, Stop>;

/// The deepest nesting the reader follows: one bit per level of a `u64`
/// says whether that level is an object.
const MAX_NESTING: usize = 64;

/// A lone object as the reader found it.
pub(super) struct ReadObject<'a> {
    /// Its members, or `None` for valid JSON the reader leaves to the full
    /// parse (a member name with an escape, a member the rules read given
    /// twice).
    pub(super) head: Option<Head<'a>>,
    /// The deepest nesting in the text (the object itself is 1), as
    /// `check_depth` counts it.
    pub(super) deepest: usize,
}

/// A batch array as the reader found it.
pub(super) struct ReadBatch<'a> {
    /// At most the limit's worth of entries, in order: each entry's text,
    /// and for an object read without surprises its members.
    pub(super) entries: Vec<(&'a str, Option<Head<'a>>)>,
    /// Every entry, kept or not.
    pub(super) total: usize,
    /// The deepest nesting in the text (the array itself is 1).
    pub(super) deepest: usize,
}

/// Reads a text that opens (after whitespace) with `{` and must be exactly
/// one object.
pub(super) fn read_object(text: &str) -> Read<ReadObject<'_>> {
    let mut r = Reader::new(text);
    r.ws();
    if r.peek() != Some(b'{') {
        return Err(Stop::Unusual);
    }
    let head = r.object()?;
    r.ws();
    if r.i != text.len() {
        return Err(Stop::Invalid);
    }
    Ok(ReadObject {
        head,
        deepest: r.deepest,
    })
}

/// Reads a batch array (the text opens with `[` after whitespace), keeping
/// at most `limit` entries and counting the rest, as `parse_batch` does.
/// `guess` sizes the vector.
pub(super) fn read_batch(text: &str, limit: usize, guess: usize) -> Read<ReadBatch<'_>> {
    let mut r = Reader::new(text);
    r.ws();
    if r.peek() != Some(b'[') {
        return Err(Stop::Unusual);
    }
    r.i += 1;
    r.level = 1;
    r.deepest = 1;
    r.ws();
    let mut batch = ReadBatch {
        entries: Vec::with_capacity(guess),
        total: 0,
        deepest: 0,
    };
    if r.peek() == Some(b']') {
        r.i += 1;
    } else {
        loop {
            let start = r.i;
            let head = if r.peek() == Some(b'{') {
                r.object()?
            } else {
                r.value()?;
                None
            };
            if batch.entries.len() < limit {
                let entry = text.get(start..r.i).ok_or(Stop::Unusual)?;
                batch.entries.push((entry, head));
            }
            batch.total += 1;
            r.ws();
            match r.peek() {
                Some(b',') => {
                    r.i += 1;
                    r.ws();
                }
                Some(b']') => {
                    r.i += 1;
                    break;
                }
                _ => return Err(Stop::Invalid),
            }
        }
    }
    r.ws();
    if r.i != text.len() {
        return Err(Stop::Invalid);
    }
    batch.deepest = r.deepest;
    Ok(batch)
}

/// A member name of an object the reader reads.
#[derive(Clone, Copy)]
enum Name {
    Jsonrpc,
    Method,
    Params,
    Id,
    Result,
    Error,
    /// A name the rules do not read.
    Other,
    /// A name with an escape: which one it is, serde_json decides.
    Escaped,
}

struct Reader<'a> {
    text: &'a str,
    /// The next byte to read.
    i: usize,
    /// How many containers are open around the value being read.
    level: usize,
    /// The deepest nesting seen so far.
    deepest: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            i: 0,
            level: 0,
            deepest: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    /// Skips JSON whitespace (serde_json's four bytes).
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Reads an object at its `{`: its members, or `None` when it is valid
    /// but not for the reader to decide.
    fn object(&mut self) -> Read<Option<Head<'a>>> {
        self.i += 1;
        self.level += 1;
        self.deepest = self.deepest.max(self.level);
        self.ws();
        let mut head = Head::default();
        if self.peek() == Some(b'}') {
            self.i += 1;
            self.level -= 1;
            return Ok(Some(head));
        }
        let (mut result, mut error) = (None, None);
        let mut plain = true;
        loop {
            let name = self.member_name()?;
            self.ws();
            self.colon()?;
            let start = self.i;
            // A scalar is read directly; a container by the skipper.
            match self.peek() {
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => self.value()?,
            }
            let value = self.text.get(start..self.i).ok_or(Stop::Unusual)?;
            let slot = match name {
                Name::Jsonrpc => Some(&mut head.jsonrpc),
                Name::Method => Some(&mut head.method),
                Name::Params => Some(&mut head.params),
                Name::Id => Some(&mut head.id),
                Name::Result => Some(&mut result),
                Name::Error => Some(&mut error),
                Name::Other => None,
                // The name may still be one the rules read (`meth\u006fd`).
                Name::Escaped => {
                    plain = false;
                    None
                }
            };
            // A member the rules read, given twice: serde names it.
            if slot.is_some_and(|slot| slot.replace(value).is_some()) {
                plain = false;
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(Stop::Invalid),
            }
        }
        self.level -= 1;
        head.is_response = head.method.is_none() && (result.is_some() || error.is_some());
        Ok(plain.then_some(head))
    }

    /// Reads a member name (at its opening quote, or refuses): the names
    /// the rules read are matched with their quotes in place, any other
    /// is read as a string.
    fn member_name(&mut self) -> Read<Name> {
        let bytes = self.text.as_bytes();
        let rest = bytes.get(self.i..).unwrap_or_default();
        let known = match rest.get(1) {
            Some(b'j') if rest.starts_with(b"\"jsonrpc\"") => Some((Name::Jsonrpc, 9)),
            Some(b'm') if rest.starts_with(b"\"method\"") => Some((Name::Method, 8)),
            Some(b'p') if rest.starts_with(b"\"params\"") => Some((Name::Params, 8)),
            Some(b'i') if rest.starts_with(b"\"id\"") => Some((Name::Id, 4)),
            Some(b'r') if rest.starts_with(b"\"result\"") => Some((Name::Result, 8)),
            Some(b'e') if rest.starts_with(b"\"error\"") => Some((Name::Error, 7)),
            _ => None,
        };
        if let Some((name, len)) = known {
            self.i += len;
            return Ok(name);
        }
        if rest.first() != Some(&b'"') {
            return Err(Stop::Invalid);
        }
        Ok(if self.string()? {
            Name::Escaped
        } else {
            Name::Other
        })
    }

    /// After a member name: `:` and the whitespace around it.
    fn colon(&mut self) -> Read<()> {
        if self.peek() != Some(b':') {
            return Err(Stop::Invalid);
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    /// Skips one value that starts at `i`, validating it, without
    /// recursion.
    fn value(&mut self) -> Read<()> {
        // Bit `n` of `objects`: whether the container `n` levels up is an object.
        let mut objects: u64 = 0;
        let mut depth: usize = 0;
        let level = self.level + 1;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(open @ (b'[' | b'{')) => {
                    if depth == MAX_NESTING {
                        return Err(Stop::Unusual);
                    }
                    let object = open == b'{';
                    self.deepest = self.deepest.max(level + depth);
                    self.i += 1;
                    self.ws();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        objects = (objects << 1) | u64::from(object);
                        depth += 1;
                        if object {
                            self.name()?;
                        }
                        continue;
                    }
                }
                _ => return Err(Stop::Invalid),
            }
            // After a value: close what it ends, or go on to the next one.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                self.ws();
                let object = objects & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                        if object {
                            self.name()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ => return Err(Stop::Invalid),
                }
                self.i += 1;
                objects >>= 1;
                depth -= 1;
            }
        }
    }

    /// A member name inside a skipped object, its colon and whitespace.
    fn name(&mut self) -> Read<()> {
        if self.peek() != Some(b'"') {
            return Err(Stop::Invalid);
        }
        self.string()?;
        self.ws();
        self.colon()
    }

    /// Reads a string token at its opening quote, validating its escapes
    /// and refusing control characters as serde_json does; whether it had
    /// an escape.
    fn string(&mut self) -> Read<bool> {
        let bytes = self.text.as_bytes();
        self.i += 1;
        let mut escaped = false;
        loop {
            // The bytes a string holds as they are.
            while bytes
                .get(self.i)
                .is_some_and(|&c| !matches!(c, b'"' | b'\\' | 0x00..=0x1f))
            {
                self.i += 1;
            }
            match bytes.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    match bytes.get(self.i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                        Some(b'u') => {
                            let hex = bytes.get(self.i + 2..self.i + 6).ok_or(Stop::Invalid)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Stop::Invalid);
                            }
                            self.i += 6;
                        }
                        _ => return Err(Stop::Invalid),
                    }
                }
                _ => return Err(Stop::Invalid),
            }
        }
    }

    /// A number by JSON's grammar (serde_json's `ignore_number`): what
    /// follows it is the container's to check.
    fn number(&mut self) -> Read<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            // One leading zero; a digit after it is refused by the caller.
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Stop::Invalid),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Stop::Invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Stop::Invalid);
            }
        }
        Ok(())
    }

    /// Skips ASCII digits; how many.
    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn literal(&mut self, word: &[u8]) -> Read<()> {
        let bytes = self.text.as_bytes();
        match bytes.get(self.i..self.i + word.len()) {
            Some(found) if found == word => {
                self.i += word.len();
                Ok(())
            }
            _ => Err(Stop::Invalid),
        }
    }
}
