//! A real S3-compatible server on loopback for blob tests: `s3s-fs` (crates.io, built by
//! `.ci/run` with `cargo install s3s-fs@0.14.1 --features binary`), serving one folder.
//!
//! Found at `STRONGROOM_TEST_S3S_FS`, else `$HOME/.cache/strongroom-tools/bin/s3s-fs`, else
//! `s3s-fs` on `PATH`.

use std::process::{Child, Command, Stdio};

pub const ACCESS_KEY: &str = "strongroom-test-access";
pub const SECRET_KEY: &str = "strongroom-test-secret-key";
pub const BUCKET: &str = "strongroom";

pub struct S3Server {
    pub port: u16,
    /// The served folder: one subfolder per bucket, one file per object.
    pub root: tempfile::TempDir,
    /// A file holding the secret key, for `blobs.s3_secret_access_key_file`.
    pub secret_file: tempfile::NamedTempFile,
    child: Child,
}

fn binary() -> String {
    if let Ok(b) = std::env::var("STRONGROOM_TEST_S3S_FS") {
        return b;
    }
    let cached = std::env::var("HOME")
        .map(|h| format!("{h}/.cache/strongroom-tools/bin/s3s-fs"))
        .unwrap_or_default();
    if std::path::Path::new(&cached).is_file() {
        cached
    } else {
        "s3s-fs".to_owned()
    }
}

impl S3Server {
    pub async fn start() -> Self {
        let bin = binary();
        let root = tempfile::tempdir().expect("s3 root");
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let secret_file = tempfile::NamedTempFile::new().expect("secret file");
        std::fs::write(secret_file.path(), SECRET_KEY).expect("secret written");
        let port = crate::free_port();
        let child = Command::new(&bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
            ])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {bin} ({e}): `cargo install s3s-fs@0.14.1 --features binary` or run `bash .ci/run`"
                )
            });
        crate::wait_for_port(port, "s3s-fs").await;
        Self {
            port,
            root,
            secret_file,
            child,
        }
    }

    /// Points a server configuration at this S3 server.
    pub fn configure(&self, c: &mut strongroom::config::Config) {
        c.blob_url = Some(format!("s3://{BUCKET}/blobs"));
        c.blobs.s3_endpoint = Some(format!("http://127.0.0.1:{}", self.port));
        c.blobs.s3_region = Some("us-east-1".to_owned());
        c.blobs.s3_allow_http = true;
        c.blobs.s3_access_key_id = Some(ACCESS_KEY.to_owned());
        c.blobs.s3_secret_access_key_file = Some(self.secret_file.path().to_owned());
    }

    /// A bucket folder of this server, opened directly (`s3://<bucket>/<prefix>`).
    pub fn bucket(&self, prefix: &str) -> strongroom_blobs::Blobs {
        let settings = strongroom_blobs::S3Settings {
            endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
            region: Some("us-east-1".into()),
            allow_http: true,
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.to_owned().into()),
        };
        strongroom_blobs::Blobs::open(&format!("s3://{BUCKET}/{prefix}"), &settings)
            .expect("the test bucket opens")
    }

    /// Every object file the server holds (recursively), as bytes.
    pub fn objects(&self) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if let Ok(b) = std::fs::read(&p) {
                    out.push((p, b));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.path().join(BUCKET), &mut out);
        out
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
