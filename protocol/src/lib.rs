//! # protocol
//!
//! The netmine wire protocol between a netcoordinator and its netminers, independent of the
//! transport (the roles carry it in WebSocket text frames):
//!
//! * [`message`]: versioned, tagged JSON messages (job, minute, stop, submission, stats, …);
//! * [`auth`]: mutual challenge authentication with the farm's shared secret (HMAC-BLAKE2b) and,
//!   from version 2, each box's own ed25519 key; how two versions agree on one;
//! * [`secret`]: the farm secret and the redacting serializer every config uses;
//! * [`session`]: after the handshake, every frame is authenticated with a session key and a
//!   sequence number, so frames cannot be injected, altered, reordered or replayed;
//! * [`frame`]: framing and the 64 KiB limit;
//! * [`text`]: [`text::sanitize`], which every role passes texts from outside through before
//!   logging, storing, sending or printing them;
//! * [`downgrade`]: what a peer of an older version may be sent (codes it knows);
//! * `ws` (feature `ws`): carrying frames over WebSocket, shared by both roles.

#![warn(missing_docs)]

pub mod auth;
pub mod control;
pub mod device_health;
pub mod downgrade;
pub mod error;
pub mod frame;
mod mac;
pub mod message;
pub mod refusal;
pub mod secret;
pub mod session;
pub mod text;
#[cfg(feature = "ws")]
pub mod ws;

pub use auth::{
    BoxKey, CoordinatorHandshake, HandshakeError, MinerHandshake, MinerHello, PendingMiner,
    PublicKey, Verified,
};
pub use device_health::{DeviceHealth, DeviceState};
pub use error::ProtocolError;
pub use frame::{decode_plain, encode_plain, MAX_FRAME};
pub use message::{
    format_rate, ConnectionRefusal, ControlAction, Difficulty, HexBytes, Message, OprFields,
    PeerRole, RefusalCode, RefusalCount, Stats, SubmittedRecord, PROTOCOL_VERSION, TABLE_CHUNK,
};
pub use secret::{Secret, WeakSecret, MIN_SECRET_CHARS};
pub use session::{EncodedMessage, Role, Session};
