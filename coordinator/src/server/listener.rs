//! The listener: accepts sockets, counts them against the connection limit, and remembers the
//! addresses that failed to authenticate so that repeat offenders are banned for a while.

use super::connection::connection;
use super::hub::Hub;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Accepts miners until `shutdown` turns true.
pub async fn serve(hub: Arc<Hub>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bans = Arc::new(Bans::default());
    loop {
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // A failed accept (e.g. out of file descriptors) is logged and skipped.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let hub = hub.clone();
        let bans = bans.clone();
        let open = open.clone();
        let stop = shutdown.clone();
        let n = open.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        tokio::spawn(async move {
            if let Err(e) = connection(&hub, &bans, stream, addr, n, stop).await {
                tracing::info!(%addr, "miner connection closed: {e}");
            }
            open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }
}

/// Failed authentications per source address, and the bans they lead to.
#[derive(Default)]
pub(super) struct Bans {
    failures: Mutex<HashMap<IpAddr, (u32, Option<Instant>)>>,
}

impl Bans {
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, (u32, Option<Instant>)>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True while `ip` is banned; an expired ban is forgotten.
    pub(super) fn banned(&self, ip: IpAddr) -> bool {
        let mut failures = self.lock();
        match failures.get(&ip) {
            Some((_, Some(until))) if *until > Instant::now() => true,
            Some((_, Some(_))) => {
                failures.remove(&ip);
                false
            }
            _ => false,
        }
    }

    /// Counts a failed authentication from `ip`; the `ban_after`-th bans it for `ban_for`.
    pub(super) fn failed(&self, ip: IpAddr, ban_after: u32, ban_for: Duration) {
        let mut failures = self.lock();
        let e = failures.entry(ip).or_insert((0, None));
        e.0 += 1;
        if e.0 >= ban_after {
            tracing::warn!(%ip, "too many failed authentications: banned for {ban_for:?}");
            e.1 = Some(Instant::now() + ban_for);
        }
    }
}
