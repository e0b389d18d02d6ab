//! TLS end to end over real sockets: a miner pinning the coordinator's self-signed certificate
//! authenticates over wss://; a wrong fingerprint is refused and the miner moves on to its next
//! coordinator; the operator's own PEM certificate and key, trusted through a CA file.

mod common;

use coordinator::server::{serve, Hub, ServerConfig};
use coordinator::tls::{fingerprint_of_file, ServerTls, CERT_FILE};
use hashcore::{CpuBackend, MiningBackend, Table};
use netmine_link::tls::{parse_fingerprint, TlsTrust};
use netmine_link::{CoordinatorAddr, LinkConfig};
use netminer::client::MinerConfig;
use protocol::Secret;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use common::{FA, SECRET};

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("coord-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn table() -> Arc<Table> {
    common::table(10)
}

async fn listener(t: &Arc<Table>, tls: ServerTls) -> (Arc<Hub>, u16, watch::Sender<bool>) {
    let hub = Hub::new(
        ServerConfig {
            secret: Some(Secret::new(SECRET)),
            tls: Some(tls),
            ..ServerConfig::default()
        },
        t.clone(),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(serve(hub.clone(), l, rx));
    (hub, port, tx)
}

fn miner(coordinators: Vec<String>, tls: TlsTrust) -> MinerConfig {
    MinerConfig {
        link: LinkConfig {
            coordinators: CoordinatorAddr::parse_all(&coordinators).unwrap(),
            secret: Secret::new(SECRET),
            identity: "rig1".into(),
            coinbase: FA.into(),
            failback_every: Duration::from_secs(60),
            tls,
            ..LinkConfig::default()
        },
        stats_every: Duration::from_secs(5),
        ..MinerConfig::default()
    }
}

fn backend(t: &Arc<Table>) -> Arc<dyn MiningBackend> {
    Arc::new(CpuBackend::start(t.clone(), 1, 0).unwrap())
}

async fn until(what: &str, f: impl FnMut() -> bool) {
    common::until(what, common::PATIENCE, f).await
}

fn pin(tls: &ServerTls) -> TlsTrust {
    TlsTrust::Pinned(vec![parse_fingerprint(tls.fingerprint()).unwrap()])
}

#[test]
fn the_self_signed_certificate_is_generated_once_and_its_fingerprint_is_stable() {
    let d = dir("once");
    let a = ServerTls::self_signed(&d).unwrap();
    let b = ServerTls::self_signed(&d).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert!(a.fingerprint().starts_with("sha256:"));
    assert_eq!(a.fingerprint().len(), "sha256:".len() + 64);
    assert_eq!(
        fingerprint_of_file(&d.join(CERT_FILE)).unwrap(),
        a.fingerprint()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join(coordinator::tls::KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is private");
    }
    let other = ServerTls::self_signed(&dir("other")).unwrap();
    assert_ne!(a.fingerprint(), other.fingerprint());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_pinning_the_certificate_authenticates_over_wss() {
    let t = table();
    let tls = ServerTls::self_signed(&dir("pinned")).unwrap();
    let (hub, port, _stop) = listener(&t, tls.clone()).await;
    let (_tx, rx) = watch::channel(false);
    let run = tokio::spawn(netminer::client::run(
        miner(vec![format!("wss://127.0.0.1:{port}")], pin(&tls)),
        backend(&t),
        rx,
    ));
    until("the miner over wss://", || hub.miners() == ["rig1"]).await;
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_fingerprint_is_refused_and_the_miner_moves_on() {
    let t = table();
    let wrong = ServerTls::self_signed(&dir("wrong")).unwrap();
    let right = ServerTls::self_signed(&dir("right")).unwrap();
    let (a, a_port, _a_stop) = listener(&t, wrong).await;
    let (b, b_port, _b_stop) = listener(&t, right.clone()).await;
    let (_tx, rx) = watch::channel(false);
    let run = tokio::spawn(netminer::client::run(
        miner(
            vec![
                format!("wss://127.0.0.1:{a_port}"),
                format!("wss://127.0.0.1:{b_port}"),
            ],
            pin(&right),
        ),
        backend(&t),
        rx.clone(),
    ));
    until("the miner on the pinned coordinator", || {
        b.miners() == ["rig1"]
    })
    .await;
    assert!(a.miners().is_empty());
    run.abort();

    // Alone, the wrong certificate ends the miner with a clear message.
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        netminer::client::run(
            miner(vec![format!("wss://127.0.0.1:{a_port}")], pin(&right)),
            backend(&t),
            rx,
        ),
    )
    .await
    .expect("a wrong pin is not retried forever")
    .unwrap_err()
    .to_string();
    assert!(err.contains("not the pinned"), "{err}");
    assert!(err.contains(right.fingerprint()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_own_pem_certificate_and_key_trusted_through_a_ca_file() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let d = dir("own");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(d.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(d.join("key.pem"), key.serialize_pem()).unwrap();
    let tls = ServerTls::from_pem_files(&d.join("cert.pem"), &d.join("key.pem")).unwrap();
    assert_eq!(
        tls.fingerprint(),
        fingerprint_of_file(&d.join("cert.pem")).unwrap()
    );
    let t = table();
    let (hub, port, _stop) = listener(&t, tls.clone()).await;
    let (_tx, rx) = watch::channel(false);
    let run = tokio::spawn(netminer::client::run(
        miner(
            vec![format!("wss://localhost:{port}")],
            TlsTrust::CaFile(d.join("ca.pem")),
        ),
        backend(&t),
        rx.clone(),
    ));
    until("the miner trusting the CA", || hub.miners() == ["rig1"]).await;
    run.abort();
    until("the miner gone", || hub.miners().is_empty()).await;
    // The same certificate pinned works too.
    let run = tokio::spawn(netminer::client::run(
        miner(vec![format!("wss://127.0.0.1:{port}")], pin(&tls)),
        backend(&t),
        rx,
    ));
    until("the miner pinning it", || hub.miners() == ["rig1"]).await;
    run.abort();

    // A key that is not the certificate's is refused at start.
    std::fs::write(
        d.join("other.pem"),
        KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    assert!(ServerTls::from_pem_files(&d.join("cert.pem"), &d.join("other.pem")).is_err());
}
