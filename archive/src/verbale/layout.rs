//! Lays the verbale's blocks out on A4 pages: wrapped lines, ruled blanks, the
//! signature places and page numbers. Pure geometry; `pdf.rs` draws it.

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use super::content::Block;

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
/// A4 in points.
pub const PAGE_H: f32 = 841.89;
const LEFT: f32 = 64.0;
const RIGHT: f32 = PAGE_W - 64.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = PAGE_H - 80.0;
const BODY: f32 = 10.5;
const BODY_LINE: f32 = 14.0;

/// One thing to draw, in points from the page's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub enum Draw {
    /// Text on a baseline at `y`.
    Text {
        /// Left edge.
        x: f32,
        /// Baseline.
        y: f32,
        /// Font size.
        size: f32,
        /// Bold or regular.
        bold: bool,
        /// The text.
        text: String,
    },
    /// A horizontal rule (a blank to write on).
    Rule {
        /// Start.
        x1: f32,
        /// End.
        x2: f32,
        /// Height.
        y: f32,
    },
}

/// Measures text with a font's advance widths (no kerning: a wrapped line may end a
/// little short, never overflow by more than kerning would take back).
pub struct Measure {
    font: FontRef<'static>,
    upem: f32,
}

impl Measure {
    /// A measure for the font `data`; `None` when it is not a font.
    pub fn new(data: &'static [u8]) -> Option<Self> {
        let font = FontRef::new(data).ok()?;
        let upem = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        (upem > 0.0).then_some(Self { font, upem })
    }

    /// `text` with every character the font has no glyph for replaced by `?`: PDF/A
    /// forbids drawing the missing-glyph box, and a name in another script must not
    /// stop the verbale from being made.
    pub fn drawable(&self, text: &str) -> String {
        let charmap = self.font.charmap();
        text.chars()
            .map(|c| if charmap.map(c).is_some() { c } else { '?' })
            .collect()
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let charmap = self.font.charmap();
        let metrics = self
            .font
            .glyph_metrics(Size::unscaled(), LocationRef::default());
        let units: f32 = text
            .chars()
            .map(|c| {
                let gid = charmap.map(c).unwrap_or_default();
                metrics.advance_width(gid).unwrap_or(0.0)
            })
            .sum();
        units / self.upem * size
    }
}

/// The regular and bold measures.
pub struct Measures {
    /// DejaVu Sans.
    pub regular: Measure,
    /// DejaVu Sans Bold.
    pub bold: Measure,
}

impl Measures {
    /// The measure of the regular or the bold face.
    pub fn of(&self, bold: bool) -> &Measure {
        if bold { &self.bold } else { &self.regular }
    }
}

/// Splits `text` into lines no wider than `width`; a word longer than a line (a
/// hash) is cut where it must be.
pub fn wrap(m: &Measure, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if m.width(&candidate, size) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            line.push(c);
            if m.width(&line, size) > width {
                line.pop();
                lines.push(std::mem::replace(&mut line, c.to_string()));
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

struct Pager<'a> {
    m: &'a Measures,
    pages: Vec<Vec<Draw>>,
    y: f32,
}

impl Pager<'_> {
    fn page(&mut self) -> &mut Vec<Draw> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page unless `height` still fits on this one.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    fn lines(&mut self, text: &str, x: f32, size: f32, line: f32, bold: bool) {
        for l in wrap(self.m.of(bold), text, size, RIGHT - x) {
            self.room(line);
            let y = self.y + size;
            self.page().push(Draw::Text {
                x,
                y,
                size,
                bold,
                text: l,
            });
            self.y += line;
        }
    }

    fn rule(&mut self, x1: f32, x2: f32, gap: f32) {
        self.room(gap);
        self.y += gap;
        let y = self.y;
        self.page().push(Draw::Rule { x1, x2, y });
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Title(t) => {
                self.lines(t, LEFT, 15.0, 20.0, true);
                self.y += 4.0;
            }
            Block::Heading(t) => {
                // Keep a heading with at least two lines of what follows.
                self.room(10.0 + 16.0 + 2.0 * BODY_LINE);
                self.y += 10.0;
                self.lines(t, LEFT, 12.0, 16.0, true);
                self.y += 2.0;
            }
            Block::Paragraph(t) => {
                self.lines(t, LEFT, BODY, BODY_LINE, false);
                self.y += 5.0;
            }
            Block::Item(t) => {
                self.room(BODY_LINE);
                let y = self.y + BODY;
                self.page().push(Draw::Text {
                    x: LEFT + 8.0,
                    y,
                    size: BODY,
                    bold: false,
                    text: "–".into(),
                });
                self.lines(t, LEFT + 20.0, BODY, BODY_LINE, false);
                self.y += 2.0;
            }
            Block::Blank { label, lines } => {
                self.lines(label, LEFT, BODY, BODY_LINE, false);
                for _ in 0..*lines {
                    self.rule(LEFT, RIGHT, 20.0);
                }
                self.y += 8.0;
            }
            Block::Signatures(places) => self.signatures(places),
        }
    }

    fn signatures(&mut self, places: &[(String, String)]) {
        self.room(110.0);
        self.y += 16.0;
        let column = (RIGHT - LEFT) / places.len().max(1) as f32;
        let top = self.y;
        for (i, (role, name)) in places.iter().enumerate() {
            let x = LEFT + column * i as f32;
            let texts = [
                (top + 12.0, 11.0, true, role.as_str()),
                (top + 28.0, BODY, false, name.as_str()),
                (top + 86.0, 8.5, false, "(firma digitale)"),
            ];
            for (y, size, bold, text) in texts {
                self.page().push(Draw::Text {
                    x,
                    y,
                    size,
                    bold,
                    text: text.to_owned(),
                });
            }
            self.page().push(Draw::Rule {
                x1: x,
                x2: x + column - 24.0,
                y: top + 72.0,
            });
        }
        self.y = top + 96.0;
    }
}

/// The pages of `blocks`, each numbered "Pagina n di N" at the foot.
pub fn layout(m: &Measures, blocks: &[Block]) -> Vec<Vec<Draw>> {
    let mut pager = Pager {
        m,
        pages: vec![Vec::new()],
        y: TOP,
    };
    for b in blocks {
        pager.block(b);
    }
    let total = pager.pages.len();
    for (i, page) in pager.pages.iter_mut().enumerate() {
        let text = format!("Pagina {} di {total}", i + 1);
        let x = RIGHT - m.regular.width(&text, 8.5);
        page.push(Draw::Text {
            x,
            y: PAGE_H - 40.0,
            size: 8.5,
            bold: false,
            text,
        });
    }
    pager.pages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measures() -> Measures {
        Measures {
            regular: Measure::new(dejavu::sans::regular()).expect("font"),
            bold: Measure::new(dejavu::sans::bold()).expect("font"),
        }
    }

    #[test]
    fn lines_wrap_within_the_margins_and_long_words_are_cut() {
        let m = measures();
        let text =
            "Il giorno dodici marzo duemilaventisei si è riunita la Giunta comunale ".repeat(5);
        let lines = wrap(&m.regular, &text, BODY, 300.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| m.regular.width(l, BODY) <= 300.0));
        let joined = lines.join(" ");
        assert_eq!(
            joined.split_whitespace().count(),
            text.split_whitespace().count()
        );
        let hash = "a".repeat(200);
        let cut = wrap(&m.regular, &hash, BODY, 300.0);
        assert!(cut.len() > 1);
        assert_eq!(cut.concat(), hash);
    }

    #[test]
    fn long_documents_flow_onto_numbered_pages() {
        let m = measures();
        let blocks: Vec<Block> = (0..200)
            .map(|i| Block::Paragraph(format!("Paragrafo {i}")))
            .collect();
        let pages = layout(&m, &blocks);
        assert!(pages.len() > 2);
        for (i, page) in pages.iter().enumerate() {
            let footer = format!("Pagina {} di {}", i + 1, pages.len());
            assert!(
                page.iter()
                    .any(|d| matches!(d, Draw::Text { text, .. } if *text == footer))
            );
            for d in page {
                if let Draw::Text { y, .. } = d {
                    assert!(*y <= PAGE_H - 40.0 + 0.01);
                }
            }
        }
    }
}
