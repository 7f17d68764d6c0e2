//! What a plain publisher offer publishes, read from its m-lines.
//!
//! A browser tells the SFU what each of its transceivers carries; a WHIP encoder
//! (RFC 9725) sends nothing but its offer. str0m parses the whole offer but does not
//! expose its m-lines, so this reads just the `m=`, `a=mid` and direction lines,
//! strictly, after str0m has accepted the offer as SDP.

use std::collections::HashSet;

use str0m::change::SdpOffer;

use crate::api::{PublishedTrackInfo, TrackKind, TrackSource};
use crate::error::SfuError;

/// The tracks an offer sends, in m-line order: one per audio or video m-line that is
/// not disabled (port 0) and whose direction is `sendrecv` or `sendonly`. Audio is
/// taken as the microphone and video as the camera. Other m-lines (data channels)
/// are ignored.
///
/// Malformed SDP, an audio or video m-line without exactly one `a=mid`, a repeated
/// mid, or an offer that sends no audio and no video is an [`SfuError::InvalidSdp`].
pub fn offer_tracks(sdp: &str) -> Result<Vec<PublishedTrackInfo>, SfuError> {
    SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
    let mut sections: Vec<Section> = Vec::new();
    let mut session_direction = Direction::SendRecv;
    for line in sdp.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix("m=") {
            sections.push(Section::parse(rest)?);
            continue;
        }
        let Some(attr) = line.strip_prefix("a=") else {
            continue;
        };
        match (sections.last_mut(), Direction::parse(attr)) {
            (None, Some(d)) => session_direction = d,
            (Some(s), Some(d)) => s.direction = Some(d),
            (Some(s), None) => {
                if let Some(mid) = attr.strip_prefix("mid:") {
                    s.mids.push(mid.trim().to_owned());
                }
            }
            (None, None) => {}
        }
    }
    let mut seen = HashSet::new();
    let mut tracks = Vec::new();
    for s in sections {
        let Some(kind) = s.kind else { continue };
        let [mid] = s.mids.as_slice() else {
            return Err(invalid("an audio or video m-line needs exactly one a=mid"));
        };
        if mid.is_empty() || !mid.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("an a=mid is empty or not a token"));
        }
        if !seen.insert(mid.clone()) {
            return Err(invalid("two m-lines have the same a=mid"));
        }
        let direction = s.direction.unwrap_or(session_direction);
        if s.port == 0 || !matches!(direction, Direction::SendRecv | Direction::SendOnly) {
            continue;
        }
        tracks.push(PublishedTrackInfo {
            mid: mid.clone(),
            kind,
            source: match kind {
                TrackKind::Audio => TrackSource::Microphone,
                TrackKind::Video => TrackSource::Camera,
            },
        });
    }
    if tracks.is_empty() {
        return Err(invalid("the offer sends no audio and no video"));
    }
    Ok(tracks)
}

fn invalid(reason: &str) -> SfuError {
    SfuError::InvalidSdp(reason.to_owned())
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attr: &str) -> Option<Self> {
        match attr.trim() {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

/// One m-section: its kind (`None` for anything but audio and video), port, mids
/// and direction.
struct Section {
    kind: Option<TrackKind>,
    port: u16,
    mids: Vec<String>,
    direction: Option<Direction>,
}

impl Section {
    /// Parses what follows `m=`: `<media> <port>[/<count>] <proto> <fmt> ...`.
    fn parse(rest: &str) -> Result<Self, SfuError> {
        let fields: Vec<&str> = rest.split(' ').collect();
        let [media, port, proto, first_fmt, ..] = fields.as_slice() else {
            return Err(invalid("an m-line has fewer than four fields"));
        };
        if media.is_empty() || proto.is_empty() || first_fmt.is_empty() {
            return Err(invalid("an m-line has an empty field"));
        }
        let port = port.split('/').next().unwrap_or_default();
        let port = port
            .parse::<u16>()
            .map_err(|_| invalid("an m-line has a bad port"))?;
        let kind = match *media {
            "audio" => Some(TrackKind::Audio),
            "video" => Some(TrackKind::Video),
            _ => None,
        };
        Ok(Self {
            kind,
            port,
            mids: Vec::new(),
            direction: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal offer in the shape GStreamer's webrtcbin sends: audio then video,
    /// `sendonly`, bundled.
    fn offer(audio: &str, video: &str) -> String {
        [
            "v=0",
            "o=- 1 0 IN IP4 0.0.0.0",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE a0 v1",
            audio,
            "c=IN IP4 0.0.0.0",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
            "a=setup:actpass",
            "a=mid:a0",
            "a=sendonly",
            "a=rtcp-mux",
            "a=rtpmap:111 OPUS/48000/2",
            "a=ssrc:1111 cname:x",
            video,
            "c=IN IP4 0.0.0.0",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
            "a=setup:actpass",
            "a=mid:v1",
            "a=sendonly",
            "a=rtcp-mux",
            "a=rtpmap:96 VP8/90000",
            "a=ssrc:2222 cname:x",
            "",
        ]
        .join("\r\n")
    }

    const AUDIO: &str = "m=audio 9 UDP/TLS/RTP/SAVPF 111";
    const VIDEO: &str = "m=video 9 UDP/TLS/RTP/SAVPF 96";

    #[test]
    fn audio_is_the_microphone_and_video_the_camera() {
        let tracks = offer_tracks(&offer(AUDIO, VIDEO)).expect("valid offer");
        assert_eq!(
            tracks,
            vec![
                PublishedTrackInfo {
                    mid: "a0".into(),
                    kind: TrackKind::Audio,
                    source: TrackSource::Microphone,
                },
                PublishedTrackInfo {
                    mid: "v1".into(),
                    kind: TrackKind::Video,
                    source: TrackSource::Camera,
                },
            ]
        );
    }

    #[test]
    fn lf_only_line_ends_are_read_too() {
        let sdp = offer(AUDIO, VIDEO).replace("\r\n", "\n");
        let tracks = offer_tracks(&sdp).expect("valid offer");
        assert_eq!(tracks.len(), 2);
    }

    #[test]
    fn disabled_and_receive_only_m_lines_publish_nothing() {
        let sdp = offer("m=audio 0 UDP/TLS/RTP/SAVPF 111", VIDEO);
        let tracks = offer_tracks(&sdp).expect("valid offer");
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].kind, TrackKind::Video);

        let sdp = offer(AUDIO, VIDEO).replacen("a=sendonly", "a=recvonly", 1);
        let tracks = offer_tracks(&sdp).expect("valid offer");
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].mid, "v1");

        let sdp = offer(AUDIO, VIDEO).replace("a=sendonly", "a=inactive");
        assert_eq!(offer_tracks(&sdp).map_err(|e| e.code()), Err("invalid_sdp"));
    }

    #[test]
    fn malformed_offers_are_invalid_sdp() {
        let bad = [
            String::new(),
            "hello".to_owned(),
            "v=0\r\nm=audio\r\n".to_owned(),
            offer("m=audio nine UDP/TLS/RTP/SAVPF 111", VIDEO),
            offer("m=audio 9 UDP/TLS/RTP/SAVPF", VIDEO),
            offer(AUDIO, VIDEO).replace("a=mid:v1", "a=mid:a0"),
            offer(AUDIO, VIDEO).replace("a=mid:v1\r\n", ""),
            offer(AUDIO, VIDEO).replace("a=mid:a0", "a=mid:a0\r\na=mid:a2"),
        ];
        for sdp in bad {
            let result = offer_tracks(&sdp);
            assert!(
                matches!(result, Err(SfuError::InvalidSdp(_))),
                "accepted {sdp:?}: {result:?}"
            );
        }
    }
}
