// Prejoin: camera and microphone preview with device choice and a level meter.

import { videoConstraints } from "./publisher.js";

export class Prejoin {
  constructor({ video, cameraSelect, micSelect, meter }) {
    Object.assign(this, { video, cameraSelect, micSelect, meter });
    this.stream = null;
    this.audioCtx = null;
    this.raf = 0;
    cameraSelect.onchange = () => this.open();
    micSelect.onchange = () => this.open();
  }

  async open() {
    this.stopPreview();
    const cam = this.cameraSelect.value || undefined;
    const mic = this.micSelect.value || undefined;
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: videoConstraints(cam),
      audio: mic ? { deviceId: { exact: mic } } : true,
    });
    this.video.srcObject = this.stream;
    await this.listDevices();
    this.startMeter();
    return this.stream;
  }

  async listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind) => {
      const current = select.value;
      select.replaceChildren();
      devices
        .filter((d) => d.kind === kind)
        .forEach((d, i) => {
          const opt = document.createElement("option");
          opt.value = d.deviceId;
          opt.textContent = d.label || `${kind} ${i + 1}`;
          select.appendChild(opt);
        });
      const inUse = this.stream
        ?.getTracks()
        .find((t) => (kind === "videoinput" ? t.kind === "video" : t.kind === "audio"))
        ?.getSettings().deviceId;
      select.value = inUse || current;
    };
    fill(this.cameraSelect, "videoinput");
    fill(this.micSelect, "audioinput");
  }

  startMeter() {
    const track = this.stream.getAudioTracks()[0];
    if (!track) return;
    this.audioCtx = new AudioContext();
    const source = this.audioCtx.createMediaStreamSource(new MediaStream([track]));
    const analyser = this.audioCtx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const data = new Uint8Array(analyser.fftSize);
    const tick = () => {
      analyser.getByteTimeDomainData(data);
      let peak = 0;
      for (const v of data) peak = Math.max(peak, Math.abs(v - 128));
      this.meter.style.width = `${Math.min(100, (peak / 128) * 140)}%`;
      this.raf = requestAnimationFrame(tick);
    };
    tick();
  }

  // Hands the stream to the call; the preview no longer owns it.
  take() {
    const stream = this.stream;
    this.stream = null;
    this.stopPreview();
    return stream;
  }

  selectedCamera() {
    return this.cameraSelect.value || undefined;
  }

  stopPreview() {
    cancelAnimationFrame(this.raf);
    if (this.audioCtx) this.audioCtx.close();
    this.audioCtx = null;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
  }
}
