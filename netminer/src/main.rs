//! `netminer`: the PegNet network miner.
//!
//! Without a subcommand it mines for its coordinators (`--caddr`; see `mine_cmd` and the
//! library's `client`). The tools: `table` (build or load the LXRHash table), `hash` (LXRHash of
//! hex inputs), `bench` (hash rate and a checksum every box and backend must agree on), and
//! `--list-devices` (the OpenCL devices).

mod backends;
mod bench_cmd;
mod check_config_cmd;
mod cli;
mod hash_cmd;
mod mine_cmd;
mod settings;
mod table_cmd;
mod table_setup;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    netmine_cli::init_logging(cli.verbose);
    let result = match (cli.list_devices, cli.command) {
        (true, _) => backends::list_devices(),
        (false, Some(cli::Command::Table(args))) => table_cmd::run(&args),
        (false, Some(cli::Command::Hash(args))) => hash_cmd::run(&args),
        (false, Some(cli::Command::Bench(args))) => bench_cmd::run(&args),
        (false, Some(cli::Command::CheckConfig(args))) => check_config_cmd::run(&args),
        (false, Some(cli::Command::Key(args))) => mine_cmd::key(&args),
        (false, None) => mine_cmd::mine(cli.mine),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
