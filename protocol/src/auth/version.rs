//! Which protocol version two peers speak, agreed before the first frame.
//!
//! The versions a client speaks travel in its WebSocket upgrade request, as the header
//! [`HEADER`] (`Netmine-Protocol: 1-2`); a coordinator that knows the header answers with the one
//! it chose (`Netmine-Protocol: 2`). Peers of version 1 neither send nor read the header, and
//! their frames refuse unknown fields, so nothing in a version-1 conversation changes: a client
//! that sent no header speaks version 1, and a client whose upgrade response carries no header is
//! talking to a version-1 coordinator and speaks version 1 to it. The chosen version is then in
//! the `challenge` and the `auth`, and every proof of the handshake covers it.
//!
//! A coordinator of version N+1 therefore serves miners of version N (and a relay of N+1 links to
//! an upstream of N) for everything both understand; what it cannot serve gets a refusal naming
//! both versions.

/// The HTTP header carrying the versions offered (request) and chosen (response).
pub const HEADER: &str = "Netmine-Protocol";

/// The newest version this build speaks.
pub const NEWEST: u32 = 3;

/// The oldest version this build still speaks (with peers that have not been upgraded).
pub const OLDEST: u32 = 1;

/// What a client offers: every version it speaks, as `OLDEST-NEWEST`.
pub fn offer() -> String {
    offer_up_to(NEWEST)
}

/// What a client that speaks at most `newest` offers (`OLDEST-newest`, within what this build
/// speaks).
pub fn offer_up_to(newest: u32) -> String {
    let newest = newest.clamp(OLDEST, NEWEST);
    format!("{OLDEST}-{newest}")
}

/// A client's offer that this build cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the peer speaks protocol {offered}, this build speaks {OLDEST} to {NEWEST}: upgrade the older side (coordinators and relays first, then the boxes)")]
pub struct NoCommonVersion {
    /// What the peer offered, as it wrote it.
    pub offered: String,
}

/// The version a coordinator speaks with a client that offered `offer` (the header's value;
/// `None` when the client sent none: a version-1 client).
pub fn choose(offer: Option<&str>) -> Result<u32, NoCommonVersion> {
    let Some(text) = offer else {
        return Ok(1);
    };
    let bad = || NoCommonVersion {
        offered: text.chars().take(40).collect(),
    };
    let (lo, hi) = match text.trim().split_once('-') {
        Some((lo, hi)) => (lo.trim().parse::<u32>(), hi.trim().parse::<u32>()),
        None => {
            let v = text.trim().parse::<u32>();
            (v.clone(), v)
        }
    };
    let (lo, hi) = (lo.map_err(|_| bad())?, hi.map_err(|_| bad())?);
    let best = hi.min(NEWEST);
    if lo > hi || best < lo.max(OLDEST) {
        return Err(bad());
    }
    Ok(best)
}

/// The version a client speaks after the coordinator's upgrade response carried `chosen` (the
/// header's value; `None`: a version-1 coordinator).
pub fn accept(chosen: Option<&str>) -> Result<u32, NoCommonVersion> {
    let Some(text) = chosen else {
        return Ok(1);
    };
    match text.trim().parse::<u32>() {
        Ok(v) if (OLDEST..=NEWEST).contains(&v) => Ok(v),
        _ => Err(NoCommonVersion {
            offered: text.chars().take(40).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_common_version_is_chosen() {
        assert_eq!(offer(), "1-3");
        assert_eq!(offer_up_to(1), "1-1");
        assert_eq!(offer_up_to(2), "1-2");
        assert_eq!(offer_up_to(9), "1-3", "never more than this build speaks");
        assert_eq!(choose(None), Ok(1), "no header: a version-1 client");
        assert_eq!(choose(Some("1-2")), Ok(2));
        assert_eq!(choose(Some("1-7")), Ok(3), "a newer client gets our newest");
        assert_eq!(choose(Some("1")), Ok(1));
        assert_eq!(choose(Some(" 2 ")), Ok(2));
        assert_eq!(choose(Some("1-3")), Ok(3));
        assert!(choose(Some("4-5")).is_err(), "only newer than us");
        assert!(choose(Some("0")).is_err());
        assert!(choose(Some("2-1")).is_err());
        assert!(choose(Some("x")).is_err());
        let e = choose(Some("5-9")).unwrap_err().to_string();
        assert!(e.contains("5-9") && e.contains("1 to 3"), "{e}");
        assert_eq!(accept(None), Ok(1));
        assert_eq!(accept(Some("2")), Ok(2));
        assert_eq!(accept(Some("3")), Ok(3));
        assert!(accept(Some("4")).is_err());
    }
}
