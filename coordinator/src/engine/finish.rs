//! Minute 9: stopping the miners, collecting their verified records, keeping the best, recording
//! them in the store and paying for them; then the block's record for operators.

use super::*;

impl Engine {
    pub(super) async fn finish_block(&mut self, height: u32) -> Result<(), EngineError> {
        // The hub owns the current job; it is closed when its work is collected below.
        let Some((h, job_id)) = self.hub.current_job() else {
            return Ok(());
        };
        if h != height {
            return Ok(());
        }
        self.hub.broadcast(Message::Stop { job_id });
        let seen = Instant::now();
        let mined_secs = self.job_sent.take().map(|t| t.elapsed().as_secs_f64());
        // A standby counts its wait from when minute 9 began on its node, not from when its
        // monitor noticed it (up to a poll later): the primary may have noticed it a whole poll
        // after this coordinator, and the standby must still look after the primary paid. The
        // node's word moves the decision back by at most that poll.
        let decide_at = match self.cfg.standby {
            Some(timing) => {
                let asked = minute_began(&self.client, height, 9);
                let began = tokio::time::timeout(self.cfg.submit_window, asked)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(seen);
                let earliest = seen.checked_sub(timing.poll).unwrap_or(seen);
                Some(began.clamp(earliest, seen) + self.cfg.submit_window + timing.delay)
            }
            None => None,
        };
        tokio::time::sleep_until((seen + self.cfg.submit_window).into()).await;
        // Miners and rates as the telemetry knows them: those behind relays included.
        let miners = self.hub.telemetry().miners_connected();
        let hash_rate = self.hub.telemetry().farm_rate().rate_60s;
        let (work, counts) = self.hub.take_work(job_id);
        self.hub.telemetry().job(None);
        if let Some(at) = decide_at {
            // The primary pays right after its window: give its commits time to show.
            tokio::time::sleep_until(at.into()).await;
        }
        if let Some(secs) = mined_secs {
            report::record_effective_rates(self.hub.telemetry(), &work, secs);
        }
        // One payment round per height, also across restarts and a node replaying minute 9.
        if !self.store.call(move |s| s.claim_payment(height)).await? {
            tracing::warn!(
                height,
                "block {height} was already paid for: not paying another round"
            );
            return Ok(());
        }
        let pays = self.fence(height).await;
        let best = select_best(
            work.iter()
                .flat_map(|w| w.accepted.iter().map(move |a| (&w.record, a))),
            if pays { self.cfg.max_entries } else { 0 },
            self.cfg.max_entries_per_coinbase,
        );
        let mut rows = Vec::with_capacity(best.len());
        for (rec, a) in &best {
            let entry = rec.entry(&a.nonce, a.difficulty);
            match entry.hash().and_then(|h| entry.marshal().map(|m| (h, m))) {
                Ok((h, m)) => rows.push((h, rec.identity.clone(), a.difficulty, m)),
                Err(e) => tracing::error!(height, "cannot build entry, not paying for it: {e}"),
            }
        }
        self.store
            .call(move |s| {
                rows.iter()
                    .try_for_each(|(h, id, d, m)| s.add(h, height, id, *d, m).map(|_| ()))
            })
            .await?;
        let report = self.pay_until_block_end(height).await?;
        let ec_balance = self.client.ec_balance(&self.key.public()).await.ok();
        let (telemetry, days) = (self.hub.telemetry().clone(), self.cfg.history_days);
        let recorded = self
            .store
            .call(move |s| {
                let finished = report::Finished {
                    height,
                    job_id,
                    miners,
                    hash_rate,
                    counts: &counts,
                    report: &report,
                    ec_balance,
                };
                report::record_block(s, &telemetry, finished, days).map(|b| (report, b))
            })
            .await?;
        let (report, record) = recorded;
        tracing::info!(
            height,
            miners,
            received = record.records_received,
            verified = record.records_verified,
            rejected = ?record.records_rejected,
            paid = record.entries_paid,
            failed = record.entries_failed,
            expired = report.expired,
            over_cap = report.over_cap,
            credits_lost = report.credits_lost,
            ec_spent = record.ec_spent,
            ec_balance = %ec_balance.map_or_else(|| "unknown".to_string(), |b| b.to_string()),
            hash_rate = %protocol::format_rate(hash_rate),
            "block finished"
        );
        let _ = self.summaries.send(BlockSummary {
            block: record,
            winners_in_force: self.winners.get(&height).cloned().unwrap_or_default(),
        });
        Ok(())
    }

    /// Whether this coordinator may pay for `height` (see `fence.rs`): not when the farm's EC
    /// balance went down since the job started (another coordinator paid), nor, for a standby,
    /// when that cannot be told.
    async fn fence(&self, height: u32) -> bool {
        let at_start = self
            .start_balance
            .filter(|(h, _)| *h == height)
            .map(|(_, b)| b);
        let now = match self.client.ec_balance(&self.key.public()).await {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(height, "EC balance before paying: {e}");
                None
            }
        };
        let standby = self.cfg.standby.is_some();
        let fence = Fence::judge(at_start, now);
        self.hub.telemetry().fence(height, fence);
        match fence {
            Fence::Clear => true,
            Fence::PaidElsewhere { ec } => {
                tracing::warn!(
                    height,
                    ec,
                    "{ec} EC were spent with the farm's key since minute 1: another coordinator \
                     paid for block {height}; paying nothing"
                );
                false
            }
            Fence::Unknown if standby => {
                tracing::warn!(
                    height,
                    "cannot tell whether the primary paid for block {height} (no balance to \
                     compare): the standby pays nothing"
                );
                false
            }
            Fence::Unknown => true,
        }
    }
}
