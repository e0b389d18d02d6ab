//! `docs/cli/netminer.md`, the flag reference generated from `netminer --help` and every
//! subcommand's, must match the binary. After changing a flag, rewrite it with
//! `NETMINE_BLESS=1 cargo test -p netminer --test cli_reference` and commit the result.

use netmine_cli::reference::Reference;

#[test]
fn the_committed_flag_reference_matches_the_binary() {
    Reference::new("netminer", env!("CARGO_BIN_EXE_netminer"), "netminer")
        .check(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli/netminer.md").as_ref());
}
