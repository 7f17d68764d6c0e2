//! A running GStreamer pipeline fed from an `appsrc`: start, push, check, finish.

use std::sync::OnceLock;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::error::RecordingError;

/// How long the end of a stream may take to reach the file.
const FINISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Initialises GStreamer once for the process.
pub(crate) fn init() -> Result<(), RecordingError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| gst::init().map_err(|e| e.to_string()))
        .clone()
        .map_err(RecordingError::GstInit)
}

/// Makes an element from its factory name.
pub(crate) fn element(factory: &'static str) -> Result<gst::Element, RecordingError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| RecordingError::MissingElement(factory))
}

/// A pipeline `appsrc ! … ! sink` in the PLAYING state.
pub(crate) struct Running {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    file: String,
}

impl Running {
    /// Links `src`, `middle` and `sink` in a new pipeline and starts it. `file` names the
    /// output in errors.
    pub(crate) fn start(
        file: String,
        src: gst_app::AppSrc,
        middle: Vec<gst::Element>,
        sink: gst::Element,
    ) -> Result<Self, RecordingError> {
        let pipeline = gst::Pipeline::new();
        let mut chain: Vec<gst::Element> = Vec::with_capacity(middle.len() + 2);
        chain.push(src.clone().upcast());
        chain.extend(middle);
        chain.push(sink);
        let fail = |message: String| RecordingError::Pipeline {
            file: file.clone(),
            message,
        };
        pipeline.add_many(&chain).map_err(|e| fail(e.to_string()))?;
        // The first link is filtered by the source's caps, so that a muxer hands out a
        // pad of the right kind (audio_%u, not the first template that fits, video_%u).
        for pair in chain.windows(2) {
            let linked = match (pair[0].downcast_ref::<gst_app::AppSrc>(), src.caps()) {
                (Some(_), Some(caps)) => pair[0].link_filtered(&pair[1], &caps),
                _ => pair[0].link(&pair[1]),
            };
            linked.map_err(|e| fail(e.to_string()))?;
        }
        let running = Self {
            pipeline,
            src,
            file,
        };
        running
            .pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| running.error_or("the pipeline did not start"))?;
        Ok(running)
    }

    /// Pushes one buffer (never blocks: the `appsrc` queue is unbounded).
    pub(crate) fn push(&self, buffer: gst::Buffer) -> Result<(), RecordingError> {
        self.check()?;
        self.src
            .push_buffer(buffer)
            .map(|_| ())
            .map_err(|e| self.error_or(&format!("buffer refused: {e:?}")))
    }

    /// The pipeline's first error, if it has reported one.
    pub(crate) fn check(&self) -> Result<(), RecordingError> {
        let Some(bus) = self.pipeline.bus() else {
            return Ok(());
        };
        match bus.pop_filtered(&[gst::MessageType::Error]) {
            Some(message) => Err(self.failure(&message)),
            None => Ok(()),
        }
    }

    /// Ends the stream, waits until the sink has written it, and stops the pipeline.
    pub(crate) fn finish(self) -> Result<(), RecordingError> {
        let _ = self.src.end_of_stream();
        let outcome = match self.pipeline.bus() {
            None => Ok(()),
            Some(bus) => match bus.timed_pop_filtered(
                gst::ClockTime::from_nseconds(FINISH_TIMEOUT.as_nanos() as u64),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            ) {
                Some(message) if message.type_() == gst::MessageType::Error => {
                    Err(self.failure(&message))
                }
                Some(_) => Ok(()),
                None => Err(self.error_or("the end of the stream did not reach the file")),
            },
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        outcome
    }

    fn failure(&self, message: &gst::Message) -> RecordingError {
        let text = match message.view() {
            gst::MessageView::Error(err) => {
                format!("{} ({:?})", err.error(), err.debug())
            }
            _ => "unknown error".to_owned(),
        };
        RecordingError::Pipeline {
            file: self.file.clone(),
            message: text,
        }
    }

    fn error_or(&self, fallback: &str) -> RecordingError {
        match self.check() {
            Err(e) => e,
            Ok(()) => RecordingError::Pipeline {
                file: self.file.clone(),
                message: fallback.to_owned(),
            },
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// An `appsrc` for timestamped buffers with the given caps, whose pushes never block.
pub(crate) fn appsrc(caps: &gst::Caps) -> gst_app::AppSrc {
    gst_app::AppSrc::builder()
        .caps(caps)
        .format(gst::Format::Time)
        .is_live(false)
        .block(false)
        .max_bytes(0)
        .build()
}
