//! The job each height ran, as it was sent: a coordinator restarted in the middle of a block
//! serves the same job again (same id, same record fields), so its miners keep the work they did
//! since minute 1; and job ids go on from the highest one stored, so they never repeat.

use super::{Store, StoreError};
use protocol::Message;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Stores the job of `height` (the `job` message sent to the miners).
    pub fn save_job(&self, height: u32, job: &Message) -> Result<(), StoreError> {
        let Message::Job { job_id, .. } = job else {
            return Err(StoreError("not a job message".into()));
        };
        let text = serde_json::to_string(job).map_err(|e| StoreError(e.to_string()))?;
        self.conn().execute(
            "INSERT OR REPLACE INTO jobs (height, job_id, job, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                height,
                *job_id as i64,
                text,
                crate::telemetry::unix_now() as i64
            ],
        )?;
        Ok(())
    }

    /// The job `height` ran, if it was stored (and still reads).
    pub fn job(&self, height: u32) -> Result<Option<Message>, StoreError> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT job FROM jobs WHERE height = ?1",
                params![height],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.and_then(|t| match serde_json::from_str(&t) {
            Ok(m @ Message::Job { .. }) => Some(m),
            _ => {
                tracing::warn!(
                    height,
                    "the stored job of block {height} does not read: not served again"
                );
                None
            }
        }))
    }

    /// The highest job id ever stored (0 without any).
    pub fn last_job_id(&self) -> Result<u64, StoreError> {
        let v: Option<i64> = self
            .conn()
            .query_row("SELECT max(job_id) FROM jobs", [], |r| r.get(0))?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reads_back_and_ids_go_on() {
        let dir = std::env::temp_dir().join(format!("netmine-jobs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j.db");
        let _ = std::fs::remove_file(&path);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.last_job_id().unwrap(), 0);
        let job = Message::Job {
            job_id: 41,
            opr: protocol::OprFields {
                network: "devnet".into(),
                height: 7,
                version: 5,
                winners: vec![String::new(); 25],
                prices: vec![1, 2],
            },
            min_difficulty: protocol::Difficulty(5),
            records_wanted: 3,
        };
        s.save_job(7, &job).unwrap();
        assert_eq!(s.job(7).unwrap(), Some(job));
        assert_eq!(s.job(8).unwrap(), None);
        assert_eq!(s.last_job_id().unwrap(), 41);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
