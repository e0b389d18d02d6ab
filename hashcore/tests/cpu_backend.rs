//! The CPU backend: results recompute exactly, jobs replace each other, pause stops hashing.

mod common;

use common::small_table;
use hashcore::{difficulty, CpuBackend, Job, MiningBackend, Nonce};
use std::time::{Duration, Instant};

fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in 20 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn job(id: u64, prefix_byte: u8, keep: usize, min_difficulty: u64) -> Job {
    Job {
        id,
        prefix: vec![prefix_byte; 32],
        min_difficulty,
        keep,
    }
}

#[test]
fn results_recompute_and_jobs_replace_each_other() {
    let table = small_table(12);
    let backend = CpuBackend::start(table.clone(), 3, 5).unwrap();
    assert_eq!(backend.worker_labels(), vec!["cpu0", "cpu1", "cpu2"]);
    assert_eq!(backend.hash_counts(), vec![0, 0, 0], "idle before a job");

    backend.set_job(Some(job(1, 0xaa, 4, 0)));
    wait_for(|| backend.hash_counts().iter().all(|&c| c > 2000));
    let best = backend.best(1);
    assert_eq!(best.len(), 4);
    for w in best.windows(2) {
        assert!(w[0].difficulty >= w[1].difficulty, "best first");
    }
    for f in &best {
        let mut input = vec![0xaa; 32];
        input.extend_from_slice(f.nonce.as_bytes());
        assert_eq!(difficulty(&table.hash(&input)), f.difficulty);
        assert!(
            (5..8).contains(&f.nonce.as_bytes()[0]),
            "nonce id of a worker"
        );
    }

    // A new job: results come only from its prefix; the old job's are gone once workers switch.
    backend.set_job(Some(job(2, 0xbb, 2, u64::MAX / 2)));
    wait_for(|| backend.best(2).len() == 2);
    wait_for(|| backend.best(1).is_empty());
    for f in backend.best(2) {
        assert!(f.difficulty > u64::MAX / 2);
        let mut input = vec![0xbb; 32];
        input.extend_from_slice(f.nonce.as_bytes());
        assert_eq!(difficulty(&table.hash(&input)), f.difficulty);
    }

    // Pause: counters stop, results stay readable.
    backend.set_job(None);
    wait_for(|| backend.parked_threads() == 3);
    let a = backend.hash_counts();
    let again = backend.hash_nonces(&[0; 32], &[Nonce::new(9, 1)]); // some time passes
    assert_eq!(again.len(), 1);
    assert_eq!(a, backend.hash_counts(), "parked threads do not hash");
    assert_eq!(backend.best(2).len(), 2);
}

#[test]
fn top_n_equals_brute_force_over_the_hashed_range() {
    // One thread, paused after a while: its best must be the best of nonces 1..=count.
    let table = small_table(10);
    let backend = CpuBackend::start(table.clone(), 1, 0).unwrap();
    backend.set_job(Some(job(7, 0x11, 5, 0)));
    wait_for(|| backend.hash_counts()[0] > 3000);
    backend.set_job(None);
    wait_for(|| backend.parked_threads() == 1);
    let count = backend.hash_counts()[0];
    let nonces: Vec<Nonce> = (1..=count).map(|c| Nonce::new(0, c)).collect();
    let hashes = backend.hash_nonces(&[0x11; 32], &nonces);
    let mut all: Vec<(u64, Nonce)> = hashes
        .iter()
        .zip(&nonces)
        .map(|(h, n)| (difficulty(h), *n))
        .collect();
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let got: Vec<(u64, Nonce)> = backend
        .best(7)
        .iter()
        .map(|f| (f.difficulty, f.nonce))
        .collect();
    assert_eq!(got, all[..5].to_vec());
}

#[test]
fn too_many_threads_is_a_clear_error() {
    let err = CpuBackend::start(small_table(8), 10, 250)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("256"), "{err}");
    assert!(CpuBackend::start(small_table(8), 0, 0).is_err());
}
