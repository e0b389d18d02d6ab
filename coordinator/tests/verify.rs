//! Submission checks, with a real (small) LXRHash table.

use coordinator::verify::{select_best, verify, Limits, MinerRecord, RecordRefusal};
use hashcore::{Nonce, Table};
use pegnet::{Network, OprTemplate, Pow};
use std::collections::HashSet;

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

fn template() -> OprTemplate {
    OprTemplate {
        network: Network::DevNet,
        height: 1000,
        winners: vec![String::new(); 25],
        prices: (1..=62).map(|k| k * 1_000_000).collect(),
    }
}

#[test]
fn only_honest_current_unique_records_within_limits_pass() {
    let table = Table::generate(12, &mut |_, _| {}).unwrap();
    let miner = MinerRecord::new(&template(), 5, "rig01", FA).unwrap();
    let d = |n: &Nonce| table.difficulty(&miner.opr_hash, n.as_bytes());
    let n: Vec<Nonce> = (1..=6).map(|c| Nonce::new(0, c)).collect();
    let honest: Vec<(Vec<u8>, u64)> = n.iter().map(|x| (x.as_bytes().to_vec(), d(x))).collect();
    let limits = Limits {
        current_job: 5,
        min_difficulty: 0,
        // Every record counts toward the limit, refused or not: the 7th is over 6.
        per_miner: 6,
    };
    let mut seen = HashSet::new();

    let mut records = vec![honest[0].clone(), honest[0].clone()];
    records.push((honest[1].0.clone(), honest[1].1 ^ 1)); // a lie about the difficulty
    records.push(honest[2].clone());
    records.push((vec![0; 17], 5));
    records.push(honest[3].clone());
    records.push(honest[4].clone()); // over the limit of 6
    let (ok, refused) = verify(&table, &miner, 5, &records, limits, &mut seen);
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[0].difficulty, honest[0].1);
    let reasons: Vec<_> = refused.iter().map(|(k, r)| (*k, r.clone())).collect();
    assert_eq!(reasons[0], (1, RecordRefusal::Duplicate));
    assert!(matches!(
        reasons[1],
        (2, RecordRefusal::WrongDifficulty { .. })
    ));
    assert_eq!(reasons[2], (4, RecordRefusal::NonceTooLong(17)));
    assert_eq!(reasons[3], (6, RecordRefusal::OverLimit(6)));

    // Old job, and below the minimum.
    let (ok, refused) = verify(&table, &miner, 4, &honest[5..], limits, &mut HashSet::new());
    assert!(ok.is_empty());
    assert_eq!(refused[0].1, RecordRefusal::StaleJob { got: 4, current: 5 });
    let high = Limits {
        min_difficulty: u64::MAX - 1,
        ..limits
    };
    let (ok, refused) = verify(&table, &miner, 5, &honest[5..], high, &mut HashSet::new());
    assert!(ok.is_empty());
    assert!(matches!(refused[0].1, RecordRefusal::BelowMinimum { .. }));
}

#[test]
fn another_miners_names_give_another_record() {
    // A nonce mined for rig01's record does not verify as rig02's.
    let table = Table::generate(12, &mut |_, _| {}).unwrap();
    let a = MinerRecord::new(&template(), 1, "rig01", FA).unwrap();
    let b = MinerRecord::new(&template(), 1, "rig02", FA).unwrap();
    assert_ne!(a.opr_hash, b.opr_hash);
    let nonce = Nonce::new(0, 77);
    let claimed = table.difficulty(&a.opr_hash, nonce.as_bytes());
    assert_ne!(claimed, table.difficulty(&b.opr_hash, nonce.as_bytes()));
    let limits = Limits {
        current_job: 1,
        min_difficulty: 0,
        per_miner: 5,
    };
    let records = [(nonce.as_bytes().to_vec(), claimed)];
    let (ok, refused) = verify(&table, &b, 1, &records, limits, &mut HashSet::new());
    assert!(ok.is_empty());
    assert!(matches!(
        refused[0].1,
        RecordRefusal::WrongDifficulty { .. }
    ));
    let (ok, _) = verify(&table, &a, 1, &records, limits, &mut HashSet::new());
    assert_eq!(ok.len(), 1);
}

#[test]
fn bad_identity_or_coinbase_never_becomes_a_record() {
    assert!(MinerRecord::new(&template(), 1, "bad-name", FA).is_err());
    assert!(MinerRecord::new(&template(), 1, "ok", "FAbad").is_err());
}

#[test]
fn the_best_records_overall_are_selected_and_entries_are_well_formed() {
    let m1 = MinerRecord::new(&template(), 1, "a", FA).unwrap();
    let m2 = MinerRecord::new(&template(), 1, "b", FA).unwrap();
    let acc = |n: u8, d: u64| coordinator::verify::Accepted {
        nonce: vec![n],
        difficulty: d,
    };
    let (x, y, z) = (acc(1, 50), acc(2, 90), acc(3, 70));
    let best = select_best([(&m1, &x), (&m2, &y), (&m1, &z)], 2, None);
    assert_eq!(
        best.iter().map(|(_, a)| a.difficulty).collect::<Vec<_>>(),
        vec![90, 70]
    );
    let e = m2.entry(&[2], 90);
    assert_eq!(e.chain_id, Network::DevNet.opr_chain());
    assert_eq!(
        e.ext_ids,
        vec![vec![2], 90u64.to_be_bytes().to_vec(), vec![5]]
    );
    assert_eq!(e.content, m2.content);
}
