// Starts the real `seduta` binary WITH the demo Giunta (the shared harness always
// passes --no-demo): a stored session, staff accounts whose passwords the server
// keeps in demo-credentials.json, and the REST API. For the meeting tests.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { BIN, until } from "./harness.mjs";

export async function startDemoServer() {
  const dir = mkdtempSync(join(tmpdir(), "seduta-e2e-demo-"));
  const ready = join(dir, "ready.json");
  const child = spawn(BIN, [
    "serve",
    "--http-bind", "127.0.0.1:0",
    "--udp-bind", "127.0.0.1:0",
    "--tcp-bind", "127.0.0.1:0",
    "--data-dir", dir,
    "--jwt-secret", randomBytes(24).toString("hex"),
    "--ready-file", ready,
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  await until(() => existsSync(ready) || child.exitCode !== null, 30_000, "the server's ready file");
  if (child.exitCode !== null) throw new Error(`server exited: ${log}`);
  const info = JSON.parse(readFileSync(ready, "utf8"));
  const staff = JSON.parse(readFileSync(join(dir, "demo-credentials.json"), "utf8"));
  return {
    ...info,
    dir,
    log: () => log,
    staff: (username) => staff.find((s) => s.username === username),
    async api(method, path, token, body) {
      const res = await fetch(`${info.http_url}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async stop() {
      child.kill("SIGTERM");
      await until(() => child.exitCode !== null || child.signalCode !== null, 5_000, "server exit").catch(() => child.kill("SIGKILL"));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
