//! The live audio mix: every Opus track decoded, placed on one 48 kHz timeline, summed
//! with gain and limited.

use std::collections::{HashMap, VecDeque};

use crate::error::RecordingError;
use crate::limiter::Limiter;

/// The mix's sample rate.
pub const MIX_RATE: u32 = 48_000;

/// The longest an Opus packet lasts (120 ms at 48 kHz).
const MAX_PACKET_SAMPLES: usize = 5_760;

/// The longest gap filled by Opus packet-loss concealment instead of silence.
const MAX_CONCEALED_SAMPLES: u64 = 2_880;

/// How the mix is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixConfig {
    /// Gain applied to the sum of the tracks, in dB (0 = each voice at its own level).
    pub gain_db: f32,
    /// The limiter's ceiling in dBFS: no output sample goes above it.
    pub ceiling_db: f32,
    /// The limiter's look-ahead in milliseconds.
    pub lookahead_ms: f32,
    /// The limiter's release time constant in milliseconds.
    pub release_ms: f32,
    /// How far ahead of the mix position a packet may be placed, in samples; packets
    /// further ahead are dropped (a timestamp that makes no sense).
    pub max_ahead_samples: u64,
}

impl Default for MixConfig {
    fn default() -> Self {
        Self {
            gain_db: 0.0,
            ceiling_db: -1.0,
            lookahead_ms: 2.5,
            release_ms: 80.0,
            max_ahead_samples: u64::from(MIX_RATE) * 5,
        }
    }
}

/// What became of a packet given to [`Mixer::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Decoded and placed on the timeline.
    Placed,
    /// Its time has already been mixed: dropped.
    Late,
    /// Too far ahead of the mix position: dropped.
    TooEarly,
    /// The decoder refused it: dropped (the track goes on).
    Undecodable,
}

/// Mixes Opus tracks on a common timeline of 48 kHz samples. The caller places each
/// packet at its capture time on that timeline ([`Mixer::push`]) and asks for the mix up
/// to a position ([`Mixer::mix`]) a little behind real time, so that packets delayed by
/// the network are still in time. Silence, gaps and tracks that come and go cost nothing.
pub struct Mixer {
    inputs: HashMap<u64, Input>,
    position: u64,
    gain: f32,
    max_ahead: u64,
    limiter: Limiter,
    sum: Vec<f32>,
    decoded: Vec<f32>,
}

struct Input {
    decoder: opus::Decoder,
    /// Samples from `position` on (the front is the mix position).
    samples: VecDeque<f32>,
    /// The timeline position just after the last decoded packet.
    end: Option<u64>,
}

impl Mixer {
    /// A mixer whose timeline starts at sample 0.
    pub fn new(config: MixConfig) -> Self {
        let rate = MIX_RATE as f32 / 1000.0;
        let limiter = Limiter::new(
            10f32.powf(config.ceiling_db / 20.0),
            (config.lookahead_ms * rate).round() as usize,
            config.release_ms * rate,
        );
        Self {
            inputs: HashMap::new(),
            position: 0,
            gain: 10f32.powf(config.gain_db / 20.0),
            max_ahead: config.max_ahead_samples,
            limiter,
            sum: Vec::new(),
            decoded: vec![0.0; MAX_PACKET_SAMPLES],
        }
    }

    /// The next timeline position to be mixed.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many tracks are in the mix.
    pub fn inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Decodes `packet` of track `input` and places it at timeline position `at`.
    pub fn push(&mut self, input: u64, at: u64, packet: &[u8]) -> Result<Pushed, RecordingError> {
        if at > self.position + self.max_ahead {
            return Ok(Pushed::TooEarly);
        }
        let track = match self.inputs.entry(input) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(Input {
                decoder: opus::Decoder::new(MIX_RATE, opus::Channels::Mono)?,
                samples: VecDeque::new(),
                end: None,
            }),
        };
        // A short gap after the previous packet (a lost packet) is concealed by the
        // decoder; longer ones (DTX, mute) stay silence.
        if let Some(end) = track.end {
            let gap = at.saturating_sub(end);
            if gap > 0 && gap <= MAX_CONCEALED_SAMPLES && gap % 120 == 0 {
                let concealed = usize::try_from(gap).unwrap_or(0);
                if let Ok(n) =
                    track
                        .decoder
                        .decode_float(&[], &mut self.decoded[..concealed], false)
                {
                    place(track, self.position, end, &self.decoded[..n]);
                }
            }
        }
        let n = match track.decoder.decode_float(packet, &mut self.decoded, false) {
            Ok(n) => n,
            Err(_) => return Ok(Pushed::Undecodable),
        };
        if at + n as u64 <= self.position {
            track.end = Some(at + n as u64);
            return Ok(Pushed::Late);
        }
        place(track, self.position, at, &self.decoded[..n]);
        track.end = Some(at + n as u64);
        Ok(Pushed::Placed)
    }

    /// Removes a track (its samples not yet mixed are dropped).
    pub fn remove(&mut self, input: u64) {
        self.inputs.remove(&input);
    }

    /// Mixes up to timeline position `until` and appends the limited mix to `out`. The
    /// limiter holds back its look-ahead (2.5 ms by default): the samples appended are
    /// those of the timeline from its start on, in order, each exactly once, the last
    /// ones coming out of [`Mixer::finish`].
    pub fn mix(&mut self, until: u64, out: &mut Vec<f32>) {
        let Some(count) = until
            .checked_sub(self.position)
            .and_then(|n| usize::try_from(n).ok())
        else {
            return;
        };
        self.sum.clear();
        self.sum.resize(count, 0.0);
        for input in self.inputs.values_mut() {
            let take = count.min(input.samples.len());
            for (acc, s) in self.sum.iter_mut().zip(input.samples.drain(..take)) {
                *acc += s;
            }
        }
        self.position = until;
        out.reserve(count);
        for &s in &self.sum {
            out.extend(self.limiter.process(s * self.gain));
        }
    }

    /// Flushes the limiter's look-ahead at the end: the last samples of the mix.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        for _ in 0..self.limiter.latency() {
            out.extend(self.limiter.process(0.0));
        }
    }
}

/// Writes `decoded` into the track's buffer at timeline position `at` (replacing what
/// was there, skipping what is before the mix position `position`).
fn place(track: &mut Input, position: u64, at: u64, decoded: &[f32]) {
    let skip = usize::try_from(position.saturating_sub(at)).unwrap_or(usize::MAX);
    let Some(decoded) = decoded.get(skip..) else {
        return;
    };
    let Ok(offset) = usize::try_from(at.saturating_sub(position)) else {
        return;
    };
    let end = offset + decoded.len();
    if track.samples.len() < end {
        track.samples.resize(end, 0.0);
    }
    for (slot, &s) in track.samples.range_mut(offset..end).zip(decoded) {
        *slot = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(encoder: &mut opus::Encoder, freq: f32, frame: usize, amplitude: f32) -> Vec<u8> {
        let pcm: Vec<f32> = (0..960)
            .map(|i| {
                let t = (frame * 960 + i) as f32 / 48_000.0;
                amplitude * (2.0 * std::f32::consts::PI * freq * t).sin()
            })
            .collect();
        encoder.encode_vec_float(&pcm, 4000).expect("encode")
    }

    #[test]
    fn late_and_early_packets_are_dropped_and_gaps_are_silent() {
        let mut encoder =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Audio)
                .expect("encoder");
        let mut mixer = Mixer::new(MixConfig::default());
        let mut out = Vec::new();
        assert_eq!(
            mixer
                .push(1, 0, &packet(&mut encoder, 440.0, 0, 0.5))
                .expect("push"),
            Pushed::Placed
        );
        mixer.mix(960, &mut out);
        assert_eq!(
            mixer
                .push(1, 0, &packet(&mut encoder, 440.0, 1, 0.5))
                .expect("push"),
            Pushed::Late
        );
        assert_eq!(
            mixer
                .push(1, 48_000 * 6, &packet(&mut encoder, 440.0, 2, 0.5))
                .expect("push"),
            Pushed::TooEarly
        );
        assert_eq!(
            mixer.push(1, 9_600, &[0xff]).expect("push"),
            Pushed::Undecodable
        );
        // Nothing placed between 960 and 48 000: silence.
        mixer.mix(48_000, &mut out);
        mixer.finish(&mut out);
        assert_eq!(out.len(), 48_000);
        assert!(out[2_000..].iter().all(|s| s.abs() < 1e-6));
        assert!(out[..960].iter().any(|s| s.abs() > 0.01));
    }
}
