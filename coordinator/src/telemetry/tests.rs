use super::*;
use crate::store::BlockRecord;

#[test]
fn effective_hashes_follow_the_order_statistic() {
    // The best of H hashes exceeds 2^64 · (1 − 1/H) on average: H = 1 / (1 − d/2^64).
    let d = u64::MAX - (u64::MAX >> 20); // 1 − d/2^64 = 2^-20
    let h = effective_hashes(1, d);
    assert!((h / 1_048_576.0 - 1.0).abs() < 1e-6, "{h}");
    // The 10th best at the same difficulty: (10 − 1) / p, the unbiased estimate.
    assert!((effective_hashes(10, d) / h - 9.0).abs() < 1e-9);
    // Difficulty 0 is reached by every hash.
    assert!((effective_hashes(3, 0) - 2.0).abs() < 1e-9);
    assert!(effective_hashes(1, u64::MAX).is_finite());
}

#[test]
fn every_metric_the_issue_names_is_exported() {
    let t = Telemetry::new(16);
    t.miner_connected("box1", "FA1", "127.0.0.1:1".parse().unwrap());
    t.miner_stats(
        "box1",
        &Stats {
            rate_10s: 1234.5,
            ..Stats::default()
        },
    );
    t.miner_submission("box1", 3, 2, &[]);
    t.miner_effective("box1", 1.0e6, 10.0);
    t.node(NodeState::Up, None);
    t.auth_failure();
    let text = t.metrics_text();
    // Every metric is listed (the per-source family once a price poll has named a source: the
    // process test checks it).
    for (name, _) in METRICS
        .iter()
        .filter(|(n, _)| *n != "netmine_price_source_up" && !n.starts_with("netmine_relay_"))
    {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
    assert!(
        text.contains("netmine_blocks_total{outcome=\"skipped\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("netmine_hashrate_hashes_per_second{identity=\"box1\"} 1234.5"),
        "{text}"
    );
    assert!(
        text.contains("netmine_records_total{result=\"accepted\"} 2"),
        "{text}"
    );
    assert!(text.contains("netmine_auth_failures_total 1"), "{text}");
    assert!(text.contains("netmine_factomd_up 1"), "{text}");
    assert!(text.contains("netmine_miners_connected 1"), "{text}");
    // A miner that leaves takes its rate series with it.
    t.miner_disconnected("box1");
    let text = t.metrics_text();
    // (Its last-seen time stays while it is listed: the silence alert reads it.)
    assert!(
        !text.contains("netmine_hashrate_hashes_per_second{identity=\"box1\"}"),
        "{text}"
    );
    assert!(text.contains("netmine_miners_connected 0"), "{text}");
}

#[test]
fn device_series_follow_the_reports_with_bounded_labels() {
    use protocol::{DeviceHealth, DeviceState};
    let t = Telemetry::new(16);
    t.miner_connected("box1", "FA1", "127.0.0.1:1".parse().unwrap());
    let gpu = |name: &str, state, temp| DeviceHealth {
        name: name.into(),
        rate_10s: 500.0,
        state,
        restarts: 2,
        temp_c: temp,
        fan_percent: Some(40.0),
    };
    let report = |health: Vec<DeviceHealth>| {
        t.miner_stats(
            "box1",
            &Stats {
                device_health: health,
                ..Stats::default()
            },
        )
    };
    report(vec![
        gpu("opencl0:0 A", DeviceState::Ok, Some(70.0)),
        gpu("opencl0:1 B", DeviceState::Reinitializing, None),
    ]);
    let text = t.metrics_text();
    for (name, _) in DEVICE_METRICS {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
    }
    for line in [
        "netmine_device_hashrate_hashes_per_second{identity=\"box1\",device=\"0\"} 500.0",
        "netmine_device_state{identity=\"box1\",device=\"1\",state=\"reinitializing\"} 1",
        "netmine_device_restarts{identity=\"box1\",device=\"0\"} 2",
        "netmine_device_temperature_celsius{identity=\"box1\",device=\"0\"} 70.0",
        "netmine_device_fan_percent{identity=\"box1\",device=\"1\"} 40.0",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert!(!text.contains("netmine_device_temperature_celsius{identity=\"box1\",device=\"1\"}"));
    assert_eq!(t.miners()[0].device_health[1].name, "opencl0:1 B");
    // Device 1 recovers and device 0 leaves the report under a new name: one state series per
    // device, no series for a device no longer reported, and names never become labels.
    report(vec![gpu("renamed", DeviceState::Ok, Some(71.0))]);
    let text = t.metrics_text();
    assert!(!text.contains("device=\"1\""), "{text}");
    assert!(!text.contains("renamed"), "{text}");
    assert_eq!(text.matches("netmine_device_state{").count(), 1, "{text}");
    t.miner_disconnected("box1");
    let text = t.metrics_text();
    assert!(!text.contains("netmine_device_state{"), "{text}");
    assert!(t.miners()[0].device_health.is_empty());
}

#[test]
fn blocks_left_follow_the_spend_and_the_period_resets() {
    let t = Telemetry::new(16);
    let mut b = BlockRecord::new(10);
    b.entries_paid = 5;
    b.ec_spent = 5;
    b.ec_balance = Some(100);
    t.block_finished(&b, &[]);
    let s = t.status();
    assert_eq!(s.ec_spent_per_block, Some(5.0));
    assert_eq!(s.blocks_left, Some(20));
    let p = t.take_period();
    assert_eq!((p.blocks, p.entries_paid, p.ec_spent), (1, 5, 5));
    assert_eq!(t.take_period(), Period::default());
}

#[test]
fn the_rate_history_is_bounded() {
    let t = Telemetry::new(16);
    for k in 0..(RATE_SAMPLES + 10) {
        t.push_rate(k as u64, 1.0);
    }
    let h = t.rate_history();
    assert_eq!(h.len(), RATE_SAMPLES);
    assert_eq!(h[0].0, 10);
}

#[test]
fn node_faults_are_counted_per_kind_and_shown_with_the_node() {
    let t = Telemetry::new(16);
    let text = t.metrics_text();
    for kind in factom::NodeFault::KINDS {
        assert!(
            text.contains(&format!("netmine_node_faults_total{{kind=\"{kind}\"}} 0")),
            "{kind}:\n{text}"
        );
    }
    let fault = factom::NodeFault::EntryHash {
        asked: [1; 32],
        got: [2; 32],
    };
    t.node_fault(41, &fault);
    t.node_fault(42, &fault);
    let text = t.metrics_text();
    assert!(
        text.contains("netmine_node_faults_total{kind=\"entry_hash\"} 2"),
        "{text}"
    );
    let node = t.status().factomd;
    assert_eq!(node.faults, 2);
    let last = node.last_fault.unwrap();
    assert!(
        last.starts_with("block 42, entry_hash: entry 0101"),
        "{last}"
    );
}

#[test]
fn per_miner_series_follow_the_book_with_last_seen_and_effective_rate() {
    let t = Telemetry::new(16);
    t.miner_connected("rig01", "FA1", "127.0.0.1:1".parse().unwrap());
    t.miner_connected("rig02", "FA1", "127.0.0.1:2".parse().unwrap());
    t.miner_effective("rig01", 2.0e6, 10.0);
    let now = unix_now() as i64;
    let text = t.metrics_text();
    let seen = |id: &str| -> i64 {
        let key = format!("netmine_miner_last_seen_timestamp_seconds{{identity=\"{id}\"}} ");
        let line = text.lines().find(|l| l.starts_with(&key)).expect(&key);
        line[key.len()..].parse().unwrap()
    };
    assert!((seen("rig01") - now).abs() <= 2, "{text}");
    assert!(
        text.contains(
            "netmine_miner_effective_hashrate_hashes_per_second{identity=\"rig01\"} 200000.0"
        ),
        "{text}"
    );
    // No effective rate before a block of its records: no series, not a 0.
    assert!(
        !text.contains("netmine_miner_effective_hashrate_hashes_per_second{identity=\"rig02\"}"),
        "{text}"
    );
    // A disconnected miner keeps its last-seen time (what the silence alert reads) while the
    // book lists it.
    t.miner_disconnected("rig02");
    let text = t.metrics_text();
    assert!(
        text.contains("netmine_miner_last_seen_timestamp_seconds{identity=\"rig02\"}"),
        "{text}"
    );
}

#[test]
fn a_block_that_paid_nothing_with_miners_connected_is_counted_unless_paid_elsewhere() {
    let t = Telemetry::new(16);
    let unpaid = |t: &Telemetry| {
        let text = t.metrics_text();
        text.lines()
            .find_map(|l| l.strip_prefix("netmine_blocks_unpaid_with_miners_total "))
            .expect("series")
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(unpaid(&t), 0);
    let mut b = BlockRecord::new(10);
    b.job_id = Some(1);
    b.miners = 2;
    t.block_finished(&b, &[]);
    assert_eq!(unpaid(&t), 1);
    // No miners: nothing to alert on.
    let mut b = BlockRecord::new(11);
    b.job_id = Some(2);
    t.block_finished(&b, &[]);
    assert_eq!(unpaid(&t), 1);
    // The standby's block that the primary paid (the fence saw it) is no fault either.
    t.fence(12, crate::engine::Fence::PaidElsewhere { ec: 3 });
    let mut b = BlockRecord::new(12);
    b.job_id = Some(3);
    b.miners = 2;
    t.block_finished(&b, &[]);
    assert_eq!(unpaid(&t), 1);
}
