//! The OpenCL mining backend: one host thread per device keeps two launches in flight, so the device
//! never idles while the host reads results or switches jobs. Only results that can enter the
//! top-N come back over the bus. The devices run supervised ([`crate::devices`]): a device that
//! hangs is reinitialized (a fresh context, kernels and table upload on a new thread), disabled
//! after repeated failures, and paused while it is over its temperature limit.

use super::device::DeviceRunner;
use super::DeviceInfo;
use crate::backend::MiningBackend;
use crate::devices::{
    Device, DeviceHealth, DeviceIo, DeviceSet, Sensor, Supervised, WatchdogOptions,
};
use crate::error::{Error, Result};
use crate::job::Job;
use crate::nonce::{counter_len, equal_length_runs, next_length_boundary, Nonce};
use crate::params::HASH_SIZE;
use crate::table::Table;
use crate::topn::{Found, TopN};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Where a device's temperature and fan readings come from (NVML, hwmon), chosen per device by
/// the miner; `None` for a device whose driver exposes nothing.
pub trait SensorSource: Send + Sync {
    /// The sensors of device `d`, if any.
    fn sensor_for(&self, d: &DeviceInfo) -> Option<Box<dyn Sensor>>;
}

/// Tuning options of the OpenCL backend (`--opencl-workload`, the watchdog's flags); the defaults
/// autotune and watch with [`WatchdogOptions::default`], without sensors.
#[derive(Clone, Default)]
pub struct OpenClOptions {
    /// Work items per launch; `None` autotunes each device to about 200 ms per launch.
    pub workload: Option<usize>,
    /// When a device is reinitialized, disabled or paused for heat.
    pub watchdog: WatchdogOptions,
    /// The devices' sensors.
    pub sensors: Option<Arc<dyn SensorSource>>,
}

impl std::fmt::Debug for OpenClOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenClOptions")
            .field("workload", &self.workload)
            .field("watchdog", &self.watchdog)
            .field("sensors", &self.sensors.is_some())
            .finish()
    }
}

/// Launch duration the autotuner aims at: long enough to amortise launch overhead, short enough to
/// switch jobs (and stop at minute 9) promptly.
pub const TARGET_LAUNCH: Duration = Duration::from_millis(200);
const MAX_RESULTS: usize = 1024;
const MAX_WORKLOAD: usize = 1 << 26;

/// OpenCL mining backend: one supervised worker per usable device, each with its own nonce id and
/// its own copy of the table in device memory. See [`MiningBackend`] for how jobs and results
/// flow.
pub struct OpenClBackend {
    // Dropped first: stops the device threads before the devices go.
    set: DeviceSet,
    devices: Vec<Arc<OpenClDevice>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One OpenCL device as the watchdog supervises it.
struct OpenClDevice {
    info: DeviceInfo,
    table: Arc<Table>,
    id: u8,
    workload: Option<usize>,
    /// The device's current runner (a reinitialization replaces it); the bench and the
    /// cross-checks use it.
    runner: Mutex<Arc<Mutex<DeviceRunner>>>,
}

impl OpenClDevice {
    fn runner(&self) -> Arc<Mutex<DeviceRunner>> {
        lock(&self.runner).clone()
    }
}

impl Device for OpenClDevice {
    fn label(&self) -> String {
        format!(
            "opencl{}:{} {}",
            self.info.platform, self.info.index, self.info.name
        )
    }

    fn run(&self, io: DeviceIo, first: bool) -> Result<()> {
        let runner = if first {
            self.runner()
        } else {
            // A fresh context, kernels and table: whatever state the hung one was in stays with
            // the abandoned thread.
            let r = Arc::new(Mutex::new(DeviceRunner::new(
                self.info.clone(),
                self.table.clone(),
                MAX_RESULTS,
                3,
            )?));
            *lock(&self.runner) = r.clone();
            r
        };
        Feeder {
            id: self.id,
            runner,
            workload: self.workload,
            compute_units: self.info.compute_units.max(1) as usize,
        }
        .run(&io);
        Ok(())
    }
}

impl OpenClBackend {
    /// Prepares every device (kernel build, table upload) and starts one idle worker per device;
    /// device k uses nonce id `first_id + k`. A device that fails is skipped with a warning; if
    /// none is left, the error of the last one is returned.
    pub fn start(
        table: Arc<Table>,
        devices: &[DeviceInfo],
        first_id: u8,
        opts: OpenClOptions,
    ) -> Result<OpenClBackend> {
        if devices.is_empty() {
            return Err(Error::Backend("no OpenCL device selected".into()));
        }
        if first_id as usize + devices.len() > 256 {
            return Err(Error::Backend(
                "too many miners for the 256 one-byte nonce ids".into(),
            ));
        }
        let mut ready = Vec::new();
        let mut supervised = Vec::new();
        let mut last_err = None;
        for d in devices {
            let runner = match DeviceRunner::new(d.clone(), table.clone(), MAX_RESULTS, 3) {
                Ok(r) => Arc::new(Mutex::new(r)),
                Err(e) => {
                    tracing::warn!("skipping OpenCL device {} ({}): {e}", d.index, d.name);
                    last_err = Some(e);
                    continue;
                }
            };
            tracing::info!(
                "OpenCL device {}:{} {} ready ({} MiB, {} compute units)",
                d.platform,
                d.index,
                d.name,
                d.global_mem >> 20,
                d.compute_units
            );
            let device = Arc::new(OpenClDevice {
                info: d.clone(),
                table: table.clone(),
                id: first_id + ready.len() as u8,
                workload: opts.workload,
                runner: Mutex::new(runner),
            });
            supervised.push(Supervised {
                device: device.clone(),
                sensor: opts.sensors.as_ref().and_then(|s| s.sensor_for(d)),
            });
            ready.push(device);
        }
        if ready.is_empty() {
            return Err(
                last_err.unwrap_or_else(|| Error::Backend("no usable OpenCL device".into()))
            );
        }
        let set = DeviceSet::start(supervised, opts.watchdog)?;
        Ok(OpenClBackend {
            set,
            devices: ready,
        })
    }

    /// How many OpenCL devices this backend mines on (devices that failed to start are left out).
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// Full hashes computed on device `k` (for cross-checking devices).
    pub fn hash_nonces_on(
        &self,
        k: usize,
        prefix: &[u8],
        nonces: &[Nonce],
    ) -> Result<Vec<[u8; HASH_SIZE]>> {
        let runner = self
            .devices
            .get(k)
            .ok_or_else(|| Error::Backend(format!("no OpenCL device {k}")))?
            .runner();
        let mut out = Vec::with_capacity(nonces.len());
        for run in equal_length_runs(nonces) {
            let flat: Vec<u8> = nonces[run.clone()]
                .iter()
                .flat_map(|n| n.as_bytes().to_vec())
                .collect();
            out.extend(lock(&runner).hash_nonces(prefix, &flat, nonces[run.start].len())?);
        }
        Ok(out)
    }
}

impl MiningBackend for OpenClBackend {
    fn name(&self) -> &str {
        "opencl"
    }

    fn worker_labels(&self) -> Vec<String> {
        self.set.labels()
    }

    fn set_job(&self, job: Option<Job>) {
        self.set.set_job(job);
    }

    fn best(&self, job_id: u64) -> Vec<Found> {
        self.set.best(job_id)
    }

    fn hash_counts(&self) -> Vec<u64> {
        self.set.hash_counts()
    }

    fn device_health(&self) -> Vec<DeviceHealth> {
        self.set.health()
    }

    fn random_read_ceiling(&self, secs: f64) -> Option<f64> {
        let mut total = 0.0;
        for (k, d) in self.devices.iter().enumerate() {
            match lock(&d.runner()).random_read_rate(secs / self.devices.len() as f64) {
                Ok(rate) => total += rate,
                Err(e) => {
                    tracing::error!("OpenCL device {k}: {e}");
                    return None;
                }
            }
        }
        Some(total)
    }

    /// Computed on the first device; if another device disagrees, that is logged as an error.
    fn hash_nonces(&self, prefix: &[u8], nonces: &[Nonce]) -> Vec<[u8; HASH_SIZE]> {
        let mut first: Option<Vec<[u8; HASH_SIZE]>> = None;
        for k in 0..self.devices.len() {
            match self.hash_nonces_on(k, prefix, nonces) {
                Ok(h) => match &first {
                    None => first = Some(h),
                    Some(f) if *f != h => {
                        tracing::error!("OpenCL device {k} computes different hashes than device 0")
                    }
                    Some(_) => {}
                },
                Err(e) => tracing::error!("OpenCL device {k}: {e}"),
            }
        }
        first.unwrap_or_default()
    }
}

/// Feeds one device: keeps two launches in flight for the current job.
struct Feeder {
    id: u8,
    runner: Arc<Mutex<DeviceRunner>>,
    workload: Option<usize>,
    compute_units: usize,
}

/// A launch in flight.
struct Launch {
    slot: usize,
    base: u64,
    n: usize,
    clen: usize,
}

impl Feeder {
    fn run(self, io: &DeviceIo) {
        let mut seen = 0;
        let mut n = self
            .workload
            .unwrap_or(self.compute_units * 1024)
            .clamp(1, MAX_WORKLOAD);
        while let Some((generation, job)) = io.next_job(seen) {
            seen = generation;
            if let Err(e) = self.mine(io, &job, seen, &mut n) {
                // The watchdog sees no results and reinitializes the device.
                tracing::error!("OpenCL device stopped mining job {}: {e}", job.id);
            }
        }
    }

    fn mine(&self, io: &DeviceIo, job: &Job, seen: u64, n: &mut usize) -> Result<()> {
        lock(&self.runner).set_prefix(&job.prefix)?;
        let mut best = TopN::new(job.keep);
        io.start_job(job.id, &best);
        let mut counter = 1u64;
        let mut inflight: std::collections::VecDeque<Launch> = Default::default();
        let mut last_finish = Instant::now();
        loop {
            let switching = io.switching(seen);
            let hot = io.hot();
            if hot && !switching && inflight.is_empty() {
                // Over the temperature limit: idle (nothing in flight) until it cools.
                io.wait_cool(seen);
                last_finish = Instant::now();
                continue;
            }
            while !switching && !hot && inflight.len() < 2 {
                let clen = counter_len(counter);
                let room =
                    next_length_boundary(counter).map_or(u64::MAX - counter, |b| b - counter);
                let count = (*n as u64).min(room) as usize;
                if count == 0 {
                    break;
                }
                let slot = (0..2)
                    .find(|s| inflight.iter().all(|l| l.slot != *s))
                    .unwrap_or(0);
                let threshold = self.threshold(job, &best);
                lock(&self.runner).launch(slot, self.id, counter, clen, count, threshold)?;
                inflight.push_back(Launch {
                    slot,
                    base: counter,
                    n: count,
                    clen,
                });
                counter += count as u64;
            }
            let Some(l) = inflight.pop_front() else {
                return Ok(()); // switching with nothing in flight (`hot` waits above)
            };
            let mut runner = lock(&self.runner);
            let (mut results, mut overflow) = runner.finish(l.slot)?;
            // More qualifying results than fit: run the range again above the lowest returned
            // difficulty; the true top-N are all at or above it, and the threshold rises each time.
            while overflow && !switching {
                let floor = results.iter().map(|r| r.1).min().unwrap_or(0);
                runner.launch(
                    2,
                    self.id,
                    l.base,
                    l.clen,
                    l.n,
                    floor.saturating_sub(1).max(self.threshold(job, &best)),
                )?;
                (results, overflow) = runner.finish(2)?;
            }
            drop(runner);
            if switching {
                continue; // drain the rest, then return
            }
            let mut improved = false;
            for (c, d) in results {
                if d > job.min_difficulty && best.might_accept(d) {
                    improved |= best.offer(Found {
                        nonce: Nonce::new(self.id, c),
                        difficulty: d,
                    });
                }
            }
            if improved {
                io.improve(&best);
            }
            io.add_hashes(l.n as u64);
            // Autotune: aim each launch at TARGET_LAUNCH.
            let took = last_finish.elapsed();
            last_finish = Instant::now();
            if self.workload.is_none() && !took.is_zero() {
                let scale = (TARGET_LAUNCH.as_secs_f64() / took.as_secs_f64()).clamp(0.5, 2.0);
                *n = ((l.n as f64 * scale) as usize).clamp(self.compute_units * 64, MAX_WORKLOAD);
            }
        }
    }

    /// Report only what can enter the top-N: above the job's floor and not below the current N-th.
    fn threshold(&self, job: &Job, best: &TopN) -> u64 {
        let worst = if best.len() == best.keep() {
            best.as_slice()
                .iter()
                .map(|f| f.difficulty)
                .min()
                .unwrap_or(0)
                .saturating_sub(1)
        } else {
            0
        };
        worst.max(job.min_difficulty)
    }
}
