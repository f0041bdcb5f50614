//! Opening the sign-in page in a browser, and telling whether one can be opened at all.

use std::process::{Command, Stdio};

/// Can a browser be shown to the person at this terminal? `$BROWSER` set, or a graphical
/// session (on Linux and the BSDs: `DISPLAY` or `WAYLAND_DISPLAY`; macOS and Windows always
/// have one, unless the session came in over SSH).
pub fn available() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("BROWSER") {
        return true;
    }
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return !set("SSH_CONNECTION");
    }
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// Starts a browser on `url` without waiting for it: `$BROWSER` (the first of its
/// `:`-separated commands; `%s` stands for the URL, else the URL is the last argument),
/// else the platform's opener. `Err` when nothing could be started.
pub fn open(url: &str) -> std::io::Result<()> {
    let mut command = match std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty()) {
        Some(browser) => {
            let first = browser.split(':').next().unwrap_or_default();
            let mut words = first.split_whitespace();
            let program = words.next().unwrap_or_default();
            let mut c = Command::new(program);
            let mut substituted = false;
            for w in words {
                if w.contains("%s") {
                    substituted = true;
                    c.arg(w.replace("%s", url));
                } else {
                    c.arg(w);
                }
            }
            if !substituted {
                c.arg(url);
            }
            c
        }
        None if cfg!(target_os = "macos") => {
            let mut c = Command::new("open");
            c.arg(url);
            c
        }
        None if cfg!(target_os = "windows") => {
            let mut c = Command::new("rundll32");
            c.arg("url.dll,FileProtocolHandler").arg(url);
            c
        }
        None => {
            let mut c = Command::new("xdg-open");
            c.arg(url);
            c
        }
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reap it when it ends, without making the sign-in wait for it.
    std::thread::spawn(move || child.wait());
    Ok(())
}
