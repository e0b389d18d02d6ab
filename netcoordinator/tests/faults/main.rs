//! A bad day, from outside: a farm of processes (`netcoordinator`s, `netminer`s, a simulated
//! factomd) through the faults it must survive without paying twice or losing a block it could
//! have paid.
//!
//! * [`chaos`]: coordinators SIGKILLed and restarted, factomd down for seconds, its minute going
//!   back, at random moments.
//! * [`compromised_box`]: a box that knows the farm secret logs in under the honest boxes' names.
//! * [`lying_node`]: factomd answers with huge errors, then serves tampered entries.
//!
//! One test binary for the three, so they run side by side (each with its own ports, data dir and
//! simulated node; the miners at the lowest priority, as boxes of their own): the suite takes the
//! longest of them instead of their sum.

#[path = "../common/mod.rs"]
mod common;
#[path = "../farm/mod.rs"]
mod farm;

mod chaos;
mod compromised_box;
mod lying_node;
