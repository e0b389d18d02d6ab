//! The device set and its watchdog thread (see the module docs of [`crate::devices`]).

use super::health::{next_hot, DeviceHealth, DeviceState, Reading, RESTART_WINDOW};
use super::{Device, DeviceIo, Sensor, WatchdogOptions};
use crate::error::{Error, Result};
use crate::job::{Job, LatestJob};
use crate::topn::{Found, TopN};
use crate::workers::ResultSlot;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long dropping the set waits for device threads to finish before leaving hung ones behind.
const DROP_WAIT: Duration = Duration::from_secs(5);

/// A device to supervise, with its sensors if the driver exposes any.
pub struct Supervised {
    /// The device.
    pub device: Arc<dyn Device>,
    /// Its temperature and fan sensors.
    pub sensor: Option<Box<dyn Sensor>>,
}

/// One instance of a device's thread and what only it writes.
struct Life {
    hashes: Arc<AtomicU64>,
    published: ResultSlot,
    retired: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// What the watchdog keeps per device. Device threads never take this lock.
struct Inner {
    life: Life,
    /// Hashes of the retired instances, so the device's counter stays monotonic.
    base: u64,
    /// Results of the retired instances (they stay valid; the top-N drops duplicates). At most
    /// `max_restarts + 1`.
    earlier: VecDeque<ResultSlot>,
    state: DeviceState,
    restarts: VecDeque<Instant>,
    restarts_total: u32,
    last_count: u64,
    last_progress: Instant,
    reading: Reading,
}

struct Slot {
    label: String,
    device: Arc<dyn Device>,
    sensor: Option<Box<dyn Sensor>>,
    hot: Arc<AtomicBool>,
    inner: Mutex<Inner>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Shared {
    jobs: Arc<LatestJob>,
    slots: Vec<Slot>,
    opts: WatchdogOptions,
}

/// Supervised devices fed by one job channel: the worker part of a GPU backend.
pub struct DeviceSet {
    shared: Arc<Shared>,
    stop: Option<mpsc::Sender<()>>,
    watchdog: Option<JoinHandle<()>>,
}

fn spawn_life(
    jobs: &Arc<LatestJob>,
    k: usize,
    device: &Arc<dyn Device>,
    hot: &Arc<AtomicBool>,
    first: bool,
    restart: u32,
) -> Result<Life> {
    let io = DeviceIo {
        jobs: jobs.clone(),
        hashes: Arc::new(AtomicU64::new(0)),
        published: ResultSlot::new(),
        retired: Arc::new(AtomicBool::new(false)),
        hot: hot.clone(),
    };
    let (hashes, published, retired) =
        (io.hashes.clone(), io.published.clone(), io.retired.clone());
    let device = device.clone();
    let name = if first {
        format!("device-{k}")
    } else {
        format!("device-{k}-r{restart}")
    };
    let handle = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            if let Err(e) = device.run(io, first) {
                tracing::error!("{}: {e}", device.label());
            }
        })
        .map_err(|e| Error::Backend(format!("cannot start thread {name}: {e}")))?;
    Ok(Life {
        hashes,
        published,
        retired,
        handle: Some(handle),
    })
}

impl DeviceSet {
    /// Starts one thread per device (each waits for a job) and the watchdog.
    pub fn start(devices: Vec<Supervised>, opts: WatchdogOptions) -> Result<DeviceSet> {
        let jobs = Arc::new(LatestJob::new());
        let now = Instant::now();
        let mut slots = Vec::with_capacity(devices.len());
        for (k, d) in devices.into_iter().enumerate() {
            let hot = Arc::new(AtomicBool::new(false));
            let life = spawn_life(&jobs, k, &d.device, &hot, true, 0)?;
            slots.push(Slot {
                label: d.device.label(),
                device: d.device,
                sensor: d.sensor,
                hot,
                inner: Mutex::new(Inner {
                    life,
                    base: 0,
                    earlier: VecDeque::new(),
                    state: DeviceState::Ok,
                    restarts: VecDeque::new(),
                    restarts_total: 0,
                    last_count: 0,
                    last_progress: now,
                    reading: Reading::default(),
                }),
            });
        }
        let shared = Arc::new(Shared { jobs, slots, opts });
        let (stop, stopped) = mpsc::channel();
        let watched = shared.clone();
        let watchdog = std::thread::Builder::new()
            .name("device-watchdog".into())
            .spawn(move || watchdog(&watched, &stopped))
            .map_err(|e| Error::Backend(format!("cannot start the device watchdog: {e}")))?;
        Ok(DeviceSet {
            shared,
            stop: Some(stop),
            watchdog: Some(watchdog),
        })
    }

    /// The devices' labels, in order.
    pub fn labels(&self) -> Vec<String> {
        self.shared.slots.iter().map(|s| s.label.clone()).collect()
    }

    /// Replaces the current job (`None` pauses every device).
    pub fn set_job(&self, job: Option<Job>) {
        self.shared.jobs.publish(job);
    }

    /// Hashes per device since the start (monotonic across reinitializations).
    pub fn hash_counts(&self) -> Vec<u64> {
        self.shared
            .slots
            .iter()
            .map(|s| {
                let i = s.lock();
                i.base + i.life.hashes.load(Ordering::Relaxed)
            })
            .collect()
    }

    /// The best results of `job_id` of every device, earlier instances included, best first.
    pub fn best(&self, job_id: u64) -> Vec<Found> {
        let mut keep = 0;
        let mut all = Vec::new();
        for s in &self.shared.slots {
            let i = s.lock();
            for r in std::iter::once(&i.life.published).chain(&i.earlier) {
                r.collect(job_id, &mut keep, &mut all);
            }
        }
        TopN::merge(keep, [all.as_slice()]).sorted()
    }

    /// Each device's state, restarts and last sensor reading.
    pub fn health(&self) -> Vec<DeviceHealth> {
        self.shared
            .slots
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let i = s.lock();
                let state = match i.state {
                    DeviceState::Ok if s.hot.load(Ordering::Acquire) => DeviceState::Hot,
                    other => other,
                };
                DeviceHealth {
                    worker: k,
                    state,
                    restarts: i.restarts_total,
                    reading: i.reading,
                }
            })
            .collect()
    }
}

impl Drop for DeviceSet {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(w) = self.watchdog.take() {
            let _ = w.join();
        }
        self.shared.jobs.close();
        let mut handles = Vec::new();
        for s in &self.shared.slots {
            let mut i = s.lock();
            i.life.retired.store(true, Ordering::Release);
            if let Some(h) = i.life.handle.take() {
                handles.push((s.label.clone(), h));
            }
        }
        // A hung device cannot be joined: wait a while, then leave it behind.
        let deadline = Instant::now() + DROP_WAIT;
        for (label, h) in handles {
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if h.is_finished() {
                let _ = h.join();
            } else {
                tracing::warn!("{label}: its thread does not stop (hung driver?); leaving it");
            }
        }
    }
}

/// The watchdog thread: stall checks every quarter of the timeout, sensors every few seconds,
/// until the set is dropped.
fn watchdog(shared: &Shared, stop: &mpsc::Receiver<()>) {
    let tick =
        (shared.opts.stall_after / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut next_sensors = Instant::now();
    loop {
        match stop.recv_timeout(tick) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let now = Instant::now();
        if now >= next_sensors {
            read_sensors(shared);
            next_sensors = now + shared.opts.sensor_every;
        }
        check_stalls(shared, Instant::now());
    }
}

fn read_sensors(shared: &Shared) {
    for s in &shared.slots {
        let Some(sensor) = &s.sensor else { continue };
        // Read outside the slot's lock: a slow driver call must not hold up the stats.
        let reading = sensor.read();
        let was = s.hot.load(Ordering::Acquire);
        let hot = next_hot(was, reading.temp_c, shared.opts.temp_limit);
        if hot != was {
            s.hot.store(hot, Ordering::Release);
            match (hot, reading.temp_c) {
                (true, Some(t)) => tracing::warn!("{}: {t:.0} °C, pausing until it cools", s.label),
                _ => tracing::info!("{}: cooled down, hashing again", s.label),
            }
        }
        s.lock().reading = reading;
    }
}

/// One round of the stall rules.
fn check_stalls(shared: &Shared, now: Instant) {
    let has_job = shared.jobs.has_job();
    let opts = &shared.opts;
    // Per device: how long it has been without progress, if it is watched at all.
    let stalled: Vec<Option<Duration>> = shared
        .slots
        .iter()
        .map(|s| {
            let mut i = s.lock();
            let count = i.base + i.life.hashes.load(Ordering::Relaxed);
            let watched =
                has_job && i.state != DeviceState::Disabled && !s.hot.load(Ordering::Acquire);
            if count != i.last_count || !watched {
                if count != i.last_count && i.state == DeviceState::Reinitializing {
                    tracing::info!("{}: hashing again after its restart", s.label);
                    i.state = DeviceState::Ok;
                }
                i.last_count = count;
                i.last_progress = now;
            }
            watched.then(|| now.duration_since(i.last_progress))
        })
        .collect();
    for (k, s) in shared.slots.iter().enumerate() {
        let Some(idle) = stalled[k] else { continue };
        if idle < opts.stall_after {
            continue;
        }
        let others_progress = stalled
            .iter()
            .enumerate()
            .any(|(j, d)| j != k && d.is_some_and(|d| d < opts.stall_after));
        if others_progress || idle >= opts.stall_after * 2 {
            restart(shared, k, s, idle, now);
        }
    }
}

/// Retires device `k`'s hung instance and starts a fresh one, or disables the device when it
/// failed too often.
fn restart(shared: &Shared, k: usize, s: &Slot, idle: Duration, now: Instant) {
    let mut i = s.lock();
    while i
        .restarts
        .front()
        .is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW)
    {
        i.restarts.pop_front();
    }
    // Retire the instance: it publishes nothing more, its work so far still counts.
    i.life.retired.store(true, Ordering::Release);
    let done = i.life.hashes.load(Ordering::Relaxed);
    i.base += done;
    let old = i.life.published.clone();
    i.earlier.push_back(old);
    while i.earlier.len() > shared.opts.max_restarts as usize + 1 {
        i.earlier.pop_front();
    }
    if let Some(h) = i.life.handle.take() {
        if h.is_finished() {
            let _ = h.join();
        } // else: hung in the driver; detached, it exits if it ever wakes up
    }
    i.last_progress = now;
    i.last_count = i.base;
    if i.restarts.len() >= shared.opts.max_restarts as usize {
        i.state = DeviceState::Disabled;
        i.life.hashes = Arc::new(AtomicU64::new(0));
        tracing::error!(
            "{}: no results for {:.0} s after {} restarts within the hour; disabled (the other devices keep mining)",
            s.label,
            idle.as_secs_f64(),
            i.restarts.len()
        );
        return;
    }
    i.restarts.push_back(now);
    i.restarts_total += 1;
    let restart_no = i.restarts_total;
    tracing::warn!(
        "{}: no results for {:.0} s; reinitializing it (restart {restart_no})",
        s.label,
        idle.as_secs_f64()
    );
    match spawn_life(&shared.jobs, k, &s.device, &s.hot, false, restart_no) {
        Ok(life) => {
            i.life = life;
            i.state = DeviceState::Reinitializing;
        }
        Err(e) => {
            tracing::error!("{}: {e}; disabled", s.label);
            i.life.hashes = Arc::new(AtomicU64::new(0));
            i.state = DeviceState::Disabled;
        }
    }
}
