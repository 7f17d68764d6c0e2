//! Coarse connection quality from loss and round-trip time.

use std::time::Duration;

use crate::api::Quality;

/// Judges one stats sample. `receiving` is false when no bytes arrived in the interval.
pub fn judge(loss: Option<f32>, rtt: Option<Duration>, receiving: bool) -> Quality {
    if !receiving {
        return Quality::Lost;
    }
    let loss = loss.unwrap_or(0.0);
    let rtt = rtt.unwrap_or_default();
    if loss < 0.02 && rtt < Duration::from_millis(300) {
        Quality::Excellent
    } else if loss < 0.10 && rtt < Duration::from_millis(800) {
        Quality::Good
    } else {
        Quality::Poor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        let ms = Duration::from_millis;
        assert_eq!(judge(Some(0.0), Some(ms(20)), true), Quality::Excellent);
        assert_eq!(judge(Some(0.05), Some(ms(20)), true), Quality::Good);
        assert_eq!(judge(Some(0.2), Some(ms(20)), true), Quality::Poor);
        assert_eq!(judge(None, Some(ms(900)), true), Quality::Poor);
        assert_eq!(judge(None, None, false), Quality::Lost);
    }
}
