//! Single vs batched LXRHash at several table sizes, and the batched hasher's lane count.
//!
//! `cargo bench -p netmine-benches` (set NETMINE_BENCH_BITS=20,25 to skip the 1 GiB table).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hashcore::batch::DEFAULT_LANES;
use hashcore::bench::bench_prefix;
use hashcore::{BatchHasher, Nonce, Table};
use netmine_benches::{bench_bits, table};
use std::hint::black_box;
use std::sync::Arc;

/// Hashes per measured iteration.
const N: usize = 256;

/// 256 consecutive 4-byte nonces (a miner a few million hashes into a block): 36-byte inputs.
fn nonces() -> (Vec<u8>, usize) {
    let mut buf = Vec::new();
    for c in 0..N as u64 {
        buf.extend_from_slice(Nonce::new(0, 0x10_0000 + c).as_bytes());
    }
    (buf, 4)
}

fn batched<const L: usize>(t: &Arc<Table>, sfx: &[u8], len: usize) -> impl FnMut() {
    let mut h: BatchHasher<L> = BatchHasher::new(t.clone(), &bench_prefix());
    let mut out = vec![[0u8; 32]; N];
    let sfx = sfx.to_vec();
    move || {
        h.hash_batch(black_box(&sfx), len, &mut out);
        black_box(&out);
    }
}

fn single_vs_batched(c: &mut Criterion) {
    let (sfx, len) = nonces();
    let prefix = bench_prefix();
    let mut g = c.benchmark_group("lxrhash");
    g.throughput(Throughput::Elements(N as u64)).sample_size(10);
    for bits in bench_bits() {
        let t = table(bits);
        g.bench_function(BenchmarkId::new("single", bits), |b| {
            let mut input = prefix.to_vec();
            b.iter(|| {
                for k in 0..N {
                    input.truncate(32);
                    input.extend_from_slice(&sfx[k * len..(k + 1) * len]);
                    black_box(t.hash(black_box(&input)));
                }
            })
        });
        let mut f = batched::<DEFAULT_LANES>(&t, &sfx, len);
        g.bench_function(BenchmarkId::new("batched", bits), |b| b.iter(&mut f));
    }
    g.finish();
}

fn lanes(c: &mut Criterion) {
    let (sfx, len) = nonces();
    let Some(&bits) = bench_bits().iter().max() else {
        return;
    };
    let t = table(bits);
    let mut g = c.benchmark_group(format!("lanes-{bits}bit"));
    g.throughput(Throughput::Elements(N as u64)).sample_size(10);
    let mut f8 = batched::<8>(&t, &sfx, len);
    g.bench_function("8", |b| b.iter(&mut f8));
    let mut f16 = batched::<16>(&t, &sfx, len);
    g.bench_function("16", |b| b.iter(&mut f16));
    let mut f24 = batched::<24>(&t, &sfx, len);
    g.bench_function("24", |b| b.iter(&mut f24));
    let mut f32 = batched::<32>(&t, &sfx, len);
    g.bench_function("32", |b| b.iter(&mut f32));
    g.finish();
}

criterion_group!(benches, single_vs_batched, lanes);
criterion_main!(benches);
