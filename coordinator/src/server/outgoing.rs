//! A broadcast as the sessions send it: the message, with its JSON body encoded once for every
//! connection. Each session still seals it with its own key and sequence number (the MAC is per
//! session), but the message is neither cloned nor serialized per connection: at 5,000 miners a
//! `job` was cloned and serialized 5,000 times per broadcast.

use protocol::{EncodedMessage, Message, ProtocolError, Session, PROTOCOL_VERSION};
use std::sync::{Arc, Mutex};

/// One broadcast, shared by every session (through the hub's channel, as an `Arc`).
pub(super) struct Outgoing {
    msg: Message,
    /// The body for peers of the current version (`None`: it could not be encoded, and sealing
    /// says why).
    body: Option<EncodedMessage>,
    /// Bodies for older peers, encoded at the first one's need.
    older: Mutex<Vec<(u32, EncodedMessage)>>,
}

impl Outgoing {
    /// `msg`, encoded for the current version.
    pub(super) fn new(msg: Message) -> Arc<Outgoing> {
        let body = EncodedMessage::new(&msg).ok();
        Arc::new(Outgoing {
            msg,
            body,
            older: Mutex::new(Vec::new()),
        })
    }

    /// The frame for `session`, whose peer speaks protocol `version`: byte for byte what
    /// `session.seal(&msg.for_version(version))` gives.
    pub(super) fn seal(
        &self,
        session: &mut Session,
        version: u32,
    ) -> Result<String, ProtocolError> {
        if version >= PROTOCOL_VERSION {
            return match &self.body {
                Some(body) => session.seal_encoded(body),
                None => session.seal(&self.msg),
            };
        }
        let body = {
            let mut older = self.older.lock().unwrap_or_else(|e| e.into_inner());
            match older.iter().find(|(v, _)| *v == version) {
                Some((_, b)) => b.clone(),
                None => {
                    let b = EncodedMessage::new(&self.msg.clone().for_version(version))?;
                    older.push((version, b.clone()));
                    b
                }
            }
        };
        session.seal_encoded(&body)
    }
}
