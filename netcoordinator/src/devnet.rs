//! `netcoordinator devnet`: the whole system in one process on loopback — a simulated factomd with
//! a funded fresh EC key, the coordinator, and N netminers with their own identities — mining K
//! blocks, then grading each one to show which of our records won.

use anyhow::{bail, Context, Result};
use coordinator::daemon::{spawn, start_http, telemetry_for, HttpSettings, Parts};
use coordinator::engine::{BlockSummary, EngineConfig};
use coordinator::server::ServerConfig;
use coordinator::store::Store;
use factom::{EcSecret, FactoidSecret, FactomdClient, MonitorConfig, RpcConfig};
use factomd_sim::{SimConfig, SimServer};
use hashcore::{CpuBackend, MiningBackend};
use pegnet::{Grader, Network};
use protocol::Secret;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Devnet settings, from `netcoordinator devnet`'s flags.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// How many netminers to run, each with its own identity and coinbase (at least 1).
    pub miners: usize,
    /// How many blocks to mine and grade before returning (at least 1).
    pub blocks: usize,
    /// Length of a simulated block in seconds (at least 1); a Factom minute is a tenth of it.
    pub block_seconds: f64,
    /// LXRHash table size in bits; the devnet grades with the same table, so any size works.
    pub bits: u32,
    /// Table cache directory; `None` means `~/.lxrhash`.
    pub table_dir: Option<std::path::PathBuf>,
    /// Hashing threads per miner.
    pub threads: usize,
    /// Serve the dashboard and API here while the devnet runs (loopback; `None`: off).
    pub http: Option<std::net::SocketAddr>,
}

/// A finished, graded block: the coordinator's record of it, with `graded`, `winners` (short
/// hashes; empty when the block had too few honest records to name any) and `our_winners` (our
/// paid entries among them) filled in by grading the saved block at once.
#[derive(Debug, Clone, Serialize)]
pub struct DevnetBlock {
    /// What the coordinator did, and the grading.
    #[serde(flatten)]
    pub summary: BlockSummary,
    /// Honest records the grader kept.
    pub graded_records: usize,
    /// Where the dashboard and API are served (the bound address: `--http 127.0.0.1:0` picks a
    /// free port), if they are; not part of the JSON.
    #[serde(skip)]
    pub dashboard: Option<std::net::SocketAddr>,
}

/// Runs the devnet; calls `on_block` for every finished and graded block.
pub async fn run(
    opts: DevnetOptions,
    mut on_block: impl FnMut(&DevnetBlock),
) -> Result<Vec<DevnetBlock>> {
    if opts.miners == 0 || opts.blocks == 0 || opts.threads == 0 {
        bail!("--miners, --blocks and --threads must be at least 1");
    }
    if !(opts.block_seconds.is_finite() && opts.block_seconds >= 1.0) {
        bail!("--block-seconds must be at least 1");
    }
    let (table, _) = netmine_cli::TableFlags {
        bits: Some(opts.bits),
        table_dir: opts.table_dir.clone(),
    }
    .open()?;
    let block = Duration::from_secs_f64(opts.block_seconds);
    let minute = block / 10;

    let key = EcSecret::generate();
    let sim = SimServer::start(
        SimConfig {
            block_time: block,
            start_height: 1000,
            funded: vec![(key.public(), 1_000_000)],
        },
        "127.0.0.1:0".parse()?,
    )
    .await
    .context("starting the simulated factomd")?;
    let mut rpc = RpcConfig::new(&sim.url());
    rpc.timeout = Duration::from_secs(5);
    rpc.retry_for = minute;
    let client = Arc::new(FactomdClient::new(rpc)?);
    // Enough records per block for the grader to name 25 winners.
    let max_entries: usize = 30;
    let top = max_entries.div_ceil(opts.miners).max(1);
    let secret = Secret::new(&hex::encode(rand_bytes()));
    let data = std::env::temp_dir().join(format!(
        "netmine-devnet-{}-{}",
        std::process::id(),
        hex::encode(&rand_bytes()[..4])
    ));
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let server = ServerConfig {
        secret: Some(secret.clone()),
        records_per_miner: top,
        ..ServerConfig::default()
    };
    let telemetry = telemetry_for(&server, Network::DevNet, &key);
    let store = Store::open(&data.join("coordinator.db"))?;
    let (_http_stop, http_stop_rx) = watch::channel(false);
    let mut dashboard = None;
    if let Some(addr) = opts.http {
        let h = HttpSettings {
            addr,
            token: None,
            limits: Default::default(),
        };
        let (a, _task) = start_http(&h, telemetry.clone(), store.clone(), http_stop_rx).await?;
        tracing::info!("dashboard on http://{a}/ while the devnet runs");
        dashboard = Some(a);
    }
    let mut running = spawn(Parts {
        listener: tokio::net::TcpListener::bind("127.0.0.1:0").await?,
        client: client.clone(),
        table: table.clone(),
        store,
        key,
        prices: Arc::new(prices::Oracle::devnet()?),
        server,
        engine: EngineConfig {
            network: Network::DevNet,
            max_entries,
            max_entries_per_coinbase: None,
            records_wanted: top as u32,
            cutoff: 200,
            submit_window: minute / 4,
            previous_winners: None,
            history_days: 30,
            standby: None,
        },
        monitor: MonitorConfig {
            poll: (minute / 4).min(Duration::from_secs(1)),
            down_after: minute * 2,
            max_backoff: minute,
        },
        telemetry,
    })
    .await?;
    let caddr = netmine_link::CoordinatorAddr::parse(&running.addr.to_string())?;
    let (stop_tx, stop_rx) = watch::channel(false);

    let mut miners = Vec::new();
    for k in 0..opts.miners {
        let backend: Arc<dyn MiningBackend> =
            Arc::new(CpuBackend::start(table.clone(), opts.threads, 0)?);
        let cfg = netminer::client::MinerConfig {
            link: netmine_link::LinkConfig {
                coordinators: vec![caddr.clone()],
                secret: secret.clone(),
                identity: format!("devnet{k}"),
                coinbase: FactoidSecret::generate().public().to_string(),
                failback_every: Duration::from_secs(30),
                ..Default::default()
            },
            top,
            stats_every: minute.max(Duration::from_millis(200)),
            ..Default::default()
        };
        miners.push(tokio::spawn(netminer::client::run(
            cfg,
            backend,
            stop_rx.clone(),
        )));
    }

    let deadline = block * (opts.blocks as u32 + 3);
    let mut out = Vec::new();
    let collect = async {
        while out.len() < opts.blocks {
            let Some(summary) = running.summaries.recv().await else {
                break;
            };
            let mut graded = grade(&client, &table, &summary, block).await?;
            graded.dashboard = dashboard;
            on_block(&graded);
            out.push(graded);
        }
        anyhow::Ok(())
    };
    let finished = tokio::time::timeout(deadline, collect).await;
    let _ = stop_tx.send(true);
    for m in miners {
        if let Ok(Err(e)) = m.await {
            tracing::error!("miner stopped: {e}");
        }
    }
    drop(running);
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&data);
    match finished {
        Ok(r) => r?,
        Err(_) => bail!(
            "the devnet did not finish {} blocks in {:?}",
            opts.blocks,
            deadline
        ),
    }
    // A devnet that mined but paid for nothing has not shown the system working: say so.
    let unpaid: Vec<u32> = out
        .iter()
        .filter(|b| b.summary.block.entries_paid == 0)
        .map(|b| b.summary.block.height)
        .collect();
    if !unpaid.is_empty() {
        bail!(
            "block(s) {unpaid:?} paid for no entry: with {} s blocks the payments after minute 9 \
             did not finish before the block ended (a busy machine?); try a longer --block-seconds",
            opts.block_seconds
        );
    }
    Ok(out)
}

/// Grades a finished block once factomd has saved it.
async fn grade(
    client: &FactomdClient,
    table: &hashcore::Table,
    s: &BlockSummary,
    block: Duration,
) -> Result<DevnetBlock> {
    let deadline = tokio::time::Instant::now() + block * 2;
    let height = s.block.height;
    while (client.heights().await?.directoryblockheight as u32) < height {
        if tokio::time::Instant::now() > deadline {
            bail!("block {height} was never saved");
        }
        tokio::time::sleep(block / 50).await;
    }
    let entries = client
        .entries_at(&Network::DevNet.opr_chain(), height)
        .await?;
    let mut g = Grader::new(5, height, &s.winners_in_force)?;
    for (h, e) in &entries {
        let _ = g.add(h, &e.ext_ids, &e.content);
    }
    // Graded with the devnet's own table (records are honest for the table they were mined with).
    let graded = g.grade(table);
    let ours: Vec<String> = s
        .block
        .entry_hashes
        .iter()
        .map(|h| h[..16].to_string())
        .collect();
    let our_winners = if graded.has_winners {
        graded
            .winners
            .iter()
            .filter(|w| ours.contains(w))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let mut summary = s.clone();
    summary.block.graded = true;
    summary.block.winners = if graded.has_winners {
        graded.winners.clone()
    } else {
        Vec::new()
    };
    summary.block.our_winners = our_winners;
    Ok(DevnetBlock {
        summary,
        graded_records: graded.graded.len(),
        dashboard: None,
    })
}

fn rand_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, &mut b)
        .expect("the OS random number generator failed");
    b
}
