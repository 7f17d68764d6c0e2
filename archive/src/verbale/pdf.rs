use krilla::Document;
use krilla::SerializeSettings;
use krilla::color::rgb;
use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

use super::VerbaleError;
use super::content::Block;
use super::layout::{Draw, Measure, Measures, PAGE_H, PAGE_W, layout};

fn creation_date(created_at: &str) -> Option<DateTime> {
    let t = crate::time::parse_time(created_at)?;
    let (h, m, _) = t.offset().as_hms();
    Some(
        DateTime::new(u16::try_from(t.year()).ok()?)
            .month(u8::from(t.month()))
            .day(t.day())
            .hour(t.hour())
            .minute(t.minute())
            .second(t.second())
            .utc_offset_hour(h)
            .utc_offset_minute(m.unsigned_abs()),
    )
}

/// `blocks` as a PDF/A-2b document titled `title`. krilla checks the PDF/A-2b
/// rules it can (fonts embedded, device-independent colour with an output intent,
/// XMP metadata with `pdfaid`) and refuses to write a document that breaks them.
pub fn render_blocks(
    blocks: &[Block],
    title: &str,
    created_at: &str,
) -> Result<Vec<u8>, VerbaleError> {
    let regular_data = dejavu::sans::regular();
    let bold_data = dejavu::sans::bold();
    let measures = Measures {
        regular: Measure::new(regular_data).ok_or(VerbaleError::Font)?,
        bold: Measure::new(bold_data).ok_or(VerbaleError::Font)?,
    };
    let regular = Font::new(regular_data.into(), 0).ok_or(VerbaleError::Font)?;
    let bold = Font::new(bold_data.into(), 0).ok_or(VerbaleError::Font)?;
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| VerbaleError::Pdf(format!("{e:?}")))?;
    let mut document = Document::new_with(SerializeSettings {
        configuration,
        ..SerializeSettings::default()
    });
    let mut metadata = Metadata::new()
        .title(title.to_owned())
        .language("it".into())
        .creator(format!("Seduta {}", env!("CARGO_PKG_VERSION")));
    if let Some(date) = creation_date(created_at) {
        metadata = metadata.creation_date(date);
    }
    document.set_metadata(metadata);
    let black = rgb::Color::new(0, 0, 0);
    for page_draws in layout(&measures, blocks) {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| VerbaleError::Pdf("page size".into()))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for draw in page_draws {
            match draw {
                Draw::Text {
                    x,
                    y,
                    size,
                    bold: is_bold,
                    text,
                } => {
                    surface.set_fill(Some(Fill {
                        paint: black.into(),
                        ..Fill::default()
                    }));
                    surface.set_stroke(None);
                    let font = if is_bold {
                        bold.clone()
                    } else {
                        regular.clone()
                    };
                    let text = measures.of(is_bold).drawable(&text);
                    surface.draw_text(
                        Point::from_xy(x, y),
                        font,
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Draw::Rule { x1, x2, y } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(x1, y);
                    pb.line_to(x2, y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: black.into(),
                            width: 0.6,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| VerbaleError::Pdf(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_the_font_cannot_draw_does_not_stop_the_pdf_a() {
        let blocks = vec![
            Block::Title("Verbale".into()),
            Block::Paragraph("Presente: 李小龍 (ospite), Ζωή Παπαδοπούλου, Ёлка — ok".into()),
            Block::Signatures(vec![("Il Presidente".into(), "李".into())]),
        ];
        let pdf = render_blocks(&blocks, "prova", "2026-03-12T12:00:00+01:00").expect("pdf/a");
        assert!(pdf.starts_with(b"%PDF-1.7"));
    }
}
