//! Record formats and the rejection rules of spec §4.2, one test each, plus grading-loop checks
//! with a proof of work that trusts the self-reported difficulty.

mod common;

use common::{block, Honest};
use pegnet::{Grader, InvalidRecord, Network, OprTemplate, V1Content, V2Content};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

#[test]
fn every_v2_record_of_210330_re_encodes_byte_for_byte() {
    let b = block(210_330);
    let mut n = 0;
    for e in b
        .entries
        .iter()
        .filter(|e| e.ext_ids.get(2) == Some(&vec![2]))
    {
        let c = V2Content::parse(&e.content).unwrap();
        assert_eq!(c.encode(), e.content, "entry {}", hex::encode(&e.hash));
        n += 1;
    }
    assert_eq!(n, 94);
}

#[test]
fn v1_records_written_by_the_go_miner_re_encode_byte_for_byte() {
    // Some miners of the day used other encoders (alphabetical keys); every record parses, and the
    // ones in the Go miner's layout come back byte for byte.
    let b = block(206_422);
    let mut go_layout = 0;
    for e in &b.entries {
        let c = V1Content::parse(&e.content).unwrap();
        assert_eq!(c.dbht, 206_422);
        if e.content.starts_with(b"{\"coinbase\":") {
            assert_eq!(
                String::from_utf8(c.encode().unwrap()).unwrap(),
                String::from_utf8(e.content.clone()).unwrap()
            );
            go_layout += 1;
        }
    }
    eprintln!(
        "{go_layout} of {} V1 records in the Go miner's layout",
        b.entries.len()
    );
    assert_eq!(go_layout, 494);
}

/// A valid V5 entry for height 500 with the given SRD; `f` may spoil it.
fn v5(
    srd: u64,
    f: impl FnOnce(&mut V2Content, &mut Vec<Vec<u8>>),
) -> (Vec<u8>, Vec<Vec<u8>>, Vec<u8>) {
    let t = OprTemplate {
        network: Network::DevNet,
        height: 500,
        winners: vec![String::new(); 25],
        prices: (1..=62).map(|k| k * 1_000_000).collect(),
    };
    let mut c = V2Content::parse(&t.content("miner1", FA).unwrap()).unwrap();
    let mut ext = vec![
        srd.to_be_bytes().to_vec(),
        srd.to_be_bytes().to_vec(),
        vec![5],
    ];
    f(&mut c, &mut ext);
    let content = c.encode();
    (pegnet::opr_hash(&content).to_vec(), ext, content)
}

fn add(
    g: &mut Grader,
    (h, ext, content): (Vec<u8>, Vec<Vec<u8>>, Vec<u8>),
) -> Result<(), InvalidRecord> {
    g.add(&h, &ext, &content)
}

fn grader() -> Grader {
    Grader::new(5, 500, &[]).unwrap()
}

#[test]
fn a_valid_record_is_accepted() {
    assert_eq!(add(&mut grader(), v5(1, |_, _| {})), Ok(()));
}

#[test]
fn wrong_extid_count() {
    let r = add(&mut grader(), v5(1, |_, e| e.push(vec![])));
    assert_eq!(r, Err(InvalidRecord::ExtIdCount(4)));
}

#[test]
fn wrong_version_byte() {
    let r = add(&mut grader(), v5(1, |_, e| e[2] = vec![4]));
    assert!(matches!(r, Err(InvalidRecord::Version { want: 5, .. })));
    let r = add(&mut grader(), v5(1, |_, e| e[2] = vec![5, 0]));
    assert!(matches!(r, Err(InvalidRecord::Version { .. })));
}

#[test]
fn difficulty_not_8_bytes() {
    let r = add(&mut grader(), v5(1, |_, e| e[1].pop().map(|_| ()).unwrap()));
    assert_eq!(r, Err(InvalidRecord::DifficultyLen(7)));
}

#[test]
fn wrong_height() {
    let r = add(&mut grader(), v5(1, |c, _| c.height = 499));
    assert_eq!(
        r,
        Err(InvalidRecord::Height {
            got: 499,
            want: 500
        })
    );
}

#[test]
fn undecodable_or_empty_content() {
    let mut g = grader();
    let ext = vec![vec![1], vec![0; 8], vec![5]];
    assert!(matches!(
        g.add(&[0; 32], &ext, &[]),
        Err(InvalidRecord::Decode(_))
    ));
    assert!(matches!(
        g.add(&[0; 32], &ext, &[0xff, 0xff, 0xff]),
        Err(InvalidRecord::Decode(_))
    ));
    assert_eq!(
        g.add(&[0; 31], &ext, &[1]),
        Err(InvalidRecord::EntryHashLen(31))
    );
}

#[test]
fn wrong_asset_count() {
    let r = add(
        &mut grader(),
        v5(1, |c, _| {
            c.assets.pop();
        }),
    );
    assert!(matches!(
        r,
        Err(InvalidRecord::AssetCount {
            got: 61,
            want: 62,
            ..
        })
    ));
}

#[test]
fn zero_prices_where_forbidden() {
    let r = add(&mut grader(), v5(1, |c, _| c.assets[0] = 0));
    assert_eq!(
        r,
        Err(InvalidRecord::ZeroPrice("PEG")),
        "V3+ needs a PEG price"
    );
    let r = add(&mut grader(), v5(1, |c, _| c.assets[17] = 0));
    assert_eq!(r, Err(InvalidRecord::ZeroPrice("XBT")));
    // V2 allows PEG = 0 but nothing else.
    let prev: Vec<String> = vec![String::new(); 25];
    let mut g2 = Grader::new(2, 500, &prev).unwrap();
    let mk = |peg: u64, usd: u64| {
        let c = V2Content {
            address: FA.into(),
            id: b"m".to_vec(),
            height: 500,
            winners: vec![vec![]; 25],
            assets: [vec![peg, usd], vec![1; 28]].concat(),
        };
        c.encode()
    };
    let ext = vec![vec![1], vec![0; 8], vec![2]];
    assert_eq!(g2.add(&[0; 32], &ext, &mk(0, 1)), Ok(()));
    assert_eq!(
        g2.add(&[0; 32], &ext, &mk(1, 0)),
        Err(InvalidRecord::ZeroPrice("USD"))
    );
}

#[test]
fn bad_previous_winners() {
    let r = add(&mut grader(), v5(1, |c, _| c.winners.truncate(10)));
    assert!(matches!(r, Err(InvalidRecord::WinnerCount { got: 10, .. })));
    let r = add(&mut grader(), v5(1, |c, _| c.winners[0] = vec![1; 8]));
    assert_eq!(
        r,
        Err(InvalidRecord::WinnerFormat),
        "first non-empty, rest empty"
    );
    // Well-formed but not the previous block's.
    let prev: Vec<String> = (0..25).map(|k| format!("{k:016x}")).collect();
    let mut g = Grader::new(5, 500, &prev).unwrap();
    let r = add(
        &mut g,
        v5(1, |c, _| {
            c.winners = (0..25u64).map(|k| (k + 1).to_be_bytes().to_vec()).collect()
        }),
    );
    assert_eq!(r, Err(InvalidRecord::WinnersMismatch));
    let r = add(
        &mut g,
        v5(1, |c, _| {
            c.winners = (0..25u64).map(|k| k.to_be_bytes().to_vec()).collect()
        }),
    );
    assert_eq!(r, Ok(()));
}

#[test]
fn bad_coinbase() {
    let r = add(
        &mut grader(),
        v5(1, |c, _| {
            c.address = b"FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1R".to_vec()
        }),
    );
    assert!(matches!(r, Err(InvalidRecord::Coinbase(_))));
}

#[test]
fn bad_identity() {
    let r = add(&mut grader(), v5(1, |c, _| c.id = b"my-miner".to_vec()));
    assert!(matches!(r, Err(InvalidRecord::Identity(_))));
    let r = add(&mut grader(), v5(1, |c, _| c.id = vec![]));
    assert!(matches!(r, Err(InvalidRecord::Identity(_))));
}

#[test]
fn oversized_content_is_not_a_valid_record() {
    // Oversized content cannot be an entry at all; as a record it fails to decode as V5.
    let mut g = grader();
    let ext = vec![vec![1], vec![0; 8], vec![5]];
    assert!(g.add(&[0; 32], &ext, &vec![0x2a; 11 * 1024]).is_err());
}

#[test]
fn previous_winner_lists_must_fit_the_version() {
    let ten: Vec<String> = vec!["0123456789abcdef".into(); 10];
    assert!(Grader::new(1, 1, &ten).is_ok());
    assert!(Grader::new(2, 1, &ten).is_ok(), "the V1 to V2 hand-over");
    assert!(Grader::new(3, 1, &ten).is_err());
    assert!(Grader::new(6, 1, &[]).is_err());
}

#[test]
fn duplicates_dishonest_records_and_carry_forward() {
    // 30 distinct valid records → 25 winners; duplicates are graded once.
    let mut g = grader();
    for k in 0..30u64 {
        let srd = u64::MAX - k;
        add(&mut g, v5(srd, |_, _| {})).unwrap();
        if k % 3 == 0 {
            add(&mut g, v5(srd, |_, _| {})).unwrap(); // same nonce and content
        }
    }
    let graded = g.grade(&Honest);
    assert_eq!(graded.valid, 40);
    assert_eq!(graded.graded.len(), 30, "duplicates dropped");
    assert!(graded.has_winners);
    assert_eq!(graded.winners.len(), 25);
    assert_eq!(graded.reward(0), 360 * 100_000_000);
    assert_eq!(graded.reward(25), 0);

    // A record whose SRD is a lie is dropped; with fewer than 25 honest records the block has no
    // winners and carries the previous list forward.
    let prev: Vec<String> = (0..25).map(|k| format!("{k:016x}")).collect();
    let mut g = Grader::new(5, 500, &prev).unwrap();
    for k in 0..24u64 {
        add(
            &mut g,
            v5(u64::MAX - k, |c, _| {
                c.winners = (0..25u64).map(|k| k.to_be_bytes().to_vec()).collect()
            }),
        )
        .unwrap();
    }
    add(
        &mut g,
        v5(7, |c, e| {
            c.winners = (0..25u64).map(|k| k.to_be_bytes().to_vec()).collect();
            e[1] = 8u64.to_be_bytes().to_vec(); // claims 8, earns 7
        }),
    )
    .unwrap();
    let graded = g.grade(&Honest);
    assert_eq!(graded.graded.len(), 24);
    assert!(!graded.has_winners);
    assert_eq!(graded.winners, prev);
    assert_eq!(graded.reward(0), 0);
}

#[test]
fn closest_to_consensus_wins() {
    // 25 records agree; one is off by 5 % on one asset. It has the best SRD but must not be first.
    let mut g = grader();
    add(
        &mut g,
        v5(u64::MAX, |c, _| c.assets[5] = c.assets[5] * 105 / 100),
    )
    .unwrap();
    for k in 1..26u64 {
        add(&mut g, v5(u64::MAX - k, |_, _| {})).unwrap();
    }
    let graded = g.grade(&Honest);
    assert!(graded.has_winners);
    assert_ne!(graded.graded[0].srd, u64::MAX);
    assert!(
        graded
            .graded
            .iter()
            .position(|r| r.srd == u64::MAX)
            .unwrap()
            >= 24
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_records_never_panic(
            content in prop::collection::vec(any::<u8>(), 0..300),
            ext in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..10), 0..5),
            version in 1u8..=5,
        ) {
            let mut g = Grader::new(version, 500, &[]).unwrap();
            let _ = g.add(&[1; 32], &ext, &content);
            let _ = V1Content::parse(&content);
            let _ = V2Content::parse(&content);
            let _ = g.grade(&Honest);
        }

        #[test]
        fn random_prices_grade_without_panic(
            prices in prop::collection::vec(prop::collection::vec(1u64..u64::MAX / 2, 62), 1..60),
        ) {
            let mut g = grader();
            for (k, p) in prices.iter().enumerate() {
                let _ = add(&mut g, v5(u64::MAX - k as u64, |c, _| c.assets = p.clone()));
            }
            let graded = g.grade(&Honest);
            prop_assert_eq!(graded.graded.len(), prices.len().min(50));
            prop_assert!(graded.graded.iter().all(|r| !r.grade.is_nan()));
        }
    }
}
