//! The miner's settings from its command line: the file, then the environment, then the flags
//! (each named like its key). Mining and `check-config` both call [`resolve`], then
//! [`MinerFile::problems`], so they can never disagree.

use crate::cli::MineArgs;
use anyhow::Result;
use netminer::config::{Environment, MinerFile};
use std::path::Path;

/// `if let Some(v) = flag { key = Some(v) }` for each named flag: the flag and the key share their
/// name, or this does not compile.
macro_rules! lay {
    ($file:expr, $flags:expr; $($key:ident),* $(,)?) => {
        $( if $flags.$key.is_some() { $file.$key = $flags.$key; } )*
    };
}

/// The settings `args` and the environment give.
pub fn resolve(args: MineArgs, env: &Environment) -> Result<MinerFile> {
    let mut f = MinerFile::load_or_default(args.config.as_deref())?;
    f.apply_env(env)?;
    lay!(f, args; secret, tls_ca, threads, top, identity, coinbase, stats_interval_secs,
        table_source, data_dir, protocol_version);
    lay!(f, args.table; bits, table_dir);
    lay!(f, args.backend; backend, opencl_platform, opencl_devices, opencl_workload);
    lay!(f, args.gpu; gpu_stall_secs, gpu_max_restarts, gpu_temp_limit);
    if let Some(c) = args.caddr {
        f.caddr = c;
    }
    if let Some(t) = args.tls_fingerprint {
        f.tls_fingerprint = t;
    }
    Ok(f)
}

/// What `check-config` prints: the effective settings (the secret as `***`), then `config ok`,
/// or each problem and an error (exit 1).
pub fn check(f: &MinerFile, file: Option<&Path>) -> Result<()> {
    let source = file.map_or_else(
        || "the miner's settings".to_string(),
        |p| p.display().to_string(),
    );
    netmine_cli::report_config(&f.to_toml(), &source, &f.problems())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::{CommandFactory, Parser};

    #[test]
    fn every_mining_flag_is_named_like_a_config_key() {
        let keys = toml::Value::try_from(MinerFile {
            secret: Some("x".to_string().into()),
            threads: Some(1),
            top: Some(1),
            identity: Some(String::new()),
            coinbase: Some(String::new()),
            tls_ca: Some("x".into()),
            stats_interval_secs: Some(1.0),
            table_source: Some(netminer::config::TableSource::Generate),
            bits: Some(10),
            table_dir: Some("x".into()),
            backend: Some(netminer::config::BackendKind::Cpu),
            opencl_platform: Some(String::new()),
            opencl_devices: Some(vec![]),
            opencl_workload: Some(1),
            gpu_stall_secs: Some(30.0),
            gpu_max_restarts: Some(3),
            gpu_temp_limit: Some(80.0),
            data_dir: Some("x".into()),
            protocol_version: Some(1),
            ..Default::default()
        })
        .unwrap();
        let keys = keys.as_table().unwrap();
        let cmd = Cli::command();
        let mut flags: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_long())
            .map(|l| l.replace('-', "_"))
            .collect();
        flags.retain(|f| {
            ![
                "config",
                "check_config",
                "verbose",
                "list_devices",
                "help",
                "version",
            ]
            .contains(&f.as_str())
        });
        for f in &flags {
            assert!(
                keys.contains_key(f),
                "--{f} sets no config key of that name"
            );
        }
        for k in keys.keys() {
            assert!(flags.contains(k), "key {k} has no flag");
        }
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let dir = std::env::temp_dir().join(format!("netminer-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("m.toml");
        std::fs::write(
            &file,
            "top = 5\nthreads = 2\nsecret = \"file-secret-0123456789\"\n",
        )
        .unwrap();
        let cli = Cli::parse_from([
            "netminer",
            "--config",
            file.to_str().unwrap(),
            "--miners",
            "7",
            "--caddr",
            "a:1,b:2",
        ]);
        let env = Environment::from_lookup(|n| {
            (n == "NETMINE_SECRET").then(|| "env-secret-0123456789".to_string())
        });
        let f = resolve(cli.mine, &env).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(f.threads, Some(7), "--miners is the threads' alias");
        assert_eq!(f.top, Some(5));
        assert_eq!(f.caddr, vec!["a:1".to_string(), "b:2".to_string()]);
        assert_eq!(f.secret.unwrap().expose_secret(), "env-secret-0123456789");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
