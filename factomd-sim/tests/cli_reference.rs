//! `docs/cli/factomd-sim.md`, the flag reference generated from `factomd-sim --help` and every
//! subcommand's, must match the binary. After changing a flag, rewrite it with
//! `NETMINE_BLESS=1 cargo test -p factomd-sim --test cli_reference` and commit the result.

use netmine_cli::reference::Reference;

#[test]
fn the_committed_flag_reference_matches_the_binary() {
    Reference::new(
        "factomd-sim",
        env!("CARGO_BIN_EXE_factomd-sim"),
        "factomd-sim",
    )
    .check(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli/factomd-sim.md").as_ref());
}
