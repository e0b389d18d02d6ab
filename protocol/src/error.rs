//! Protocol errors.

/// Why a frame or handshake step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Frame over [`crate::MAX_FRAME`] bytes.
    #[error("frame of {0} bytes exceeds the 64 KiB limit")]
    TooLarge(usize),
    /// Not a frame: bad JSON or missing fields.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A message type this version does not know.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// Protocol version mismatch.
    #[error("protocol version {got} is not supported (this side speaks {want})")]
    Version {
        /// What the peer sent.
        got: u32,
        /// What we speak.
        want: u32,
    },
    /// The frame's MAC does not verify: altered, injected, or wrong key.
    #[error("frame authentication failed (altered or injected frame)")]
    BadMac,
    /// A frame out of sequence: replayed, reordered or dropped.
    #[error("frame sequence {got}, expected {want} (replayed, reordered or dropped frame)")]
    BadSequence {
        /// Sequence received.
        got: u64,
        /// Sequence expected.
        want: u64,
    },
    /// After authentication every frame must carry a MAC.
    #[error("unauthenticated frame in an authenticated session")]
    MissingMac,
    /// The peer's proof of the shared secret is wrong.
    #[error("authentication failed: wrong shared secret")]
    WrongSecret,
    /// A message that is not valid at this point of the conversation.
    #[error("unexpected message {0} at this point")]
    Unexpected(&'static str),
}
