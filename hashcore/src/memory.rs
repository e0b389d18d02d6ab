//! The table's memory: one anonymous mapping, aligned to 2 MiB and advised onto transparent huge
//! pages, so that the ~1,800 random reads of every hash miss the TLB as rarely as possible.

use crate::error::{Error, Result};
use std::ptr::NonNull;

const HUGE_PAGE: usize = 2 << 20;

/// How much of a region the kernel backs with huge pages (read from `/proc/self/smaps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HugePageShare {
    /// Bytes of the region backed by huge pages.
    pub huge_bytes: u64,
    /// Size of the whole region in bytes.
    pub total_bytes: u64,
}

impl HugePageShare {
    /// The share as a percentage, 0..=100.
    pub fn percent(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            100.0 * self.huge_bytes as f64 / self.total_bytes as f64
        }
    }
}

/// An owned, page-aligned anonymous memory region, writable until [`HugeRegion::freeze`].
pub struct HugeRegion {
    ptr: NonNull<u8>,
    len: usize,
    /// Length of the actual mapping (len rounded up to whole pages).
    map_len: usize,
}

// SAFETY: the region is plain memory owned by this value; sharing follows Rust's borrow rules.
unsafe impl Send for HugeRegion {}
// SAFETY: as above; `&HugeRegion` only gives read access.
unsafe impl Sync for HugeRegion {}

impl HugeRegion {
    /// Maps `len` zeroed bytes. Regions of 2 MiB or more start on a 2 MiB boundary and are advised
    /// onto transparent huge pages before they are touched.
    pub fn new(len: usize) -> Result<Self> {
        let page = page_size();
        let map_len = len.max(1).div_ceil(page) * page;
        let align = if map_len >= HUGE_PAGE {
            HUGE_PAGE
        } else {
            page
        };
        let reserve = map_len + align;
        // SAFETY: anonymous private mapping with no address hint; the result is checked below.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserve,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(Error::Alloc {
                bytes: len,
                source: std::io::Error::last_os_error(),
            });
        }
        let start = raw as usize;
        let aligned = start.div_ceil(align) * align;
        // Give back the slack on both sides so the mapping is exactly [aligned, aligned+map_len):
        // then smaps reports it as one VMA and every 2 MiB of it can be a huge page.
        // SAFETY: both ranges lie inside the mapping made above and are page aligned.
        unsafe {
            if aligned > start {
                libc::munmap(raw, aligned - start);
            }
            let end = aligned + map_len;
            let reserve_end = start + reserve;
            if reserve_end > end {
                libc::munmap(end as *mut libc::c_void, reserve_end - end);
            }
        }
        #[cfg(target_os = "linux")]
        if map_len >= HUGE_PAGE {
            // Advisory only: a kernel with THP off simply ignores it.
            // SAFETY: the range is the mapping we own.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, map_len, libc::MADV_HUGEPAGE);
            }
        }
        Ok(Self {
            // SAFETY: mmap never returns null on success.
            ptr: unsafe { NonNull::new_unchecked(aligned as *mut u8) },
            len,
            map_len,
        })
    }

    /// Length of the usable region in bytes (the mapping behind it may be larger, for alignment).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the region holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pointer to the first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// The region's `len` bytes, read-only.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr is valid for len bytes for the life of self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, writable. Only valid before [`HugeRegion::freeze`] (enforced by taking `self`).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr is valid for len bytes and we hold the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Makes the region read-only, so that no bug anywhere can silently corrupt the table
    /// that every miner thread shares.
    pub fn freeze(self) -> FrozenRegion {
        // SAFETY: the range is the mapping we own. A failure leaves it writable, which is harmless.
        unsafe {
            libc::mprotect(
                self.ptr.as_ptr() as *mut libc::c_void,
                self.map_len,
                libc::PROT_READ,
            );
        }
        FrozenRegion(self)
    }

    /// Share of this region backed by huge pages, if the OS reports it.
    pub fn huge_page_share(&self) -> Option<HugePageShare> {
        huge_page_share_of(self.ptr.as_ptr() as usize, self.len as u64)
    }
}

impl Drop for HugeRegion {
    fn drop(&mut self) {
        // SAFETY: we own exactly this mapping.
        unsafe {
            libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.map_len);
        }
    }
}

/// A region that can no longer be written: what a finished table lives in, shared read-only by
/// every hashing thread.
pub struct FrozenRegion(HugeRegion);

impl FrozenRegion {
    /// The region's bytes (the table), read-only.
    pub fn as_slice(&self) -> &[u8] {
        self.0.as_slice()
    }
    /// Pointer to the first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }
    /// How much of the region the kernel backs with huge pages; `None` where `/proc/self/smaps`
    /// cannot be read (e.g. not Linux).
    pub fn huge_page_share(&self) -> Option<HugePageShare> {
        self.0.huge_page_share()
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// Parses `/proc/self/smaps` for the mapping that starts at `start`.
fn huge_page_share_of(start: usize, total: u64) -> Option<HugePageShare> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    parse_smaps(&smaps, start, total)
}

fn parse_smaps(smaps: &str, start: usize, total: u64) -> Option<HugePageShare> {
    let mut in_region = false;
    let mut found = false;
    let mut huge_kib = 0u64;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = first.split_once('-') {
            if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                // A mapping header line. The region may have been split (mprotect), so take
                // every VMA inside [start, start+total).
                in_region = lo >= start && hi <= start + total as usize && lo < hi;
                found |= in_region;
                continue;
            }
        }
        if !in_region {
            continue;
        }
        let mut parts = line.split_whitespace();
        let key = parts.next().unwrap_or("");
        if key == "AnonHugePages:" || key == "Private_Hugetlb:" || key == "Shared_Hugetlb:" {
            huge_kib += parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    found.then_some(HugePageShare {
        huge_bytes: (huge_kib * 1024).min(total),
        total_bytes: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_aligned_zeroed_and_writable() {
        let mut r = HugeRegion::new(4 << 20).unwrap();
        assert_eq!(r.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(r.as_slice().iter().all(|&b| b == 0));
        r.as_mut_slice()[12345] = 7;
        let f = r.freeze();
        assert_eq!(f.as_slice()[12345], 7);
        let share = f.huge_page_share().expect("smaps lists the region");
        assert_eq!(share.total_bytes, 4 << 20);
        assert!(share.percent() <= 100.0);
    }

    #[test]
    fn smaps_parsing_sums_huge_pages_of_the_region_only() {
        let smaps = "\
7f0000000000-7f0000400000 rw-p 00000000 00:00 0
Size:               4096 kB
AnonHugePages:      2048 kB
7f0000400000-7f0000600000 r--p 00000000 00:00 0
AnonHugePages:      2048 kB
7f0000600000-7f0000800000 rw-p 00000000 00:00 0
AnonHugePages:      2048 kB
";
        let share = parse_smaps(smaps, 0x7f00_0000_0000, 6 << 20).unwrap();
        assert_eq!(share.huge_bytes, 4 << 20);
        assert!((share.percent() - 66.666).abs() < 0.01);
        assert!(parse_smaps(smaps, 0x1000, 4096).is_none());
    }
}
