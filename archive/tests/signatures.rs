//! Detached CAdES signatures made by an independent signer (Debian's openssl, with
//! certificates made here) are accepted with signer and time; bad uploads are
//! refused with their codes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::run;
use seduta_archive::signature::{SignatureError, TrustList, verify_detached};

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Self {
        let pki = Pki {
            dir: dir.to_owned(),
        };
        std::fs::write(
            pki.path("signer.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\n",
        )
        .expect("ext");
        pki.ca(
            "ca",
            "/C=IT/O=Prestatore di prova/CN=CA qualificata di prova",
        );
        pki.ca("other-ca", "/C=IT/O=Altro/CN=CA estranea");
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.current_dir(&self.dir);
        c
    }

    fn ca(&self, name: &str, subject: &str) {
        run(self.openssl().args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]));
    }

    /// A signer's key (`rsa:2048` or `ec`) and certificate issued by `ca`.
    fn signer(&self, name: &str, key: &str, subject: &str, ca: &str) {
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
        ]));
        run(self.openssl().args([
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "365",
            "-sha256",
            "-extfile",
            "signer.ext",
            "-out",
            &format!("{name}.pem"),
        ]));
    }

    /// Signs `file` detached as `name` would, returning the .p7s bytes.
    fn sign(&self, name: &str, file: &Path, extra: &[&str]) -> Vec<u8> {
        let out = self.path(&format!(
            "{name}-{}.p7s",
            extra.join("").replace(['-', ':'], "")
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
            ])
            .args(["-outform", "DER"])
            .args(extra)
            .arg("-out")
            .arg(&out));
        std::fs::read(out).expect("p7s")
    }

    fn trust(&self, ca: &str) -> TrustList {
        TrustList::from_pem(&std::fs::read(self.path(&format!("{ca}.pem"))).expect("ca"))
            .expect("trust")
    }
}

fn setup() -> (tempfile::TempDir, Pki, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let pki = Pki::new(tmp.path());
    pki.signer(
        "rossi",
        "rsa:2048",
        "/C=IT/GN=Maria/SN=Rossi/serialNumber=TINIT-RSSMRA80A41H501U/CN=Maria Rossi",
        "ca",
    );
    pki.signer(
        "esposito",
        "ec",
        "/C=IT/serialNumber=TINIT-SPSGNN70B01F205X/CN=Giovanni Esposito",
        "ca",
    );
    let file = tmp.path().join("verbale.pdf");
    std::fs::write(&file, b"%PDF-1.7 the verbale to be signed\n".repeat(1000)).expect("file");
    let other = tmp.path().join("altro.pdf");
    std::fs::write(&other, b"%PDF-1.7 another document\n").expect("other");
    (tmp, pki, file, other)
}

fn open(path: &Path) -> std::fs::File {
    std::fs::File::open(path).expect("open")
}

#[test]
fn good_signatures_are_accepted_with_signer_and_time() {
    let (_tmp, pki, file, _) = setup();
    let before = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);

    // RSA PKCS#1 v1.5, DER, trusted.
    let p7s = pki.sign("rossi", &file, &[]);
    let report = verify_detached(&p7s, open(&file), &pki.trust("ca")).expect("rsa");
    let s = &report.signers[0];
    assert_eq!(s.signer.common_name.as_deref(), Some("Maria Rossi"));
    assert_eq!(s.signer.fiscal_code.as_deref(), Some("RSSMRA80A41H501U"));
    assert_eq!(s.signer.surname.as_deref(), Some("Rossi"));
    assert_eq!(s.algorithm, "RSA PKCS#1 v1.5 SHA-256");
    assert_eq!(s.trusted, Some(true));
    let signed_at = time::OffsetDateTime::parse(
        s.signing_time.as_deref().expect("signing time"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc 3339");
    assert!(signed_at >= before, "{signed_at}");
    let sha = run(Command::new("sha256sum").arg(&file));
    assert_eq!(
        Some(report.file_sha256.as_str()),
        sha.split_whitespace().next()
    );

    // The signer named by subject key identifier instead of issuer and serial.
    let by_key_id = pki.sign("rossi", &file, &["-keyid"]);
    let report = verify_detached(&by_key_id, open(&file), &pki.trust("ca")).expect("keyid");
    assert_eq!(
        report.signers[0].signer.common_name.as_deref(),
        Some("Maria Rossi")
    );

    // RSA-PSS.
    let pss = pki.sign("rossi", &file, &["-keyopt", "rsa_padding_mode:pss"]);
    let report = verify_detached(&pss, open(&file), &TrustList::none()).expect("pss");
    assert_eq!(report.signers[0].algorithm, "RSA-PSS SHA-256");
    assert_eq!(report.signers[0].trusted, None);

    // ECDSA P-256, uploaded as PEM.
    let ec_pem = {
        let der = pki.sign("esposito", &file, &[]);
        let der_path = pki.path("esposito-for-pem.p7s");
        std::fs::write(&der_path, der).expect("write");
        run(pki
            .openssl()
            .args(["cms", "-cmsout", "-inform", "DER", "-outform", "PEM", "-in"])
            .arg(&der_path))
        .into_bytes()
    };
    assert!(ec_pem.starts_with(b"-----BEGIN CMS-----"));
    let report = verify_detached(&ec_pem, open(&file), &pki.trust("ca")).expect("ecdsa");
    let s = &report.signers[0];
    assert_eq!(s.signer.common_name.as_deref(), Some("Giovanni Esposito"));
    assert_eq!(s.signer.fiscal_code.as_deref(), Some("SPSGNN70B01F205X"));
    assert_eq!(s.algorithm, "ECDSA P-256 SHA-256");
    assert_eq!(s.trusted, Some(true));
}

fn code(
    result: Result<seduta_archive::signature::SignatureReport, SignatureError>,
) -> &'static str {
    result.expect_err("must be refused").code()
}

#[test]
fn bad_uploads_are_refused_with_their_codes() {
    let (_tmp, pki, file, other) = setup();
    let p7s = pki.sign("rossi", &file, &[]);
    let none = TrustList::none();

    // Another file's signature.
    assert_eq!(
        code(verify_detached(&p7s, open(&other), &none)),
        "signature_digest_mismatch"
    );

    // A file that is not a signature at all: the PDF itself, a certificate, nothing.
    let pdf = std::fs::read(&file).expect("pdf");
    assert_eq!(
        code(verify_detached(&pdf, open(&file), &none)),
        "signature_not_cms"
    );
    let cert = std::fs::read(pki.path("rossi.pem")).expect("pem");
    assert_eq!(
        code(verify_detached(&cert, open(&file), &none)),
        "signature_not_cms"
    );
    assert_eq!(
        code(verify_detached(b"", open(&file), &none)),
        "signature_not_cms"
    );

    // A corrupt .p7s: cut short.
    let cut = &p7s[..p7s.len() / 2];
    assert_eq!(
        code(verify_detached(cut, open(&file), &none)),
        "signature_corrupt"
    );

    // A signature that does not verify: one bit of the signature value flipped
    // (the value is the last thing in a signer info without unsigned attributes).
    let mut flipped = p7s.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    assert_eq!(
        code(verify_detached(&flipped, open(&file), &none)),
        "signature_invalid"
    );

    // An enveloping signature (.p7m) where a detached one is expected.
    let attached = pki.sign("rossi", &file, &["-nodetach"]);
    assert_eq!(
        code(verify_detached(&attached, open(&file), &none)),
        "signature_not_detached"
    );

    // An untrusted signer: the trust list holds another CA only.
    assert_eq!(
        code(verify_detached(&p7s, open(&file), &pki.trust("other-ca"))),
        "signature_untrusted"
    );
    // A self-made certificate with the same name is not trusted either.
    pki.ca(
        "fake",
        "/C=IT/O=Prestatore di prova/CN=CA qualificata di prova",
    );
    pki.signer(
        "impostor",
        "rsa:2048",
        "/C=IT/serialNumber=TINIT-RSSMRA80A41H501U/CN=Maria Rossi",
        "fake",
    );
    let forged = pki.sign("impostor", &file, &[]);
    assert_eq!(
        code(verify_detached(&forged, open(&file), &pki.trust("ca"))),
        "signature_untrusted"
    );
    // ...though without a trust list it is reported, as the check asks for no more.
    let report = verify_detached(&forged, open(&file), &none).expect("untrusted mode");
    assert_eq!(report.signers[0].trusted, None);
}
