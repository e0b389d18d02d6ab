//! Trust inside the farm: each box proves who it is with its own key. A box that knows the farm
//! secret cannot log in under another box's identity, cannot disturb its session, and is banned
//! for trying (on its own address: the honest boxes stay); versions, revocation, the payout
//! policy, the secret's rotation and browser pages, each against a real hub on loopback.

mod common;

use common::{until, FA, PATIENCE, SECRET};
use coordinator::roster::{Enroll, RosterBook};
use coordinator::server::{serve, Hub, ServerConfig};
use coordinator::store::Store;
use futures_util::StreamExt;
use protocol::{
    BoxKey, ConnectionRefusal, HandshakeError, Message, MinerHandshake, Secret, Session,
};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const FARM_FA: &str = "FA21TK6dzdJB31AG7aVJMLWhq4pGf5847QErH9gmfJqX8hgmSuwL";

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

struct Farm {
    hub: Arc<Hub>,
    addr: SocketAddr,
    _stop: watch::Sender<bool>,
}

async fn farm(cfg: ServerConfig, store: Option<Store>) -> Farm {
    let table = Arc::new(hashcore::Table::generate(8, &mut |_, _| {}).unwrap());
    let telemetry = Arc::new(coordinator::telemetry::Telemetry::new(64));
    let roster = match store {
        Some(s) => RosterBook::open(s).unwrap(),
        None => RosterBook::in_memory(),
    };
    let hub = Hub::with_roster(cfg, table, telemetry, Arc::new(roster));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx.clone()));
    tokio::spawn(coordinator::daemon::follow_roster(hub.clone(), rx));
    Farm {
        hub,
        addr,
        _stop: tx,
    }
}

fn cfg() -> ServerConfig {
    ServerConfig {
        secret: Some(Secret::new(SECRET)),
        ban_after: 3,
        ..ServerConfig::default()
    }
}

/// How a test client talks: which versions it offers, from which loopback address, as which
/// box.
#[derive(Clone)]
struct Client {
    from: IpAddr,
    offer: Option<&'static str>,
    origin: Option<&'static str>,
    secret: &'static str,
    identity: &'static str,
    coinbase: &'static str,
    key: Option<BoxKey>,
}

impl Client {
    fn new(identity: &'static str, key: Option<BoxKey>) -> Client {
        Client {
            from: "127.0.0.1".parse().unwrap(),
            offer: Some("1-2"),
            origin: None,
            secret: SECRET,
            identity,
            coinbase: FA,
            key,
        }
    }

    fn from(mut self, ip: &str) -> Client {
        self.from = ip.parse().unwrap();
        self
    }

    /// Connects from `from` and upgrades; the version the coordinator chose.
    async fn upgrade(&self, to: SocketAddr) -> Result<(Ws, u32), String> {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(SocketAddr::new(self.from, 0)).unwrap();
        let tcp = sock.connect(to).await.map_err(|e| e.to_string())?;
        let mut req = format!("ws://{to}").into_client_request().unwrap();
        if let Some(o) = self.offer {
            req.headers_mut()
                .insert("Netmine-Protocol", o.parse().unwrap());
        }
        if let Some(o) = self.origin {
            req.headers_mut().insert("Origin", o.parse().unwrap());
        }
        let (ws, resp) = tokio_tungstenite::client_async(req, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let v = resp
            .headers()
            .get("Netmine-Protocol")
            .map_or(1, |v| v.to_str().unwrap().parse().unwrap());
        Ok((ws, v))
    }

    /// The whole handshake: the session and the coinbase assigned, or the refusal.
    async fn login(&self, to: SocketAddr) -> Result<(Ws, Session, String), Refused> {
        let (mut ws, v) = self.upgrade(to).await.map_err(Refused::Upgrade)?;
        let mut hs = MinerHandshake::new(&Secret::new(self.secret), self.identity, self.coinbase)
            .speaking(v);
        if let Some(k) = &self.key {
            hs = hs.with_key(k.clone());
        }
        let shake = protocol::ws::client_handshake_with(&mut ws, &hs);
        let (session, coinbase) = tokio::time::timeout(Duration::from_secs(5), shake)
            .await
            .map_err(|_| Refused::Silent)?
            .map_err(Refused::from)?;
        Ok((ws, session, coinbase))
    }
}

#[derive(Debug)]
#[allow(dead_code)] // the texts are read through Debug, in failure messages
enum Refused {
    Upgrade(String),
    /// No answer within 5 s.
    Silent,
    Code(ConnectionRefusal, String),
    Other(String),
}

impl From<HandshakeError> for Refused {
    fn from(e: HandshakeError) -> Self {
        match e {
            HandshakeError::Rejected { code, reason } => Refused::Code(code, reason),
            other => Refused::Other(other.to_string()),
        }
    }
}

async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .ok()??
        {
            Ok(tokio_tungstenite::tungstenite::Message::Text(t)) => {
                return Some(t.as_str().to_string())
            }
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// The session answers a ping: it is alive and undisturbed.
async fn alive(ws: &mut Ws, s: &mut Session) -> bool {
    let frame = s.seal(&Message::Ping { nonce: 77 }).unwrap();
    if protocol::ws::send_text(ws, frame).await.is_err() {
        return false;
    }
    loop {
        let Some(t) = next_text(ws).await else {
            return false;
        };
        match s.open(&t) {
            Ok(Message::Pong { nonce: 77 }) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn another_box_cannot_take_an_identity_and_is_banned_on_its_own_address() {
    let f = farm(cfg(), None).await;
    let rig1 = BoxKey::generate();
    let (mut ws, mut s, _) = Client::new("rig1", Some(rig1.clone()))
        .login(f.addr)
        .await
        .unwrap();
    assert!(f.hub.roster().snapshot().get("rig1").unwrap().key == Some(rig1.public()));
    // A compromised box (the farm secret, its own key) tries rig1 from its own address, with
    // its own coinbase and with rig1's, signed and unsigned.
    let thief = Client::new("rig1", Some(BoxKey::generate())).from("127.0.0.2");
    for c in [
        thief.clone(),
        Client {
            coinbase: FARM_FA,
            ..thief.clone()
        },
        Client {
            key: None,
            offer: None,
            ..thief.clone()
        },
    ] {
        match c.login(f.addr).await {
            Err(Refused::Code(code, why)) => {
                assert!(code.is_fatal(), "{code:?}");
                assert!(why.contains("rig1"), "{why}");
            }
            other => panic!("the thief got in: {:?}", other.map(|_| ())),
        }
        assert!(alive(&mut ws, &mut s).await, "rig1's session was disturbed");
    }
    // Two key refusals (the unsigned try is an upgrade refusal, never counted) and a third
    // ban 127.0.0.2; rig1's own address is untouched.
    let _ = thief.login(f.addr).await;
    match thief.login(f.addr).await {
        Err(Refused::Code(ConnectionRefusal::Banned, _)) => {}
        other => panic!("not banned: {:?}", other.map(|_| ())),
    }
    let (mut ws2, mut s2, _) = Client::new("rig2", Some(BoxKey::generate()))
        .login(f.addr)
        .await
        .unwrap();
    assert!(alive(&mut ws2, &mut s2).await);
    assert!(alive(&mut ws, &mut s).await);
    // rig1 itself reconnecting (its key) replaces its own session, as a rebooted box does.
    let (mut ws3, mut s3, _) = Client::new("rig1", Some(rig1)).login(f.addr).await.unwrap();
    assert!(alive(&mut ws3, &mut s3).await);
}

#[tokio::test]
async fn a_version_1_box_is_served_until_its_identity_has_a_key_and_no_version_is_banned() {
    let f = farm(cfg(), None).await;
    // An old netminer (no header, no key): served as version 1, pinned nothing.
    let old = Client {
        offer: None,
        ..Client::new("oldrig", None)
    };
    let (mut ws, mut s, coinbase) = old.login(f.addr).await.unwrap();
    assert_eq!(coinbase, FA);
    assert!(alive(&mut ws, &mut s).await);
    assert!(f.hub.roster().snapshot().get("oldrig").is_none());
    until("the old box listed as unsigned", PATIENCE, || {
        f.hub
            .telemetry()
            .miners()
            .iter()
            .any(|m| m.identity == "oldrig" && m.trust.as_deref() == Some("unsigned"))
    })
    .await;
    // A build newer than this one, many times: told to upgrade, never banned.
    let newer = Client {
        offer: Some("4-5"),
        ..Client::new("future", Some(BoxKey::generate()))
    };
    for _ in 0..5 {
        match newer.login(f.addr).await {
            Err(Refused::Code(ConnectionRefusal::Upgrade, why)) => {
                assert!(why.contains("4-5") && why.contains("1 to 3"), "{why}")
            }
            Err(Refused::Other(why)) => assert!(why.contains("version"), "{why}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
    Client::new("rig9", Some(BoxKey::generate()))
        .login(f.addr)
        .await
        .expect("not banned");
}

#[tokio::test]
async fn a_farm_on_its_roster_refuses_strangers_and_a_revocation_takes_effect_at_once() {
    let dir = std::env::temp_dir().join(format!("netmine-trust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("coordinator.db")).unwrap();
    let (k1, k2) = (BoxKey::generate(), BoxKey::generate());
    for (id, k) in [("rig1", &k1), ("rig2", &k2)] {
        let e = coordinator::roster::operator_entry(
            id,
            Some(&k.public().to_string()),
            None,
            vec![],
            "test",
        )
        .unwrap();
        store.roster_put(&e).unwrap();
    }
    let f = farm(
        ServerConfig {
            enroll: Enroll::Roster,
            ..cfg()
        },
        Some(store.clone()),
    )
    .await;
    match Client::new("stranger", Some(BoxKey::generate()))
        .from("127.0.0.3")
        .login(f.addr)
        .await
    {
        Err(Refused::Code(ConnectionRefusal::NotEnrolled, why)) => {
            assert!(why.contains("miners add stranger"), "{why}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let (mut w1, mut s1, _) = Client::new("rig1", Some(k1)).login(f.addr).await.unwrap();
    let (mut w2, mut s2, _) = Client::new("rig2", Some(k2.clone()))
        .login(f.addr)
        .await
        .unwrap();
    // The operator revokes rig2 (another process, on the data dir): its session ends, rig1's
    // does not, and rig2 cannot come back.
    let other = Store::open(&dir.join("coordinator.db")).unwrap();
    assert!(other.roster_revoke("rig2", "test", 1).unwrap());
    until("rig2 disconnected", PATIENCE, || {
        !f.hub.is_connected("rig2")
    })
    .await;
    assert!(!alive(&mut w2, &mut s2).await);
    assert!(alive(&mut w1, &mut s1).await);
    assert!(matches!(
        Client::new("rig2", Some(k2)).login(f.addr).await,
        Err(Refused::Code(ConnectionRefusal::UnknownKey, _))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_farm_pays_its_own_address_and_a_roster_entry_limits_a_boxs_coinbases() {
    let f = farm(
        ServerConfig {
            payout: Some(FARM_FA.into()),
            ..cfg()
        },
        None,
    )
    .await;
    // A new box asks for its own coinbase and is told the farm's (proven by the welcome).
    let (_, _, coinbase) = Client::new("rig1", Some(BoxKey::generate()))
        .login(f.addr)
        .await
        .unwrap();
    assert_eq!(coinbase, FARM_FA);
    // An old box cannot be told: refused, saying what to do.
    match (Client {
        offer: None,
        ..Client::new("oldrig", None)
    })
    .login(f.addr)
    .await
    {
        Err(Refused::Code(code, why)) => {
            assert_eq!(
                code,
                ConnectionRefusal::BadIdentity,
                "a code version 1 knows"
            );
            assert!(why.contains(FARM_FA) && why.contains("upgrade"), "{why}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Without a farm address, a roster entry's coinbases bind its box.
    let f = farm(cfg(), None).await;
    let k = BoxKey::generate();
    let e = coordinator::roster::operator_entry(
        "rig1",
        Some(&k.public().to_string()),
        None,
        vec![FARM_FA.into()],
        "test",
    )
    .unwrap();
    assert!(f.hub.roster().pin(e).await.unwrap());
    match Client::new("rig1", Some(k.clone())).login(f.addr).await {
        Err(Refused::Code(ConnectionRefusal::BadCoinbase, why)) => {
            assert!(why.contains(FARM_FA), "{why}")
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let (_, _, coinbase) = Client {
        coinbase: FARM_FA,
        ..Client::new("rig1", Some(k))
    }
    .login(f.addr)
    .await
    .unwrap();
    assert_eq!(coinbase, FARM_FA);
}

#[tokio::test]
async fn the_previous_secret_works_until_its_day_and_a_browser_page_is_never_banned() {
    let old = "old-farm-secret-0123456";
    let yesterday = coordinator::telemetry::unix_now() - 1;
    let f = farm(
        ServerConfig {
            previous_secret: Some((Secret::new(old), None)),
            ..cfg()
        },
        None,
    )
    .await;
    Client {
        secret: old,
        ..Client::new("rig1", Some(BoxKey::generate()))
    }
    .login(f.addr)
    .await
    .expect("the previous secret is accepted while it is set");
    let f = farm(
        ServerConfig {
            previous_secret: Some((Secret::new(old), Some(yesterday))),
            ..cfg()
        },
        None,
    )
    .await;
    match (Client {
        secret: old,
        ..Client::new("rig1", Some(BoxKey::generate())).from("127.0.0.4")
    })
    .login(f.addr)
    .await
    {
        Err(Refused::Code(ConnectionRefusal::BadSecret, _)) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
    // A web page (an Origin header) is turned away at the upgrade, any number of times, and its
    // address is not banned for it.
    let page = Client {
        origin: Some("https://evil.example"),
        ..Client::new("rig1", None).from("127.0.0.5")
    };
    for _ in 0..6 {
        let e = page.upgrade(f.addr).await.unwrap_err();
        assert!(e.contains("403"), "{e}");
    }
    Client::new("rig5", Some(BoxKey::generate()))
        .from("127.0.0.5")
        .login(f.addr)
        .await
        .expect("a page's tries never ban the address");
}
