//! A cursor over the fuzzer's bytes for structure-aware targets: every read succeeds (an
//! exhausted input yields zeros and empty slices), so any byte string is a valid input and
//! libFuzzer's mutations map to small changes of the generated structure.

/// Reads choices, numbers and byte strings from the front of a fuzz input.
#[derive(Debug, Clone)]
pub(crate) struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor at the start of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte (0 once exhausted).
    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// A flag from the low bit of the next byte.
    pub(crate) fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// An index below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    /// One of `items` (which must not be empty).
    pub(crate) fn pick<'i, T>(&mut self, items: &'i [T]) -> &'i T {
        &items[self.below(items.len())]
    }

    /// A little-endian `u16`.
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A byte string of at most `max` bytes, length-prefixed by one `u16`.
    pub(crate) fn bytes(&mut self, max: usize) -> &'a [u8] {
        let want = usize::from(self.u16()).min(max).min(self.data.len());
        let (head, rest) = self.data.split_at(want);
        self.data = rest;
        head
    }

    /// Like [`Input::bytes`], as text (invalid UTF-8 replaced).
    pub(crate) fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// Writes the inputs [`Input`] reads back, for seeds and regression tests.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct Seed(pub(crate) Vec<u8>);

#[cfg(test)]
impl Seed {
    /// Appends one raw byte (a choice, flag or index).
    pub(crate) fn byte(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }

    /// Appends a `u16`.
    pub(crate) fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Appends a length-prefixed byte string (what [`Input::bytes`] reads).
    pub(crate) fn bytes(mut self, b: &[u8]) -> Self {
        let len = u16::try_from(b.len()).expect("seed parts are small");
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(b);
        self
    }

    /// Appends the tail (what [`Input::rest`] reads).
    pub(crate) fn rest(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_writes_what_input_reads() {
        let s = Seed::default().byte(7).u16(513).bytes(b"abc").rest(b"tail");
        let mut i = Input::new(&s.0);
        assert_eq!(i.byte(), 7);
        assert_eq!(i.u16(), 513);
        assert_eq!(i.bytes(100), b"abc");
        assert_eq!(i.rest(), b"tail");
        assert_eq!(i.byte(), 0);
        assert_eq!(i.bytes(10), b"");
    }
}
