//! Running `okno serve` as a child process: used by the bench command and the system tests,
//! which measure and test the real server, not an in-process imitation.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A running `okno serve` child process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// What it logged after it started listening, when asked to keep it.
    log: Option<Arc<Mutex<Vec<String>>>>,
}

impl ServerProcess {
    /// Starts `binary --db DB serve --listen 127.0.0.1:0 EXTRA…` and waits until it listens.
    pub fn start(binary: &Path, db: &str, extra: &[&str]) -> Result<ServerProcess> {
        Self::spawn(binary, db, extra, "info", false)
    }

    /// Like [`ServerProcess::start`], logging at `filter` (`tracing` syntax, e.g. `trace`) and
    /// keeping the log for [`ServerProcess::log`].
    pub fn start_logging(binary: &Path, db: &str, extra: &[&str], filter: &str) -> Result<ServerProcess> {
        Self::spawn(binary, db, extra, filter, true)
    }

    /// What the server has logged since it started listening (with [`ServerProcess::start_logging`]).
    pub fn log(&self) -> String {
        self.log.as_ref().map(|log| log.lock().map(|lines| lines.join("\n")).unwrap_or_default()).unwrap_or_default()
    }

    fn spawn(binary: &Path, db: &str, extra: &[&str], filter: &str, keep_log: bool) -> Result<ServerProcess> {
        let mut child = Command::new(binary)
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("OKNO_LOG", filter)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let Some(line) = lines.next() else { bail!("okno serve exited before listening") };
            if let Some(rest) = line?.split("serving on ").nth(1) {
                break rest.trim().trim_end_matches('/').to_owned();
            }
        };
        let log: Option<Arc<Mutex<Vec<String>>>> = keep_log.then(Arc::default);
        let kept = log.clone();
        std::thread::spawn(move || match kept {
            Some(kept) => lines.map_while(std::result::Result::ok).for_each(|line| kept.lock().expect("the log").push(line)),
            None => lines.for_each(drop),
        });
        Ok(ServerProcess { child, base, log })
    }

    /// The full URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far, in KiB (Linux `VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.memory_kib("VmHWM")
    }

    /// Resident memory now, in KiB (Linux `VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        self.memory_kib("VmRSS")
    }

    /// One `…kB` line of the process's `/proc/PID/status`.
    fn memory_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.split(':').next() == Some(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Asks the server to stop with SIGTERM, as a service manager would, and waits for it to exit.
    pub fn terminate(mut self) -> Result<std::process::ExitStatus> {
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().context("running kill")?;
        if !sent.success() {
            bail!("kill -TERM {} failed", self.pid());
        }
        Ok(self.child.wait()?)
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill_dash_nine(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
