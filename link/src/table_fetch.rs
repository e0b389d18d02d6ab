//! Getting the LXRHash table from the coordinator instead of generating it: a new box (a
//! netminer, or a relay from its upstream) mines within seconds instead of 7–10 minutes.
//!
//! Over its own authenticated session (the same secret, and TLS when the address is `wss://`) the
//! client sends `table_request { bits, offset }`; the coordinator answers `table_offer` (size and
//! SHA-256) and streams the bytes as binary WebSocket messages. They go to `<table>.part` in the
//! cache directory; a dropped connection resumes from what the file holds. The whole copy is
//! checked against the SHA-256 built in for 10, 20 and 30 bits (for other sizes, the digest in
//! the authenticated offer) before it is renamed into place atomically. Every netminer of a box
//! takes the cache's lock first, so one copies and the others then load the file.
//!
//! A box that already holds its table asks anyway which size the coordinator mines with
//! ([`check_size`]): a table of another size would make every record it sends worthless.

use crate::addr::CoordinatorAddr;
use crate::config::LinkConfig;
use crate::connect::{open_session, send, Ws};
use futures_util::StreamExt;
use protocol::{Message, Session};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How many times one coordinator is asked again after a dropped copy.
const ATTEMPTS: u32 = 5;

/// A copy that receives nothing for this long is given up (and resumed).
const STALL: Duration = Duration::from_secs(30);

/// Why the table could not be copied from any coordinator.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Every coordinator failed; one line per coordinator.
    #[error("no coordinator could provide the {bits}-bit table: {reasons}")]
    Unavailable {
        /// The table size.
        bits: u32,
        /// What each coordinator answered.
        reasons: String,
    },
    /// The coordinator mines with a table of another size: this miner is misconfigured (its
    /// records would all be refused).
    #[error("the coordinator mines with the {coordinator}-bit table, this miner is set up for {wanted} bits: start it with --bits {coordinator}")]
    WrongSize {
        /// The size asked for.
        wanted: u32,
        /// The coordinator's.
        coordinator: u32,
    },
    /// The cache directory cannot be written.
    #[error("table cache {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What a finished copy did.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The coordinator it came from.
    pub from: CoordinatorAddr,
    /// Bytes received in this run (less than the table when a partial copy was resumed).
    pub received: u64,
    /// How long receiving took.
    pub elapsed: Duration,
}

/// Why one attempt ended.
enum Attempt {
    /// The table is complete in the `.part` file.
    Done(String),
    /// Dropped midway: ask again from the new offset.
    Retry(String),
    /// This coordinator will not serve it.
    GiveUp(String),
    /// The coordinator's table has another size.
    WrongSize(u32),
}

/// Copies the `bits` table into `dest` (the cache file path) from the first coordinator of
/// `cfg.coordinators` that serves it. Holds the cache's lock while copying; does nothing if a
/// complete file appeared meanwhile (another netminer of the box copied it).
pub async fn fetch(
    cfg: &LinkConfig,
    bits: u32,
    dest: &Path,
) -> Result<Option<Fetched>, FetchError> {
    let io = |path: &Path, source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let lock_path = dest.to_path_buf();
    let _lock = tokio::task::spawn_blocking(move || hashcore::cache::lock(&lock_path))
        .await
        .ok()
        .flatten();
    if complete(dest, bits) {
        return Ok(None);
    }
    let part = part_path(dest);
    let held = file_len(&part);
    if held > 0 && held < 1u64 << bits {
        tracing::info!(
            "resuming the table copy at {} of {} MiB",
            held >> 20,
            (1u64 << bits) >> 20
        );
    }
    let mut reasons = Vec::new();
    for addr in &cfg.coordinators {
        let started = Instant::now();
        let first = file_len(&part);
        let mut why = String::new();
        for attempt in 1..=ATTEMPTS {
            match copy_once(cfg, addr, bits, &part).await {
                Attempt::Done(sha256) => {
                    let received = file_len(&part).saturating_sub(first);
                    let elapsed = started.elapsed();
                    match finish(&part, dest, bits, &sha256).await {
                        Ok(()) => {
                            return Ok(Some(Fetched {
                                from: addr.clone(),
                                received,
                                elapsed,
                            }))
                        }
                        Err(e) => {
                            why = e;
                            break;
                        }
                    }
                }
                Attempt::Retry(e) => {
                    tracing::warn!(coordinator = %addr, attempt, "table copy interrupted: {e}; resuming");
                    why = e;
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                Attempt::GiveUp(e) => {
                    why = e;
                    break;
                }
                Attempt::WrongSize(coordinator) => {
                    return Err(FetchError::WrongSize {
                        wanted: bits,
                        coordinator,
                    })
                }
            }
        }
        tracing::warn!(coordinator = %addr, "no table from this coordinator: {why}");
        reasons.push(format!("{addr}: {why}"));
    }
    Err(FetchError::Unavailable {
        bits,
        reasons: reasons.join("; "),
    })
}

/// Whether `path` holds a table of the right length (its digest is checked when it is loaded).
fn complete(path: &Path, bits: u32) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() == 1u64 << bits)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Where a copy in progress is kept.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut p = dest.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

/// One session: ask from what `part` holds, append what arrives.
async fn copy_once(cfg: &LinkConfig, addr: &CoordinatorAddr, bits: u32, part: &Path) -> Attempt {
    // Only a regular file of at most the table's length can be resumed: a link (to anywhere)
    // or an overlong file is thrown away first.
    if let Ok(m) = std::fs::symlink_metadata(part) {
        if !m.file_type().is_file() || m.len() > 1u64 << bits {
            if let Err(e) = std::fs::remove_file(part) {
                return Attempt::GiveUp(format!("{}: {e}", part.display()));
            }
        }
    }
    let (mut ws, mut session) = match open_session(cfg, addr).await {
        Ok(o) => (o.ws, o.session),
        Err(e) => return Attempt::GiveUp(e.to_string()),
    };
    let offset = file_len(part);
    let r = receive(&mut ws, &mut session, bits, offset, part).await;
    let _ = ws.close(None).await;
    r
}

async fn receive(
    ws: &mut Ws,
    session: &mut Session,
    bits: u32,
    offset: u64,
    part: &Path,
) -> Attempt {
    if let Err(e) = send(ws, session, &Message::TableRequest { bits, offset }).await {
        return Attempt::Retry(e.to_string());
    }
    let size = 1u64 << bits;
    let mut offer: Option<String> = None;
    let mut file = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(part)
    {
        Ok(f) => std::io::BufWriter::with_capacity(1 << 20, f),
        Err(e) => return Attempt::GiveUp(format!("{}: {e}", part.display())),
    };
    let mut at = offset;
    loop {
        let next = match tokio::time::timeout(STALL, ws.next()).await {
            Err(_) => return Attempt::Retry(format!("nothing received for {STALL:?}")),
            // Closed before any offer: a coordinator that does not serve tables (an older one
            // treats the request as a protocol violation); asking again would only count
            // against this address.
            Ok(None) | Ok(Some(Ok(WsMessage::Close(_)))) | Ok(Some(Err(_))) if offer.is_none() => {
                return Attempt::GiveUp(
                    "the coordinator closed the connection instead of offering its table (an older coordinator?)"
                        .into(),
                )
            }
            Ok(None) | Ok(Some(Ok(WsMessage::Close(_)))) => {
                return Attempt::Retry("the coordinator closed the connection".into())
            }
            Ok(Some(Err(e))) => return Attempt::Retry(format!("WebSocket: {e}")),
            Ok(Some(Ok(m))) => m,
        };
        match next {
            WsMessage::Text(t) => match session.open(t.as_str()) {
                Ok(Message::TableOffer {
                    bits: b,
                    size: s,
                    offset: o,
                    sha256,
                }) => {
                    if b != bits || s != size || o != offset || sha256.len() != 64 {
                        return Attempt::GiveUp(format!(
                            "the coordinator offered {b} bits, {s} bytes from {o} (asked {bits} from {offset})"
                        ));
                    }
                    if at == size {
                        // A complete copy from before (killed before it was checked).
                        return Attempt::Done(sha256);
                    }
                    offer = Some(sha256);
                }
                Ok(Message::TableUnavailable { bits: Some(b), .. }) if b != bits => {
                    return Attempt::WrongSize(b)
                }
                Ok(Message::TableUnavailable {
                    reason,
                    retry_after_secs: Some(secs),
                    ..
                }) => {
                    tokio::time::sleep(Duration::from_secs(u64::from(secs.min(30)))).await;
                    return Attempt::Retry(reason);
                }
                Ok(Message::TableUnavailable { reason, .. }) => return Attempt::GiveUp(reason),
                Ok(Message::Error { message }) => return Attempt::GiveUp(message),
                Ok(Message::Ping { nonce }) => {
                    if let Err(e) = send(ws, session, &Message::Pong { nonce }).await {
                        return Attempt::Retry(e.to_string());
                    }
                }
                Ok(_) => {} // the job, minutes: not for this session
                Err(e) => return Attempt::GiveUp(format!("protocol violation: {e}")),
            },
            WsMessage::Binary(bytes) => {
                if offer.is_none() {
                    return Attempt::GiveUp("table bytes before the offer".into());
                }
                if at + bytes.len() as u64 > size {
                    return Attempt::GiveUp("more bytes than the table holds".into());
                }
                if let Err(e) = file.write_all(&bytes) {
                    return Attempt::GiveUp(format!("{}: {e}", part.display()));
                }
                at += bytes.len() as u64;
                if at == size {
                    return match file.flush().and_then(|()| file.get_ref().sync_all()) {
                        Ok(()) => Attempt::Done(offer.unwrap_or_default()),
                        Err(e) => Attempt::GiveUp(format!("{}: {e}", part.display())),
                    };
                }
            }
            _ => {} // WebSocket-level ping/pong
        }
    }
}

/// Checks the copy's SHA-256 (the built-in digest for 10, 20 and 30 bits, else the offer's) and
/// renames it into place; a copy that does not match is deleted.
async fn finish(part: &Path, dest: &Path, bits: u32, offered: &str) -> Result<(), String> {
    let (part, dest, offered) = (part.to_path_buf(), dest.to_path_buf(), offered.to_string());
    tokio::task::spawn_blocking(move || {
        let expected = hashcore::params::known_digest(bits)
            .map(str::to_string)
            .unwrap_or(offered);
        let got = sha256_file(&part).map_err(|e| format!("{}: {e}", part.display()))?;
        if got != expected {
            let _ = std::fs::remove_file(&part);
            return Err(format!(
                "the copy's sha256 is {got}, expected {expected}: deleted"
            ));
        }
        if hashcore::params::known_digest(bits).is_none() {
            let mut side = dest.as_os_str().to_owned();
            side.push(".sha256");
            std::fs::write(PathBuf::from(side), format!("{expected}\n"))
                .map_err(|e| e.to_string())?;
        }
        std::fs::rename(&part, &dest).map_err(|e| format!("{}: {e}", dest.display()))
    })
    .await
    .map_err(|e| e.to_string())?
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Asks the coordinators which table size they mine with, for a miner that already holds its
/// table: `Err(WrongSize)` when the first that answers has another size. Coordinators that do
/// not say (unreachable, older) are passed over.
pub async fn check_size(cfg: &LinkConfig, bits: u32) -> Result<(), FetchError> {
    for addr in &cfg.coordinators {
        let Ok(crate::Opened {
            mut ws,
            mut session,
            ..
        }) = open_session(cfg, addr).await
        else {
            continue;
        };
        // Asking from the end: an offer (the size matches) and no bytes, or a refusal naming
        // the coordinator's size.
        let size = 1u64 << bits;
        let asked = send(
            &mut ws,
            &mut session,
            &Message::TableRequest { bits, offset: size },
        )
        .await;
        let mut answer = None;
        while asked.is_ok() {
            match tokio::time::timeout(STALL, ws.next()).await {
                Ok(Some(Ok(WsMessage::Text(t)))) => match session.open(t.as_str()) {
                    Ok(Message::TableOffer { .. }) => {
                        answer = Some(bits);
                        break;
                    }
                    Ok(Message::TableUnavailable { bits: b, .. }) => {
                        answer = b;
                        break;
                    }
                    Ok(_) => continue,
                    Err(_) => break,
                },
                Ok(Some(Ok(_))) => continue,
                _ => break,
            }
        }
        let _ = ws.close(None).await;
        match answer {
            Some(b) if b != bits => {
                return Err(FetchError::WrongSize {
                    wanted: bits,
                    coordinator: b,
                })
            }
            Some(_) => return Ok(()),
            None => continue,
        }
    }
    Ok(())
}
