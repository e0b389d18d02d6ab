//! Choosing one price per asset from the prices its sources gave, exactly as PegNet's
//! `PullBestPrice` does (spec `factom-node.md` §9): for OPR version 5 the first price, in priority
//! order, inside a band around the trimmed mean; otherwise the highest-priority price. Then
//! PegNet truncates (never rounds) to 8 decimals, or 4 for version 1.

/// The index, into `prices` (highest priority first), of the price to use; `None` if empty.
pub fn select(version: u8, prices: &[f64]) -> Option<usize> {
    if prices.is_empty() {
        return None;
    }
    if version != 5 || prices.len() < 3 {
        return Some(0);
    }
    let mean = trimmed_mean(prices);
    // PegNet also sets 0.1 % for means of 100,000 and more, then overwrites it with 1 %.
    let band = if mean >= 1000.0 { 0.01 } else { 0.10 };
    let (lo, hi) = (mean * (1.0 - band), mean * (1.0 + band));
    Some(
        prices
            .iter()
            .position(|p| *p >= lo && *p <= hi)
            .unwrap_or(0),
    )
}

/// The mean without the lowest and the highest price. With fewer than 3 prices nothing would be
/// left after trimming: the plain mean is returned (NaN for no price at all), never a panic.
pub fn trimmed_mean(prices: &[f64]) -> f64 {
    let mut sorted = prices.to_vec();
    sorted.sort_by(f64::total_cmp);
    let inner = match sorted.len() {
        0..=2 => &sorted[..],
        n => &sorted[1..n - 1],
    };
    inner.iter().sum::<f64>() / inner.len() as f64
}

/// PegNet's truncation of a polled value: 8 decimals, 4 for OPR version 1.
pub fn truncate(version: u8, value: f64) -> f64 {
    let scale = if version == 1 { 1e4 } else { 1e8 };
    ((value * scale) as i64) as f64 / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_version_5_the_top_priority_wins() {
        assert_eq!(select(4, &[1.0, 2.0, 2.0, 2.0]), Some(0));
        assert_eq!(select(2, &[]), None);
    }

    #[test]
    fn fewer_than_three_prices_take_the_top_priority() {
        assert_eq!(select(5, &[10.0, 10.5]), Some(0));
        assert_eq!(select(5, &[10.0, 99.0]), Some(0));
    }

    #[test]
    fn trimmed_mean_of_fewer_than_three_prices_does_not_panic() {
        assert!(trimmed_mean(&[]).is_nan());
        assert_eq!(trimmed_mean(&[4.0]), 4.0);
        assert_eq!(trimmed_mean(&[4.0, 6.0]), 5.0);
    }

    #[test]
    fn trimmed_mean_and_band() {
        // Mean of [10, 11] is 10.5; band ±10 % = [9.45, 11.55]. The top source (20) is outside, so
        // the second (10) is taken.
        assert_eq!(trimmed_mean(&[20.0, 10.0, 11.0, 1.0]), 10.5);
        assert_eq!(select(5, &[20.0, 10.0, 11.0, 1.0]), Some(1));
        // Three prices: the middle one is the mean. 100 is within 10 % of 105 only if ≥ 94.5.
        assert_eq!(select(5, &[100.0, 105.0, 300.0]), Some(0));
        assert_eq!(select(5, &[90.0, 105.0, 300.0]), Some(1));
    }

    #[test]
    fn large_means_use_a_one_percent_band() {
        // Trimmed mean 50,175: 50,700 is 1.05 % off (out), 50,100 is inside ±1 %.
        let big = [50_700.0, 50_100.0, 50_000.0, 49_900.0, 10.0, 1e9];
        assert_eq!(trimmed_mean(&big), 50_175.0);
        assert_eq!(select(5, &big), Some(1));
        // The same shape below 1000 is inside ±10 %.
        assert_eq!(select(5, &big.map(|p| p / 100.0)), Some(0));
    }

    #[test]
    fn nothing_in_the_band_falls_back_to_the_top_priority() {
        // Mean of [10, 1000] = 505; neither 1, 10 nor 1000 lies within 10 % of it.
        assert_eq!(select(5, &[1000.0, 1.0, 10.0, 2000.0]), Some(0));
    }

    #[test]
    fn truncation_is_not_rounding() {
        assert_eq!(truncate(5, 1.123456789), 1.12345678);
        assert_eq!(truncate(1, 1.23456789), 1.2345);
        assert_eq!(truncate(5, 0.0), 0.0);
    }
}
