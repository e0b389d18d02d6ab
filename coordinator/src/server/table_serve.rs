//! Serving the LXRHash table to authenticated miners (`table_request`), so a new box mines within
//! seconds instead of generating the table for 7–10 minutes.
//!
//! Only a miner that authenticated may ask, at most `max_table_transfers` copies run at once (the
//! others are told to retry), at most one per identity and per address, with a cooldown between
//! whole copies per identity (see `table_limits`), and the bytes go out straight from the coordinator's own table:
//! each binary WebSocket message is a [`Bytes`] that borrows a slice of the shared table
//! (`Bytes::from_owner`), so nothing is copied into per-connection buffers. The table's SHA-256
//! (the built-in one for 10, 20 and 30 bits, which the table was checked against when it was
//! loaded; otherwise computed once, off the async threads) is sent in the authenticated
//! `table_offer`; the miner checks its copy against it (and against the digest it knows for 10,
//! 20 and 30 bits).

use super::table_limits::{CopyBook, NotNow};
use super::Hub;
use bytes::Bytes;
use futures_util::SinkExt;
use hashcore::Table;
use protocol::{Message, Session, TABLE_CHUNK};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Messages written before the socket is flushed (about 1 MiB).
const FLUSH_EVERY: usize = 32;

/// What a copy needs from the hub: the slots, who is being sent what, and the digest, computed
/// once.
pub(crate) struct TableServer {
    slots: Arc<Semaphore>,
    book: Mutex<CopyBook>,
    digest: tokio::sync::OnceCell<String>,
}

/// A running copy's place in the book; given back when dropped.
struct Running<'a> {
    server: &'a TableServer,
    identity: &'a str,
    ip: IpAddr,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.server.book().end(self.identity, self.ip);
    }
}

impl TableServer {
    pub(crate) fn new(max_transfers: usize) -> TableServer {
        TableServer {
            slots: Arc::new(Semaphore::new(max_transfers)),
            book: Mutex::new(CopyBook::default()),
            digest: tokio::sync::OnceCell::new(),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, CopyBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of `size - offset` bytes for `identity` at `addr` may start now, or why not.
    fn begin<'a>(
        &'a self,
        identity: &'a str,
        addr: SocketAddr,
        offset: u64,
        size: u64,
    ) -> Result<Running<'a>, NotNow> {
        let ip = super::admission::ban_key(addr.ip());
        self.book()
            .begin(identity, ip, offset, size, Instant::now())?;
        Ok(Running {
            server: self,
            identity,
            ip,
        })
    }

    fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    async fn digest(&self, table: &Arc<Table>) -> Result<String, String> {
        // 10, 20 and 30 bits: the digest every loaded or generated table was checked against.
        if let Some(d) = hashcore::params::known_digest(table.bits()) {
            return Ok(d.to_string());
        }
        let table = table.clone();
        self.digest
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || table.sha256_hex())
                    .await
                    .map_err(|e| format!("hashing the table failed: {e}"))
            })
            .await
            .cloned()
    }
}

/// A slice of the shared table, owned by a binary message without copying it.
struct TableSlice {
    table: Arc<Table>,
    range: Range<usize>,
}

impl AsRef<[u8]> for TableSlice {
    fn as_ref(&self) -> &[u8] {
        &self.table.as_bytes()[self.range.clone()]
    }
}

/// The answer to a request that cannot be served, or `None` to serve it.
fn refusal(hub: &Hub, bits: u32, offset: u64) -> Option<Message> {
    let table = hub.table();
    let why = if hub.cfg().max_table_transfers == 0 {
        "this coordinator does not serve its table (max_table_transfers = 0)".to_string()
    } else if bits != table.bits() {
        format!(
            "this coordinator has the {}-bit table, not {bits}",
            table.bits()
        )
    } else if offset > table.len() as u64 {
        format!("offset {offset} is past the table's end")
    } else {
        return None;
    };
    Some(Message::TableUnavailable {
        reason: why,
        retry_after_secs: None,
        bits: Some(table.bits()),
    })
}

/// Serves `table_request { bits, offset }` on an authenticated connection: the offer, then the
/// bytes. Returns when the copy is sent (or refused); an error ends the connection.
pub(super) async fn serve<S>(
    hub: &Arc<Hub>,
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    session: &mut Session,
    identity: &str,
    addr: SocketAddr,
    bits: u32,
    offset: u64,
) -> Result<(), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let timeout = hub.cfg().idle_timeout;
    async fn send_text<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        ws: &mut tokio_tungstenite::WebSocketStream<S>,
        session: &mut Session,
        m: &Message,
        timeout: Duration,
    ) -> Result<(), String> {
        let frame = session.seal(m).map_err(|e| e.to_string())?;
        tokio::time::timeout(timeout, ws.send(WsMessage::Text(frame.into())))
            .await
            .map_err(|_| format!("could not send for {timeout:?}"))?
            .map_err(|e| e.to_string())
    }
    if let Some(no) = refusal(hub, bits, offset) {
        return send_text(ws, session, &no, timeout).await;
    }
    let Some(_slot) = hub.table_server.slot() else {
        let busy = Message::TableUnavailable {
            reason: format!(
                "{} table copies are in progress (max_table_transfers): retry shortly",
                hub.cfg().max_table_transfers
            ),
            retry_after_secs: Some(5),
            bits: Some(hub.table().bits()),
        };
        return send_text(ws, session, &busy, timeout).await;
    };
    let table = hub.table().clone();
    let _running = match hub
        .table_server
        .begin(identity, addr, offset, table.len() as u64)
    {
        Ok(r) => r,
        Err(not_now) => {
            let no = Message::TableUnavailable {
                reason: not_now.reason,
                retry_after_secs: not_now
                    .retry_after_secs
                    .map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
                bits: Some(table.bits()),
            };
            return send_text(ws, session, &no, timeout).await;
        }
    };
    let sha256 = hub.table_server.digest(&table).await?;
    let size = table.len();
    let offer = Message::TableOffer {
        bits,
        size: size as u64,
        offset,
        sha256,
    };
    send_text(ws, session, &offer, timeout).await?;
    let started = Instant::now();
    // A reader slower than 1 MiB/s on average (after a 30 s grace) gives its slot back.
    let deadline =
        started + Duration::from_secs(30) + Duration::from_secs((size as u64 - offset) >> 20);
    let mut at = offset as usize;
    let mut unflushed = 0;
    while at < size {
        let end = (at + TABLE_CHUNK).min(size);
        let chunk = Bytes::from_owner(TableSlice {
            table: table.clone(),
            range: at..end,
        });
        if Instant::now() > deadline {
            return Err(format!(
                "table copy too slow ({} of {} MiB after {:.0} s): slot given back",
                (at - offset as usize) >> 20,
                (size - offset as usize) >> 20,
                started.elapsed().as_secs_f64()
            ));
        }
        tokio::time::timeout(timeout, ws.feed(WsMessage::Binary(chunk)))
            .await
            .map_err(|_| format!("table copy stalled for {timeout:?}"))?
            .map_err(|e| e.to_string())?;
        at = end;
        unflushed += 1;
        if unflushed == FLUSH_EVERY || at == size {
            tokio::time::timeout(timeout, ws.flush())
                .await
                .map_err(|_| format!("table copy stalled for {timeout:?}"))?
                .map_err(|e| e.to_string())?;
            unflushed = 0;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let mib = (size - offset as usize) as f64 / (1 << 20) as f64;
    tracing::info!(
        identity,
        "table copy sent: {mib:.0} MiB from byte {offset} in {secs:.1} s ({:.0} MiB/s)",
        mib / secs.max(1e-9)
    );
    Ok(())
}
