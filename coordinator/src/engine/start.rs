//! Minute 1: planning the block (grade the previous one, prices, EC balance, difficulty floor)
//! and sending its job, or saying why the block is skipped.

use super::*;

impl Engine {
    pub(super) async fn skip(&self, height: u32, reason: String) -> Result<(), EngineError> {
        let reason = report::skip_reason(reason);
        tracing::warn!(height, "skipping block: {reason}");
        let (telemetry, days, why) = (
            self.hub.telemetry().clone(),
            self.cfg.history_days,
            reason.clone(),
        );
        self.store
            .call(move |s| report::record_skip(s, &telemetry, height, &why, days))
            .await?;
        self.hub.broadcast(Message::Skip { height, reason });
        Ok(())
    }

    pub(super) async fn start_block(&mut self, height: u32) -> Result<(), EngineError> {
        if self.hub.current_job().map(|(h, _)| h) == Some(height) {
            return Ok(()); // minute 1 seen twice
        }
        // One job per height, whatever the node says (its minute going back, its height jumping
        // back, a restart): the store remembers every height a job was started for.
        if !self.store.call(move |s| s.claim_job(height)).await? {
            let why = format!(
                "a job was already started for block {height} (before a restart, or the node's \
                 height went back: a new simulated chain needs a fresh --data-dir)"
            );
            tracing::warn!(
                height,
                "minute 1 of block {height} again: {why}; not starting another"
            );
            self.hub.telemetry().skipped(&why);
            return Ok(());
        }
        self.store.call(move |s| s.expire_before(height)).await?;
        let Some(previous_height) = height.checked_sub(1) else {
            return self
                .skip(height, "block 0 has no previous block to grade".into())
                .await;
        };
        let version = self.cfg.network.version(height);
        let report = self.prices.poll(version).await;
        self.hub.telemetry().prices(&report);
        let prices = match self.prices.record_prices_from(&report) {
            Ok(p) => p,
            Err(e) => {
                return self.skip(height, e.to_string()).await;
            }
        };
        let needed = self.cap_ec();
        match self.client.ec_balance(&self.key.public()).await {
            Ok(b) if b >= 0 && b as u64 >= needed => self.hub.telemetry().ec_balance(b),
            Ok(b) => {
                self.hub.telemetry().ec_balance(b);
                return self
                    .skip(
                        height,
                        format!(
                            "EC balance {b} does not cover {} entries ({needed} EC)",
                            self.cfg.max_entries
                        ),
                    )
                    .await;
            }
            Err(e) => {
                if let Some(fault) = e.as_fault() {
                    self.hub.telemetry().node_fault(height, &fault);
                }
                return self.skip(height, format!("factomd: {e}")).await;
            }
        }
        let known = match self.winners.get(&previous_height).cloned() {
            Some(w) => Some(w),
            None => self.store.call(move |s| s.winners(previous_height)).await?,
        };
        let prev = match (known, &self.cfg.previous_winners) {
            (Some(w), _) => w,
            (None, Some(pinned)) if self.winners.is_empty() => {
                tracing::info!(
                    height,
                    "no winner history for block {previous_height}: using the pinned list {pinned:?}"
                );
                pinned.clone()
            }
            // Empty: recovered from the block's records (by work; see `block::plan`).
            (None, _) => Vec::new(),
        };
        // What is left of the block bounds the fetch of the previous one (see `fetch_budget`).
        let left = block_end(&self.client, height)
            .await
            .map(|end| end.saturating_duration_since(Instant::now()));
        let p = match plan_within(
            &self.client,
            self.table.as_ref(),
            self.cfg.network,
            height,
            &prev,
            prices,
            self.cfg.cutoff,
            &fetch_budget(left),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                if let PlanError::Fault { fault, .. } = &e {
                    self.hub.telemetry().node_fault(height, fault);
                }
                return self.skip(height, e.to_string()).await;
            }
        };
        let carried = p.template.winners.clone();
        let (telemetry, days) = (self.hub.telemetry().clone(), self.cfg.history_days);
        self.store
            .call(move |s| {
                s.set_winners(height, &carried)?;
                report::record_grading(s, &telemetry, previous_height, &carried, days)
            })
            .await?;
        self.winners.insert(height, p.template.winners.clone());
        keep_needed_winners(&mut self.winners, height);
        let job_id = self.next_job;
        self.next_job += 1;
        tracing::info!(
            height,
            job_id,
            min_difficulty = format!("{:016x}", p.min_difficulty),
            "job sent to {} miners",
            self.hub.miners().len()
        );
        self.hub.telemetry().job(Some(JobView {
            id: job_id,
            height,
            min_difficulty: format!("{:016x}", p.min_difficulty),
        }));
        self.job_sent = Some(Instant::now());
        let job = CurrentJob {
            job_id,
            template: p.template,
            min_difficulty: p.min_difficulty,
            records_wanted: self.cfg.records_wanted,
        };
        // Stored before it is sent: a restart in this block serves the same job again.
        let msg = job.message();
        self.store.call(move |s| s.save_job(height, &msg)).await?;
        self.hub.start_job(job);
        Ok(())
    }
}
