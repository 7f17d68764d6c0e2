// The subscriber peer connection: the SFU offers everyone else's tracks and the
// browser answers. Offers are handled strictly in order.

export class Subscriber extends EventTarget {
  constructor(send) {
    super();
    this.send = send;
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    this.byMid = new Map(); // mid -> {track, participant, kind, source}
    this.queue = Promise.resolve();
    this.pc.ontrack = (ev) => {
      const info = this.byMid.get(ev.transceiver.mid);
      if (info) {
        this.dispatchEvent(new CustomEvent("track", { detail: { info, track: ev.track } }));
      }
    };
    this.pc.onconnectionstatechange = () =>
      this.dispatchEvent(new CustomEvent("state", { detail: this.pc.connectionState }));
  }

  handleOffer(msg) {
    this.queue = this.queue
      .then(async () => {
        // The map must be known before ontrack fires inside setRemoteDescription.
        for (const t of msg.tracks) this.byMid.set(t.mid, t);
        await this.pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.send({ type: "subscriber_answer", sdp: this.pc.localDescription.sdp });
        const live = new Set(msg.tracks.map((t) => t.mid));
        for (const mid of [...this.byMid.keys()]) if (!live.has(mid)) this.byMid.delete(mid);
        // The tracks this connection now carries (others may have been withdrawn
        // without being unpublished, e.g. someone moved back to the lobby).
        this.dispatchEvent(new CustomEvent("tracks", { detail: new Set(msg.tracks.map((t) => t.track)) }));
      })
      .catch((e) => this.dispatchEvent(new CustomEvent("failed", { detail: e })));
    return this.queue;
  }

  // mid -> track info, for diagnostics and tests.
  tracks() {
    return Object.fromEntries(this.byMid);
  }

  close() {
    this.pc.close();
  }
}
