//! The chapters as TTML (IMSC1 text profile): one `<p>` per chapter, timed in clock time
//! on the recording's timeline. Written with quick-xml.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::error::ChapterError;
use super::list::ChapterList;
use super::marker::ChapterKind;

/// The TTML namespace.
pub const TTML_NS: &str = "http://www.w3.org/ns/ttml";
/// The TTML parameter namespace (`ttp:`).
pub const TTML_PARAMETER_NS: &str = "http://www.w3.org/ns/ttml#parameter";
/// The TTML styling namespace (`tts:`).
pub const TTML_STYLING_NS: &str = "http://www.w3.org/ns/ttml#styling";
/// The TTML metadata namespace (`ttm:`).
pub const TTML_METADATA_NS: &str = "http://www.w3.org/ns/ttml#metadata";
/// The IMSC1 text profile's designator.
pub const IMSC1_TEXT_PROFILE: &str = "http://www.w3.org/ns/ttml/profile/imsc1/text";

/// A time on the timeline as TTML clock time, `hh:mm:ss.fff`.
pub fn clock_time(ms: u64) -> String {
    let hours = ms / 3_600_000;
    let minutes = ms / 60_000 % 60;
    let seconds = ms / 1000 % 60;
    let millis = ms % 1000;
    format!("{hours:02}:{minutes:02}:{seconds:02}.{millis:03}")
}

/// A chapter's kind as a `ttm:role` extension value (`x-` names are TTML's extension
/// roles), so that a reader of the TTML alone can tell items, votes and suspensions.
fn role(kind: ChapterKind) -> &'static str {
    match kind {
        ChapterKind::AgendaItem => "x-agenda-item",
        ChapterKind::Vote => "x-vote",
        ChapterKind::Suspension => "x-suspension",
        ChapterKind::Speaker => "x-speaker",
    }
}

fn xml_error(e: std::io::Error) -> ChapterError {
    ChapterError::Xml(e.to_string())
}

impl ChapterList {
    /// The chapters as a TTML document (IMSC1 text profile, `xml:lang="it"`, media
    /// time base, clock-time expressions): one `<p>` per chapter, with its id, its
    /// span, its kind as `ttm:role` and its title as text.
    pub fn to_ttml(&self) -> Result<String, ChapterError> {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        writer
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .map_err(xml_error)?;
        writer
            .create_element("tt")
            .with_attributes([
                ("xmlns", TTML_NS),
                ("xmlns:ttp", TTML_PARAMETER_NS),
                ("xmlns:tts", TTML_STYLING_NS),
                ("xmlns:ttm", TTML_METADATA_NS),
                ("xml:lang", "it"),
                ("ttp:profile", IMSC1_TEXT_PROFILE),
                ("ttp:timeBase", "media"),
                ("ttp:cellResolution", "32 15"),
            ])
            .write_inner_content(|w| {
                self.write_head(w)?;
                self.write_body(w)
            })
            .map_err(xml_error)?;
        let mut text =
            String::from_utf8(writer.into_inner()).map_err(|e| ChapterError::Xml(e.to_string()))?;
        text.push('\n');
        Ok(text)
    }

    fn write_head(&self, w: &mut Writer<Vec<u8>>) -> std::io::Result<()> {
        let description = format!(
            "Capitoli della registrazione iniziata il {} (UTC); durata {}",
            self.recording_start,
            clock_time(self.duration_ms)
        );
        w.create_element("head").write_inner_content(|w| {
            w.create_element("metadata").write_inner_content(|w| {
                w.create_element("ttm:title")
                    .write_text_content(BytesText::new("Capitoli della seduta"))?;
                w.create_element("ttm:desc")
                    .write_text_content(BytesText::new(&description))?;
                Ok(())
            })?;
            w.create_element("styling").write_inner_content(|w| {
                w.create_element("style")
                    .with_attributes([
                        ("xml:id", "capitolo"),
                        ("tts:color", "white"),
                        ("tts:backgroundColor", "black"),
                        ("tts:fontFamily", "proportionalSansSerif"),
                        ("tts:fontSize", "100%"),
                        ("tts:textAlign", "center"),
                    ])
                    .write_empty()?;
                Ok(())
            })?;
            w.create_element("layout").write_inner_content(|w| {
                w.create_element("region")
                    .with_attributes([
                        ("xml:id", "basso"),
                        ("tts:origin", "10% 80%"),
                        ("tts:extent", "80% 15%"),
                        ("tts:displayAlign", "after"),
                    ])
                    .write_empty()?;
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(())
    }

    fn write_body(&self, w: &mut Writer<Vec<u8>>) -> std::io::Result<()> {
        w.create_element("body")
            .with_attributes([("region", "basso"), ("style", "capitolo")])
            .write_inner_content(|w| {
                w.create_element("div").write_inner_content(|w| {
                    for chapter in &self.chapters {
                        let begin = clock_time(chapter.start_ms);
                        let end = clock_time(chapter.end_ms);
                        w.create_element("p")
                            .with_attributes([
                                ("xml:id", chapter.id.as_str()),
                                ("begin", begin.as_str()),
                                ("end", end.as_str()),
                                ("ttm:role", role(chapter.kind)),
                            ])
                            .write_text_content(BytesText::new(&chapter.title))?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::clock_time;

    #[test]
    fn clock_times() {
        assert_eq!(clock_time(0), "00:00:00.000");
        assert_eq!(clock_time(61_005), "00:01:01.005");
        assert_eq!(clock_time(3_600_000 * 27 + 59_999), "27:00:59.999");
    }
}
