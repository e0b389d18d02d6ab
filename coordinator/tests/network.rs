//! Failover between coordinators, blocks skipped with a reason, miners dropping mid-block.

mod common;

use common::{listen, miner, miner_cfg, server_cfg, FA, PATIENCE, SECRET};
use coordinator::engine::{EngineBuilder, EngineConfig};
use coordinator::server::{CurrentJob, Hub};
use coordinator::store::Store;
use factom::{EcSecret, FactomdClient, MonitorEvent, RpcConfig};
use factomd_sim::SimServer;
use hashcore::Table;
use pegnet::{Network, OprTemplate};
use prices::{Oracle, PricesConfig};
use prices_fixture::{Fault, FixtureServer};
use protocol::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

fn table() -> Arc<Table> {
    common::table(10)
}

/// A coordinator's listener on `addr` (port 0 = any); returns its hub, address and stop switch.
async fn listener(addr: &str, table: &Arc<Table>) -> common::Listening {
    listen(Hub::new(server_cfg(SECRET), table.clone()), addr).await
}

async fn until(what: &str, f: impl FnMut() -> bool) {
    common::until(what, PATIENCE, f).await
}

/// The miner moves to the backup when the preferred coordinator goes away and returns once it is
/// back, with the preferred coordinator written as `preferred(host:port)`.
async fn fails_over_and_back(preferred: impl Fn(&str) -> String) {
    let t = table();
    let a = listener("127.0.0.1:0", &t).await;
    let b = listener("127.0.0.1:0", &t).await;
    let a_addr = a.addr.to_string();
    let mut cfg = miner_cfg(&[&preferred(&a_addr), &b.addr.to_string()], "rover", FA);
    cfg.link.failback_every = Duration::from_millis(200);
    let _rover = miner(&t, cfg);
    until("the miner on A", || a.hub.miners() == ["rover"]).await;

    // A goes away: the miner moves to B.
    a.stop.send(true).unwrap();
    until("the miner on B", || b.hub.miners() == ["rover"]).await;
    assert!(a.hub.miners().is_empty());

    // A is back on the same address (as soon as the old listener has let it go): the miner
    // returns to it.
    let l = common::until_some("A's address to be free again", PATIENCE, || async {
        tokio::net::TcpListener::bind(&a_addr).await.ok()
    })
    .await;
    let a2 = common::serve_on(Hub::new(server_cfg(SECRET), t.clone()), l);
    until("the miner back on A", || a2.hub.miners() == ["rover"]).await;
    until("the miner gone from B", || b.hub.miners().is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_to_the_backup_and_returns_to_the_preferred() {
    fails_over_and_back(|a| a.to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_back_to_a_preferred_coordinator_given_as_a_ws_url() {
    fails_over_and_back(|a| format!("ws://{a}/")).await;
}

fn devnet_oracle() -> Oracle {
    Oracle::devnet().unwrap()
}

async fn engine_with(
    sim: &SimServer,
    prices: Oracle,
    key: EcSecret,
) -> (Arc<Hub>, broadcast::Sender<MonitorEvent>) {
    engine_on(sim, Network::DevNet, prices, key).await
}

async fn engine_on(
    sim: &SimServer,
    network: Network,
    prices: Oracle,
    key: EcSecret,
) -> (Arc<Hub>, broadcast::Sender<MonitorEvent>) {
    let t = table();
    let hub = Hub::new(server_cfg(SECRET), t.clone());
    let mut rpc = RpcConfig::new(&sim.url());
    rpc.retry_for = Duration::from_millis(100);
    let client = Arc::new(FactomdClient::new(rpc).unwrap());
    let store = Store::open(&std::env::temp_dir().join(format!(
        "net-{}-{}.db",
        std::process::id(),
        key.public()
    )))
    .unwrap();
    let (engine, _) = EngineBuilder {
        cfg: EngineConfig {
            network,
            max_entries: 5,
            max_entries_per_coinbase: None,
            records_wanted: 3,
            cutoff: 200,
            submit_window: Duration::ZERO,
            // Off the devnet a previous block without records is skipped unless the operator
            // pins the winner list (the simulator's testnet chain has none).
            previous_winners: (network != Network::DevNet).then(|| vec![String::new(); 25]),
            history_days: 0,
            standby: None,
        },
        hub: hub.clone(),
        client,
        table: t,
        store,
        key,
        prices: Arc::new(prices),
    }
    .build();
    let (tx, rx) = broadcast::channel(16);
    tokio::spawn(engine.run(rx));
    (hub, tx)
}

async fn skip_reason(hub: &Arc<Hub>, tx: &broadcast::Sender<MonitorEvent>, height: u32) -> String {
    let mut seen = hub.subscribe();
    tx.send(MonitorEvent::Minute { height, minute: 1 }).unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Message::Skip { height: h, reason } => {
                assert_eq!(h, height);
                return reason;
            }
            Message::Job { .. } => panic!("a job was sent"),
            _ => continue,
        }
    }
}

/// A simulated factomd (on a manual clock, building block 300000) where `key` holds 100 EC.
async fn funded_sim(key: &EcSecret) -> SimServer {
    common::manual_sim(300_000, &[(key, 100)]).await
}

#[tokio::test]
async fn node_down_at_minute_1_skips_the_block_with_the_reason() {
    let key = EcSecret::generate();
    let sim = funded_sim(&key).await;
    let (hub, tx) = engine_with(&sim, devnet_oracle(), key).await;
    sim.sim().set_http_500(true);
    let reason = skip_reason(&hub, &tx, 300_000).await;
    assert!(reason.contains("factomd"), "{reason}");
}

#[tokio::test]
async fn incomplete_prices_or_no_credits_skip_the_block_with_the_reason() {
    let key = EcSecret::generate();
    let sim = funded_sim(&key).await;
    let file = std::env::temp_dir().join(format!("partial-prices-{}.toml", std::process::id()));
    std::fs::write(&file, "[prices]\nUSD = 1.0\nEUR = 0.0\n").unwrap();
    let partial = PricesConfig::fixed_only(file.clone())
        .plan(Network::DevNet)
        .unwrap();
    let (hub, tx) = engine_with(&sim, Oracle::new(partial).unwrap(), key).await;
    let reason = skip_reason(&hub, &tx, 300_000).await;
    let _ = std::fs::remove_file(file);
    assert!(
        reason.starts_with("cannot build the record: no price for PEG, EUR, JPY")
            && reason.contains("NGN"),
        "{reason}"
    );

    let poor = EcSecret::generate();
    let (hub, tx) = engine_with(&sim, devnet_oracle(), poor).await;
    let reason = skip_reason(&hub, &tx, 300_000).await;
    assert!(reason.contains("EC balance 0"), "{reason}");
}

/// A fixture-backed oracle: FixedUSD, CoinGecko for the cryptos, OpenExchangeRates for the rest.
async fn live_oracle() -> (FixtureServer, Oracle) {
    let fx = FixtureServer::devnet().await.unwrap();
    let toml_text = format!(
        "timeout_secs = 1.0\n\
         [sources]\nPegnetMarketCap = -1\nAlternativeMe = -1\nFreeForexAPI = -1\n\
         CoinGecko = {{ priority = 1, url = \"{}\" }}\n\
         OpenExchangeRates = {{ priority = 2, url = \"{}\", key = \"{}\" }}\n",
        fx.url("CoinGecko"),
        fx.url("OpenExchangeRates"),
        prices_fixture::FIXTURE_KEY
    );
    let cfg: PricesConfig = toml::from_str(&toml_text).unwrap();
    let oracle = Oracle::new(cfg.plan(Network::TestNet).unwrap()).unwrap();
    (fx, oracle)
}

#[tokio::test]
async fn testnet_jobs_carry_the_live_sources_prices_or_skip_naming_the_failure() {
    let key = EcSecret::generate();
    let sim = funded_sim(&key).await;
    let (fx, oracle) = live_oracle().await;
    fx.fixture.set_price("XBT", 101_234.5);
    let (hub, tx) = engine_on(&sim, Network::TestNet, oracle, key.clone()).await;
    let mut seen = hub.subscribe();
    tx.send(MonitorEvent::Minute {
        height: 300_000,
        minute: 1,
    })
    .unwrap();
    let opr = loop {
        match tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Message::Job { opr, .. } => break opr,
            Message::Skip { reason, .. } => panic!("skipped: {reason}"),
            _ => continue,
        }
    };
    let assets = pegnet::assets::for_version(5);
    let xbt = assets.iter().position(|a| *a == "XBT").unwrap();
    assert_eq!(opr.prices.len(), assets.len());
    assert_eq!(opr.prices[xbt], 10_123_450_000_000);
    assert_eq!(opr.prices[1], 100_000_000, "USD");
    assert_eq!(fx.fixture.hits("CoinGecko"), 1);

    // CoinGecko goes down on a fresh coordinator: no quotes to fall back on, so the block is
    // skipped, and the reason names the assets and the failure.
    let (fx, oracle) = live_oracle().await;
    fx.fixture.set_fault("CoinGecko", Some(Fault::Status(500)));
    let (hub, tx) = engine_on(&sim, Network::TestNet, oracle, key).await;
    let reason = skip_reason(&hub, &tx, 300_001).await;
    assert!(
        reason.starts_with("cannot build the record: no price for PEG, ETH, LTC")
            && reason.contains("(failed sources: CoinGecko: HTTP 500"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miner_dropping_mid_block_leaves_the_others_and_its_identity_free() {
    let t = table();
    let coordinator = listener("127.0.0.1:0", &t).await;
    let (hub, addr) = (coordinator.hub.clone(), coordinator.addr.to_string());
    let template = OprTemplate {
        network: Network::DevNet,
        height: 9,
        winners: vec![String::new(); 25],
        prices: devnet_oracle().record_prices(5).await.unwrap(),
    };
    hub.start_job(CurrentJob {
        job_id: 1,
        template,
        min_difficulty: 0,
        records_wanted: 3,
    });
    let stay = miner(&t, miner_cfg(&[&addr], "stay", FA));
    let leaving = miner(&t, miner_cfg(&[&addr], "drop", FA));
    until("both miners", || hub.miners().len() == 2).await;
    // Mid-block: both are mining the job when one drops.
    until("both miners' first records", || {
        stay.holds(1, 1) && leaving.holds(1, 1)
    })
    .await;
    leaving.stop();
    until("the dropped miner gone", || hub.miners() == ["stay"]).await;
    until("the remaining miner's 3 records", || stay.holds(1, 3)).await;
    hub.broadcast(Message::Stop { job_id: 1 });
    // All three records accepted (not only the first: a miner with work has at least one).
    until("the remaining miner's submission", || {
        hub.miners_with_work() == 1 && hub.footprint().accepted == 3
    })
    .await;
    let (work, _) = hub.take_work(1);
    assert_eq!(work.len(), 1);
    assert_eq!(work[0].record.identity, "stay");
    assert_eq!(work[0].accepted.len(), 3);
    // The identity of the dropped miner is free again.
    let _again = miner(&t, miner_cfg(&[&addr], "drop", FA));
    until("the identity reused", || hub.miners() == ["drop", "stay"]).await;
}
