//! The session package end to end: a session recorded from webrtc-rs peers, closed;
//! the server's preservation copy; package version 1 built by the server and judged
//! by independent tools (unzip, sha256 of every file against the manifest and the
//! `.hash` files, xmllint on the SInCRO index, pdfinfo/pdffonts on the verbale,
//! ffprobe on the MP4, the attendance log's chain); detached signatures made here with
//! openssl (a test CA, the Sindaca's RSA key, the segretario's P-256 key) uploaded
//! for the MP4 and the verbale; bad uploads (another file's signature, a corrupt
//! `.p7s`, a PDF) refused with their codes and entered in the access log; version 2
//! with the signatures delivered to a folder and to a webhook receiver run here (HMAC
//! checked, stored once per idempotency key); the delivered package verified again,
//! signatures included (`openssl cms -verify` against the test CA). With a TSA run
//! here (an axum handler passing each request to `openssl ts -reply`, its certificate
//! made by the test CA with extendedKeyUsage critical timeStamping): the first
//! signature is uploaded while the TSA answers garbage (accepted, timestamp pending
//! with `timestamp_corrupt`), the others once it answers; every signature's
//! timestamp is granted, version 2 carries the four `.tsr` files marked
//! MarcaturaTemporale, and each verifies with `openssl ts -verify` over the
//! signature value read by `openssl asn1parse`.
//!
//! Run inside a network namespace (see README): `unshare -n bash -c 'ip link set lo
//! up && cargo test -p seduta-tests --test session_package'`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use seduta_delivery::{
    DeliveryConfig, FolderSinkConfig, RetryPolicy, SinkConfig, SinkKind, WebhookSinkConfig,
    WorkerConfig,
};
use seduta_signaling::attendance::{read_jsonl, verify};
use seduta_signaling::store::AccessAction;
use seduta_tests::demo::DemoSeduta;
use seduta_tests::media::SyntheticMedia;
use seduta_tests::peer::WebrtcPeer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WEBHOOK_SECRET: &str = "webhook-test-secret-0123456789";
const MP4: &str = "registrazioni/preservation.mp4";
const VERBALE: &str = "verbale/bozza-verbale.pdf";

// ---------------------------------------------------------------------------
// The webhook receiver: checks the timestamp's signature and the digest, stores
// each package once per idempotency key.

#[derive(Default)]
struct Inbox {
    /// Idempotency key → (package version header, body).
    stored: BTreeMap<String, (String, Vec<u8>)>,
    requests: usize,
    refused: Vec<String>,
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let Ok(mut inbox) = inbox.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    inbox.requests += 1;
    let ts = header("x-seduta-timestamp");
    if !seduta_delivery::signature::verify(
        WEBHOOK_SECRET.as_bytes(),
        &ts,
        &body,
        &header("x-seduta-signature"),
    ) {
        inbox.refused.push("bad signature".into());
        return StatusCode::UNAUTHORIZED;
    }
    if sha256_hex(&body) != header("x-seduta-content-sha256") {
        inbox.refused.push("bad digest".into());
        return StatusCode::BAD_REQUEST;
    }
    let key = header("idempotency-key");
    let version = header("x-seduta-package-version");
    inbox.stored.entry(key).or_insert((version, body.to_vec()));
    StatusCode::OK
}

async fn webhook_receiver() -> anyhow::Result<(SocketAddr, Arc<Mutex<Inbox>>)> {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let app = axum::Router::new()
        .route("/inbox", axum::routing::post(receive))
        .layer(DefaultBodyLimit::disable())
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, inbox))
}

// ---------------------------------------------------------------------------
// The TSA: `openssl ts -reply` behind an HTTP handler; answers garbage while
// `garbage` is set.

struct TsaState {
    /// The PKI folder (tsa.pem, tsa.key, ts.cnf, tsaserial).
    dir: PathBuf,
    garbage: std::sync::atomic::AtomicBool,
    requests: std::sync::atomic::AtomicUsize,
    /// One `openssl ts -reply` at a time (the serial file).
    lock: tokio::sync::Mutex<()>,
}

async fn timestamp(
    State(tsa): State<Arc<TsaState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    use std::sync::atomic::Ordering;
    tsa.requests.fetch_add(1, Ordering::Relaxed);
    let reply = |status, body| {
        (
            status,
            [("content-type", "application/timestamp-reply")],
            body,
        )
    };
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/timestamp-query")
    {
        return reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new());
    }
    if tsa.garbage.load(Ordering::Relaxed) {
        return reply(StatusCode::OK, b"<html>TSA in manutenzione</html>".to_vec());
    }
    let _one = tsa.lock.lock().await;
    let dir = tsa.dir.clone();
    let answer = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        std::fs::write(dir.join("q.tsq"), &body)?;
        run(Command::new("openssl").current_dir(&dir).args([
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-queryfile",
            "q.tsq",
            "-out",
            "r.tsr",
        ]))?;
        Ok(std::fs::read(dir.join("r.tsr"))?)
    })
    .await;
    match answer {
        Ok(Ok(bytes)) => reply(StatusCode::OK, bytes),
        _ => reply(StatusCode::INTERNAL_SERVER_ERROR, Vec::new()),
    }
}

async fn tsa_server(dir: &Path) -> anyhow::Result<(SocketAddr, Arc<TsaState>)> {
    let state = Arc::new(TsaState {
        dir: dir.to_owned(),
        garbage: std::sync::atomic::AtomicBool::new(false),
        requests: std::sync::atomic::AtomicUsize::new(0),
        lock: tokio::sync::Mutex::new(()),
    });
    let app = axum::Router::new()
        .route("/tsa", axum::routing::post(timestamp))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, state))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

// ---------------------------------------------------------------------------
// The server and the REST calls.

/// The demo server with this test's package and delivery settings, and the calls
/// the test makes.
struct Seduta(DemoSeduta);

impl std::ops::Deref for Seduta {
    type Target = DemoSeduta;
    fn deref(&self) -> &DemoSeduta {
        &self.0
    }
}

async fn start(
    scratch: &Path,
    webhook: SocketAddr,
    tsa: SocketAddr,
    tsa_trust: PathBuf,
) -> anyhow::Result<Seduta> {
    let data_dir = scratch.join("data");
    let outbox_dir = scratch.join("consegne");
    std::fs::create_dir_all(&outbox_dir)?;
    let delivery = DeliveryConfig {
        sinks: vec![
            SinkConfig {
                name: "archivio".into(),
                kind: SinkKind::Folder(FolderSinkConfig { path: outbox_dir }),
            },
            SinkConfig {
                name: "protocollo".into(),
                kind: SinkKind::Webhook(WebhookSinkConfig {
                    url: format!("http://{webhook}/inbox"),
                    secret: Some(WEBHOOK_SECRET.into()),
                    secret_env: None,
                    connect_timeout_secs: 5,
                    timeout_secs: 60,
                }),
            },
        ],
        retry: RetryPolicy {
            initial_backoff_secs: 1,
            max_backoff_secs: 2,
            ..RetryPolicy::default()
        },
        worker: WorkerConfig {
            poll_interval_secs: 1,
            ..WorkerConfig::default()
        },
    };
    let seduta = DemoSeduta::start(&data_dir, |c| {
        c.preservation = true;
        c.preservation_threads = 1;
        c.delivery = delivery;
        c.package.tsa_url = Some(format!("http://{tsa}/tsa"));
        c.package.tsa_trust = Some(tsa_trust);
    })
    .await?;
    Ok(Seduta(seduta))
}

impl Seduta {
    async fn join(&self, who: &str, hz: f32) -> anyhow::Result<WebrtcPeer> {
        let dir = self.data_dir.join("media");
        std::fs::create_dir_all(&dir)?;
        let media = SyntheticMedia::with_tone(&dir, hz)?;
        let token = self.invite(who).await?;
        WebrtcPeer::join(&self.ws_url(), &token, media)
            .await
            .with_context(|| format!("{who} joining"))
    }

    async fn package(&self) -> anyhow::Result<Value> {
        let reply = self
            .api
            .get(
                &format!("/api/sessions/{}/package", self.session),
                Some(&self.staff),
            )
            .await?;
        ensure!(reply.status == 200, "package: {reply}");
        Ok(reply.json())
    }

    /// Uploads `p7s` as the `role` signature of `file`.
    async fn sign(&self, file: &str, role: &str, p7s: &[u8]) -> anyhow::Result<(u16, Value)> {
        let reply = self
            .api
            .send(
                "POST",
                &format!(
                    "/api/sessions/{}/signatures?file={file}&role={role}",
                    self.session
                ),
                Some(&self.staff),
                Some(("application/pkcs7-signature", p7s)),
            )
            .await?;
        Ok((reply.status, reply.json()))
    }

    /// `GET path` with the body as bytes.
    async fn download(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let mut stream = tokio::net::TcpStream::connect(self.server.http_addr).await?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\r\n",
            self.server.http_addr, self.staff
        );
        stream.write_all(head.as_bytes()).await?;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
            .await
            .context("the download timed out")??;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("no response head")?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        ensure!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
        ensure!(
            head.to_ascii_lowercase()
                .contains("content-type: application/zip"),
            "{head}"
        );
        let body = raw[split + 4..].to_vec();
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse::<usize>().ok());
        ensure!(length == Some(body.len()), "{head}: {} bytes", body.len());
        Ok(body)
    }

    async fn stop(self) {
        self.0.stop().await;
    }
}

/// Polls the package report until `done` holds, for at most `within`.
async fn wait_package(
    s: &Seduta,
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + within;
    loop {
        let report = s.package().await?;
        if done(&report) {
            return Ok(report);
        }
        ensure!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {report}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// ---------------------------------------------------------------------------
// The independent check of a package.

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| {
        format!("running {cmd:?} (poppler-utils, libxml2-utils, unzip, ffmpeg, openssl)")
    })?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every file under `dir`, as `/`-separated relative paths, sorted.
fn files_under(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(dir)?
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Unzips `zip` into `dir` and checks the package there with tools of its own:
/// returns the manifest.
fn check_package(zip: &Path, dir: &Path) -> anyhow::Result<Value> {
    run(Command::new("unzip").arg("-tq").arg(zip))?;
    let _ = std::fs::remove_dir_all(dir);
    run(Command::new("unzip").arg("-q").arg(zip).arg("-d").arg(dir))?;
    let files = files_under(dir)?;
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
    let listed: BTreeMap<String, String> = manifest["files"]
        .as_array()
        .context("manifest files")?
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_owned(),
                f["sha256"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let sincro = std::fs::read_to_string(dir.join("sincro.xml"))?;
    let mut content = 0;
    for name in files.iter().filter(|n| !n.ends_with(".hash")) {
        content += 1;
        // sha256sum, not our code: the digest of every file equals its .hash file…
        let out = run(Command::new("sha256sum").arg(dir.join(name)))?;
        let digest = out.split_whitespace().next().unwrap_or_default().to_owned();
        let hash = std::fs::read(dir.join(format!("{name}.hash")))
            .with_context(|| format!("{name}.hash is missing"))?;
        ensure!(
            hash == digest.as_bytes(),
            "{name}: sha256sum {digest}, .hash {:?} (lowercase hex, no newline)",
            String::from_utf8_lossy(&hash)
        );
        // … and the manifest's (which lists every file but itself and the index) …
        if name != "manifest.json" && name != "sincro.xml" {
            ensure!(
                listed.get(name) == Some(&digest),
                "{name}: manifest says {:?}, sha256sum {digest}",
                listed.get(name)
            );
        }
        // … and the index lists every file with it (but itself).
        if name != "sincro.xml" {
            ensure!(
                sincro.contains(&digest) && sincro.contains(name.as_str()),
                "{name} is not in sincro.xml with its digest"
            );
        }
    }
    ensure!(
        listed.len() + 2 == content,
        "the manifest lists {} files, the package holds {content}",
        listed.len()
    );
    // The SInCRO index: well formed, in its namespace, one File per package file.
    let index = dir.join("sincro.xml");
    run(Command::new("xmllint").arg("--noout").arg(&index))?;
    let ns = run(Command::new("xmllint")
        .args(["--xpath", "namespace-uri(/*)"])
        .arg(&index))?;
    ensure!(
        ns.trim() == "http://www.uni.com/U3011/sincro-v2/",
        "namespace {ns}"
    );
    let root = run(Command::new("xmllint")
        .args(["--xpath", "local-name(/*)"])
        .arg(&index))?;
    ensure!(root.trim() == "PIndex", "root {root}");
    let count = run(Command::new("xmllint")
        .args([
            "--xpath",
            "count(//*[local-name()='FileGroup']/*[local-name()='File'])",
        ])
        .arg(&index))?;
    ensure!(
        count.trim() == (content - 1).to_string(),
        "sincro.xml lists {} files, the package holds {} besides it",
        count.trim(),
        content - 1
    );
    // The verbale: PDF/A-2b as pdfinfo reads its metadata, every font embedded.
    let pdf = dir.join(VERBALE);
    let meta = run(Command::new("pdfinfo").arg("-meta").arg(&pdf))?;
    ensure!(
        meta.contains("pdfaid:part") && meta.contains('2'),
        "no PDF/A identification: {meta}"
    );
    let fonts = run(Command::new("pdffonts").arg(&pdf))?;
    for line in fonts.lines().skip(2) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        // name type [encoding] emb sub uni object ID: "emb" is the 5th from the end.
        ensure!(
            cols.len() >= 5 && cols[cols.len() - 5] == "yes",
            "a font is not embedded: {line}"
        );
    }
    let text = run(Command::new("pdftotext").arg(&pdf).arg("-"))?;
    ensure!(
        text.contains("Votazione n. 1"),
        "the verbale has no vote: {text}"
    );
    // The MP4: H.264 High with FLAC, decodable.
    let probe = run(Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(dir.join(MP4)))?;
    let probe: Value = serde_json::from_str(&probe)?;
    let streams = probe["streams"].as_array().cloned().unwrap_or_default();
    ensure!(
        streams
            .iter()
            .any(|s| s["codec_name"] == "h264" && s["profile"] == "High"),
        "no H.264 High video: {probe}"
    );
    ensure!(
        streams.iter().any(|s| s["codec_name"] == "flac"),
        "no FLAC audio: {probe}"
    );
    // The attendance log in the package verifies, sealed.
    let jsonl = std::fs::read_to_string(dir.join("registro/presenze.jsonl"))?;
    let entries = read_jsonl(&jsonl).map_err(|b| anyhow::anyhow!("{b}"))?;
    let verified = verify(&entries).map_err(|b| anyhow::anyhow!("{b}"))?;
    ensure!(verified.sealed, "the log in the package is not sealed");
    Ok(manifest)
}

fn verifica(manifest: &Value, path: &str) -> Option<bool> {
    manifest["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)?["metadata"]["Verifica"]["FirmatoDigitalmente"]
        .as_bool()
}

fn marcatura(manifest: &Value, path: &str) -> Option<bool> {
    manifest["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)?["metadata"]["Verifica"]["MarcaturaTemporale"]
        .as_bool()
}

// ---------------------------------------------------------------------------
// A test PKI made with openssl.

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let pki = Pki {
            dir: dir.to_owned(),
        };
        std::fs::write(
            dir.join("signer.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\n",
        )?;
        run(pki.openssl().args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/C=IT/O=Prestatore di prova/CN=CA qualificata di prova",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]))?;
        pki.signer(
            "sindaca",
            "rsa:2048",
            "/C=IT/O=Comune di prova/CN=Sindaca di prova/serialNumber=TINIT-RSSMRA80A41H501U",
        )?;
        pki.signer(
            "segretario",
            "ec",
            "/C=IT/O=Comune di prova/CN=Segretario di prova",
        )?;
        pki.tsa()?;
        Ok(pki)
    }

    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.current_dir(&self.dir);
        c
    }

    /// The TSA's key and certificate (extendedKeyUsage critical timeStamping, issued
    /// by the test CA) and the `openssl ts` configuration.
    fn tsa(&self) -> anyhow::Result<()> {
        std::fs::write(
            self.dir.join("tsa.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n",
        )?;
        run(self.openssl().args([
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/C=IT/O=Prestatore di prova/CN=TSA di prova",
        ]))?;
        run(self.openssl().args([
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            "tsa.ext",
            "-out",
            "tsa.pem",
        ]))?;
        std::fs::write(self.dir.join("tsaserial"), "01\n")?;
        std::fs::write(
            self.dir.join("ts.cnf"),
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = $dir/tsaserial\n\
             crypto_device = builtin\nsigner_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\n\
             signer_key = $dir/tsa.key\nsigner_digest = sha256\n\
             default_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256\naccuracy = secs:1\n\
             ordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
        )?;
        Ok(())
    }

    /// `openssl ts -verify` of the timestamp `tsr` over the signature value of
    /// `p7s` (read by `openssl asn1parse`: the last OCTET STRING of a signature
    /// without unsigned attributes), against the test CA.
    fn verify_timestamp(&self, tsr: &Path, p7s: &Path) -> anyhow::Result<()> {
        let parsed = run(self
            .openssl()
            .args(["asn1parse", "-inform", "DER", "-in"])
            .arg(p7s))?;
        let value = parsed
            .lines()
            .rev()
            .find_map(|l| l.split("OCTET STRING      [HEX DUMP]:").nth(1))
            .context("no signature value")?;
        let digest = sha256_hex(&hex::decode(value.trim())?);
        run(self
            .openssl()
            .args(["ts", "-verify", "-in"])
            .arg(tsr)
            .args([
                "-digest",
                &digest,
                "-CAfile",
                "ca.pem",
                "-untrusted",
                "tsa.pem",
            ]))?;
        Ok(())
    }

    fn signer(&self, name: &str, key: &str, subject: &str) -> anyhow::Result<()> {
        let mut req = self.openssl();
        req.args(["req", "-new", "-nodes", "-newkey", key]);
        if key == "ec" {
            req.args(["-pkeyopt", "ec_paramgen_curve:P-256"]);
        }
        run(req.args([
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            subject,
        ]))?;
        run(self.openssl().args([
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            "signer.ext",
            "-out",
            &format!("{name}.pem"),
        ]))?;
        Ok(())
    }

    /// `name`'s detached CAdES signature of `file` (DER).
    fn sign(&self, name: &str, file: &Path) -> anyhow::Result<Vec<u8>> {
        let out = self.dir.join(format!(
            "{name}-{}.p7s",
            file.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        run(self
            .openssl()
            .args(["cms", "-sign", "-binary", "-md", "sha256", "-in"])
            .arg(file)
            .args([
                "-signer",
                &format!("{name}.pem"),
                "-inkey",
                &format!("{name}.key"),
                "-outform",
                "DER",
                "-out",
            ])
            .arg(&out))?;
        Ok(std::fs::read(out)?)
    }

    /// `openssl cms -verify` of a detached signature over `file`, against the CA.
    fn verify(&self, p7s: &Path, file: &Path) -> anyhow::Result<()> {
        let out = self
            .openssl()
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(p7s)
            .arg("-content")
            .arg(file)
            .args(["-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null"])
            .output()?;
        ensure!(
            out.status.success(),
            "{} does not verify over {}: {}",
            p7s.display(),
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }
}

// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_session_becomes_a_signed_delivered_package() -> anyhow::Result<()> {
    let begun = Instant::now();
    let scratch = std::env::temp_dir().join(format!("seduta-package-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let (webhook, inbox) = webhook_receiver().await?;
    let pki = Pki::new(&scratch.join("pki"))?;
    let (tsa_addr, tsa) = tsa_server(&pki.dir).await?;
    let s = start(&scratch, webhook, tsa_addr, pki.dir.join("ca.pem")).await?;
    let session = s.session.clone();

    // A 12 s session: two remote members (tones and VP8 from webrtc-rs), two in the
    // chamber, one item with a vote called by name.
    let a1 = s.join("assessore-1", 440.0).await?;
    let a2 = s.join("assessore-2", 660.0).await?;
    for who in ["assessore-1", "assessore-2"] {
        s.act(json!({"kind": "identify", "participant": who, "camera_on": true}))
            .await?;
    }
    for who in ["sindaco", "assessore-4"] {
        s.act(json!({"kind": "check_in", "participant": who}))
            .await?;
    }
    s.act(json!({"kind": "open_session"})).await?;
    let opened = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.act(json!({"kind": "open_item", "item": 1})).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.act(json!({"kind": "open_vote", "vote": "deliberation"}))
        .await?;
    for (who, ballot) in [
        ("sindaco", "favorevole"),
        ("assessore-1", "favorevole"),
        ("assessore-2", "contrario"),
        ("assessore-4", "astenuto"),
    ] {
        s.act(json!({"kind": "cast", "ballot": ballot, "participant": who}))
            .await?;
    }
    s.act(json!({"kind": "close_vote"})).await?;
    tokio::time::sleep(Duration::from_secs(12).saturating_sub(opened.elapsed())).await;
    s.act(json!({"kind": "close_session"})).await?;
    a1.close().await;
    a2.close().await;
    eprintln!(
        "session closed after {:.1} s",
        begun.elapsed().as_secs_f64()
    );

    // Version 1, after the preservation copy.
    let report = wait_package(&s, Duration::from_secs(300), "package v1", |r| {
        r["versions"].as_array().is_some_and(|v| !v.is_empty())
    })
    .await?;
    eprintln!("package v1 after {:.1} s", begun.elapsed().as_secs_f64());
    let v1 = &report["versions"][0];
    ensure!(v1["version"] == 1 && v1["preservation"] == "done", "{v1}");
    ensure!(
        v1["deliveries"].as_array().is_some_and(Vec::is_empty),
        "version 1 is not delivered before the signatures: {v1}"
    );
    ensure!(report["delivery"]["when"] == "after_signatures", "{report}");
    let to_sign: Vec<(String, Vec<String>)> = report["to_sign"]
        .as_array()
        .context("to_sign")?
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap_or_default().to_owned(),
                r["signers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| s["role"].as_str().unwrap_or_default().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect();
    let both = vec!["presidente".to_owned(), "segretario".to_owned()];
    ensure!(
        to_sign
            == vec![
                (VERBALE.to_owned(), both.clone()),
                (MP4.to_owned(), both.clone())
            ]
            || to_sign == vec![(MP4.to_owned(), both.clone()), (VERBALE.to_owned(), both)],
        "to_sign: {to_sign:?}"
    );

    // Downloaded (and logged), then judged by other tools.
    let zip1 = scratch.join("v1.zip");
    let bytes = s
        .download(&format!("/api/sessions/{session}/package/v1.zip"))
        .await?;
    ensure!(
        sha256_hex(&bytes) == v1["sha256"].as_str().unwrap_or_default(),
        "the download is not the zip the report names"
    );
    std::fs::write(&zip1, &bytes)?;
    let v1_dir = scratch.join("v1");
    let manifest = check_package(&zip1, &v1_dir)?;
    ensure!(
        manifest["version"] == 1,
        "manifest version {}",
        manifest["version"]
    );
    ensure!(verifica(&manifest, MP4) == Some(false), "v1 is not signed");
    for want in [
        "registrazioni/mix.flac",
        "registrazioni/chapters.ttml",
        "registrazioni/register.json",
        "registrazioni/originali/assessore-1-camera.webm",
    ] {
        ensure!(
            manifest["files"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["path"] == want)),
            "{want} is not in the package"
        );
    }
    for (path, want) in &to_sign {
        let sha = sha256_hex(&std::fs::read(v1_dir.join(path))?);
        let listed = report["to_sign"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["file"] == path.as_str()))
            .map(|r| r["sha256"].clone());
        ensure!(listed == Some(json!(sha)), "{path}: {listed:?} {want:?}");
    }

    // Signatures made here.
    let mp4 = v1_dir.join(MP4);
    let pdf = v1_dir.join(VERBALE);
    let sindaca_mp4 = pki.sign("sindaca", &mp4)?;
    let sindaca_pdf = pki.sign("sindaca", &pdf)?;
    let segretario_mp4 = pki.sign("segretario", &mp4)?;
    let segretario_pdf = pki.sign("segretario", &pdf)?;

    // Bad uploads: refused with their codes, nothing stored, each logged.
    let mut corrupt = sindaca_mp4.clone();
    corrupt.truncate(corrupt.len() / 2);
    let pdf_bytes = std::fs::read(&pdf)?;
    for (file, role, body, code) in [
        (MP4, "presiding", &sindaca_pdf, "signature_digest_mismatch"),
        (MP4, "presiding", &corrupt, "signature_corrupt"),
        (VERBALE, "segretario", &pdf_bytes, "signature_not_cms"),
    ] {
        let (status, answer) = s.sign(file, role, body).await?;
        ensure!(
            status == 422 && answer["code"] == code,
            "{file} {role}: expected 422 {code}, got {status} {answer}"
        );
        ensure!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {answer}"
        );
    }
    let (status, answer) = s.sign(MP4, "vicesindaco", &sindaca_mp4).await?;
    ensure!(
        status == 400 && answer["code"] == "bad_role",
        "{status} {answer}"
    );
    let report = s.package().await?;
    ensure!(
        report["signatures"].as_array().is_some_and(Vec::is_empty) && report["complete"] == false,
        "a refused upload changed the package: {report}"
    );

    // The good ones. The first while the TSA answers garbage: accepted, its
    // timestamp pending with a stable code; the next upload retries it.
    tsa.garbage
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for (file, role, body) in [
        (MP4, "presiding", &sindaca_mp4),
        (VERBALE, "presiding", &sindaca_pdf),
        (MP4, "segretario", &segretario_mp4),
        (VERBALE, "segretario", &segretario_pdf),
    ] {
        let (status, answer) = s.sign(file, role, body).await?;
        ensure!(status == 201, "{file} {role}: {status} {answer}");
        ensure!(
            answer["signature"]["verdict"] == "valid"
                && answer["signature"]["signing_time"].is_string(),
            "{answer}"
        );
        let stamp = &answer["signature"]["timestamp"];
        if tsa
            .garbage
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            ensure!(
                stamp["state"] == "pending"
                    && stamp["code"] == "timestamp_corrupt"
                    && stamp["summary"] == "timestamp pending (timestamp_corrupt)",
                "a TSA answering garbage: {answer}"
            );
            let report = s.package().await?;
            ensure!(
                report["signatures"][0]["timestamp"]["state"] == "pending",
                "{report}"
            );
        } else {
            ensure!(
                stamp["state"] == "granted" && stamp["time"].is_string(),
                "{answer}"
            );
        }
    }
    ensure!(
        tsa.requests.load(std::sync::atomic::Ordering::Relaxed) == 5,
        "TSA requests: one garbage, four granted"
    );
    let (status, answer) = s.sign(MP4, "presiding", &sindaca_mp4).await?;
    ensure!(
        status == 409 && answer["code"] == "signature_exists",
        "a second signature: {status} {answer}"
    );
    let report = s.package().await?;
    let signers: Vec<(String, String)> = report["signatures"]
        .as_array()
        .context("signatures")?
        .iter()
        .map(|v| {
            (
                v["signature_file"].as_str().unwrap_or_default().to_owned(),
                v["signer_cn"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    ensure!(signers.len() == 4 && report["complete"] == true, "{report}");
    for v in report["signatures"].as_array().context("signatures")? {
        let stamp = &v["timestamp"];
        ensure!(
            stamp["state"] == "granted"
                && stamp["time"].as_str().is_some_and(|t| t.ends_with('Z'))
                && stamp["trusted"] == true
                && stamp["summary"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("timestamp granted at "))
                && stamp["timestamp_file"]
                    == format!("{}.tsr", v["signature_file"].as_str().unwrap_or_default()),
            "{v}"
        );
    }
    ensure!(
        signers.contains(&(
            format!("{MP4}.presidente.p7s"),
            "Sindaca di prova".to_owned()
        )) && signers.contains(&(
            format!("{VERBALE}.segretario.p7s"),
            "Segretario di prova".to_owned()
        )),
        "{signers:?}"
    );

    // The access log: the download, the refusals with their codes, the signatures.
    let store = s.server.store();
    let ente = store
        .list_enti()
        .await?
        .first()
        .map(|e| e.id.clone())
        .context("no ente")?;
    let log = store.access_log(&ente, Some(&session), None, 100).await?;
    let of = |action: AccessAction| -> Vec<String> {
        log.iter()
            .filter(|e| e.action == action)
            .map(|e| format!("{} {}", e.object, e.detail))
            .collect()
    };
    ensure!(
        of(AccessAction::Download)
            .iter()
            .any(|d| d.starts_with(&format!("{session}-v1.zip"))),
        "no download logged: {log:?}"
    );
    let signs = of(AccessAction::Sign);
    for code in [
        "refused: signature_digest_mismatch",
        "refused: signature_corrupt",
        "refused: signature_not_cms",
        "refused: signature_exists",
    ] {
        ensure!(
            signs.iter().any(|d| d.contains(code)),
            "{code} not logged: {signs:?}"
        );
    }
    ensure!(
        signs.iter().filter(|d| d.contains("accepted")).count() == 4,
        "{signs:?}"
    );

    // Version 2, with the signatures, delivered to both sinks.
    let report = wait_package(&s, Duration::from_secs(120), "v2 delivered", |r| {
        r["versions"][1]["deliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 2 && d.iter().all(|d| d["state"] == "delivered"))
    })
    .await?;
    eprintln!("v2 delivered after {:.1} s", begun.elapsed().as_secs_f64());
    let v2 = &report["versions"][1];
    ensure!(v2["signatures"].as_array().map(Vec::len) == Some(4), "{v2}");
    let delivered = scratch.join("consegne").join(format!("{session}-v2.zip"));
    let zip2 = std::fs::read(&delivered).context("the folder sink has no v2")?;
    ensure!(
        std::fs::read_to_string(
            scratch
                .join("consegne")
                .join(format!("{session}-v2.zip.hash"))
        )? == sha256_hex(&zip2),
        "the folder's .hash"
    );
    ensure!(
        !scratch
            .join("consegne")
            .join(format!("{session}-v1.zip"))
            .exists(),
        "v1 was delivered before the signatures"
    );
    {
        let inbox = inbox.lock().map_err(|_| anyhow::anyhow!("inbox lock"))?;
        ensure!(
            inbox.refused.is_empty(),
            "the receiver refused: {:?}",
            inbox.refused
        );
        ensure!(
            inbox.stored.len() == 1,
            "{} packages received",
            inbox.stored.len()
        );
        let (version, body) = inbox.stored.values().next().context("nothing received")?;
        ensure!(
            version == "2" && *body == zip2,
            "the webhook got another package"
        );
    }

    // The delivered package, checked again, with the signatures verified by openssl.
    let v2_dir = scratch.join("v2");
    let manifest = check_package(&delivered, &v2_dir)?;
    ensure!(
        manifest["version"] == 2,
        "manifest version {}",
        manifest["version"]
    );
    ensure!(
        std::fs::read(v2_dir.join(VERBALE))? == pdf_bytes,
        "the verbale in v2 is not the one signed"
    );
    for file in [MP4, VERBALE] {
        ensure!(
            verifica(&manifest, file) == Some(true),
            "{file} not marked signed"
        );
        for role in ["presidente", "segretario"] {
            let sig = format!("{file}.{role}.p7s");
            ensure!(
                verifica(&manifest, &sig) == Some(true),
                "{sig} not listed as a signature"
            );
            pki.verify(&v2_dir.join(&sig), &v2_dir.join(file))?;
            let tsr = format!("{sig}.tsr");
            ensure!(
                marcatura(&manifest, &tsr) == Some(true)
                    && marcatura(&manifest, &sig) == Some(true),
                "{tsr} not marked MarcaturaTemporale"
            );
            pki.verify_timestamp(&v2_dir.join(&tsr), &v2_dir.join(&sig))?;
        }
    }

    s.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!("whole test: {:.1} s", begun.elapsed().as_secs_f64());
    Ok(())
}
