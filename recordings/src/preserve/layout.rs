//! The composite's grid: one tile per participant's camera (a black tile with the name
//! when there is no picture: audio only, not yet arrived, or gone) and one per screen
//! share, in order of first appearance.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::sidecars::{SidecarRecord, SourceKind};

/// One tile of the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// The participant it shows.
    pub participant: String,
    /// Whether it shows a screen share (otherwise the camera).
    pub screen: bool,
    /// Its label.
    pub label: String,
    /// Left edge, pixels.
    pub x: u32,
    /// Top edge, pixels.
    pub y: u32,
    /// Width, pixels (even).
    pub width: u32,
    /// Height, pixels (even).
    pub height: u32,
}

/// The tiles of a composite `width` x `height` for the participants of `sidecars`
/// (the mix left out), labelled from `names` (participant id → display name).
pub fn grid(
    sidecars: &[SidecarRecord],
    names: &BTreeMap<String, String>,
    width: u32,
    height: u32,
) -> Vec<Tile> {
    // (first start, participant, screen)
    let mut firsts: BTreeMap<(&str, bool), SystemTime> = BTreeMap::new();
    for sidecar in sidecars {
        let screen = match sidecar.kind {
            SourceKind::Mix => continue,
            SourceKind::Screen => true,
            SourceKind::Audio | SourceKind::Video => false,
        };
        if sidecar.participant.is_empty() {
            continue;
        }
        let start = sidecar.wall_clock_start();
        firsts
            .entry((sidecar.participant.as_str(), screen))
            .and_modify(|t| *t = (*t).min(start))
            .or_insert(start);
    }
    let mut order: Vec<((&str, bool), SystemTime)> = firsts.into_iter().collect();
    // A participant's screen share sits right after the camera tile.
    let camera_start: BTreeMap<&str, SystemTime> = order
        .iter()
        .filter(|((_, screen), _)| !screen)
        .map(|((p, _), t)| (*p, *t))
        .collect();
    order.sort_by_key(|((p, screen), t)| (camera_start.get(p).copied().unwrap_or(*t), *p, *screen));

    let n = u32::try_from(order.len()).unwrap_or(u32::MAX).max(1);
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(n);
    let rows = n.div_ceil(cols);
    let tile_w = width / cols / 2 * 2;
    let tile_h = height / rows / 2 * 2;
    let margin_x = (width - tile_w * cols) / 2;
    let margin_y = (height - tile_h * rows) / 2;
    order
        .into_iter()
        .enumerate()
        .map(|(i, ((participant, screen), _))| {
            let i = u32::try_from(i).unwrap_or(0);
            let name = names
                .get(participant)
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .unwrap_or(participant);
            Tile {
                participant: participant.to_owned(),
                screen,
                label: if screen {
                    format!("{name} (schermo)")
                } else {
                    name.to_owned()
                },
                x: margin_x + i % cols * tile_w,
                y: margin_y + i / cols * tile_h,
                width: tile_w,
                height: tile_h,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sidecar(participant: &str, kind: &str, start_s: u64) -> SidecarRecord {
        serde_json::from_value(serde_json::json!({
            "track": format!("{participant}-{kind}"), "file": "x.webm",
            "participant": participant, "kind": kind, "codec": "vp8",
            "wall_clock_start_unix_ns": u128::from(start_s) * 1_000_000_000,
        }))
        .expect("sidecar")
    }

    #[test]
    fn nine_participants_make_a_three_by_three_grid_in_order_of_arrival() {
        let sidecars: Vec<_> = (0..9)
            .rev()
            .map(|i| sidecar(&format!("p{i}"), "video", 100 + i))
            .collect();
        let names = BTreeMap::from([("p0".to_owned(), "Sindaca Anna".to_owned())]);
        let tiles = grid(&sidecars, &names, 1280, 720);
        assert_eq!(tiles.len(), 9);
        assert_eq!(tiles[0].label, "Sindaca Anna");
        assert_eq!(tiles[8].participant, "p8");
        assert_eq!((tiles[0].width, tiles[0].height), (426, 240));
        assert_eq!((tiles[4].x, tiles[4].y), (1 + 426, 240));
    }

    #[test]
    fn screen_share_follows_its_camera_and_audio_only_gets_a_tile() {
        let sidecars = vec![
            sidecar("p2", "screen", 50),
            sidecar("p1", "audio", 10),
            sidecar("p2", "video", 20),
            sidecar("", "mix", 0),
        ];
        let tiles = grid(&sidecars, &BTreeMap::new(), 1280, 720);
        let order: Vec<_> = tiles
            .iter()
            .map(|t| (t.participant.as_str(), t.screen))
            .collect();
        assert_eq!(order, [("p1", false), ("p2", false), ("p2", true)]);
        assert_eq!(tiles[2].label, "p2 (schermo)");
        assert_eq!((tiles[0].width, tiles[0].height), (640, 360));
    }
}
