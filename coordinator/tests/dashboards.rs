//! The ready-made Grafana dashboard (config/grafana/) and Prometheus rules (config/prometheus/)
//! query only metrics the coordinator serves: every `netmine_…` name in them must be in the
//! coordinator's `/metrics`, fetched over HTTP from the real router. Renaming a metric fails here,
//! not on an operator's dashboard.

mod common;

use coordinator::store::Store;
use coordinator::telemetry::views::NodeState;
use coordinator::telemetry::Telemetry;
use prices::breaker::BreakerState;
use prices::report::{Report, SourceOutcome, SourceReport};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `netmine_[a-z0-9_]+` name in `text` (metric names; the rules' alert names are
/// `Netmine…`, the files `netmine-…`).
fn metric_names(text: &str, into: &mut BTreeSet<String>) {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("netmine_") {
        let start = i + at;
        let mut end = start + "netmine_".len();
        while end < b.len()
            && (b[end].is_ascii_lowercase() || b[end].is_ascii_digit() || b[end] == b'_')
        {
            end += 1;
        }
        let boundary =
            start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
        if boundary {
            into.insert(text[start..end].to_string());
        }
        i = end;
    }
}

/// The PromQL expressions of a Grafana dashboard: every `expr` of every panel's targets.
fn dashboard_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(e)) = m.get("expr") {
                out.push(e.clone());
            }
            m.values().for_each(|v| dashboard_exprs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| dashboard_exprs(v, out)),
        _ => {}
    }
}

/// Whether `/metrics` (OpenMetrics text) has `name`: a sample of it, or its family's `# TYPE`
/// line (a counter's samples carry `_total`, its family does not).
fn served(metrics: &str, name: &str) -> bool {
    let family = |n: &str| {
        metrics
            .lines()
            .any(|l| l.starts_with(&format!("# TYPE {n} ")))
    };
    let sample = metrics.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
    });
    sample
        || family(name)
        || name
            .strip_suffix("_total")
            .is_some_and(|f| metrics.contains(&format!("# TYPE {f} counter")))
}

#[tokio::test]
async fn every_metric_the_dashboard_and_the_rules_query_is_served() {
    // A coordinator's telemetry with a miner, a block and a node fault, behind the real router.
    let telemetry = Arc::new(Telemetry::new(16));
    telemetry.miner_connected("rig01", common::FA, "127.0.0.1:1".parse().unwrap());
    telemetry.miner_stats(
        "rig01",
        &protocol::Stats {
            rate_10s: 1.0e5,
            ..protocol::Stats::default()
        },
    );
    telemetry.miner_effective("rig01", 1.0e6, 10.0);
    telemetry.node(NodeState::Up, None);
    // A poll with a source in use and one no asset needed (which gets no series).
    let source = |name: &str, outcome| SourceReport {
        name: name.into(),
        priority: 0,
        outcome,
        breaker: BreakerState::Closed { failures: 0 },
    };
    telemetry.prices(&Report {
        version: 5,
        assets: Vec::new(),
        sources: vec![
            source("FixedUSD", SourceOutcome::Fetched),
            source("CoinCap", SourceOutcome::Unused),
        ],
    });
    let dir = common::store_path("dashboards", "metrics");
    let store = Store::open(&dir).unwrap();
    let app = coordinator::http::router(telemetry, store, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let mut queried = BTreeSet::new();
    let dashboards = std::fs::read_dir(repo().join("config/grafana")).unwrap();
    let mut panels = 0;
    for f in dashboards {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let mut exprs = Vec::new();
            dashboard_exprs(&v, &mut exprs);
            assert!(!exprs.is_empty(), "{} queries nothing", f.display());
            panels += exprs.len();
            exprs.iter().for_each(|e| metric_names(e, &mut queried));
        }
    }
    let rules =
        std::fs::read_to_string(repo().join("config/prometheus/netmine-rules.yml")).unwrap();
    let exprs: Vec<&str> = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let mut in_rules = BTreeSet::new();
    metric_names(&exprs.join("\n"), &mut in_rules);
    assert!(panels > 10 && in_rules.len() >= 7, "{in_rules:?}");
    queried.extend(in_rules);

    let missing: Vec<&String> = queried.iter().filter(|n| !served(&metrics, n)).collect();
    assert!(
        missing.is_empty(),
        "queried but not in /metrics: {missing:?}\n{metrics}"
    );
    assert!(metrics.contains("netmine_price_source_up{source=\"FixedUSD\"} 1"));
    assert!(!metrics.contains("source=\"CoinCap\""), "{metrics}");
    // The check itself sees a renamed metric.
    assert!(!served(&metrics, "netmine_farm_hashrate"));
    assert!(served(&metrics, "netmine_ec_spent_total"));
}
