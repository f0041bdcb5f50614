//! A progress line on stderr while the CLI waits for a person: a spinner with the time left
//! when stderr is a terminal, one plain line otherwise (logs stay readable).

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Shows `message` until dropped.
pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    /// `deadline`: when the wait gives up, shown as the time left.
    pub fn start(message: &str, deadline: Instant) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            eprintln!("{message}...");
            return Self { stop, thread: None };
        }
        let (flag, message) = (stop.clone(), message.to_owned());
        let thread = std::thread::spawn(move || {
            let mut i = 0usize;
            while !flag.load(Ordering::Relaxed) {
                let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                let frame = FRAMES[i % FRAMES.len()];
                let _ = write!(
                    std::io::stderr(),
                    "\r\x1b[2K{frame} {message} ({}:{:02} left, Ctrl-C to stop)",
                    left / 60,
                    left % 60
                );
                let _ = std::io::stderr().flush();
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            let _ = std::io::stderr().flush();
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
