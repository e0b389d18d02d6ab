//! Remote control on the miner's side (protocol version 3): the coordinator may pause and resume
//! this box, change its CPU thread count or its OpenCL devices, or restart its backends (a hung
//! GPU). [`Controlled`] is the backend the session mines with: it wraps the real one and can
//! rebuild it.
//!
//! * Pause hands the backend no job (its threads park; the job is remembered); resume hands it
//!   the remembered job again. A paused box stays connected, answers pings, and reports zero
//!   current rates with `paused: true`. It stays paused across reconnects (to this coordinator
//!   or another), until it is resumed or its process restarts.
//! * Set threads, set devices and restart stop the backend, keep the best records it found for
//!   the current job (they are merged into what the new backend finds, so the block's work so far
//!   still goes in at minute 9), and start a new one with the new settings. A rebuild that fails
//!   (a device that is not there) starts the old settings again and says why. Only a miner
//!   started with a [`Rebuild`] can do these; an in-process miner without one refuses them.
//!
//! A rebuild blocks (an OpenCL backend uploads the table to its devices): the session runs it on
//! the blocking pool and keeps answering pings meanwhile; one request at a time.

use hashcore::{Found, Job, MiningBackend, Nonce, HASH_SIZE};
use protocol::ControlAction;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// What a backend is built from (the settings remote control may change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSettings {
    /// CPU hashing threads.
    pub threads: usize,
    /// OpenCL devices by index (`None`: every device of the platform).
    pub opencl_devices: Option<Vec<usize>>,
    /// Whether the backend uses OpenCL at all (`backend = opencl` or `all`): a device list means
    /// nothing to a CPU-only miner.
    pub uses_opencl: bool,
}

/// Builds a backend from settings (`backends::start` in the binary; tests give their own).
pub type Rebuild =
    Box<dyn Fn(&BackendSettings) -> anyhow::Result<Box<dyn MiningBackend>> + Send + Sync>;

/// The backend the miner mines with, as remote control sees it.
pub struct Controlled {
    inner: RwLock<Arc<dyn MiningBackend>>,
    rebuild: Option<(Rebuild, Mutex<BackendSettings>)>,
    paused: AtomicBool,
    /// The job given last (`None`: idle), kept while paused.
    job: Mutex<Option<Job>>,
    /// The best results of retired (or paused) backends for a job, with its id and prefix
    /// (merged into `best`).
    carried: Mutex<Option<Carried>>,
    /// Hashes of retired backends (added to the first worker's count, so totals never go back).
    retired: Mutex<u64>,
    /// One rebuild at a time.
    rebuilding: Mutex<()>,
}

/// Results kept for job `id` with `prefix`.
struct Carried {
    id: u64,
    prefix: Vec<u8>,
    found: Vec<Found>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A backend with no workers (between stopping one backend and starting the next).
struct Idle;

impl MiningBackend for Idle {
    fn name(&self) -> &str {
        "none"
    }
    fn worker_labels(&self) -> Vec<String> {
        Vec::new()
    }
    fn set_job(&self, _: Option<Job>) {}
    fn best(&self, _: u64) -> Vec<Found> {
        Vec::new()
    }
    fn hash_counts(&self) -> Vec<u64> {
        Vec::new()
    }
    fn hash_nonces(&self, _: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
        vec![[0; HASH_SIZE]; nonces.len()]
    }
    fn random_read_ceiling(&self, _: f64) -> Option<f64> {
        None
    }
}

impl Controlled {
    /// `backend`, which can be paused and resumed but not rebuilt.
    pub fn fixed(backend: Arc<dyn MiningBackend>) -> Controlled {
        Controlled::new(backend, None)
    }

    /// `backend`, built from `settings`, which `rebuild` can build again with other settings.
    pub fn rebuildable(
        backend: Arc<dyn MiningBackend>,
        settings: BackendSettings,
        rebuild: Rebuild,
    ) -> Controlled {
        Controlled::new(backend, Some((rebuild, Mutex::new(settings))))
    }

    fn new(
        backend: Arc<dyn MiningBackend>,
        rebuild: Option<(Rebuild, Mutex<BackendSettings>)>,
    ) -> Controlled {
        Controlled {
            inner: RwLock::new(backend),
            rebuild,
            paused: AtomicBool::new(false),
            job: Mutex::new(None),
            carried: Mutex::new(None),
            retired: Mutex::new(0),
            rebuilding: Mutex::new(()),
        }
    }

    /// The backend mining now.
    pub fn current(&self) -> Arc<dyn MiningBackend> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the coordinator paused this miner.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// The settings the backend was (last) built from, if it can be rebuilt.
    pub fn settings(&self) -> Option<BackendSettings> {
        self.rebuild.as_ref().map(|(_, s)| lock(s).clone())
    }

    /// Whether `action` is quick (pause, resume) or rebuilds the backend (run it off the async
    /// threads).
    pub fn blocks(action: &ControlAction) -> bool {
        !matches!(action, ControlAction::Pause | ControlAction::Resume)
    }

    /// Does `action`: `Ok(what was done)` or `Err(why not)`, in one line for the coordinator.
    pub fn apply(&self, action: &ControlAction) -> Result<String, String> {
        action.check().map_err(|e| e.to_string())?;
        match action {
            ControlAction::Pause => {
                if self.paused.swap(true, Ordering::SeqCst) {
                    return Ok("already paused".into());
                }
                let running = self.current();
                running.set_job(None);
                // A resumed worker starts the job afresh: keep what it found so far.
                self.carry(&*running);
                tracing::warn!(
                    "paused by the coordinator: hashing stops until it resumes this box"
                );
                Ok("paused".into())
            }
            ControlAction::Resume => {
                if !self.paused.swap(false, Ordering::SeqCst) {
                    return Ok("was not paused".into());
                }
                let job = lock(&self.job).clone();
                self.current().set_job(job);
                tracing::info!("resumed by the coordinator");
                Ok("resumed".into())
            }
            ControlAction::SetThreads { threads } => self.rebuild_with(|s| {
                s.threads = *threads as usize;
                Ok(())
            }),
            ControlAction::SetDevices { devices } => {
                let list = parse_devices(devices)?;
                self.rebuild_with(|s| {
                    if !s.uses_opencl {
                        return Err("this miner hashes on the CPU only (backend = cpu): set backend = opencl or all to use devices".into());
                    }
                    s.opencl_devices = list;
                    Ok(())
                })
            }
            ControlAction::Restart => self.rebuild_with(|_| Ok(())),
        }
    }

    /// Stops the backend, keeps its best records of the current job, and builds one from the
    /// settings as `change` leaves them (the old settings again if that fails).
    fn rebuild_with(
        &self,
        change: impl FnOnce(&mut BackendSettings) -> Result<(), String>,
    ) -> Result<String, String> {
        let Some((rebuild, settings)) = &self.rebuild else {
            return Err(
                "this miner cannot rebuild its backends (started without the settings to)".into(),
            );
        };
        let _one = lock(&self.rebuilding);
        let old = lock(settings).clone();
        let mut new = old.clone();
        change(&mut new)?;
        // Retire the running backend: its best records and its hashes are kept.
        let retiring = std::mem::replace(
            &mut *self.inner.write().unwrap_or_else(|e| e.into_inner()),
            Arc::new(Idle),
        );
        retiring.set_job(None);
        self.carry(&*retiring);
        *lock(&self.retired) += retiring.hash_counts().iter().sum::<u64>();
        drop(retiring);
        let (built, outcome) = match rebuild(&new) {
            Ok(b) => {
                *lock(settings) = new.clone();
                (b, Ok(describe(&new, "restarted with")))
            }
            Err(e) => {
                let why = format!("{e:#}");
                tracing::warn!("a rebuild asked by the coordinator failed ({why}): starting the previous settings again");
                match rebuild(&old) {
                    Ok(b) => (b, Err(format!("{why}; kept the previous settings"))),
                    Err(e2) => {
                        return Err(format!(
                            "{why}; the previous settings failed too ({e2:#}): not mining until restarted"
                        ))
                    }
                }
            }
        };
        let built: Arc<dyn MiningBackend> = Arc::from(built);
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = built.clone();
        // Under the job's lock: a job given meanwhile (it went to the idle stand-in) is the one
        // handed over now.
        let job = lock(&self.job);
        if !self.is_paused() {
            built.set_job(job.clone());
        }
        drop(job);
        if let Ok(what) = &outcome {
            tracing::info!("remote control: {what}");
        }
        outcome
    }
}

impl Controlled {
    /// Keeps `backend`'s best results of the current job (merged into [`MiningBackend::best`]
    /// from now on).
    fn carry(&self, backend: &dyn MiningBackend) {
        if let Some(job) = lock(&self.job).as_ref() {
            let found = backend.best(job.id);
            let mut carried = lock(&self.carried);
            let c = match carried.as_mut() {
                Some(c) if c.id == job.id && c.prefix == job.prefix => c,
                _ => carried.insert(Carried {
                    id: job.id,
                    prefix: job.prefix.clone(),
                    found: Vec::new(),
                }),
            };
            c.found = merge(job.keep, &c.found, &found);
        }
    }
}

/// `all` (every device) or a comma-separated list of device indices.
fn parse_devices(spec: &str) -> Result<Option<Vec<usize>>, String> {
    let spec = spec.trim();
    if spec.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let list: Result<Vec<usize>, _> = spec.split(',').map(|d| d.trim().parse()).collect();
    match list {
        Ok(l) if !l.is_empty() && l.len() <= 64 => Ok(Some(l)),
        _ => Err(format!(
            "devices must be `all` or device indices such as 0,1, not {:?}",
            protocol::text::sanitize_to(spec, 40)
        )),
    }
}

fn describe(s: &BackendSettings, what: &str) -> String {
    let devices = match (&s.opencl_devices, s.uses_opencl) {
        (_, false) => String::new(),
        (None, true) => ", every OpenCL device".into(),
        (Some(l), true) => format!(
            ", OpenCL devices {}",
            l.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
        ),
    };
    format!("{what} {} CPU threads{devices}", s.threads)
}

/// The best `keep` of two lists of results, best first, each nonce once.
fn merge(keep: usize, a: &[Found], b: &[Found]) -> Vec<Found> {
    let mut all: Vec<Found> = a.iter().chain(b).copied().collect();
    all.sort_by(|x, y| {
        y.difficulty
            .cmp(&x.difficulty)
            .then_with(|| x.nonce.as_bytes().cmp(y.nonce.as_bytes()))
    });
    all.dedup_by(|x, y| x.nonce == y.nonce);
    all.truncate(keep);
    all
}

impl MiningBackend for Controlled {
    fn name(&self) -> &str {
        // The wrapped backend's name is read with `current()`; this one names the wrapper.
        "controlled"
    }

    fn worker_labels(&self) -> Vec<String> {
        self.current().worker_labels()
    }

    fn set_job(&self, job: Option<Job>) {
        let mut j = lock(&self.job);
        // A new job forgets what was carried for the previous one; a stop (`None`) keeps it for
        // the submission that follows.
        if let Some(n) = &job {
            let mut carried = lock(&self.carried);
            if carried
                .as_ref()
                .is_some_and(|c| c.id != n.id || c.prefix != n.prefix)
            {
                *carried = None;
            }
        }
        j.clone_from(&job);
        if !self.is_paused() {
            self.current().set_job(job);
        }
    }

    fn best(&self, job_id: u64) -> Vec<Found> {
        let found = self.current().best(job_id);
        // Locks in the order `job`, then `carried`, as everywhere.
        let keep = lock(&self.job).as_ref().map(|j| j.keep);
        let carried = lock(&self.carried);
        let Some(c) = carried.as_ref().filter(|c| c.id == job_id) else {
            return found;
        };
        let keep = keep.unwrap_or(found.len().max(c.found.len()));
        merge(keep, &c.found, &found)
    }

    fn hash_counts(&self) -> Vec<u64> {
        let mut c = self.current().hash_counts();
        let retired = *lock(&self.retired);
        match c.first_mut() {
            Some(first) => *first += retired,
            None => c.push(retired),
        }
        c
    }

    fn hash_nonces(&self, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
        self.current().hash_nonces(prefix, nonces)
    }

    fn random_read_ceiling(&self, secs: f64) -> Option<f64> {
        self.current().random_read_ceiling(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashcore::{CpuBackend, Table};

    fn table() -> Arc<Table> {
        Arc::new(Table::generate(10, &mut |_, _| {}).unwrap())
    }

    fn cpu(table: &Arc<Table>) -> Rebuild {
        let t = table.clone();
        Box::new(move |s: &BackendSettings| {
            if s.opencl_devices.as_deref() == Some(&[9]) {
                anyhow::bail!("no OpenCL device 9");
            }
            Ok(Box::new(CpuBackend::start(t.clone(), s.threads, 0)?) as Box<dyn MiningBackend>)
        })
    }

    fn job(id: u64) -> Job {
        Job {
            id,
            prefix: vec![7; 32],
            min_difficulty: 0,
            keep: 3,
        }
    }

    /// Waits (bounded) until `f` holds.
    fn until(what: &str, f: impl Fn() -> bool) {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !f() {
            assert!(std::time::Instant::now() < end, "waited 20 s for {what}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn set_threads_changes_the_thread_count_and_keeps_the_blocks_records() {
        let t = table();
        let settings = BackendSettings {
            threads: 1,
            opencl_devices: None,
            uses_opencl: true,
        };
        let first = Arc::new(CpuBackend::start(t.clone(), 1, 0).unwrap());
        let c = Controlled::rebuildable(first, settings, cpu(&t));
        c.set_job(Some(job(5)));
        until("a record", || c.best(5).len() == 3);
        let before = c.best(5);
        let hashed: u64 = c.hash_counts().iter().sum();
        assert_eq!(c.worker_labels().len(), 1);
        let what = c.apply(&ControlAction::SetThreads { threads: 3 }).unwrap();
        assert!(what.contains("3 CPU threads"), "{what}");
        assert_eq!(c.worker_labels().len(), 3);
        assert_eq!(c.hash_counts().len(), 3);
        assert_eq!(c.settings().unwrap().threads, 3);
        // Every new thread hashes the job.
        until("all three threads to hash", || {
            c.current().hash_counts().iter().all(|&n| n > 0)
        });
        assert!(
            c.hash_counts().iter().sum::<u64>() >= hashed,
            "totals never go back"
        );
        // The records found before the rebuild are still there (or better ones).
        let after = c.best(5);
        assert_eq!(after.len(), 3);
        assert!(after[0].difficulty >= before[0].difficulty);
        // A device list that cannot start keeps the previous settings, and says so.
        let err = c
            .apply(&ControlAction::SetDevices {
                devices: "9".into(),
            })
            .unwrap_err();
        assert!(
            err.contains("no OpenCL device 9") && err.contains("previous"),
            "{err}"
        );
        assert_eq!(c.worker_labels().len(), 3);
        // Garbage is refused before anything stops.
        for bad in ["", "x", "0,,1", "-1"] {
            let e = c
                .apply(&ControlAction::SetDevices {
                    devices: bad.into(),
                })
                .unwrap_err();
            assert!(e.contains("devices"), "{bad:?}: {e}");
        }
        assert!(c.apply(&ControlAction::SetThreads { threads: 0 }).is_err());
        assert!(c
            .apply(&ControlAction::SetThreads { threads: 9999 })
            .is_err());
        assert_eq!(c.worker_labels().len(), 3);
    }

    #[test]
    fn a_paused_backend_hashes_nothing_until_resumed_and_keeps_its_job() {
        let t = table();
        let cpu = Arc::new(CpuBackend::start(t.clone(), 1, 0).unwrap());
        let c = Controlled::fixed(cpu.clone());
        c.set_job(Some(job(1)));
        until("hashing", || c.hash_counts()[0] > 0);
        assert_eq!(c.apply(&ControlAction::Pause).unwrap(), "paused");
        assert!(c.is_paused());
        until("the thread to park", || cpu.parked_threads() == 1);
        // A new job while paused is remembered, not mined.
        c.set_job(Some(job(2)));
        let parked = c.hash_counts()[0];
        assert_eq!(cpu.parked_threads(), 1);
        assert_eq!(c.hash_counts()[0], parked);
        assert_eq!(c.apply(&ControlAction::Pause).unwrap(), "already paused");
        assert_eq!(c.apply(&ControlAction::Resume).unwrap(), "resumed");
        until("hashing again", || c.hash_counts()[0] > parked);
        until("records of the job given while paused", || {
            !c.best(2).is_empty()
        });
        // Without a way to rebuild, the rebuilding actions are refused.
        let e = c.apply(&ControlAction::Restart).unwrap_err();
        assert!(e.contains("cannot rebuild"), "{e}");
        assert!(c
            .apply(&ControlAction::SetDevices {
                devices: "0".into()
            })
            .is_err());
    }

    #[test]
    fn a_cpu_only_miner_refuses_a_device_list() {
        let t = table();
        let c = Controlled::rebuildable(
            Arc::new(CpuBackend::start(t.clone(), 1, 0).unwrap()),
            BackendSettings {
                threads: 1,
                opencl_devices: None,
                uses_opencl: false,
            },
            cpu(&t),
        );
        let e = c
            .apply(&ControlAction::SetDevices {
                devices: "0".into(),
            })
            .unwrap_err();
        assert!(e.contains("CPU only"), "{e}");
        assert_eq!(
            c.apply(&ControlAction::Restart).unwrap(),
            "restarted with 1 CPU threads"
        );
    }
}
