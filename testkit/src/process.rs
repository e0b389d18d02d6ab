//! A child process whose stdout and stderr are read line by line in threads as it writes them,
//! kept for the test to wait on and to show when an assertion fails, and killed (and reaped) when
//! dropped, so a failing test leaves no process behind.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the reader threads collected.
#[derive(Default)]
struct Output {
    state: Mutex<State>,
    grew: Condvar,
}

#[derive(Default)]
struct State {
    lines: Vec<String>,
    /// Streams still being read (2 at the start: stdout and stderr).
    open: usize,
}

impl Output {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(self: Arc<Self>, stream: impl Read + Send + 'static) {
        std::thread::spawn(move || {
            let mut r = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        self.lock().lines.push(line);
                        self.grew.notify_all();
                    }
                }
            }
            self.lock().open -= 1;
            self.grew.notify_all();
        });
    }
}

/// A running child process started by a test (see the module's description).
pub struct Spawned {
    name: String,
    child: Child,
    out: Arc<Output>,
}

/// How a wait for a line ended.
enum Found {
    Line(String),
    Ended,
    Waiting,
}

impl Spawned {
    /// Starts `cmd` (stdin closed; stdout and stderr piped and read as they come). `name` names
    /// the child in failure messages.
    pub fn start(name: &str, cmd: &mut Command) -> Spawned {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let out = Arc::new(Output::default());
        out.lock().open = 2;
        out.clone().read(child.stdout.take().expect("piped stdout"));
        out.clone().read(child.stderr.take().expect("piped stderr"));
        Spawned {
            name: name.to_string(),
            child,
            out,
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Every line the child wrote so far, stdout and stderr interleaved as they were read.
    pub fn output(&self) -> String {
        self.out.lock().lines.join("\n")
    }

    /// Whether a line so far contains `needle`.
    pub fn printed(&self, needle: &str) -> bool {
        self.out.lock().lines.iter().any(|l| l.contains(needle))
    }

    fn find(&self, needle: &str) -> Found {
        let st = self.out.lock();
        match st.lines.iter().find(|l| l.contains(needle)) {
            Some(l) => Found::Line(l.clone()),
            None if st.open == 0 => Found::Ended,
            None => Found::Waiting,
        }
    }

    fn missing(&self, needle: &str, why: &str) -> ! {
        panic!(
            "{}: {why} without a line containing {needle:?}; its output:\n{}",
            self.name,
            self.output()
        )
    }

    /// Waits for the first line containing `needle` (one already written counts) and returns
    /// it. Fails with the child's output once `within` has passed, or at once when the child
    /// closed its output without writing it.
    pub async fn line(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            match self.find(needle) {
                Found::Line(l) => return l,
                Found::Ended => self.missing(needle, "ended"),
                Found::Waiting if Instant::now() >= deadline => {
                    self.missing(needle, &format!("{within:?} passed"))
                }
                Found::Waiting => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// [`line`](Spawned::line) for tests without a runtime.
    pub fn line_blocking(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut st = self.out.lock();
        loop {
            if let Some(l) = st.lines.iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            let ended = st.open == 0;
            let now = Instant::now();
            if ended || now >= deadline {
                drop(st);
                let why = if ended {
                    "ended".to_string()
                } else {
                    format!("{within:?} passed")
                };
                self.missing(needle, &why);
            }
            st = self
                .out
                .grew
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The address the child reports: in the first line containing `needle`, the one right after
    /// `prefix` (see [`addr_after`]). Waits for the line as [`line`](Spawned::line) does.
    pub async fn addr(&self, needle: &str, prefix: &str, within: Duration) -> SocketAddr {
        let line = self.line(needle, within).await;
        addr_after(&line, prefix).unwrap_or_else(|| {
            panic!(
                "{}: no address after {prefix:?} in {line:?}; its output:\n{}",
                self.name,
                self.output()
            )
        })
    }

    /// Waits for the child to exit by itself (and for its output to be read whole); fails with
    /// its output once `within` has passed.
    pub async fn exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            let status = self.child.try_wait().expect("waiting for the child");
            if let Some(status) = status {
                if self.out.lock().open == 0 || Instant::now() >= deadline {
                    return status;
                }
            }
            if status.is_none() && Instant::now() >= deadline {
                panic!(
                    "{} still running after {within:?}; its output:\n{}",
                    self.name,
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether the child still runs (it has not exited by itself nor been killed).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the child (if it still runs) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The socket address right after `prefix` in `line`, up to a space, `/`, `,` or `)`:
/// `addr_after("… running miners=127.0.0.1:4021 factomd=…", "miners=")`,
/// `addr_after("… listening on http://127.0.0.1:8088/v2", "http://")`.
pub fn addr_after(line: &str, prefix: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '/' | ',' | ')'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_in_log_lines_and_urls() {
        let a = addr_after(
            "2026-01-01T00:00:00Z  INFO netcoordinator running miners=127.0.0.1:4021 factomd=http://x",
            "miners=",
        );
        assert_eq!(a, Some("127.0.0.1:4021".parse().unwrap()));
        let a = addr_after(
            "factomd-sim listening on http://127.0.0.1:8088/v2",
            "http://",
        );
        assert_eq!(a, Some("127.0.0.1:8088".parse().unwrap()));
        assert_eq!(addr_after("no address here", "miners="), None);
    }

    #[test]
    fn lines_are_read_as_they_come_and_a_silent_end_fails_fast() {
        let p = Spawned::start(
            "sh",
            Command::new("sh").args(["-c", "echo one; echo two >&2; echo 'at 127.0.0.1:9/x'"]),
        );
        assert_eq!(p.line_blocking("two", Duration::from_secs(10)), "two");
        assert_eq!(
            addr_after(&p.line_blocking("at ", Duration::from_secs(10)), "at "),
            Some("127.0.0.1:9".parse().unwrap())
        );
        let never = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            p.line_blocking("three", Duration::from_secs(10))
        }));
        let msg = never.unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(msg.contains("sh: ended") && msg.contains("one"), "{msg}");
    }
}
