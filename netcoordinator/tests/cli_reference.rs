//! `docs/cli/netcoordinator.md`, the flag reference generated from `netcoordinator --help` and every
//! subcommand's, must match the binary. After changing a flag, rewrite it with
//! `NETMINE_BLESS=1 cargo test -p netcoordinator --test cli_reference` and commit the result.

use netmine_cli::reference::Reference;

#[test]
fn the_committed_flag_reference_matches_the_binary() {
    Reference::new(
        "netcoordinator",
        env!("CARGO_BIN_EXE_netcoordinator"),
        "netcoordinator",
    )
    .check(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli/netcoordinator.md").as_ref());
}
