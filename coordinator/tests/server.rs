//! The coordinator refuses, with a clear reason and without disturbing other miners: wrong MAC,
//! replayed auth, slow authentication, oversized or malformed frames, unknown messages, duplicate
//! identities, stale or dishonest or excess submissions, too many connections, repeated failures.

mod common;

use common::{login, next_msg, open, text, Stream, FA, PATIENCE};
use coordinator::server::{CurrentJob, Hub, ServerConfig};
use coordinator::verify::MinerRecord;
use futures_util::SinkExt;
use hashcore::{Nonce, Table};
use pegnet::{Network, OprTemplate, Pow};
use protocol::{
    encode_plain, ConnectionRefusal, Difficulty, HexBytes, Message, MinerHandshake, RefusalCode,
    Secret, SubmittedRecord,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Ws;

struct Setup {
    hub: Arc<Hub>,
    addr: String,
    table: Arc<Table>,
    _stop: watch::Sender<bool>,
}

async fn setup(cfg: ServerConfig) -> Setup {
    let l = common::hub(cfg).await;
    Setup {
        table: l.hub.table().clone(),
        addr: l.addr.to_string(),
        hub: l.hub,
        _stop: l.stop,
    }
}

fn cfg() -> ServerConfig {
    ServerConfig {
        records_per_miner: 3,
        ..common::server_cfg("farm")
    }
}

fn code(m: &Message) -> ConnectionRefusal {
    match m {
        Message::Rejected { code, .. } => *code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_secret_replay_duplicate_identity_and_bans() {
    let mut c = cfg();
    c.ban_after = 2;
    let st = setup(c).await;
    let (_ws, r) = login(&st.addr, "typo", "rig1").await;
    assert_eq!(code(&r.unwrap_err()), ConnectionRefusal::BadSecret);

    // The same identity again replaces the older connection (see tests/liveness.rs).
    let (_keep, ok) = login(&st.addr, "farm", "rig1").await;
    let _session = ok.unwrap();
    let (_ws, r) = login(&st.addr, "farm", "rig1").await;
    let _session = r.unwrap();
    let (_ws, r) = login(&st.addr, "farm", "bad-id").await;
    assert_eq!(code(&r.unwrap_err()), ConnectionRefusal::BadIdentity);
    // An identity whose records would cost more than 1 EC each (9 KB: 10 EC).
    let (_ws, r) = login(&st.addr, "farm", &"x".repeat(9000)).await;
    let refused = r.unwrap_err();
    assert_eq!(code(&refused), ConnectionRefusal::BadIdentity);
    assert!(format!("{refused:?}").contains("1-EC entry"), "{refused:?}");

    // A recorded auth replayed on a new connection: the challenge differs, so it fails.
    let mut a = open(&st.addr).await;
    let ch = text(&mut a).await.unwrap();
    let (_, auth) = MinerHandshake::new(&Secret::new("farm"), "rig2", FA)
        .respond(&ch)
        .unwrap();
    let mut b = open(&st.addr).await;
    let _ = text(&mut b).await.unwrap();
    b.send(Ws::Text(auth.into())).await.unwrap();
    let reply = protocol::decode_plain(&text(&mut b).await.unwrap()).unwrap();
    assert_eq!(code(&reply), ConnectionRefusal::BadSecret);

    // Two failures from this address: banned, even with the right secret.
    let (_ws, r) = login_raw(&st.addr).await;
    assert_eq!(code(&r), ConnectionRefusal::Banned);
}

async fn login_raw(addr: &str) -> (Stream, Message) {
    let mut ws = open(addr).await;
    let first = text(&mut ws).await.unwrap();
    (ws, protocol::decode_plain(&first).unwrap())
}

#[tokio::test]
async fn slow_oversized_malformed_and_unknown_are_dropped_others_unaffected() {
    let mut c = cfg();
    c.auth_timeout = Duration::from_millis(300);
    let st = setup(c).await;
    let (mut good, s) = login(&st.addr, "farm", "good").await;
    let mut good_s = s.unwrap();

    // Never authenticates.
    let mut idle = open(&st.addr).await;
    let _ = text(&mut idle).await;
    let r = protocol::decode_plain(&text(&mut idle).await.unwrap()).unwrap();
    match r {
        Message::Rejected {
            code: ConnectionRefusal::Protocol,
            reason,
        } => assert!(reason.contains("not authenticated"), "{reason}"),
        other => panic!("{other:?}"),
    }

    // Oversized, malformed, unauthenticated and unknown frames each end only their own connection.
    for (k, payload) in [
        "x".repeat(70 * 1024),
        "{not json".to_string(),
        encode_plain(&Message::Ping { nonce: 1 }),
        r#"{"seq":0,"mac":"00","msg":{"type":"nope"}}"#.to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        let (mut bad, s) = login(&st.addr, "farm", &format!("bad{k}")).await;
        let _s = s.unwrap();
        let _ = bad.send(Ws::Text(payload.into())).await;
        assert!(
            common::closed(&mut bad, PATIENCE).await,
            "case {k}: connection must close"
        );
    }
    assert_eq!(st.hub.miners(), vec!["good".to_string()]);
    st.hub.broadcast(Message::Minute {
        height: 5,
        minute: 3,
    });
    assert_eq!(
        next_msg(&mut good, &mut good_s).await,
        Message::Minute {
            height: 5,
            minute: 3
        }
    );
}

#[tokio::test]
async fn submissions_are_verified() {
    let st = setup(cfg()).await;
    let template = OprTemplate {
        network: Network::DevNet,
        height: 77,
        winners: vec![String::new(); 25],
        prices: (1..=62).map(|k| k * 1000).collect(),
    };
    let (mut ws, s) = login(&st.addr, "farm", "rig9").await;
    let mut s = s.unwrap();
    st.hub.start_job(CurrentJob {
        job_id: 4,
        template: template.clone(),
        min_difficulty: 0,
        records_wanted: 3,
    });
    assert!(matches!(
        next_msg(&mut ws, &mut s).await,
        Message::Job { job_id: 4, .. }
    ));

    let mine = MinerRecord::new(&template, 4, "rig9", FA).unwrap();
    let rec = |c: u64, lie: bool| {
        let n = Nonce::new(0, c);
        let d = st.table.difficulty(&mine.opr_hash, n.as_bytes());
        SubmittedRecord {
            nonce: HexBytes(n.as_bytes().to_vec()),
            difficulty: Difficulty(if lie { d ^ 1 } else { d }),
        }
    };
    // Every record counts toward the 3 per block, refused or not; refusals come back counted
    // per code with an example.
    let records = vec![rec(1, false), rec(2, true), rec(1, false)];
    let frame = s.seal(&Message::Submission { job_id: 4, records }).unwrap();
    ws.send(Ws::Text(frame.into())).await.unwrap();
    match next_msg(&mut ws, &mut s).await {
        Message::SubmissionResult {
            job_id: 4,
            accepted,
            rejected,
        } => {
            assert_eq!(accepted, 1, "{rejected:?}");
            assert_eq!(rejected.len(), 2);
            assert_eq!(rejected[0].code, RefusalCode::WrongDifficulty);
            assert!(
                rejected[0].example.contains("claimed difficulty"),
                "{rejected:?}"
            );
            assert_eq!(
                (rejected[1].code, rejected[1].count),
                (RefusalCode::Duplicate, 1)
            );
        }
        other => panic!("{other:?}"),
    }
    // The wrong difficulty closes the connection for the rest of the block.
    match next_msg(&mut ws, &mut s).await {
        Message::Error { message } => {
            assert!(message.contains("wrong claimed difficulty"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(text(&mut ws).await.is_none(), "the connection is closed");
    let (mut ws, s) = login(&st.addr, "farm", "rig9").await;
    let mut s = s.unwrap();
    assert!(matches!(
        next_msg(&mut ws, &mut s).await,
        Message::Job { job_id: 4, .. }
    ));
    let frame = s
        .seal(&Message::Submission {
            job_id: 4,
            records: vec![rec(3, false), rec(4, false)],
        })
        .unwrap();
    ws.send(Ws::Text(frame.into())).await.unwrap();
    match next_msg(&mut ws, &mut s).await {
        Message::SubmissionResult {
            accepted, rejected, ..
        } => {
            assert_eq!(accepted, 0, "{rejected:?}");
            assert_eq!(
                (rejected[0].code, rejected[0].count),
                (RefusalCode::OverLimit, 2)
            );
            assert!(rejected[0].example.contains("over the limit"));
        }
        other => panic!("{other:?}"),
    }
    let frame = s
        .seal(&Message::Submission {
            job_id: 3,
            records: vec![rec(9, false)],
        })
        .unwrap();
    ws.send(Ws::Text(frame.into())).await.unwrap();
    match next_msg(&mut ws, &mut s).await {
        Message::SubmissionResult {
            accepted: 0,
            rejected,
            ..
        } => {
            assert_eq!(rejected[0].code, RefusalCode::StaleJob);
            assert!(rejected[0].example.contains("job 3"), "{rejected:?}")
        }
        other => panic!("{other:?}"),
    }
    let (work, counts) = st.hub.take_work(4);
    assert_eq!(work.len(), 1);
    assert_eq!(work[0].accepted.len(), 1);
    assert_eq!((counts.received, counts.verified), (6, 1));
    assert_eq!(counts.rejected["over_limit"], 2);
}

#[tokio::test]
async fn too_many_connections() {
    let mut c = cfg();
    c.max_connections = 1;
    let st = setup(c).await;
    let (_a, s) = login(&st.addr, "farm", "one").await;
    let _s = s.unwrap();
    let (_b, r) = login_raw(&st.addr).await;
    assert_eq!(code(&r), ConnectionRefusal::Busy);
}

#[tokio::test]
async fn the_miner_client_stops_on_a_wrong_secret_with_a_clear_message() {
    let st = setup(cfg()).await;
    let backend: Arc<dyn hashcore::MiningBackend> =
        Arc::new(hashcore::CpuBackend::start(st.table.clone(), 1, 0).unwrap());
    let (_tx, rx) = watch::channel(false);
    let mc = netminer::client::MinerConfig {
        link: netmine_link::LinkConfig {
            coordinators: vec![st.addr.parse().unwrap()],
            secret: Secret::new("wrong-secret-0123456789"),
            identity: "rig5".into(),
            coinbase: FA.into(),
            failback_every: Duration::from_secs(30),
            ..Default::default()
        },
        top: 3,
        stats_every: Duration::from_secs(1),
        ..Default::default()
    };
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        netminer::client::run(mc.clone(), backend.clone(), rx.clone()),
    )
    .await
    .expect("no retry loop")
    .unwrap_err()
    .to_string();
    assert!(err.contains("wrong shared secret"), "{err}");
    let mut bad = mc;
    bad.link.identity = "bad_id".into();
    let err = netminer::client::run(bad, backend, rx)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("identity \"bad_id\" is not valid"), "{err}");
}
