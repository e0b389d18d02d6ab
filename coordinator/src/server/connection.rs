//! One miner's connection: the WebSocket upgrade, refusals (banned, busy), the mutual
//! authentication with the farm secret, then a loop relaying the hub's broadcasts to the miner and
//! answering its messages (stats, submissions, pings).

use super::hub::{job_message, submission, Hub};
use super::listener::Bans;
use crate::tls::MaybeTls;
use protocol::{
    ConnectionRefusal, CoordinatorHandshake, Message, MinerHello, ProtocolError, Secret, Session,
};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<MaybeTls>;

// The link helpers are protocol::ws's; these only turn their errors into this file's strings.
async fn send_text(ws: &mut Ws, text: String) -> Result<(), String> {
    protocol::ws::send_text(ws, text)
        .await
        .map_err(|e| e.to_string())
}

async fn recv_text(ws: &mut Ws) -> Result<String, String> {
    protocol::ws::recv_text(ws, "miner")
        .await
        .map_err(|e| e.to_string())
}

async fn reject(ws: &mut Ws, code: ConnectionRefusal, reason: String) -> String {
    let _ = send_text(
        ws,
        protocol::encode_plain(&Message::Rejected {
            code,
            reason: reason.clone(),
        }),
    )
    .await;
    let _ = ws.close(None).await;
    reason
}

pub(super) async fn connection(
    hub: &Arc<Hub>,
    bans: &Bans,
    stream: TcpStream,
    addr: SocketAddr,
    open: usize,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let cfg = protocol::ws::config();
    let mut ws = tokio::time::timeout(hub.cfg.auth_timeout, async {
        let stream = MaybeTls::accept(hub.cfg.tls.as_ref(), stream)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        tokio_tungstenite::accept_async_with_config(stream, Some(cfg))
            .await
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|_| "no WebSocket handshake in time".to_string())??;
    if bans.banned(addr.ip()) {
        return Err(reject(
            &mut ws,
            ConnectionRefusal::Banned,
            "too many failed authentications from this address; try later".into(),
        )
        .await);
    }
    if open > hub.cfg.max_connections {
        return Err(reject(
            &mut ws,
            ConnectionRefusal::Busy,
            format!(
                "the coordinator already serves {} connections",
                hub.cfg.max_connections
            ),
        )
        .await);
    }
    let (mut session, hello) = match authenticate(hub, &mut ws).await {
        Ok(x) => x,
        Err((code, reason)) => {
            if code == ConnectionRefusal::BadSecret {
                bans.failed(addr.ip(), hub.cfg.ban_after, hub.cfg.ban_for);
            }
            return Err(reject(&mut ws, code, reason).await);
        }
    };
    let id = hello.identity.clone();
    tracing::info!(%addr, identity = %id, "miner connected");
    let mut events = hub.events.subscribe();
    let current = hub.lock().job.clone();
    let result = async {
        if let Some(job) = current {
            send_text(&mut ws, session.seal(&job_message(&job)).map_err(|e| e.to_string())?).await?;
        }
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = ws.close(None).await;
                    return Ok(());
                }
                ev = events.recv() => match ev {
                    Ok(msg) => send_text(&mut ws, session.seal(&msg).map_err(|e| e.to_string())?).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(identity = %id, "slow miner missed {n} events"),
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                text = recv_text(&mut ws) => {
                    let text = text?;
                    let msg = session.open(&text).map_err(|e| format!("protocol violation: {e}"))?;
                    if let Some(reply) = handle(hub, &hello, msg).await {
                        send_text(&mut ws, session.seal(&reply).map_err(|e| e.to_string())?).await?;
                    }
                }
            }
        }
    }
    .await;
    {
        let mut st = hub.lock();
        st.connected.remove(&id);
        st.stats.remove(&id);
    }
    tracing::info!(identity = %id, "miner disconnected");
    result
}

async fn authenticate(
    hub: &Arc<Hub>,
    ws: &mut Ws,
) -> Result<(Session, MinerHello), (ConnectionRefusal, String)> {
    let secret = hub.cfg.secret.clone().unwrap_or_else(|| Secret::new(""));
    let (hs, challenge) = CoordinatorHandshake::start(&secret);
    let proto = |e: String| (ConnectionRefusal::Protocol, e);
    send_text(ws, challenge).await.map_err(proto)?;
    let auth = tokio::time::timeout(hub.cfg.auth_timeout, recv_text(ws))
        .await
        .map_err(|_| {
            proto(format!(
                "not authenticated within {:?}",
                hub.cfg.auth_timeout
            ))
        })?
        .map_err(proto)?;
    let (session, hello, welcome) = hs.finish(&auth).map_err(|e| match e {
        ProtocolError::WrongSecret => (
            ConnectionRefusal::BadSecret,
            "wrong shared secret: check --secret on the miner".to_string(),
        ),
        other => (ConnectionRefusal::Protocol, other.to_string()),
    })?;
    if !pegnet::validate::valid_identity(hello.identity.as_bytes()) {
        return Err((
            ConnectionRefusal::BadIdentity,
            format!(
                "identity {:?} must be ASCII letters, digits and commas",
                hello.identity
            ),
        ));
    }
    if let Err(e) = pegnet::record::check_identity_cost(&hello.identity) {
        return Err((ConnectionRefusal::BadIdentity, e.to_string()));
    }
    if !pegnet::validate::valid_coinbase(hello.coinbase.as_bytes()) {
        return Err((
            ConnectionRefusal::BadCoinbase,
            format!("coinbase {:?} is not a valid FA address", hello.coinbase),
        ));
    }
    if !hub.lock().connected.insert(hello.identity.clone()) {
        return Err((
            ConnectionRefusal::DuplicateIdentity,
            format!("a miner with identity {:?} is already connected: give every box its own --identity", hello.identity),
        ));
    }
    if let Err(e) = send_text(ws, welcome).await {
        hub.lock().connected.remove(&hello.identity);
        return Err(proto(e));
    }
    Ok((session, hello))
}

async fn handle(hub: &Arc<Hub>, hello: &MinerHello, msg: Message) -> Option<Message> {
    match msg {
        Message::Ping { nonce } => Some(Message::Pong { nonce }),
        Message::Pong { .. } => None,
        Message::Stats(s) => {
            hub.lock().stats.insert(hello.identity.clone(), s);
            None
        }
        Message::Submission { job_id, records } => {
            Some(submission(hub, hello, job_id, records).await)
        }
        Message::Error { message } => {
            tracing::warn!(identity = %hello.identity, "miner reports: {message}");
            None
        }
        other => Some(Message::Error {
            message: format!("{} is not a message miners send", other.kind()),
        }),
    }
}
