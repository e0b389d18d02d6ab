//! Typed errors of the factom crate: bad address strings ([`AddressError`]), bad entries
//! ([`EntryError`]) and commits that fail factomd's checks ([`CommitError`]). Their messages are
//! meant for the operator and say what was expected.

/// A malformed address or key string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The string is empty.
    #[error("address is empty")]
    Empty,
    /// A character outside the base58 alphabet.
    #[error("address {addr:?}: character {ch:?} at position {pos} is not base58 (0, O, I and l are never used)")]
    NotBase58 {
        /// The address as given.
        addr: String,
        /// The first character not in the base58 alphabet.
        ch: char,
        /// 1-based position of that character in the string.
        pos: usize,
    },
    /// Decodes to the wrong number of bytes (a Factom address is 52 characters, 38 bytes).
    #[error("address {addr:?} is {chars} characters ({bytes} bytes decoded); Factom addresses are 52 characters")]
    WrongLength {
        /// The address as given.
        addr: String,
        /// Its length in characters.
        chars: usize,
        /// Length in bytes after base58 decoding (38 for a Factom address).
        bytes: usize,
    },
    /// The checksum does not match: a typo or a truncated copy.
    #[error("address {addr:?} has a bad checksum (mistyped or mangled?)")]
    BadChecksum {
        /// The address as given.
        addr: String,
    },
    /// The 2-byte prefix is not one of FA, Fs, EC, Es.
    #[error("address {addr:?} has unknown prefix bytes {prefix:02x?}: expected an FA, Fs, EC or Es address")]
    UnknownPrefix {
        /// The address as given.
        addr: String,
        /// The two prefix bytes found, which match none of FA, Fs, EC, Es.
        prefix: [u8; 2],
    },
    /// A valid address of another kind than the one required.
    #[error("expected {expected} address, got {found} address {addr:?}")]
    WrongKind {
        /// The address as given (never a secret: secrets are shown as their kind only).
        addr: String,
        /// The kind that was required, e.g. "an EC".
        expected: &'static str,
        /// The kind the string actually is.
        found: &'static str,
    },
}

/// An entry factomd would refuse: a payload over 10 KiB, or bytes that do not parse as an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Payload over 10 KiB.
    #[error("entry payload is {0} bytes; the limit is 10240 (10 KiB)")]
    TooLarge(usize),
    /// Marshalled bytes that do not parse.
    #[error("malformed entry: {0}")]
    Malformed(String),
}

/// An invalid commit message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// Shorter than 136 bytes.
    #[error("commit is {0} bytes, expected 136")]
    TooShort(usize),
    /// Version byte not 0.
    #[error("commit version is {0}, expected 0")]
    BadVersion(u8),
    /// Credits outside 1..=10.
    #[error("commit pays {0} credits, expected 1 to 10")]
    BadCredits(u8),
    /// The signature does not verify.
    #[error("commit signature does not verify")]
    BadSignature,
}

/// Bytes that are not an entry block's binary form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EBlockError {
    /// Shorter than the 140-byte header.
    #[error("entry block is {0} bytes, shorter than its 140-byte header")]
    TooShort(usize),
    /// The body is not the number of 32-byte items the header declares.
    #[error("entry block header declares {declared} items, but its body is {bytes} bytes")]
    CountMismatch {
        /// Items the header declares.
        declared: usize,
        /// Bytes after the header.
        bytes: usize,
    },
}
