// Meeting actions over the WebSocket: `{"type":"action","id":n,"action":{…}}`,
// answered by `action_result` with the same id. Each call resolves with
// `{ok, code?, message?}`; it never rejects.

const TIMEOUT_MS = 10_000;

export class Actions extends EventTarget {
  // `send(msg)` returns false when the socket is not open.
  constructor(send) {
    super();
    this.send = send;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, action, timer}
    this.last = null; // the last result, with its action (diagnostics, tests)
  }

  run(action) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(id, { ok: false, code: "timeout" }), TIMEOUT_MS);
      this.pending.set(id, { resolve, action, timer });
      if (!this.send({ type: "action", id, action })) this.finish(id, { ok: false, code: "not_connected" });
    });
  }

  // An `action_result` from the server.
  handleResult(msg) {
    this.finish(msg.id, { ok: !!msg.ok, code: msg.code, message: msg.message });
  }

  finish(id, result) {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    this.last = { id, action: entry.action, ...result };
    this.dispatchEvent(new CustomEvent("result", { detail: this.last }));
    entry.resolve(result);
  }

  // The connection is gone: what was not answered will not be.
  abandon() {
    for (const id of [...this.pending.keys()]) this.finish(id, { ok: false, code: "not_connected" });
  }
}
