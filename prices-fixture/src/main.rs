//! `prices-fixture`: serves every price API's JSON from a price file on loopback, so that
//! `netcoordinator prices` and the coordinator can run without internet access. Prints the
//! `[prices]` config section that points at it.

use anyhow::{Context, Result};
use clap::Parser;
use prices::sources::fixed;
use prices_fixture::{Fault, FixtureServer};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serve fixture answers for every price source.
#[derive(Debug, Parser)]
#[command(name = "prices-fixture", version, about)]
struct Args {
    /// Address and port to listen on; each source answers at http://ADDR/SOURCE.
    #[arg(long, default_value = "127.0.0.1:8099")]
    listen: SocketAddr,
    /// Price file (TOML or JSON `[prices]`; default: the devnet's built-in prices).
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Make a source fail: SOURCE=CODE (an HTTP status), SOURCE=malformed or SOURCE=hang.
    /// Repeatable.
    #[arg(long, value_name = "SOURCE=FAULT")]
    fault: Vec<String>,
    /// Write the `[prices]` config section to this file as well as printing it.
    #[arg(long, value_name = "FILE")]
    write_config: Option<PathBuf>,
}

fn fault(spec: &str) -> Result<(String, Fault)> {
    let (source, kind) = spec
        .split_once('=')
        .with_context(|| format!("--fault {spec:?}: expected SOURCE=FAULT"))?;
    let f = match kind {
        "malformed" => Fault::Malformed,
        "hang" => Fault::Hang,
        code => Fault::Status(code.parse().with_context(|| {
            format!("--fault {spec:?}: FAULT is an HTTP status, `malformed` or `hang`")
        })?),
    };
    Ok((source.to_string(), f))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let text = match &args.prices {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => fixed::DEVNET_PRICES.to_string(),
    };
    let prices = fixed::parse(&text, "the price file")?
        .into_iter()
        .map(|(a, q)| (a, q.value))
        .collect();
    let faults = args
        .fault
        .iter()
        .map(|s| fault(s))
        .collect::<Result<Vec<_>>>()?;
    let server = FixtureServer::start(args.listen, prices)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    for (source, f) in faults {
        server.fixture.set_fault(&source, Some(f));
    }
    let config = server.config_toml();
    if let Some(path) = &args.write_config {
        std::fs::write(path, &config).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("# prices-fixture listening on http://{}", server.addr);
    println!("{config}");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
