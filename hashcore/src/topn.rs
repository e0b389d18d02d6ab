//! Keeping the N best (nonce, difficulty) pairs of a job (spec §2.4).
//!
//! PegNet's `NonceRanking` lets insertion order decide ties; here the order is total — higher
//! difficulty first, then the smaller nonce — so the same set of hashes gives the same top-N on
//! every backend and thread count, and a nonce offered twice is kept once.

use crate::nonce::Nonce;

/// A mined result: a nonce and the difficulty of `prefix ‖ nonce`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Found {
    /// The nonce that was hashed after the job's prefix (ExtID 0 of the record's entry).
    pub nonce: Nonce,
    /// Difficulty of LXRHash(prefix ‖ nonce): the hash's first 8 bytes, big-endian; higher is
    /// better.
    pub difficulty: u64,
}

impl Found {
    /// True if `self` ranks strictly above `other`.
    #[inline]
    pub fn beats(&self, other: &Found) -> bool {
        self.difficulty > other.difficulty
            || (self.difficulty == other.difficulty && self.nonce < other.nonce)
    }
}

/// The N best results seen so far. Holds at most `keep` items and never reallocates after
/// [`TopN::new`].
#[derive(Debug)]
pub struct TopN {
    keep: usize,
    items: Vec<Found>,
    /// Index of the worst item, valid when `items` is non-empty.
    worst: usize,
}

impl Clone for TopN {
    fn clone(&self) -> Self {
        let mut items = Vec::with_capacity(self.keep);
        items.extend_from_slice(&self.items);
        TopN {
            keep: self.keep,
            items,
            worst: self.worst,
        }
    }

    /// Reuses the existing capacity: workers publish improvements this way without allocating.
    fn clone_from(&mut self, source: &Self) {
        self.keep = source.keep;
        self.items.clear();
        self.items.extend_from_slice(&source.items);
        self.worst = source.worst;
    }
}

impl TopN {
    /// An empty ranking keeping up to `keep` results.
    pub fn new(keep: usize) -> Self {
        TopN {
            keep,
            items: Vec::with_capacity(keep),
            worst: 0,
        }
    }

    /// How many results this ranking keeps.
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// How many results are held now, at most [`TopN::keep`].
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Forgets every result (keeps the capacity).
    pub fn clear(&mut self) {
        self.items.clear();
        self.worst = 0;
    }

    /// Cheap pre-check for hot loops: false only if a result of difficulty `d` cannot get in.
    #[inline]
    pub fn might_accept(&self, d: u64) -> bool {
        self.items.len() < self.keep || d >= self.items[self.worst].difficulty
    }

    /// Offers a result; returns true if it was kept. Duplicates (same nonce) are ignored.
    pub fn offer(&mut self, f: Found) -> bool {
        if self.keep == 0 || self.items.iter().any(|x| x.nonce == f.nonce) {
            return false;
        }
        if self.items.len() < self.keep {
            self.items.push(f);
        } else if f.beats(&self.items[self.worst]) {
            self.items[self.worst] = f;
        } else {
            return false;
        }
        self.worst =
            self.items
                .iter()
                .enumerate()
                .fold(0, |w, (k, x)| if self.items[w].beats(x) { k } else { w });
        true
    }

    /// The results, best first.
    pub fn sorted(&self) -> Vec<Found> {
        let mut v = self.items.clone();
        v.sort_by(|a, b| {
            b.difficulty
                .cmp(&a.difficulty)
                .then_with(|| a.nonce.cmp(&b.nonce))
        });
        v
    }

    /// The best `keep` of several lists.
    pub fn merge<'a>(keep: usize, lists: impl IntoIterator<Item = &'a [Found]>) -> TopN {
        let mut t = TopN::new(keep);
        for list in lists {
            for f in list {
                t.offer(*f);
            }
        }
        t
    }

    /// The held results in no particular order.
    pub fn as_slice(&self) -> &[Found] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(counter: u64, d: u64) -> Found {
        Found {
            nonce: Nonce::new(0, counter),
            difficulty: d,
        }
    }

    #[test]
    fn keeps_the_best_and_ignores_duplicates() {
        let mut t = TopN::new(3);
        for (c, d) in [(1, 10), (2, 50), (3, 20), (4, 40), (5, 5), (2, 50), (6, 30)] {
            t.offer(f(c, d));
        }
        let got: Vec<u64> = t.sorted().iter().map(|x| x.difficulty).collect();
        assert_eq!(got, vec![50, 40, 30]);
        assert!(!t.offer(f(2, 50)), "duplicate nonce must be ignored");
        assert!(!t.might_accept(29));
        assert!(t.might_accept(30));
    }

    #[test]
    fn ties_are_broken_by_nonce_whatever_the_order() {
        let mut a = TopN::new(1);
        a.offer(f(7, 9));
        a.offer(f(3, 9));
        let mut b = TopN::new(1);
        b.offer(f(3, 9));
        b.offer(f(7, 9));
        assert_eq!(a.sorted(), b.sorted());
        assert_eq!(a.sorted()[0].nonce, Nonce::new(0, 3));
    }

    #[test]
    fn keep_zero_keeps_nothing() {
        let mut t = TopN::new(0);
        assert!(!t.offer(f(1, 1)));
        assert!(t.is_empty());
    }
}
