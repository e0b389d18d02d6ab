//! The two MainNet blocks graded exactly as the Go module grader (`grading-dump.txt`): count,
//! every graded position (short hash, SRD, grade as exact f64 bits, payout) and the winners; plus
//! the V5-algorithm runs. Needs the 30-bit table: ignored unless run with `--include-ignored`.

mod common;

use common::{block, full_table};
use pegnet::{Grader, Network};

struct Dumped {
    count: usize,
    positions: Vec<(String, String, String, u64)>,
    winners: Vec<String>,
}

fn dump(label: &str) -> Dumped {
    let path = format!(
        "{}/../testdata/pegnet/grading-dump.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with(&format!("block {label} ")));
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let count = head[3].parse().unwrap();
    let mut positions = Vec::new();
    for l in lines.by_ref() {
        if let Some(w) = l.strip_prefix("winners [") {
            let winners = w
                .trim_end_matches(']')
                .split_whitespace()
                .map(String::from)
                .collect();
            return Dumped {
                count,
                positions,
                winners,
            };
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        positions.push((f[1].into(), f[2].into(), f[3].into(), f[4].parse().unwrap()));
    }
    panic!("no winners line for {label}");
}

fn check(height: u32, label: &str, algorithm: Option<u8>) {
    let table = full_table();
    let b = block(height);
    let version = Network::MainNet.version(height);
    let mut g = Grader::new(version, height, &b.previous_winners).unwrap();
    if let Some(a) = algorithm {
        g = g.with_algorithm(a).unwrap();
    }
    for e in &b.entries {
        let _ = g.add(&e.hash, &e.ext_ids, &e.content);
    }
    let graded = g.grade(table.as_ref());
    let want = dump(label);
    assert_eq!(graded.valid, want.count, "{label}: valid records");
    assert_eq!(graded.graded.len(), want.positions.len(), "{label}: graded");
    for (pos, (r, w)) in graded.graded.iter().zip(&want.positions).enumerate() {
        let got = (
            r.short_hash(),
            format!("{:016x}", r.srd),
            format!("{:016x}", r.grade.to_bits()),
            graded.reward(pos),
        );
        assert_eq!(&got, w, "{label}: position {pos}");
    }
    assert_eq!(graded.winners, want.winners, "{label}: winners");
    if algorithm.is_none() {
        assert_eq!(
            graded.winners, b.winners,
            "{label}: the block's recorded winners"
        );
    }
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
fn block_206422_v1() {
    check(206_422, "206422-v1", None);
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
fn block_210330_v2() {
    check(210_330, "210330-v2", None);
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min): cargo test -- --include-ignored"]
fn block_210330_v5_algorithm() {
    check(210_330, "210330-v5algo", Some(5));
}
