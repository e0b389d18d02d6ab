//! Protocol errors: every reason a frame or a handshake step is refused. Any of them ends the
//! connection; the coordinator also counts authentication failures towards a ban.

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
    /// The peer speaks another protocol version; one side needs upgrading.
    #[error("protocol version {got} is not supported (this side speaks {want})")]
    Version {
        /// Protocol version the peer announced.
        got: u32,
        /// Protocol version this build speaks ([`crate::PROTOCOL_VERSION`]).
        want: u32,
    },
    /// The frame's MAC does not verify: altered, injected, or wrong key.
    #[error("frame authentication failed (altered or injected frame)")]
    BadMac,
    /// A frame out of sequence: replayed, reordered or dropped.
    #[error("frame sequence {got}, expected {want} (replayed, reordered or dropped frame)")]
    BadSequence {
        /// Sequence number carried by the frame.
        got: u64,
        /// Sequence number this side expected next (frames count from 0 in each direction).
        want: u64,
    },
    /// After authentication every frame must carry a MAC.
    #[error("unauthenticated frame in an authenticated session")]
    MissingMac,
    /// The peer's proof of the shared secret is wrong.
    #[error("authentication failed: wrong shared secret")]
    WrongSecret,
    /// The box key's signature over the handshake does not verify.
    #[error("authentication failed: the box key's signature does not verify")]
    BadSignature,
    /// A message that is not valid at this point of the conversation.
    #[error("unexpected message {0} at this point")]
    Unexpected(&'static str),
}
