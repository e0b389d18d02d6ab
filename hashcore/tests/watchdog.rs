//! The device watchdog with fake devices (no GPU needed): a device that hangs is reinitialized,
//! then disabled after repeated failures, while the other devices keep hashing throughout; a
//! device over its temperature limit pauses until it cools.

use hashcore::devices::{
    Device, DeviceIo, DeviceSet, DeviceState, Reading, Sensor, Supervised, WatchdogOptions,
};
use hashcore::{Found, Job, Nonce, TopN};
use netmine_testkit::until_blocking;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(20);

/// A device that "hashes" 100 nonces per millisecond, each result's difficulty its counter (so
/// newer results rank higher), and hangs like a lost GPU while `hang` is set: inside a "driver
/// call" that looks at nothing else (not even its retirement) until the test releases it.
struct Fake {
    id: u8,
    /// Instances started so far.
    starts: AtomicU32,
    /// Hang every instance from this start on (0: never).
    hang_from: AtomicU32,
    /// Until which start instances hang (inclusive); `u32::MAX`: all.
    hang_until: AtomicU32,
    /// Cleared at the end of a test so hung threads come back (and find themselves retired).
    hung_driver: Arc<AtomicBool>,
}

impl Fake {
    fn new(id: u8) -> Arc<Fake> {
        Arc::new(Fake {
            id,
            starts: AtomicU32::new(0),
            hang_from: AtomicU32::new(0),
            hang_until: AtomicU32::new(u32::MAX),
            hung_driver: Arc::new(AtomicBool::new(true)),
        })
    }

    /// The current instance (and later ones up to `until`) hang from now on.
    fn hang(&self, until: u32) {
        self.hang_until.store(until, Ordering::SeqCst);
        self.hang_from
            .store(self.starts.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    fn should_hang(&self, instance: u32) -> bool {
        let from = self.hang_from.load(Ordering::SeqCst);
        from != 0 && instance >= from && instance <= self.hang_until.load(Ordering::SeqCst)
    }
}

impl Device for Fake {
    fn label(&self) -> String {
        format!("fake{}", self.id)
    }

    fn run(&self, io: DeviceIo, _first: bool) -> hashcore::Result<()> {
        let instance = self.starts.fetch_add(1, Ordering::SeqCst) + 1;
        let mut seen = 0;
        while let Some((generation, job)) = io.next_job(seen) {
            seen = generation;
            let mut best = TopN::new(job.keep);
            io.start_job(job.id, &best);
            let mut counter = 0u64;
            while !io.switching(seen) {
                if io.hot() {
                    io.wait_cool(seen);
                    continue;
                }
                while self.should_hang(instance) && self.hung_driver.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(2));
                }
                std::thread::sleep(Duration::from_millis(1));
                counter += 100;
                if best.offer(Found {
                    nonce: Nonce::new(self.id, counter),
                    difficulty: counter,
                }) {
                    io.improve(&best);
                }
                io.add_hashes(100);
            }
        }
        Ok(())
    }
}

fn job() -> Option<Job> {
    Some(Job {
        id: 1,
        prefix: vec![0; 32],
        min_difficulty: 0,
        keep: 3,
    })
}

fn opts() -> WatchdogOptions {
    WatchdogOptions {
        stall_after: Duration::from_millis(300),
        max_restarts: 2,
        temp_limit: None,
        sensor_every: Duration::from_millis(10),
    }
}

fn start(
    fakes: &[Arc<Fake>],
    sensors: Vec<Option<Box<dyn Sensor>>>,
    o: WatchdogOptions,
) -> DeviceSet {
    let mut sensors = sensors.into_iter();
    DeviceSet::start(
        fakes
            .iter()
            .map(|f| Supervised {
                device: f.clone() as Arc<dyn Device>,
                sensor: sensors.next().flatten(),
            })
            .collect(),
        o,
    )
    .unwrap()
}

/// Waits until the devices at `which` have each hashed `more` beyond `from`.
fn until_others_hash(set: &DeviceSet, which: &[usize], from: &[u64], more: u64, what: &str) {
    until_blocking(what, WITHIN, || {
        let now = set.hash_counts();
        which.iter().all(|&k| now[k] >= from[k] + more)
    });
}

#[test]
fn a_hung_device_is_reinitialized_then_disabled_while_the_others_keep_hashing() {
    let fakes = [Fake::new(0), Fake::new(1), Fake::new(2)];
    let set = start(&fakes, vec![], opts());
    set.set_job(job());
    until_others_hash(&set, &[0, 1, 2], &[0, 0, 0], 1000, "every device hashing");

    // Device 1 hangs, and so does every fresh instance of it.
    fakes[1].hang(u32::MAX);
    let at_hang = set.hash_counts();
    until_blocking("the first restart", WITHIN, || {
        set.health()[1].restarts >= 1
    });
    assert_eq!(set.health()[1].state, DeviceState::Reinitializing);
    let at_restart = set.hash_counts();
    assert!(
        at_restart[0] > at_hang[0] && at_restart[2] > at_hang[2],
        "the others hashed during the hang: {at_hang:?} then {at_restart:?}"
    );

    until_blocking("device 1 disabled", WITHIN, || {
        set.health()[1].state == DeviceState::Disabled
    });
    let h = set.health();
    assert_eq!(
        h[1].restarts, 2,
        "two restarts (max_restarts), then disabled"
    );
    assert_eq!(
        fakes[1].starts.load(Ordering::SeqCst),
        3,
        "the first instance and two fresh ones"
    );
    assert_eq!((h[0].state, h[2].state), (DeviceState::Ok, DeviceState::Ok));
    assert_eq!((h[0].restarts, h[2].restarts), (0, 0));

    // The others keep hashing (and finding results) after it is out; its counter stands still
    // and never goes back.
    let at_disable = set.hash_counts();
    assert!(at_disable[1] >= at_hang[1]);
    until_others_hash(&set, &[0, 2], &at_disable, 5000, "the others hashing on");
    assert_eq!(set.hash_counts()[1], at_disable[1]);
    let best = set.best(1);
    assert_eq!(best.len(), 3);
    assert!(
        best.iter().all(|f| f.nonce.as_bytes()[0] != 1),
        "the best results are the working devices' newest: {best:?}"
    );
    for f in &fakes {
        f.hung_driver.store(false, Ordering::SeqCst);
    }
}

#[test]
fn a_device_that_recovers_after_its_restart_is_ok_again_and_its_counter_stays_monotonic() {
    let fakes = [Fake::new(0), Fake::new(1)];
    let set = start(&fakes, vec![], opts());
    set.set_job(job());
    until_others_hash(&set, &[0, 1], &[0, 0], 1000, "both hashing");
    // Only the current instance hangs; the fresh one works.
    fakes[1].hang(1);
    until_blocking("device 1 restarted", WITHIN, || {
        set.health()[1].restarts == 1
    });
    let at_restart = set.hash_counts();
    until_blocking("device 1 hashing again", WITHIN, || {
        set.health()[1].state == DeviceState::Ok && set.hash_counts()[1] > at_restart[1] + 1000
    });
    // The hung instance wakes up: it is retired, so its work is not counted twice and it
    // publishes nothing more (its thread ends).
    fakes[1].hung_driver.store(false, Ordering::SeqCst);
    let before = set.hash_counts();
    until_others_hash(&set, &[1], &before, 1000, "device 1 hashing on");
    assert_eq!(set.health()[1].restarts, 1);
    // Results of the job from before and after the restart merge without duplicates.
    let best = set.best(1);
    let mut nonces: Vec<_> = best.iter().map(|f| f.nonce).collect();
    nonces.dedup();
    assert_eq!(nonces.len(), best.len());
}

#[test]
fn a_single_device_that_hangs_is_restarted_after_twice_the_timeout() {
    // No other device to compare with: it counts as "everything stalled".
    let fakes = [Fake::new(0)];
    let set = start(&fakes, vec![], opts());
    set.set_job(job());
    until_others_hash(&set, &[0], &[0], 1000, "hashing");
    fakes[0].hang(1);
    until_blocking("restarted", WITHIN, || set.health()[0].restarts == 1);
    until_blocking("hashing again", WITHIN, || {
        set.health()[0].state == DeviceState::Ok
    });
    fakes[0].hung_driver.store(false, Ordering::SeqCst);
}

/// A sensor whose temperature the test sets.
struct FakeSensor(Arc<Mutex<Reading>>);

impl Sensor for FakeSensor {
    fn read(&self) -> Reading {
        *self.0.lock().unwrap()
    }
}

#[test]
fn a_device_over_its_temperature_limit_pauses_until_it_cools() {
    let fakes = [Fake::new(0), Fake::new(1)];
    let reading = Arc::new(Mutex::new(Reading {
        temp_c: Some(60.0),
        fan_percent: Some(40.0),
    }));
    let set = start(
        &fakes,
        vec![None, Some(Box::new(FakeSensor(reading.clone())))],
        WatchdogOptions {
            temp_limit: Some(80.0),
            ..opts()
        },
    );
    set.set_job(job());
    until_others_hash(&set, &[0, 1], &[0, 0], 1000, "both hashing");
    until_blocking("the reading", WITHIN, || {
        set.health()[1].reading.fan_percent == Some(40.0)
    });
    assert_eq!(
        set.health()[0].reading,
        Reading::default(),
        "no sensor, no reading"
    );

    reading.lock().unwrap().temp_c = Some(85.0);
    until_blocking("device 1 hot", WITHIN, || {
        set.health()[1].state == DeviceState::Hot
    });
    // Its launch in flight ends, then it stands still while device 0 hashes on for longer than
    // the stall timeout: a hot device is paused, not hung.
    // Idle: device 1 did not move while device 0 hashed 20 steps.
    let mut paused_at = set.hash_counts();
    until_blocking("device 1 idle", WITHIN, || {
        let now = set.hash_counts();
        if now[0] < paused_at[0] + 2000 {
            return false;
        }
        let idle = now[1] == paused_at[1];
        paused_at = now;
        idle
    });
    until_others_hash(&set, &[0], &paused_at, 40_000, "device 0 hashing on");
    assert_eq!(
        set.hash_counts()[1],
        paused_at[1],
        "a hot device launches nothing"
    );
    assert_eq!(set.health()[1].restarts, 0, "a hot device is not restarted");

    // Inside the hysteresis band it stays paused; below it, it hashes again.
    reading.lock().unwrap().temp_c = Some(75.0);
    until_blocking("the reading of 75 °C", WITHIN, || {
        set.health()[1].reading.temp_c == Some(75.0)
    });
    assert_eq!(set.health()[1].state, DeviceState::Hot);
    reading.lock().unwrap().temp_c = Some(69.0);
    until_blocking("device 1 cooled", WITHIN, || {
        set.health()[1].state == DeviceState::Ok
    });
    until_others_hash(&set, &[1], &paused_at, 1000, "device 1 hashing again");
}
