// LXRHash (pegnet/LXRHash, spec pegnet-opr.md §1.5) for OpenCL: one work item hashes
// prefix ‖ nonce for its own nonce. Bit-identical to hashcore's CPU code, which tests check.
//
// The host computes pass 1 over the shared prefix once per job and passes the state in `pre`
// (a, s1, s2, s3, hs[0..32]); each item continues pass 1 over its nonce, then runs passes 2 and 3.

#define HASH_SIZE 32
#define B(x) ((ulong)table[(x) & mask])

// STEP(x, i) of the spec: 25 table reads, then the rotation.
#define STEP(X, I)                                                                              \
    {                                                                                           \
        ulong x_ = (X);                                                                         \
        int i_ = (I);                                                                           \
        s1 = (s1 << 9) ^ (s1 >> 1) ^ a ^ (B((a >> 5) ^ x_) << 3);                               \
        s1 = (s1 << 5) ^ (s1 >> 3) ^ (B(s1 ^ x_) << 7);                                         \
        s1 = (s1 << 7) ^ (s1 >> 7) ^ (B(a ^ (s1 >> 7)) << 5);                                   \
        s1 = (s1 << 11) ^ (s1 >> 5) ^ (B(x_ ^ (a >> 11) ^ s1) << 27);                           \
        hs[i_] = s1 ^ a ^ (hs[i_] << 7) ^ (hs[i_] >> 13);                                       \
        a = (a << 17) ^ (a >> 5) ^ s1 ^ (B(a ^ (s1 >> 27) ^ x_) << 3);                          \
        a = (a << 13) ^ (a >> 3) ^ (B(a ^ s1) << 7);                                            \
        a = (a << 15) ^ (a >> 7) ^ (B((a >> 7) ^ s1) << 11);                                    \
        a = (a << 9) ^ (a >> 11) ^ (B(x_ ^ a ^ s1) << 3);                                       \
        s1 = (s1 << 7) ^ (s1 >> 27) ^ a ^ (B(a >> 3) << 13);                                    \
        s1 = (s1 << 3) ^ (s1 >> 13) ^ (B(s1 ^ x_) << 11);                                       \
        s1 = (s1 << 8) ^ (s1 >> 11) ^ (B(a ^ (s1 >> 11)) << 9);                                 \
        s1 = (s1 << 6) ^ (s1 >> 9) ^ (B(x_ ^ a ^ s1) << 3);                                     \
        a = (a << 23) ^ (a >> 3) ^ s1 ^ (B(a ^ x_ ^ (s1 >> 3)) << 7);                           \
        a = (a << 17) ^ (a >> 7) ^ (B(a ^ (s1 >> 3)) << 5);                                     \
        a = (a << 13) ^ (a >> 5) ^ (B((a >> 5) ^ s1) << 1);                                     \
        a = (a << 11) ^ (a >> 1) ^ (B(x_ ^ a ^ s1) << 7);                                       \
        s1 = (s1 << 5) ^ (s1 >> 3) ^ a ^ (B((a >> 7) ^ (s1 >> 3)) << 6);                        \
        s1 = (s1 << 8) ^ (s1 >> 6) ^ (B(s1 ^ x_) << 11);                                        \
        s1 = (s1 << 11) ^ (s1 >> 11) ^ (B(a ^ (s1 >> 11)) << 5);                                \
        s1 = (s1 << 7) ^ (s1 >> 5) ^ (B(x_ ^ (a >> 7) ^ a ^ s1) << 17);                         \
        s2 = (s2 << 3) ^ (s2 >> 17) ^ s1 ^ (B(a ^ (s2 >> 5) ^ x_) << 13);                       \
        s2 = (s2 << 6) ^ (s2 >> 13) ^ (B(s2) << 11);                                            \
        s2 = (s2 << 11) ^ (s2 >> 11) ^ (B(a ^ s1 ^ (s2 >> 11)) << 23);                          \
        s2 = (s2 << 4) ^ (s2 >> 23) ^ (B(x_ ^ (a >> 8) ^ a ^ (s2 >> 10)) << 1);                 \
        s1 = (s2 << 3) ^ (s2 >> 1) ^ hs[i_] ^ x_;                                               \
        a = (a << 9) ^ (a >> 7) ^ (s1 >> 1) ^ (B((s2 >> 1) ^ hs[i_]) << 5);                     \
        ulong t_ = s3;                                                                          \
        s3 = s2;                                                                                \
        s2 = s1;                                                                                \
        s1 = t_;                                                                                \
    }

// Hashes prefix ‖ nonce; writes the first `out_len` bytes of the hash (8 is enough to mine).
static void lxrhash(__global const uchar *table, ulong mask, __global const ulong *pre,
                    __global const uchar *prefix, uint plen, const uchar *nonce, uint nlen,
                    uchar *out, uint out_len) {
    ulong a = pre[0], s1 = pre[1], s2 = pre[2], s3 = pre[3];
    ulong hs[HASH_SIZE];
    for (int k = 0; k < HASH_SIZE; k++) hs[k] = pre[4 + k];
    uint len = plen + nlen;

    // Pass 1 over the nonce (the prefix part came from the host).
    for (uint p = plen; p < len; p++) {
        ulong c = nonce[p - plen];
        int i = p % HASH_SIZE;
        ulong b = B(a ^ c);
        a = (a << 7) ^ (a >> 5) ^ (c << 20) ^ (c << 16) ^ c ^ (b << 20) ^ (b << 12) ^ (b << 4);
        s1 = (s1 << 9) ^ (s1 >> 3) ^ hs[i];
        hs[i] = s1 ^ a;
        ulong t = s3;
        s3 = s2;
        s2 = s1;
        s1 = t;
    }
    // Pass 2.
    for (uint p = 0; p < len; p++) {
        ulong c = p < plen ? (ulong)prefix[p] : (ulong)nonce[p - plen];
        STEP(c, p % HASH_SIZE);
    }
    // Pass 3.
    for (int i = HASH_SIZE - 1; i >= 0; i--) {
        STEP(hs[i], i);
        if ((uint)i < out_len) out[i] = (uchar)(B(a) ^ B(hs[i]));
    }
}

// Mines counters base .. base + global size: nonce = [id] ‖ counter as `clen` big-endian bytes.
// Results whose difficulty beats `threshold` are appended as (counter, difficulty) pairs.
__kernel void mine(__global const uchar *table, ulong mask, __global const ulong *pre,
                   __global const uchar *prefix, uint plen, uchar id, ulong base, uint clen,
                   ulong threshold, __global ulong *results, __global uint *count,
                   uint max_results) {
    ulong counter = base + get_global_id(0);
    uchar nonce[16];
    nonce[0] = id;
    for (uint k = 0; k < clen; k++) nonce[1 + k] = (uchar)(counter >> (8 * (clen - 1 - k)));
    uchar out[8];
    lxrhash(table, mask, pre, prefix, plen, nonce, 1 + clen, out, 8);
    ulong d = 0;
    for (int k = 0; k < 8; k++) d = (d << 8) | out[k];
    if (d > threshold) {
        uint slot = atomic_inc(count);
        if (slot < max_results) {
            results[2 * slot] = counter;
            results[2 * slot + 1] = d;
        }
    }
}

// Full hashes of prefix ‖ nonce for equal-length nonces (verification and the bench checksum).
__kernel void hash_nonces(__global const uchar *table, ulong mask, __global const ulong *pre,
                          __global const uchar *prefix, uint plen, __global const uchar *nonces,
                          uint nlen, __global uchar *hashes) {
    size_t g = get_global_id(0);
    uchar nonce[16];
    for (uint k = 0; k < nlen; k++) nonce[k] = nonces[g * nlen + k];
    uchar out[HASH_SIZE];
    lxrhash(table, mask, pre, prefix, plen, nonce, nlen, out, HASH_SIZE);
    for (int k = 0; k < HASH_SIZE; k++) hashes[g * HASH_SIZE + k] = out[k];
}

// The device's random-read ceiling: every item follows its own chain of `steps` dependent random
// 1-byte reads over the table (independent across items), as LXRHash's reads are.
__kernel void random_reads(__global const uchar *table, ulong mask, uint steps,
                           __global ulong *sink) {
    ulong a = (get_global_id(0) + 1) * 0x9E3779B97F4A7C15UL;
    ulong acc = 0;
    for (uint k = 0; k < steps; k++) {
        ulong b = B(a);
        a = (a ^ b) * 0xBF58476D1CE4E5B9UL;
        a ^= a >> 31;
        acc += b;
    }
    if (acc == 0x5555555555555555UL) sink[0] = a; // keeps the loop alive, almost never writes
}
