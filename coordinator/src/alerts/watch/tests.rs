use super::*;
use crate::telemetry::MinerFact;

fn facts(now: u64) -> Facts {
    Facts {
        now,
        miners: Vec::new(),
        farm_rate: 0.0,
        farm_rate_1h: None,
        blocks_left: None,
        ec_balance: None,
        node: NodeState::Up,
        node_since: Some(0),
        node_error: None,
        faults: 0,
        last_fault: None,
        prices_down: Vec::new(),
        unpaid_with_miners: None,
    }
}

fn miner(id: &str, connected: bool, last_seen: u64) -> MinerFact {
    MinerFact {
        identity: id.into(),
        connected,
        last_seen,
        paused: false,
    }
}

fn keys(events: &[Event]) -> Vec<(String, bool)> {
    events.iter().map(|e| (e.key.clone(), e.firing)).collect()
}

#[test]
fn a_silent_miner_fires_once_and_resolves_when_heard_again() {
    let cfg = AlertConfig::default();
    let mut w = Watch::default();
    let mut f = facts(1000);
    f.miners = vec![miner("rig01", false, 900), miner("rig02", true, 999)];
    assert!(w.step(&f, &cfg).is_empty(), "100 s of silence is under 120");
    f.now = 1021;
    let e = w.step(&f, &cfg);
    assert_eq!(keys(&e), [("miner_offline:rig01".into(), true)]);
    assert!(
        e[0].text.starts_with("miner offline: rig01 (disconnected"),
        "{}",
        e[0].text
    );
    // Once per incident.
    f.now = 1100;
    f.miners[1].last_seen = 1099;
    assert!(w.step(&f, &cfg).is_empty());
    f.miners[0] = miner("rig01", true, 1100);
    let e = w.step(&f, &cfg);
    assert_eq!(keys(&e), [("miner_offline:rig01".into(), false)]);
    assert_eq!(e[0].text, "resolved: miner rig01 is back");
    assert_eq!(w.open(), 0);
}

#[test]
fn a_paused_or_forgotten_miner_is_not_alerted_on_and_closes_quietly() {
    let cfg = AlertConfig::default();
    let mut w = Watch::default();
    let mut f = facts(1000);
    let mut paused = miner("rig01", false, 0);
    paused.paused = true;
    f.miners = vec![paused, miner("rig02", false, 0)];
    assert_eq!(
        keys(&w.step(&f, &cfg)),
        [("miner_offline:rig02".into(), true)]
    );
    // rig02 forgotten by the book (an hour gone): no "resolved", it did not come back.
    f.miners.truncate(1);
    assert!(w.step(&f, &cfg).is_empty());
    assert_eq!(w.open(), 0);
    // rig01 paused while offline: closed without a message.
    f.miners = vec![miner("rig01", false, 0)];
    assert_eq!(w.step(&f, &cfg).len(), 1);
    f.miners[0].paused = true;
    assert!(w.step(&f, &cfg).is_empty());
    assert_eq!(w.open(), 0);
}

#[test]
fn the_farm_rate_alert_waits_its_hold_and_needs_a_drop_over_the_threshold() {
    let cfg = AlertConfig::default();
    let mut w = Watch::default();
    let mut f = facts(10_000);
    f.farm_rate_1h = Some(100.0);
    f.farm_rate = 75.0; // 25 % under: no alert
    assert!(w.step(&f, &cfg).is_empty());
    f.farm_rate = 60.0;
    assert!(w.step(&f, &cfg).is_empty(), "held for 0 s");
    f.now += 299;
    assert!(w.step(&f, &cfg).is_empty(), "held for 299 s");
    f.now += 1;
    let e = w.step(&f, &cfg);
    assert_eq!(keys(&e), [("farm_rate".into(), true)]);
    assert!(
        e[0].text
            .contains("40 % under its 1 h average of 100.0 H/s"),
        "{}",
        e[0].text
    );
    f.farm_rate = 95.0;
    assert_eq!(keys(&w.step(&f, &cfg)), [("farm_rate".into(), false)]);
    // A dip shorter than the hold never fires.
    f.farm_rate = 10.0;
    assert!(w.step(&f, &cfg).is_empty());
    f.farm_rate = 100.0;
    f.now += 1000;
    assert!(w.step(&f, &cfg).is_empty());
    // The operator pauses a miner: the drop that follows is theirs, held or not.
    let mut paused = miner("rig01", true, f.now);
    paused.paused = true;
    f.miners = vec![paused];
    f.farm_rate = 40.0;
    assert!(w.step(&f, &cfg).is_empty());
    f.now += 1000;
    f.miners[0].last_seen = f.now; // a paused miner still reports
    assert!(
        w.step(&f, &cfg).is_empty(),
        "alerted on a drop made by pausing"
    );
    // Resumed but still low: judged again from then on.
    f.miners[0].paused = false;
    assert!(w.step(&f, &cfg).is_empty(), "held for 0 s");
    f.now += 300;
    f.miners[0].last_seen = f.now;
    assert_eq!(keys(&w.step(&f, &cfg)), [("farm_rate".into(), true)]);
}

#[test]
fn ec_factomd_unpaid_blocks_prices_and_node_faults_fire_and_resolve() {
    let cfg = AlertConfig::default();
    let mut w = Watch::default();
    let mut f = facts(10_000);
    assert!(w.step(&f, &cfg).is_empty());
    f.blocks_left = Some(143);
    f.ec_balance = Some(1430);
    f.node = NodeState::Stalled;
    f.node_since = Some(10_000 - 130);
    f.unpaid_with_miners = Some(42);
    f.prices_down = vec![("CoinGecko".into(), "timed out".into())];
    f.faults = 1;
    f.last_fault = Some("block 41, keymr: …".into());
    let e = w.step(&f, &cfg);
    let mut got = keys(&e);
    got.sort();
    assert_eq!(
        got,
        [
            ("block_unpaid".into(), true),
            ("ec_low".into(), true),
            ("factomd".into(), true),
            ("node_fault".into(), true),
            ("price:CoinGecko".into(), true),
        ]
    );
    let text = |k: &str| e.iter().find(|e| e.key == k).unwrap().text.clone();
    assert!(
        text("factomd").starts_with("factomd stalled for 130 s"),
        "{}",
        text("factomd")
    );
    assert!(
        text("ec_low").contains("about 143 blocks"),
        "{}",
        text("ec_low")
    );
    assert_eq!(
        text("price:CoinGecko"),
        "price source CoinGecko down: timed out"
    );
    assert_eq!(
        text("block_unpaid"),
        "block 42 paid nothing while miners were connected"
    );

    f.now += 60;
    f.blocks_left = Some(500);
    f.node = NodeState::Up;
    f.unpaid_with_miners = None;
    f.prices_down.clear();
    let mut got = keys(&w.step(&f, &cfg));
    got.sort();
    assert_eq!(
        got,
        [
            ("block_unpaid".into(), false),
            ("ec_low".into(), false),
            ("factomd".into(), false),
            ("price:CoinGecko".into(), false),
        ]
    );
    // The node fault clears an hour after the last one.
    f.now += 3600;
    assert_eq!(keys(&w.step(&f, &cfg)), [("node_fault".into(), false)]);
}

#[test]
fn factomd_down_waits_for_its_hold() {
    let cfg = AlertConfig::default();
    let mut w = Watch::default();
    let mut f = facts(10_000);
    f.node = NodeState::Down;
    f.node_since = Some(10_000);
    assert!(w.step(&f, &cfg).is_empty());
    f.now += 119;
    assert!(w.step(&f, &cfg).is_empty());
    f.now += 1;
    assert_eq!(keys(&w.step(&f, &cfg)), [("factomd".into(), true)]);
}

#[test]
fn messages_carry_the_farm_name_and_fit_discord() {
    let e = Event {
        key: "miner_offline:rig01".into(),
        alert: "miner_offline",
        firing: true,
        text: "x".repeat(5000),
    };
    let p = crate::alerts::Payload::new(&e, Some("farm-a"), 7);
    assert!(p.text.starts_with("[farm-a] xxx"));
    assert!(p.content.chars().count() <= 2000);
    assert_eq!(p.text, p.content);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["status"], "firing");
    assert_eq!(json["alert"], "miner_offline");
    assert_eq!(json["key"], "miner_offline:rig01");
}
