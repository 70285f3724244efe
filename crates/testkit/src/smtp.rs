//! A real SMTP server on loopback for mail tests: aiosmtpd (PyPI) with its Maildir handler.
//!
//! Found at `STRONGROOM_TEST_AIOSMTPD`, else `aiosmtpd` on `PATH`; `.ci/run` installs it in a venv.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct SmtpServer {
    pub port: u16,
    pub maildir: tempfile::TempDir,
    child: Child,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let bin =
            std::env::var("STRONGROOM_TEST_AIOSMTPD").unwrap_or_else(|_| "aiosmtpd".to_owned());
        let maildir = tempfile::tempdir().expect("maildir");
        let port = crate::free_port();
        let child = Command::new(&bin)
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir.path().join("Maildir")) // created with its tmp/new/cur layout
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} ({e}): `pip install aiosmtpd` or run `bash .ci/run`")
            });
        crate::wait_for_port(port, "aiosmtpd").await;
        Self {
            port,
            maildir,
            child,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages delivered so far, as raw text.
    pub fn messages(&self) -> Vec<String> {
        let new: PathBuf = self.maildir.path().join("Maildir").join("new");
        std::fs::read_dir(new)
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
