//! `docs/cli/prices-fixture.md`, the flag reference generated from `prices-fixture --help` and every
//! subcommand's, must match the binary. After changing a flag, rewrite it with
//! `NETMINE_BLESS=1 cargo test -p prices-fixture --test cli_reference` and commit the result.

use netmine_cli::reference::Reference;

#[test]
fn the_committed_flag_reference_matches_the_binary() {
    Reference::new(
        "prices-fixture",
        env!("CARGO_BIN_EXE_prices-fixture"),
        "prices-fixture",
    )
    .check(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli/prices-fixture.md").as_ref());
}
