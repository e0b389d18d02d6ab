//! The checks on what a node serves, with real MainNet data: every entry of two PegNet blocks
//! passes as served and fails once changed, of another chain or over 10 KiB; real entry blocks
//! pass for their key MR, chain and height and fail for any other; the fetch budget.

use factom::check::{
    check_entry, check_entry_block, BudgetSpent, FetchBudget, NodeFault, MAX_FETCH_BYTES,
    MAX_FETCH_ENTRIES,
};
use factom::eblock::EBlock;
use factom::entry::Hash32;
use factom::{opr_chain_id, Entry};
use std::time::Duration;

/// The entries of the two MainNet OPR blocks in `testdata/pegnet/`: (entry hash, entry).
fn mainnet_entries() -> Vec<(Hash32, Entry)> {
    let chain = opr_chain_id("MainNet");
    let mut out = Vec::new();
    for name in ["block-206422.json", "block-210330.json"] {
        let path = format!("{}/../testdata/pegnet/{name}", env!("CARGO_MANIFEST_DIR"));
        let block = pegnet::block_file::read(std::path::Path::new(&path)).unwrap();
        for e in block.entries {
            let entry = Entry {
                chain_id: chain,
                ext_ids: e.ext_ids,
                content: e.content,
            };
            out.push((e.hash.try_into().unwrap(), entry));
        }
    }
    out
}

/// The real entry blocks of `testdata/factom/entry-blocks.txt`: (binary, key MR).
fn mainnet_entry_blocks() -> Vec<(Vec<u8>, Hash32)> {
    let path = format!(
        "{}/../testdata/factom/entry-blocks.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let keymr = hex::decode(f[1]).unwrap().try_into().unwrap();
            (hex::decode(f[0]).unwrap(), keymr)
        })
        .collect()
}

#[test]
fn every_mainnet_entry_passes_as_served() {
    let chain = opr_chain_id("MainNet");
    let entries = mainnet_entries();
    assert_eq!(entries.len(), 696);
    for (h, e) in &entries {
        assert_eq!(check_entry(h, &chain, e), Ok(()), "{}", hex::encode(h));
    }
}

#[test]
fn a_changed_entry_fails_its_hash() {
    let chain = opr_chain_id("MainNet");
    for (h, mut e) in mainnet_entries().into_iter().take(50) {
        e.content[0] ^= 0x20;
        let fault = check_entry(&h, &chain, &e).unwrap_err();
        assert!(matches!(fault, NodeFault::EntryHash { asked, .. } if asked == h));
        assert_eq!(fault.kind(), "entry_hash");
        assert!(fault.to_string().contains(&hex::encode(h)), "{fault}");
    }
    // An ExtID changed (the nonce), or one dropped.
    let (h, e) = mainnet_entries().remove(0);
    let mut nonce = e.clone();
    nonce.ext_ids[0].push(0);
    assert_eq!(
        check_entry(&h, &chain, &nonce).unwrap_err().kind(),
        "entry_hash"
    );
    let mut fewer = e;
    fewer.ext_ids.pop();
    assert_eq!(
        check_entry(&h, &chain, &fewer).unwrap_err().kind(),
        "entry_hash"
    );
}

#[test]
fn an_entry_of_another_chain_fails_even_with_its_own_hash() {
    let mainnet = opr_chain_id("MainNet");
    let (_, e) = mainnet_entries().remove(0);
    // The same record on the TestNet chain, asked for by its own (correct) hash.
    let moved = Entry {
        chain_id: opr_chain_id("TestNet-pM7"),
        ..e
    };
    let h = moved.hash().unwrap();
    let fault = check_entry(&h, &mainnet, &moved).unwrap_err();
    assert!(matches!(fault, NodeFault::EntryChain { want, .. } if want == mainnet));
    assert_eq!(fault.kind(), "chain");
}

#[test]
fn an_entry_over_10_kib_fails_its_size_whatever_its_hash() {
    let chain = opr_chain_id("MainNet");
    let (h, e) = mainnet_entries().remove(0);
    // What counts: ExtIDs with their 2-byte lengths, and content.
    let ext: usize = e.ext_ids.iter().map(|x| 2 + x.len()).sum();
    let at_limit = Entry {
        content: vec![b'x'; 10_240 - ext],
        ..e.clone()
    };
    let h_at = at_limit.hash().unwrap();
    assert_eq!(check_entry(&h_at, &chain, &at_limit), Ok(()));
    let over = Entry {
        content: vec![b'x'; 10_241 - ext],
        ..e
    };
    let fault = check_entry(&h, &chain, &over).unwrap_err();
    assert_eq!(
        fault,
        NodeFault::EntrySize {
            entry: h,
            payload: 10_241
        }
    );
    assert_eq!(fault.kind(), "entry_size");
}

#[test]
fn mainnet_entry_blocks_pass_for_their_key_mr_chain_and_height_only() {
    for (raw, keymr) in mainnet_entry_blocks() {
        let b = EBlock::unmarshal(&raw).unwrap();
        let (chain, height) = (b.chain_id, b.db_height);
        let ok = check_entry_block(&keymr, &chain, height, &raw).unwrap();
        assert_eq!(ok, b);
        assert!(ok.entry_hashes().count() >= 1);

        let mut other = keymr;
        other[31] ^= 1;
        let f = check_entry_block(&other, &chain, height, &raw).unwrap_err();
        assert!(matches!(f, NodeFault::KeyMr { got, .. } if got == keymr));
        assert_eq!(f.kind(), "keymr");

        // The body changed: the key MR no longer matches, whether or not the header's body MR
        // was fixed up to match.
        let mut changed = raw.clone();
        changed[140] ^= 1;
        assert_eq!(
            check_entry_block(&keymr, &chain, height, &changed)
                .unwrap_err()
                .kind(),
            "keymr"
        );
        let mut fixed = EBlock::unmarshal(&changed).unwrap();
        fixed.header_body_mr = fixed.body_mr();
        assert_eq!(
            check_entry_block(&keymr, &chain, height, &fixed.marshal())
                .unwrap_err()
                .kind(),
            "keymr"
        );

        let f = check_entry_block(&keymr, &opr_chain_id("MainNet"), height, &raw).unwrap_err();
        assert_eq!(f.kind(), "chain");
        let f = check_entry_block(&keymr, &chain, height + 1, &raw).unwrap_err();
        assert!(
            matches!(f, NodeFault::Height { want, got, .. } if want == height + 1 && got == height)
        );
        let f = check_entry_block(&keymr, &chain, height, &raw[..100]).unwrap_err();
        assert_eq!(f.kind(), "malformed");
    }
}

#[test]
fn the_fetch_budget() {
    let b = FetchBudget::default();
    assert_eq!(b.max_entries, MAX_FETCH_ENTRIES);
    assert_eq!(b.max_bytes, 64 << 20);
    assert_eq!(b.deadline, None);
    assert_eq!(b.check_entries(MAX_FETCH_ENTRIES), Ok(()));
    let f = b.check_entries(MAX_FETCH_ENTRIES + 1).unwrap_err();
    assert_eq!(f.kind(), "budget");
    assert!(matches!(f, NodeFault::Budget(BudgetSpent::Entries { .. })));

    let mut spent = 0;
    assert_eq!(b.spend(&mut spent, MAX_FETCH_BYTES - 1), Ok(()));
    assert_eq!(b.spend(&mut spent, 1), Ok(()));
    let f = b.spend(&mut spent, 1).unwrap_err();
    assert_eq!(
        f,
        NodeFault::Budget(BudgetSpent::Bytes {
            max: MAX_FETCH_BYTES
        })
    );
    assert!(f.to_string().contains("67108864"), "{f}");
    // No overflow, however much is counted.
    assert!(b.spend(&mut spent, usize::MAX).is_err());

    let soon = FetchBudget::within(Duration::from_secs(2));
    assert!(soon.deadline.is_some());
    assert_eq!(soon.max_bytes, MAX_FETCH_BYTES);

    for k in NodeFault::KINDS {
        assert!(k.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{k}");
    }
}
