//! What comes down the link from the upstream, passed on to the relay's miners: jobs (each block
//! started once, and not again after its `stop`), minutes, skips and stops, pings answered, and
//! the upstream's answers to relayed records logged.

use coordinator::server::{CurrentJob, Hub};
use pegnet::OprTemplate;
use protocol::Message;
use std::sync::Arc;

/// The block whose `stop` this relay last passed on to its miners, kept across links. An upstream
/// met after it (the preferred one, failed back to in minute 9) may still serve a job for that
/// block: the miners' records for it already went up the other link, so the relay does not start
/// it. Each block is submitted once, whatever version its miners run (a netminer of this version
/// refuses such a job itself).
#[derive(Debug, Default)]
pub(super) struct Stopped(Option<u32>);

/// Passes what the upstream sends on to the relay's miners; the answer to send back, if any.
pub(super) fn from_upstream(
    hub: &Arc<Hub>,
    stopped: &mut Stopped,
    msg: Message,
) -> Option<Message> {
    match msg {
        Message::Job {
            job_id,
            opr,
            min_difficulty,
            records_wanted,
        } => {
            // The upstream repeats the current job to a link that reconnects: not a new one. (A
            // restarted upstream counts job ids from 1 again: a new height is a new job.)
            if hub.current_job() == Some((opr.height, job_id)) {
                return None;
            }
            if stopped.0 == Some(opr.height) {
                tracing::info!(
                    job_id,
                    height = opr.height,
                    "the miners' records for block {} already went up another link: not \
                     starting its job again, waiting for the next block",
                    opr.height
                );
                return None;
            }
            let template = match OprTemplate::try_from(opr) {
                Ok(t) => t,
                Err(e) => return Some(Message::error(e)),
            };
            tracing::info!(job_id, height = template.height, "job from the upstream");
            hub.telemetry().relay_job(
                &template.network.to_string(),
                coordinator::telemetry::views::JobView {
                    id: job_id,
                    height: template.height,
                    min_difficulty: format!("{:016x}", min_difficulty.0),
                },
            );
            hub.start_job(CurrentJob {
                job_id,
                template,
                min_difficulty: min_difficulty.0,
                records_wanted,
            });
            None
        }
        Message::Stop { job_id } => {
            if let Some((height, _)) = hub.current_job().filter(|(_, id)| *id == job_id) {
                stopped.0 = Some(height);
            }
            hub.broadcast(Message::Stop { job_id });
            None
        }
        m @ (Message::Minute { .. } | Message::Skip { .. }) => {
            hub.broadcast(m);
            None
        }
        Message::Ping { nonce } => Some(Message::Pong { nonce }),
        Message::RelaySubmissionResult {
            identity,
            job_id,
            accepted,
            rejected,
        } => {
            if !rejected.is_empty() {
                let why: Vec<String> = rejected
                    .iter()
                    .map(|r| format!("{} {}", r.count, r.code.name()))
                    .collect();
                tracing::warn!(%identity, job_id, accepted, "the upstream refused relayed records: {}", why.join(", "));
            }
            None
        }
        Message::Error { message } => {
            tracing::warn!("the upstream reports: {message}");
            None
        }
        _ => None, // the relay's own submission results, pongs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator::server::ServerConfig;
    use protocol::{Difficulty, OprFields};

    fn job(job_id: u64, height: u32) -> Message {
        Message::Job {
            job_id,
            opr: OprFields {
                network: "devnet".into(),
                height,
                version: 5,
                winners: vec![String::new(); 25],
                prices: (1..=62).map(|k| k * 1000).collect(),
            },
            min_difficulty: Difficulty(0),
            records_wanted: 3,
        }
    }

    /// A relay's hub (an 8-bit table) and what it broadcasts to its miners.
    fn relay_hub() -> (Arc<Hub>, tokio::sync::broadcast::Receiver<Message>) {
        let table = Arc::new(hashcore::Table::generate(8, &mut |_, _| {}).unwrap());
        let hub = Hub::new(ServerConfig::default(), table);
        let events = hub.subscribe();
        (hub, events)
    }

    #[test]
    fn a_repeated_job_is_not_restarted_but_a_restarted_upstreams_job_1_is_new() {
        let (hub, mut events) = relay_hub();
        let stopped = &mut Stopped::default();
        assert!(from_upstream(&hub, stopped, job(1, 500)).is_none());
        assert_eq!(hub.current_job(), Some((500, 1)));
        assert!(events.try_recv().is_ok(), "the first job is broadcast");
        // The same job again (a reconnected link): nothing is broadcast.
        from_upstream(&hub, stopped, job(1, 500));
        assert!(events.try_recv().is_err());
        // A restarted upstream's job 1 for the next height: a new job.
        from_upstream(&hub, stopped, job(1, 501));
        assert_eq!(hub.current_job(), Some((501, 1)));
        assert!(events.try_recv().is_ok());
        // A ping is answered.
        assert!(matches!(
            from_upstream(&hub, stopped, Message::Ping { nonce: 9 }),
            Some(Message::Pong { nonce: 9 })
        ));
    }

    #[test]
    fn a_block_stopped_on_one_link_is_not_started_again_from_another() {
        let (hub, mut events) = relay_hub();
        let stopped = &mut Stopped::default();
        // Failover in the middle of block 500: the other upstream's job for it is started.
        from_upstream(&hub, stopped, job(1, 500));
        from_upstream(&hub, stopped, job(7, 500));
        assert_eq!(hub.current_job(), Some((500, 7)));
        while events.try_recv().is_ok() {}
        // Its stop is passed on; then, failed back, the first upstream's job for 500 is not.
        from_upstream(&hub, stopped, Message::Stop { job_id: 7 });
        assert!(matches!(events.try_recv(), Ok(Message::Stop { job_id: 7 })));
        assert!(from_upstream(&hub, stopped, job(1, 500)).is_none());
        assert_eq!(hub.current_job(), Some((500, 7)));
        assert!(events.try_recv().is_err(), "block 500's job went out again");
        // A stop for a job the relay does not hold marks nothing; the next block is started.
        from_upstream(&hub, stopped, Message::Stop { job_id: 99 });
        from_upstream(&hub, stopped, job(2, 501));
        assert_eq!(hub.current_job(), Some((501, 2)));
    }
}
