//! [`DecodeError`]: every way a replication or pgoutput message can be malformed, with the field and byte
//! offset.
//!
//! All of these are permanent: the bytes came from the server and will not change on retry. The caller
//! decides what that means for the stream (see `postgres::error`).

/// A message could not be decoded. Offsets count from the first byte of the buffer given to the decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message truncated: {what} at byte {offset} runs past the end")]
    Truncated { what: &'static str, offset: usize },
    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str, offset: usize },
    #[error("{what} at byte {offset} is negative ({value})")]
    NegativeCount { what: &'static str, offset: usize, value: i32 },
    /// A message type this decoder does not know, such as the protocol v3 two-phase messages.
    #[error("unknown message tag '{}'", .0.escape_ascii())]
    UnknownTag(u8),
    #[error("unknown tuple cell kind '{}' at byte {offset}", .tag.escape_ascii())]
    UnknownTupleCell { tag: u8, offset: usize },
    /// Update and Delete mark their tuples with `K` (key), `O` (old, full) and `N` (new).
    #[error("expected tuple marker {expected} at byte {offset}, found '{}'", .found.escape_ascii())]
    UnexpectedTupleMarker { expected: &'static str, found: u8, offset: usize },
    #[error("{extra} unexpected bytes after a complete '{message}' message")]
    TrailingBytes { message: char, extra: usize },
    #[error("unknown replica identity '{}'", .0.escape_ascii())]
    InvalidReplicaIdentity(u8),
}
