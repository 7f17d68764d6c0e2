//! `sincro.xml`: the archival index after UNI 11386 (SInCRO), listing every file of
//! the package with its SHA-256.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::entry::PackageEntry;
use super::input::PackageSettings;
use crate::record::SessionRecord;

/// The SInCRO namespace.
pub const NAMESPACE: &str = "http://www.uni.com/U3011/sincro-v2/";

type W = Writer<Vec<u8>>;

fn text(w: &mut W, name: &str, value: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

/// An agent (`Submitter`, `Holder`, `AuthorizedSigner`) named by its formal name.
fn agent(w: &mut W, element: &str, kind: &str, name: &str) -> io::Result<()> {
    w.create_element(element)
        .with_attribute(("sincro:type", kind))
        .write_inner_content(|w| {
            w.create_element("sincro:AgentName")
                .write_inner_content(|w| text(w, "sincro:FormalName", name))?;
            Ok(())
        })?;
    Ok(())
}

fn extension(name: &str) -> &str {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.rsplit_once('.').map_or("", |(_, ext)| ext)
}

/// The index of `entries` (every file of the package but the index itself and the
/// `.hash` files).
pub(crate) fn build(
    record: &SessionRecord,
    settings: &PackageSettings,
    entries: &[PackageEntry],
) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let signer = settings
        .authorized_signer
        .clone()
        .unwrap_or_else(|| record.name_of(&record.segretario).to_owned());
    w.create_element("sincro:PIndex")
        .with_attributes([
            ("xmlns:sincro", NAMESPACE),
            ("sincro:language", "it"),
            ("sincro:version", "2.0"),
        ])
        .write_inner_content(|w| {
            w.create_element("sincro:SelfDescription")
                .write_inner_content(|w| {
                    text(w, "sincro:ID", &format!("{}-pindex", record.session_id))?;
                    w.create_element("sincro:CreatingApplication")
                        .write_inner_content(|w| {
                            text(w, "sincro:Name", &settings.software.name)?;
                            text(w, "sincro:Version", &settings.software.version)?;
                            text(w, "sincro:Producer", &settings.software.producer)
                        })?;
                    Ok(())
                })?;
            w.create_element("sincro:PVolume")
                .write_inner_content(|w| {
                    text(w, "sincro:ID", &record.session_id)?;
                    text(
                        w,
                        "sincro:Label",
                        &format!(
                            "{} - {} - {}",
                            record.ente.name, record.organ.name, record.title
                        ),
                    )
                })?;
            w.create_element("sincro:FileGroup")
                .write_inner_content(|w| {
                    text(w, "sincro:Label", &format!("Seduta {}", record.session_id))?;
                    for e in entries {
                        w.create_element("sincro:File")
                            .with_attributes([
                                ("sincro:encoding", "binary"),
                                ("sincro:extension", extension(&e.name)),
                                ("sincro:format", e.format.mime.as_str()),
                            ])
                            .write_inner_content(|w| {
                                text(w, "sincro:ID", &format!("{}/{}", record.session_id, e.name))?;
                                text(w, "sincro:Path", &e.name)?;
                                w.create_element("sincro:Hash")
                                    .with_attribute(("sincro:function", "SHA-256"))
                                    .write_text_content(BytesText::new(&e.sha256))?;
                                Ok(())
                            })?;
                    }
                    Ok(())
                })?;
            w.create_element("sincro:Process")
                .write_inner_content(|w| {
                    agent(w, "sincro:Submitter", "organization", &settings.submitter)?;
                    agent(w, "sincro:Holder", "organization", &settings.holder)?;
                    agent(w, "sincro:AuthorizedSigner", "person", &signer)?;
                    w.create_element("sincro:TimeReference")
                        .write_inner_content(|w| text(w, "sincro:TimeInfo", &settings.built_at))?;
                    w.create_element("sincro:LawsAndRegulations")
                        .write_inner_content(|w| {
                            for law in &settings.laws {
                                text(w, "sincro:TextualReference", law)?;
                            }
                            Ok(())
                        })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}
