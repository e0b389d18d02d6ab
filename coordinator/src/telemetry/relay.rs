//! A relay's own telemetry: the same picture of its miners as a coordinator's, plus its link to
//! the upstream, so a site's relay serves its own dashboard, API and metrics (`role` is `relay`
//! in `/api/status`, with a [`RelayView`]; `netmine_relay_…` in `/metrics`).
//!
//! The relay's link loop reports here: linked (to which upstream), cut (and why), and how many of
//! its miners' submissions wait for the upstream. It also passes on the job it got from the
//! upstream, so the dashboard shows the block its miners work on.

use super::views::{JobView, RelayView};
use super::{unix_now, Telemetry};

impl Telemetry {
    /// The telemetry of the relay `name` under `upstreams` (preferred first), listing at most
    /// `max_miners` miners; its link starts cut.
    pub fn for_relay(max_miners: usize, name: &str, upstreams: Vec<String>) -> Telemetry {
        Telemetry::build(
            max_miners,
            Some(RelayView {
                name: name.to_string(),
                upstreams,
                linked: false,
                upstream: None,
                since: unix_now(),
                last_error: None,
                links: 0,
                waiting: 0,
            }),
        )
    }

    /// The relay linked to `upstream`. Nothing on a coordinator's telemetry.
    pub fn upstream_linked(&self, upstream: &str) {
        let mut st = self.lock();
        let Some(r) = st.relay.as_mut() else {
            return;
        };
        r.linked = true;
        r.upstream = Some(upstream.to_string());
        r.since = unix_now();
        r.links += 1;
        self.metrics.relay_upstream_up.set(1);
        self.metrics.relay_links.inc();
    }

    /// The relay's link was cut, for `why` (a text fit for the operator: never a secret).
    pub fn upstream_cut(&self, why: &str) {
        let mut st = self.lock();
        let Some(r) = st.relay.as_mut() else {
            return;
        };
        if r.linked {
            r.since = unix_now();
        }
        r.linked = false;
        r.upstream = None;
        r.last_error = Some(why.to_string());
        self.metrics.relay_upstream_up.set(0);
    }

    /// `n` submissions wait for the upstream (held, or sent and not answered yet).
    pub fn relay_waiting(&self, n: usize) {
        let mut st = self.lock();
        if let Some(r) = st.relay.as_mut() {
            r.waiting = n;
            self.metrics
                .relay_waiting
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// The job the relay's miners work on, as the upstream sent it (the network and block with
    /// it).
    pub fn relay_job(&self, network: &str, job: JobView) {
        let mut st = self.lock();
        st.network = Some(network.to_string());
        if st.height != Some(job.height) {
            st.minute = None;
            self.metrics.height.set(i64::from(job.height));
        }
        st.height = Some(job.height);
        st.job = Some(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{METRICS, PRIMARY_ONLY};

    #[test]
    fn a_relay_shows_its_link_and_only_the_metrics_it_has() {
        let t = Telemetry::for_relay(16, "siteB", vec!["primary:1234".into()]);
        let s = t.status();
        assert_eq!(s.role, "relay");
        let r = s.relay.clone().expect("a relay view");
        assert_eq!((r.name.as_str(), r.linked, r.links), ("siteB", false, 0));
        let text = t.metrics_text();
        assert!(text.contains("netmine_relay_upstream_up 0"), "{text}");
        t.upstream_linked("primary:1234");
        t.relay_waiting(3);
        let r = t.status().relay.unwrap();
        assert!(r.linked);
        assert_eq!(r.upstream.as_deref(), Some("primary:1234"));
        assert_eq!((r.links, r.waiting), (1, 3));
        let text = t.metrics_text();
        assert!(text.contains("netmine_relay_upstream_up 1"), "{text}");
        assert!(
            text.contains("netmine_relay_upstream_links_total 1"),
            "{text}"
        );
        assert!(
            text.contains("netmine_relay_submissions_waiting 3"),
            "{text}"
        );
        // What only a paying coordinator has is not served at 0 by a relay.
        for name in PRIMARY_ONLY {
            assert!(
                !text.contains(&format!("# TYPE {name} ")),
                "{name}:\n{text}"
            );
        }
        for (name, _) in METRICS
            .iter()
            .filter(|(n, _)| n.starts_with("netmine_relay_"))
        {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}:\n{text}");
        }
        t.upstream_cut("link to the upstream lost: reset");
        let r = t.status().relay.unwrap();
        assert!(!r.linked && r.upstream.is_none());
        assert_eq!(
            r.last_error.as_deref(),
            Some("link to the upstream lost: reset")
        );
        assert!(t.metrics_text().contains("netmine_relay_upstream_up 0"));
        // A coordinator's telemetry has no relay, and none of the relay's metrics.
        let c = Telemetry::new(16);
        c.upstream_linked("x:1");
        assert!(c.status().relay.is_none() && c.status().role == "primary");
        assert!(!c.metrics_text().contains("netmine_relay_"));
    }
}
