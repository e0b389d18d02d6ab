//! Supervised devices: one hashing thread per device (GPU), watched by a watchdog thread that
//! reinitializes a device that stops returning results, takes it out of the rotation after
//! repeated failures, and pauses it while it is too hot.
//!
//! # Why a hung device never blocks the others
//!
//! A GPU driver can hang inside a call (a kernel that never finishes, a lost device) and nothing in
//! user space can interrupt that call. So nothing waits on a device thread: each instance of a
//! device gets its own hash counter and result slot ([`DeviceIo`]) that only it writes, the
//! watchdog reads them without taking any lock the device holds, and a hung instance is simply
//! *retired* — flagged, its thread detached, its counter folded into the device's total — while a
//! fresh instance starts on a new thread. If the old one ever wakes up it sees the flag and exits
//! without publishing anything more. The other devices' threads share nothing with it but the
//! job channel, which no device holds while hashing.
//!
//! # The watchdog's rules
//!
//! Every quarter of the stall timeout (at most every second) it looks at each device that has a
//! job and is neither disabled nor paused for heat:
//! * no new hashes for [`WatchdogOptions::stall_after`] while another device made progress (or
//!   for twice that long when every device stalled at once): the device is reinitialized;
//! * more than [`WatchdogOptions::max_restarts`] restarts within [`RESTART_WINDOW`]: it is
//!   disabled and reported (`disabled` in the miner's stats), and the others keep mining.
//!
//! Every [`WatchdogOptions::sensor_every`] it reads the devices' sensors; with a temperature
//! limit, a device at or above it is marked `hot` (its thread finishes the launches in flight
//! and waits) until it is [`TEMP_HYSTERESIS`] below.

mod health;
mod io;
mod supervisor;

pub use health::{
    next_hot, DeviceHealth, DeviceState, Reading, Sensor, WatchdogOptions, RESTART_WINDOW,
    TEMP_HYSTERESIS,
};
pub use io::{Device, DeviceIo};
pub use supervisor::{DeviceSet, Supervised};
