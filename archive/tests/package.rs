//! Builds the package of a realistic session and checks it with tools that are not
//! ours: unzip, sha256sum, xmllint, pdftotext/pdfinfo/pdffonts, qpdf, ffprobe.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{media, record, run, settings};
use seduta_archive::package::{EntryKind, FileRole, SINCRO_NAMESPACE};
use seduta_archive::{Package, PackageError};
use serde_json::Value;

/// A writer that cannot seek: the zip must stream.
#[derive(Debug)]
struct Pipe(Vec<u8>);

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_under(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, path);
            }
        }
    }
    out
}

fn build(tmp: &Path) -> Package {
    let files = media(tmp);
    Package::build(&record(), &files, &settings()).expect("package")
}

#[test]
fn the_zip_unpacks_to_the_folder_and_every_hash_matches() {
    let tmp = tempfile::tempdir().expect("tmp");
    let package = build(tmp.path());
    let folder = tmp.path().join("folder");
    package.write_folder(&folder).expect("folder");
    let Pipe(zip_bytes) = package.write_zip(Pipe(Vec::new())).expect("zip");
    let zip_path = tmp.path().join("seduta.zip");
    std::fs::write(&zip_path, &zip_bytes).expect("write zip");
    run(Command::new("unzip").arg("-tq").arg(&zip_path));
    let unzipped = tmp.path().join("unzipped");
    run(Command::new("unzip")
        .arg("-q")
        .arg(&zip_path)
        .arg("-d")
        .arg(&unzipped));

    let from_folder = files_under(&folder);
    let from_zip = files_under(&unzipped);
    assert_eq!(
        from_folder.keys().collect::<Vec<_>>(),
        from_zip.keys().collect::<Vec<_>>()
    );
    for (name, path) in &from_folder {
        assert_eq!(
            std::fs::read(path).expect("a"),
            std::fs::read(&from_zip[name]).expect("b"),
            "{name}"
        );
    }

    // Every file has a .hash beside it holding exactly sha256sum's digest.
    let content: Vec<&String> = from_zip.keys().filter(|n| !n.ends_with(".hash")).collect();
    assert_eq!(
        content.len() * 2,
        from_zip.len(),
        "one .hash per file and nothing else"
    );
    let mut sums = BTreeMap::new();
    for name in &content {
        let out = run(Command::new("sha256sum").arg(&from_zip[*name]));
        let digest = out.split_whitespace().next().expect("digest").to_owned();
        let hash_file = std::fs::read(&from_zip[&format!("{name}.hash")]).expect("hash");
        assert_eq!(
            hash_file,
            digest.as_bytes(),
            "{name}.hash: lowercase hex, no newline"
        );
        sums.insert((*name).clone(), digest);
    }

    // The manifest lists every file but itself and the index, with digest, size and format.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(&from_zip["manifest.json"]).expect("m"))
            .expect("json");
    let listed: BTreeMap<String, &Value> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["path"].as_str().expect("path").to_owned(), f))
        .collect();
    let expected: Vec<&String> = content
        .iter()
        .copied()
        .filter(|n| *n != "manifest.json" && *n != "sincro.xml")
        .collect();
    assert_eq!(listed.keys().collect::<Vec<_>>(), expected);
    for (name, f) in &listed {
        assert_eq!(f["sha256"].as_str(), Some(sums[name].as_str()), "{name}");
        let size = std::fs::metadata(&from_zip[name]).expect("meta").len();
        assert_eq!(f["size"].as_u64(), Some(size), "{name}");
        assert!(f["format"]["mime"].is_string(), "{name}");
        let md = &f["metadata"];
        for key in [
            "IdDoc",
            "ModalitaDiFormazione",
            "TipologiaDocumentale",
            "DatiDiRegistrazione",
            "Soggetti",
            "ChiaveDescrittiva",
            "Allegati",
            "Riservato",
            "IdentificativoDelFormato",
            "Verifica",
            "NomeDelDocumento",
            "VersioneDelDocumento",
            "TempoDiConservazione",
        ] {
            assert!(!md[key].is_null(), "{name}: metadata {key}");
        }
        assert_eq!(md["IdDoc"]["Impronta"].as_str(), Some(sums[name].as_str()));
        assert_eq!(md["IdDoc"]["Algoritmo"], "SHA-256");
        assert!(md["ChiaveDescrittiva"]["Oggetto"].is_string());
        assert!(md["Verifica"]["FirmatoDigitalmente"].is_boolean());
    }
    let verbale = &listed["verbale/bozza-verbale.pdf"]["metadata"];
    assert_eq!(
        verbale["Allegati"]["NumeroAllegati"].as_u64(),
        Some(expected.len() as u64 - 1)
    );
    assert_eq!(
        verbale["Note"].as_str().map(|n| n.contains("segretario")),
        Some(true)
    );

    // What is to be signed: the MP4 and the verbale, by the presiding member and the segretario.
    let to_sign: Vec<(&str, Vec<&str>)> = manifest["to_sign"]
        .as_array()
        .expect("to_sign")
        .iter()
        .map(|r| {
            (
                r["file"].as_str().expect("file"),
                r["signers"]
                    .as_array()
                    .expect("s")
                    .iter()
                    .map(|s| s["name"].as_str().expect("n"))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        to_sign,
        vec![
            (
                "verbale/bozza-verbale.pdf",
                vec!["Maria Rossi", "Giovanni Esposito"]
            ),
            (
                "registrazioni/seduta.mp4",
                vec!["Maria Rossi", "Giovanni Esposito"]
            ),
        ]
    );
    assert_eq!(manifest["attendance_log"]["sealed"], true);

    // The SInCRO index: well formed, in its namespace, listing every file with its digest.
    let sincro = &from_zip["sincro.xml"];
    run(Command::new("xmllint").arg("--noout").arg(sincro));
    let xpath = |expr: &str| run(Command::new("xmllint").args(["--xpath", expr]).arg(sincro));
    assert_eq!(xpath("namespace-uri(/*)").trim(), SINCRO_NAMESPACE);
    assert_eq!(xpath("local-name(/*)").trim(), "PIndex");
    for element in [
        "SelfDescription",
        "PVolume",
        "FileGroup",
        "Process",
        "Submitter",
        "Holder",
        "AuthorizedSigner",
        "TimeReference",
        "LawsAndRegulations",
    ] {
        let n = xpath(&format!(
            "count(//*[local-name()='{element}' and namespace-uri()='{SINCRO_NAMESPACE}'])"
        ));
        assert_eq!(n.trim(), "1", "{element}");
    }
    let indexed = content.len() - 1; // every file but the index itself
    let files = xpath(&format!(
        "count(//*[local-name()='File' and namespace-uri()='{SINCRO_NAMESPACE}'])"
    ));
    assert_eq!(files.trim(), indexed.to_string());
    for name in content.iter().filter(|n| **n != "sincro.xml") {
        let hash = xpath(&format!(
            "string(//*[local-name()='File'][*[local-name()='Path']='{name}']/*[local-name()='Hash'])"
        ));
        assert_eq!(hash.trim(), sums[*name], "{name} in sincro.xml");
    }

    // The preservation copy came through intact: H.264 High with FLAC, decodable.
    let probe = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,profile",
            "-of",
            "csv=p=0",
        ])
        .arg(&from_zip["registrazioni/seduta.mp4"]));
    assert!(probe.contains("h264,High"), "{probe}");
    assert!(probe.contains("flac"), "{probe}");
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(&from_zip["registrazioni/seduta.mp4"])
        .args(["-f", "null", "-"]));

    // The attendance log in the package verifies again, and its CSV has one row per entry.
    let jsonl = std::fs::read_to_string(&from_zip["registro/presenze.jsonl"]).expect("jsonl");
    let entries = seduta_archive::log::read_jsonl(&jsonl).expect("entries");
    assert!(
        seduta_archive::log::verify(&entries)
            .expect("verifies")
            .sealed
    );
    let csv = std::fs::read_to_string(&from_zip["registro/presenze.csv"]).expect("csv");
    assert_eq!(csv.lines().count(), entries.len() + 1);
}

#[test]
fn the_verbale_is_pdf_a_with_the_attendance_and_the_votes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let package = build(tmp.path());
    let entry = package.entry("verbale/bozza-verbale.pdf").expect("verbale");
    assert_eq!(entry.kind, EntryKind::Verbale);
    let pdf = tmp.path().join("verbale.pdf");
    std::fs::write(&pdf, entry.generated_bytes().expect("bytes")).expect("write");
    // To look at the verbale: ARCHIVE_KEEP_VERBALE=/some/file.pdf cargo test ...
    if let Some(keep) = std::env::var_os("ARCHIVE_KEEP_VERBALE") {
        std::fs::copy(&pdf, keep).expect("keep");
    }

    let text = run(Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-"));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "COMUNE DI CASTELNUOVO",
        "Verbale della seduta della Giunta comunale",
        "12 marzo 2026",
        "ore 10:00",
        "Palazzo comunale, sala della Giunta",
        "prima convocazione",
        "Presiede Maria Rossi (Sindaco)",
        "Giovanni Esposito (Segretario comunale)",
        "Giulia Verdi (Assessora all'istruzione): presente (da remoto)",
        "Luca Bianchi (Assessore al bilancio): presente (in presenza)",
        "Paolo Russo (Assessore ai lavori pubblici): assente",
        "Approvazione del piano esecutivo di gestione 2026",
        "Favorevoli (3): Maria Rossi, Luca Bianchi, Giulia Verdi",
        "Contrari (1): Paolo Russo",
        "Astenuti (1): Anna Ferrari",
        "la proposta è APPROVATA",
        "immediata eseguibilità",
        "IMMEDIATAMENTE ESEGUIBILE",
        "richiesti almeno 3 voti favorevoli",
        "Astensione obbligatoria (art. 78, comma 2, TUEL): Paolo Russo",
        "lascia la seduta alle ore 10:30 e vi rientra alle ore 10:40",
        "ore 10:42:10: disconnessione di Anna Ferrari",
        "ore 10:45:00: sospensione della seduta (verifica tecnica del collegamento)",
        "ripresa della seduta",
        "ore 11:00:00 (ripresa): presenti 5, richiesti 3: raggiunto",
        "la seduta è chiusa alle ore 11:30",
        "Carla Colombo (Dirigente area tecnica)",
        "Il Presidente",
        "Il Segretario",
        "(firma digitale)",
    ] {
        assert!(flat.contains(needle), "verbale lacks «{needle}»:\n{flat}");
    }

    // PDF/A-2b identification in the XMP metadata, as pdfinfo reads it.
    let meta = run(Command::new("pdfinfo").arg("-meta").arg(&pdf));
    let compact: String = meta.split_whitespace().collect();
    assert!(
        compact.contains("<pdfaid:part>2</pdfaid:part>") || compact.contains("pdfaid:part=\"2\""),
        "{meta}"
    );
    assert!(
        compact.contains("<pdfaid:conformance>B</pdfaid:conformance>")
            || compact.contains("pdfaid:conformance=\"B\""),
        "{meta}"
    );
    let info = run(Command::new("pdfinfo").arg(&pdf));
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("PDF version:"))
        .map(str::trim);
    assert_eq!(version, Some("1.7"), "{info}");
    // Every font embedded.
    let fonts = run(Command::new("pdffonts").arg(&pdf));
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type [type2] encoding emb sub uni object ID
        let emb = cols[cols.len() - 5];
        assert_eq!(emb, "yes", "font not embedded: {row}");
    }
    // Structure intact, and an sRGB output intent for PDF/A.
    run(Command::new("qpdf").arg("--check").arg(&pdf));
    let qdf = tmp.path().join("verbale.qdf");
    run(Command::new("qpdf")
        .args(["--qdf", "--object-streams=disable"])
        .arg(&pdf)
        .arg(&qdf));
    let raw = String::from_utf8_lossy(&std::fs::read(&qdf).expect("qdf")).into_owned();
    assert!(raw.contains("/OutputIntents"), "no output intent");
    assert!(raw.contains("/GTS_PDFA1"), "no PDF/A output intent subtype");
    assert!(!raw.contains("/Encrypt"), "PDF/A forbids encryption");
}

#[test]
fn bad_records_and_names_are_refused_with_their_codes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let files = media(tmp.path());

    let mut tampered = record();
    tampered.attendance_log[3].data = serde_json::json!({"vote": 1, "favorevoli": 4});
    let err = Package::build(&tampered, &files, &settings()).expect_err("tampered log");
    assert_eq!(err.code(), "record_log_broken");
    assert!(err.to_string().contains("entry 4"), "{err}");

    let mut unsealed = record();
    unsealed.attendance_log.pop();
    let err = Package::build(&unsealed, &files, &settings()).expect_err("unsealed");
    assert_eq!(err.code(), "record_log_unsealed");

    let mut miscounted = record();
    miscounted.items[0].votes[0].count.favorevoli = 4;
    let err = Package::build(&miscounted, &files, &settings()).expect_err("count");
    assert_eq!(err.code(), "record_count_mismatch");

    let mut stranger = record();
    stranger.items[0].votes[0].contrari = vec!["nobody".into()];
    let err = Package::build(&stranger, &files, &settings()).expect_err("stranger");
    assert_eq!(err.code(), "record_unknown_participant");

    let mut bad_time = record();
    bad_time.ended_at = "11.30".into();
    assert_eq!(
        Package::build(&bad_time, &files, &settings())
            .expect_err("time")
            .code(),
        "record_bad_time"
    );

    let mut escaping = files.clone();
    escaping[0].name = "../fuori.mp4".into();
    let err = Package::build(&record(), &escaping, &settings()).expect_err("name");
    assert!(matches!(err, PackageError::BadFileName { .. }));
    assert_eq!(err.code(), "package_bad_file_name");

    let mut clash = files.clone();
    clash[1].name = "manifest.json".into();
    assert_eq!(
        Package::build(&record(), &clash, &settings())
            .expect_err("dup")
            .code(),
        "package_duplicate_name"
    );

    let mut missing = files.clone();
    missing[0].source = tmp.path().join("non-esiste.mp4");
    assert_eq!(
        Package::build(&record(), &missing, &settings())
            .expect_err("io")
            .code(),
        "package_io"
    );

    // A carried file changed after the package was built: writing stops.
    let package = Package::build(&record(), &files, &settings()).expect("package");
    let register = files
        .iter()
        .find(|f| f.role == FileRole::MigrationRegister)
        .expect("register");
    std::fs::write(&register.source, b"{\"migrations\":[]}").expect("change");
    let err = package.write_zip(Pipe(Vec::new())).expect_err("changed");
    assert_eq!(err.code(), "package_file_changed");

    // A folder that already holds something is not written into.
    let busy = tmp.path().join("busy");
    std::fs::create_dir_all(&busy).expect("dir");
    std::fs::write(busy.join("x"), b"x").expect("x");
    assert_eq!(
        package.write_folder(&busy).expect_err("busy").code(),
        "package_folder_not_empty"
    );
    assert_eq!(std::fs::read_dir(&busy).expect("ls").count(), 1);
}
