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

// Helpers shared by the meeting tests.

/** The element with `data-testid="<id>"`. */
export const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

/** Waits for the prejoin screen, lets the fake devices be listed, joins, and waits
 *  until the call is in. `slow` multiplies the waits (a busy machine, many browsers). */
export async function joinCall(page, { slow = 1 } = {}) {
  await page.locator("#join-button").waitFor({ state: "visible", timeout: 15_000 * slow });
  await until(() => page.evaluate(() => document.querySelector("#camera-select").options.length > 0), 10_000 * slow, "devices listed");
  await page.click("#join-button");
  await until(() => page.evaluate(() => window.seduta.state === "in"), 15_000 * slow, "state in");
}

/** Clicks a control by test id, and the confirmation when asked. */
export async function act(page, testid, { confirm = false } = {}) {
  await tid(page, testid).click();
  if (confirm) await tid(page, "confirm-yes").click();
}

/** The session's attendance log as entries (`{seq, at, kind, data}`), exported through
 *  the API (`?format=jsonl`) with a fresh login of staff account `username`. */
export async function attendanceLog(server, session, username = "segretario") {
  const creds = server.staff(username);
  const login = await server.api("POST", "/api/auth/login", null, { username: creds.username, password: creds.password });
  if (login.status !== 200) throw new Error(`staff login: ${login.status} ${JSON.stringify(login.body)}`);
  const res = await fetch(`${server.http_url}/api/sessions/${encodeURIComponent(session)}/attendance?format=jsonl`, {
    headers: { authorization: `Bearer ${login.body.token}` },
  });
  if (res.status !== 200) throw new Error(`attendance log: ${res.status}`);
  return (await res.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}
