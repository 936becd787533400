//! [`Cursor`]: checked big-endian reads over one message.
//!
//! Every read either advances past the field or returns a [`DecodeError`] naming it, so the decoders built on
//! this never index, slice with `[]` or panic, whatever the server sends.

use super::error::DecodeError;
use crate::lsn::Lsn;

#[derive(Debug)]
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// The offset of the next read, for error messages.
    pub(super) fn offset(&self) -> usize {
        self.pos
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(super) fn read_bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(DecodeError::Truncated { what, offset: self.pos })?;
        self.pos += slice.len();
        Ok(slice)
    }

    fn read_array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let offset = self.pos;
        <[u8; N]>::try_from(self.read_bytes(N, what)?).map_err(|_| DecodeError::Truncated { what, offset })
    }

    pub(super) fn read_u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        self.read_array(what).map(u8::from_be_bytes)
    }

    pub(super) fn read_i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        self.read_array(what).map(i16::from_be_bytes)
    }

    pub(super) fn read_i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        self.read_array(what).map(i32::from_be_bytes)
    }

    pub(super) fn read_u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.read_array(what).map(u32::from_be_bytes)
    }

    pub(super) fn read_i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.read_array(what).map(i64::from_be_bytes)
    }

    pub(super) fn read_lsn(&mut self, what: &'static str) -> Result<Lsn, DecodeError> {
        self.read_array(what).map(|b| Lsn::new(u64::from_be_bytes(b)))
    }

    /// An Int16 count that must not be negative.
    pub(super) fn read_count_i16(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let value = self.read_i16(what)?;
        usize::try_from(value).map_err(|_| DecodeError::NegativeCount { what, offset, value: value.into() })
    }

    /// An Int32 count or length that must not be negative.
    pub(super) fn read_count_i32(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let value = self.read_i32(what)?;
        usize::try_from(value).map_err(|_| DecodeError::NegativeCount { what, offset, value })
    }

    /// A NUL-terminated UTF-8 string; the NUL is consumed and not returned.
    pub(super) fn read_cstr(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let offset = self.pos;
        let rest = self.buf.get(offset..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == 0).ok_or(DecodeError::Truncated { what, offset })?;
        let text = self.read_bytes(len, what)?;
        self.read_bytes(1, what)?;
        match std::str::from_utf8(text) {
            Ok(text) => Ok(text.to_owned()),
            Err(e) => Err(DecodeError::InvalidUtf8 { what, offset: offset + e.valid_up_to() }),
        }
    }

    /// Everything not read yet.
    pub(super) fn read_rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        rest
    }

    /// Succeeds only if the whole buffer was read: a complete message followed by more bytes is malformed.
    pub(super) fn finish(self, message: u8) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { message: char::from(message), extra }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_that_overflows_the_offset_is_truncated_not_a_panic() {
        let mut cur = Cursor::new(&[0, 1, 2]);
        assert_eq!(cur.read_i16("first"), Ok(1));
        assert_eq!(
            cur.read_bytes(usize::MAX, "huge"),
            Err(DecodeError::Truncated { what: "huge", offset: 2 })
        );
        assert_eq!(cur.read_u8("last"), Ok(2));
        assert_eq!(cur.finish(b'x'), Ok(()));
    }
}
