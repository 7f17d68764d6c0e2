//! RFC 3161 timestamps over a signature value, answered by an independent TSA
//! (Debian's `openssl ts -reply`, with a TSA certificate made here): the response is
//! accepted with its time and checked (imprint, nonce, signature, chain); the same
//! `.tsr` verifies with `openssl ts -verify`; garbage, another imprint, another
//! nonce, an altered token and a foreign trust list are refused with their codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use seduta_archive::signature::TrustList;
use seduta_archive::timestamp::{check_response, request, signature_imprint};

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("running openssl");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Tsa {
    dir: PathBuf,
}

impl Tsa {
    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.current_dir(&self.dir);
        c
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn new(dir: &Path) -> Self {
        let t = Tsa {
            dir: dir.to_owned(),
        };
        for ca in ["ca", "other-ca"] {
            run(t.openssl().args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/C=IT/O=Prova/CN={ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]));
        }
        std::fs::write(
            t.path("tsa.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n",
        )
        .expect("ext");
        run(t.openssl().args([
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
            "/C=IT/O=Prova/CN=TSA di prova",
        ]));
        run(t.openssl().args([
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
        ]));
        std::fs::write(t.path("tsaserial"), "01\n").expect("serial");
        std::fs::write(
            t.path("ts.cnf"),
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = $dir/tsaserial\n\
             crypto_device = builtin\nsigner_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\n\
             signer_key = $dir/tsa.key\nsigner_digest = sha256\n\
             default_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256\naccuracy = secs:1\n\
             ordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
        )
        .expect("config");
        t
    }

    /// `openssl ts -reply` to the DER request `query`.
    fn reply(&self, query: &[u8]) -> Vec<u8> {
        std::fs::write(self.path("q.tsq"), query).expect("query");
        run(self.openssl().args([
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-queryfile",
            "q.tsq",
            "-out",
            "r.tsr",
        ]));
        std::fs::read(self.path("r.tsr")).expect("reply")
    }

    /// A detached signature by the TSA's key (any signer will do for the imprint).
    fn p7s(&self) -> Vec<u8> {
        std::fs::write(self.path("doc.txt"), "verbale").expect("doc");
        run(self.openssl().args([
            "cms", "-sign", "-binary", "-md", "sha256", "-in", "doc.txt", "-signer", "ca.pem",
            "-inkey", "ca.key", "-outform", "DER", "-out", "doc.p7s",
        ]));
        std::fs::read(self.path("doc.p7s")).expect("p7s")
    }

    fn trust(&self, ca: &str) -> TrustList {
        TrustList::from_pem(&std::fs::read(self.path(ca)).expect("ca")).expect("trust")
    }
}

#[test]
fn a_timestamp_over_the_signature_value_is_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tsa = Tsa::new(dir.path());
    let p7s = tsa.p7s();
    let imprint = signature_imprint(&p7s).expect("imprint");

    // The imprint is the SHA-256 of the SignerInfo's signature value, as openssl's
    // own parse shows it (the last OCTET STRING of a signature without unsigned
    // attributes).
    let parsed = run(tsa
        .openssl()
        .args(["asn1parse", "-inform", "DER", "-in", "doc.p7s"]));
    let value = parsed
        .lines()
        .rev()
        .find_map(|l| l.split("OCTET STRING      [HEX DUMP]:").nth(1))
        .expect("signature value");
    let bytes = hex::decode(value.trim()).expect("hex");
    use sha2::Digest;
    assert_eq!(imprint.to_vec(), sha2::Sha256::digest(&bytes).to_vec());

    let nonce = 0x8123_4567_89ab_cdef;
    let response = tsa.reply(&request(&imprint, nonce).expect("request"));
    let report = check_response(&response, &imprint, Some(nonce), &tsa.trust("ca.pem"))
        .expect("the timestamp is accepted");
    assert_eq!(report.trusted, Some(true));
    assert!(report.tsa.contains("TSA di prova"), "{report:?}");
    assert_eq!(report.policy, "1.3.6.1.4.1.99999.1");
    assert!(report.time.ends_with('Z'), "{}", report.time);
    let report = check_response(&response, &imprint, Some(nonce), &TrustList::none())
        .expect("without a trust list");
    assert_eq!(report.trusted, None);

    // The same response verifies independently.
    run(tsa.openssl().args([
        "ts",
        "-verify",
        "-in",
        "r.tsr",
        "-digest",
        &hex::encode(imprint),
        "-CAfile",
        "ca.pem",
        "-untrusted",
        "tsa.pem",
    ]));

    // Refusals.
    let code = |r: Result<_, seduta_archive::timestamp::TimestampError>| r.unwrap_err().code();
    assert_eq!(
        code(check_response(
            b"<html>",
            &imprint,
            Some(nonce),
            &TrustList::none()
        )),
        "timestamp_corrupt"
    );
    assert_eq!(
        code(check_response(
            &response,
            &[9; 32],
            Some(nonce),
            &TrustList::none()
        )),
        "timestamp_imprint_mismatch"
    );
    assert_eq!(
        code(check_response(
            &response,
            &imprint,
            Some(nonce + 1),
            &TrustList::none()
        )),
        "timestamp_nonce_mismatch"
    );
    assert_eq!(
        code(check_response(
            &response,
            &imprint,
            Some(nonce),
            &tsa.trust("other-ca.pem")
        )),
        "timestamp_untrusted"
    );
    // One flipped bit in the token's signature value (the response's last bytes).
    let mut altered = response.clone();
    let last = altered.len() - 5;
    altered[last] ^= 1;
    assert_eq!(
        code(check_response(
            &altered,
            &imprint,
            Some(nonce),
            &TrustList::none()
        )),
        "timestamp_invalid"
    );
    let truncated = &response[..response.len() / 2];
    assert_eq!(
        code(check_response(
            truncated,
            &imprint,
            Some(nonce),
            &TrustList::none()
        )),
        "timestamp_corrupt"
    );
}
