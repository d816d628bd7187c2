//! Progress display of `run`: an indicatif bar on an interactive stderr, plain log lines
//! otherwise, nothing when quiet.

use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

use indicatif::{ProgressBar, ProgressStyle};

use callsift::downstream::sample::printable;
use callsift::pipeline::{FileReport, Observer};

use super::printable_first_line;

pub struct Progress {
    bar: OnceLock<ProgressBar>,
    quiet: bool,
    state: Mutex<(usize, usize, u64, usize)>, // done, total, audio ms, failures
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            bar: OnceLock::new(),
            quiet,
            state: Mutex::new((0, 0, 0, 0)),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn started(&self, total: usize, jobs: usize, threads: usize) {
        self.state.lock().unwrap().1 = total;
        if self.quiet {
            return;
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files · {msg} · ETA {eta}",
                )
                .unwrap(),
            );
            bar.set_message("0.00 h audio, 0 failed");
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            let _ = self.bar.set(bar);
        } else {
            eprintln!("callsift: {total} recordings, {jobs} workers × {threads} threads");
        }
    }

    fn file_done(&self, r: &FileReport) {
        let mut st = self.state.lock().unwrap();
        st.0 += 1;
        st.2 += r.audio_ms;
        if r.error.is_some() {
            st.3 += 1;
        }
        let (done, total, audio, failed) = *st;
        drop(st);
        // file names may hold terminal escape sequences
        let path = printable(&r.path.display().to_string());
        if let Some(b) = self.bar.get() {
            b.inc(1);
            b.set_message(format!(
                "{:.2} h audio, {failed} failed",
                audio as f64 / 3.6e6
            ));
            if let Some(e) = &r.error {
                b.println(format!("error: {path}: {}", printable_first_line(e)));
            }
        } else if let Some(e) = &r.error {
            eprintln!("[{done}/{total}] error {path}: {}", printable_first_line(e));
        } else if !self.quiet {
            eprintln!(
                "[{done}/{total}] ok {path} ({:.1} s audio in {:.1} s)",
                r.audio_ms as f64 / 1000.0,
                r.elapsed.as_secs_f64()
            );
        }
    }
}
