//! An encoded frame as the SFU hands it to the recorder.

use std::time::Instant;

/// One encoded frame of a track, as received (nothing is transcoded).
#[derive(Debug, Clone)]
pub struct Frame {
    /// The RTP timestamp, unrolled to 64 bits (str0m's `MediaTime` numerator), in the
    /// track's clock rate: the sender's capture time. Gaps in it are kept in the file.
    pub rtp_time: u64,
    /// Whether the frame can be decoded on its own (always true for Opus; for VP8 the
    /// frame header decides, for H.264 an IDR slice also counts).
    pub keyframe: bool,
    /// The frame: an Opus packet, a VP8 frame, or an H.264 access unit in Annex B form.
    pub data: Vec<u8>,
    /// When the frame arrived at the server (used to line tracks up in the mix).
    pub arrival: Instant,
}

impl Frame {
    /// A frame that arrived now.
    pub fn new(rtp_time: u64, keyframe: bool, data: Vec<u8>) -> Self {
        Self {
            rtp_time,
            keyframe,
            data,
            arrival: Instant::now(),
        }
    }
}
