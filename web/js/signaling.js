// The WebSocket to the signaling service (docs/protocol.md). One instance per
// connection attempt; the app makes a new one to reconnect.

export class Signaling extends EventTarget {
  constructor(session) {
    super();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = `${scheme}://${location.host}/ws/${encodeURIComponent(session)}`;
    this.ws = null;
    this.timer = null;
    this.lastHeard = 0;
    this.heartbeatMs = 2000;
    this.closedByUs = false;
    this.fatal = null;
  }

  // Opens the socket and sends join; resolves with the `joined` message.
  join(token, resume) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let joined = false;
      ws.onopen = () => {
        this.lastHeard = Date.now();
        ws.send(JSON.stringify({ type: "join", token, resume }));
      };
      ws.onmessage = (ev) => {
        this.lastHeard = Date.now();
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (msg.type === "error" && msg.fatal) {
          this.fatal = msg.code;
        }
        if (!joined) {
          if (msg.type === "joined") {
            joined = true;
            this.heartbeatMs = msg.heartbeat_ms || 2000;
            this.startHeartbeat();
            resolve(msg);
          } else if (msg.type === "error") {
            reject(Object.assign(new Error(msg.message), { code: msg.code, fatal: msg.fatal }));
          }
          return;
        }
        this.dispatchEvent(new CustomEvent("message", { detail: msg }));
      };
      ws.onclose = () => {
        this.stopHeartbeat();
        if (!joined) {
          reject(Object.assign(new Error("closed"), { code: this.fatal || "network", fatal: !!this.fatal }));
          return;
        }
        if (!this.closedByUs) {
          this.dispatchEvent(new CustomEvent("lost", { detail: { fatal: this.fatal } }));
        }
      };
    });
  }

  // Returns whether the message went out (false: the socket is not open).
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  // Pings regularly; silence for three heartbeats means the path is gone even if
  // the socket has not noticed yet (a cut network keeps TCP waiting for minutes).
  startHeartbeat() {
    this.stopHeartbeat();
    this.timer = setInterval(() => {
      if (Date.now() - this.lastHeard > 3 * this.heartbeatMs) {
        this.stopHeartbeat();
        this.close();
        this.dispatchEvent(new CustomEvent("lost", { detail: { fatal: null } }));
        return;
      }
      this.send({ type: "ping", ts: Date.now() });
    }, this.heartbeatMs);
  }

  stopHeartbeat() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close() {
    this.closedByUs = true;
    this.stopHeartbeat();
    if (this.ws) this.ws.close();
  }
}
