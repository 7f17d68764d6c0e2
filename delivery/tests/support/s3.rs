//! A local S3-compatible server: `s3s-fs` (a file-system backed S3 implementation)
//! served with hyper on 127.0.0.1, with signature-checked credentials.

use std::net::SocketAddr;
use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::TempDir;

pub const BUCKET: &str = "sedute";
pub const ACCESS_KEY: &str = "seduta-test";
pub const SECRET_KEY: &str = "seduta-test-secret-key";
/// The environment variable the sink reads the secret key from.
pub const SECRET_ENV: &str = "SEDUTA_TEST_S3_SECRET";

pub struct S3Server {
    pub addr: SocketAddr,
    pub root: TempDir,
    task: JoinHandle<()>,
}

impl S3Server {
    pub async fn start() -> S3Server {
        // SAFETY: every test sets the same value; no test reads it concurrently with
        // a different write.
        unsafe { std::env::set_var(SECRET_ENV, SECRET_KEY) };
        let root = TempDir::new("s3");
        std::fs::create_dir_all(root.path().join(BUCKET)).expect("bucket");
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind s3");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let conn = http.serve_connection(TokioIo::new(socket), service.clone());
                let conn = conn.into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        S3Server { addr, root, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where s3s-fs keeps an object's bytes.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
