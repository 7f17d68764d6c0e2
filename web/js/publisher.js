// The publisher peer connection: the browser offers, the SFU answers. Carries the
// microphone, the camera (three simulcast layers) and, when shared, the screen.

const SIMULCAST = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", maxBitrate: 1_500_000 },
];

export class Publisher extends EventTarget {
  constructor(send) {
    super();
    this.send = send;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    this.sources = new Map(); // transceiver -> source
    this.queue = Promise.resolve();
    this.pendingAnswer = null;
    this.audio = null;
    this.video = null;
    this.screen = null;
    this.pc.onconnectionstatechange = () =>
      this.dispatchEvent(new CustomEvent("state", { detail: this.pc.connectionState }));
  }

  // Adds the local tracks and publishes them.
  async start(stream) {
    const audioTrack = stream.getAudioTracks()[0] || null;
    const videoTrack = stream.getVideoTracks()[0] || null;
    this.audio = this.pc.addTransceiver(audioTrack || "audio", { direction: "sendonly", streams: [stream] });
    this.sources.set(this.audio, "microphone");
    this.video = this.pc.addTransceiver(videoTrack || "video", {
      direction: "sendonly",
      streams: [stream],
      sendEncodings: SIMULCAST,
    });
    this.sources.set(this.video, "camera");
    preferVp8(this.video);
    await this.negotiate();
  }

  // One offer at a time: the next waits for the previous answer.
  negotiate() {
    this.queue = this.queue.then(() => this.offerOnce()).catch((e) => {
      this.dispatchEvent(new CustomEvent("failed", { detail: e }));
    });
    return this.queue;
  }

  async offerOnce() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const tracks = [];
    for (const tr of this.pc.getTransceivers()) {
      if (tr.stopped || tr.currentDirection === "stopped" || !tr.mid) continue;
      if (tr.direction !== "sendonly") continue;
      tracks.push({ mid: tr.mid, kind: tr.receiver.track.kind, source: this.sources.get(tr) || "camera" });
    }
    const answer = new Promise((resolve, reject) => {
      this.pendingAnswer = { resolve, reject };
      setTimeout(() => reject(new Error("no publish answer")), 10_000);
    });
    this.send({ type: "publish", sdp: this.pc.localDescription.sdp, tracks });
    const sdp = await answer;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  handleAnswer(sdp) {
    if (this.pendingAnswer) this.pendingAnswer.resolve(sdp);
    this.pendingAnswer = null;
  }

  handleError(code) {
    if (this.pendingAnswer) this.pendingAnswer.reject(new Error(code));
    this.pendingAnswer = null;
  }

  setMicMuted(muted) {
    const track = this.audio && this.audio.sender.track;
    if (track) track.enabled = !muted;
  }

  // Camera off releases the device (its light goes off); on asks for it again.
  async setCamera(on, deviceId) {
    if (!this.video) return;
    const old = this.video.sender.track;
    if (!on) {
      await this.video.sender.replaceTrack(null);
      if (old) old.stop();
      return null;
    }
    const stream = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(deviceId) });
    const track = stream.getVideoTracks()[0];
    await this.video.sender.replaceTrack(track);
    return track;
  }

  async startScreen() {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
    const track = stream.getVideoTracks()[0];
    this.screen = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    this.sources.set(this.screen, "screen");
    preferVp8(this.screen);
    track.addEventListener("ended", () => this.stopScreen());
    await this.negotiate();
    return track;
  }

  async stopScreen() {
    if (!this.screen) return;
    const tr = this.screen;
    this.screen = null;
    if (tr.sender.track) tr.sender.track.stop();
    tr.stop();
    this.dispatchEvent(new CustomEvent("screenstopped"));
    await this.negotiate();
  }

  close() {
    for (const tr of this.pc.getTransceivers()) {
      if (tr === this.screen && tr.sender.track) tr.sender.track.stop();
    }
    this.pc.close();
  }
}

export function videoConstraints(deviceId) {
  const c = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 25 } };
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
}

// VP8 first: every browser decodes it, and the SFU reads its keyframe sizes.
function preferVp8(transceiver) {
  if (!transceiver.setCodecPreferences || !RTCRtpSender.getCapabilities) return;
  const caps = RTCRtpSender.getCapabilities("video");
  if (!caps) return;
  const rank = (c) => (/vp8/i.test(c.mimeType) ? 0 : /h264/i.test(c.mimeType) ? 1 : 2);
  const codecs = [...caps.codecs].sort((a, b) => rank(a) - rank(b));
  try {
    transceiver.setCodecPreferences(codecs);
  } catch {
    // Some browsers refuse preferences for send-only transceivers; the default is fine.
  }
}
