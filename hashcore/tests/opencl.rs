//! The OpenCL backend on whatever OpenCL device is present (PoCL in CI): hashes bit-identical to the
//! CPU, top-N equal to the CPU's over the same nonce range, capacity checks. The tests that need a device
//! are ignored by default (`--include-ignored` runs them, and they fail without a device); CI
//! installs PoCL and runs them.

mod common;

use common::small_table;
use hashcore::opencl::{self, check_capacity, DeviceInfo, OpenClBackend, OpenClOptions};
use hashcore::{cpu, difficulty, Job, MiningBackend, Nonce};
use std::time::{Duration, Instant};

/// Every OpenCL device present. The tests calling it are ignored by default; run with
/// `--include-ignored`, they fail (never pass silently) when no OpenCL platform exists.
fn devices() -> Vec<DeviceInfo> {
    match opencl::list_devices() {
        Ok(d) if !d.is_empty() => d,
        other => panic!(
            "no OpenCL device ({other:?}): install an OpenCL driver (e.g. pocl-opencl-icd) to run this test"
        ),
    }
}

#[test]
#[ignore = "needs an OpenCL device (CI installs PoCL: apt install pocl-opencl-icd): cargo test -- --include-ignored"]
fn kernel_hashes_equal_the_cpu_at_10_and_20_bits() {
    let devs = devices();
    for bits in [10, 20] {
        let table = small_table(bits);
        let gpu =
            OpenClBackend::start(table.clone(), &devs[..1], 0, OpenClOptions::default()).unwrap();
        // Counters 1..2000 cross the one-to-two-byte boundary at 256.
        let nonces: Vec<Nonce> = (1..=2000).map(|c| Nonce::new(3, c)).collect();
        for prefix in [vec![0u8; 32], vec![0xab; 32], b"a shorter prefix".to_vec()] {
            let want = cpu::hash_nonces(&table, &prefix, &nonces);
            let got = gpu.hash_nonces_on(0, &prefix, &nonces).unwrap();
            assert!(got == want, "{bits} bits, prefix {}", hex::encode(&prefix));
        }
    }
}

#[test]
#[ignore = "needs the 30-bit LXRHash table (1 GiB; generated into ~/.lxrhash on first use, ~10 min) and an OpenCL device: cargo test -- --include-ignored"]
fn kernel_hashes_equal_the_cpu_at_30_bits() {
    let table = common::full_table();
    let devs = devices();
    let gpu = OpenClBackend::start(table.clone(), &devs[..1], 0, OpenClOptions::default()).unwrap();
    let nonces: Vec<Nonce> = (1..=300).map(|c| Nonce::new(1, c)).collect();
    let prefix = hashcore::bench::bench_prefix();
    assert!(
        gpu.hash_nonces_on(0, &prefix, &nonces).unwrap()
            == cpu::hash_nonces(&table, &prefix, &nonces)
    );
}

#[test]
#[ignore = "needs an OpenCL device (CI installs PoCL: apt install pocl-opencl-icd): cargo test -- --include-ignored"]
fn top_n_equals_the_cpus_over_the_same_range() {
    let devs = devices();
    let table = small_table(12);
    // 4096 items per launch with 1024 result slots: the first launch overflows and is re-run with a
    // higher threshold, which must not lose any of the best.
    let gpu = OpenClBackend::start(
        table.clone(),
        &devs[..1],
        7,
        OpenClOptions {
            workload: Some(4096),
            ..OpenClOptions::default()
        },
    )
    .unwrap();
    gpu.set_job(Some(Job {
        id: 9,
        prefix: vec![0x5a; 32],
        min_difficulty: 0,
        keep: 6,
    }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while gpu.hash_counts()[0] < 12_000 {
        assert!(Instant::now() < deadline, "OpenCL device too slow");
        std::thread::sleep(Duration::from_millis(20));
    }
    gpu.set_job(None);
    std::thread::sleep(Duration::from_millis(300));
    let count = gpu.hash_counts()[0];
    let got = gpu.best(9);
    let nonces: Vec<Nonce> = (1..=count).map(|c| Nonce::new(7, c)).collect();
    let mut all: Vec<(u64, Nonce)> = cpu::hash_nonces(&table, &[0x5a; 32], &nonces)
        .iter()
        .zip(&nonces)
        .map(|(h, n)| (difficulty(h), *n))
        .collect();
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let got: Vec<(u64, Nonce)> = got.iter().map(|f| (f.difficulty, f.nonce)).collect();
    assert_eq!(got, all[..6].to_vec(), "over {count} hashes");
}

#[test]
fn a_device_too_small_for_the_table_is_refused_clearly() {
    let d = DeviceInfo {
        platform: 0,
        platform_name: "test".into(),
        index: 2,
        name: "tiny".into(),
        vendor: "v".into(),
        driver: "1".into(),
        global_mem: 2 << 30,
        max_alloc: 512 << 20,
        compute_units: 1,
        id: 0,
        pci_bus_id: None,
    };
    let e = check_capacity(&d, 1 << 30).unwrap_err().to_string();
    assert!(
        e.contains("cannot hold the 1024 MiB") && e.contains("512 MiB"),
        "{e}"
    );
    let small_global = DeviceInfo {
        global_mem: 1 << 30,
        max_alloc: 1 << 30,
        ..d
    };
    let e = check_capacity(&small_global, 1 << 30)
        .unwrap_err()
        .to_string();
    assert!(e.contains("global memory"), "{e}");
    assert!(check_capacity(
        &DeviceInfo {
            global_mem: 8 << 30,
            max_alloc: 2 << 30,
            ..small_global
        },
        1 << 30
    )
    .is_ok());
}

#[test]
fn device_selection() {
    let d = |platform: usize, name: &str, index: usize| DeviceInfo {
        platform,
        platform_name: name.into(),
        index,
        name: format!("dev{index}"),
        vendor: String::new(),
        driver: String::new(),
        global_mem: 0,
        max_alloc: 0,
        compute_units: 1,
        id: 0,
        pci_bus_id: None,
    };
    let all = vec![
        d(0, "Portable Computing Language", 0),
        d(1, "NVIDIA CUDA", 0),
        d(1, "NVIDIA CUDA", 1),
    ];
    assert_eq!(opencl::select_devices(&all, None, None).unwrap().len(), 3);
    assert_eq!(
        opencl::select_devices(&all, Some("nvidia"), None)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        opencl::select_devices(&all, Some("1"), Some(&[1])).unwrap()[0].index,
        1
    );
    assert!(opencl::select_devices(&all, Some("amd"), None).is_err());
    assert!(opencl::select_devices(&all, Some("0"), Some(&[4])).is_err());
}
