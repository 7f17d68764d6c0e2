// Multi-node in real Chromium: two control-plane replicas on one PostgreSQL database
// and two media nodes (`seduta sfu-node`), every one a real process on loopback.
//
// Two members of the demo Giunta join from two browsers, assessore-1 through replica
// cp-1's web client and assessore-2 through cp-2's (whose signaling cp-2 relays to the
// replica holding the session). The segretario identifies both, checks in two members
// in the chamber and opens the session over REST; each page decodes the other's video
// and receives its audio. Then the media node carrying the session is killed (-9).
// The test does nothing more to the pages: on the server's `media_lost` the web client
// reconnects by itself (resume, fresh peer connections, no reload), the session is
// placed on the other node, and each page decodes the other's video again.
//
// PostgreSQL: TEST_DATABASE_URL (scripts/with-postgres sets it), as the Rust tests;
// without it the test fails, unless SEDUTA_SKIP_POSTGRES=1 skips it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { openBrowser, joinViaUi, remoteMedia, until } from "./harness.mjs";
import { createDatabase, freePort, postgresMissing, startMediaNode, startReplica } from "./cluster.mjs";

const CLUSTER_SECRET = "multi-node-e2e-cluster-secret";
const METRICS = "multi-node-e2e-metrics";
const RECOVERY_MS = 30_000;
// Two browsers next to four servers on a small machine: a cheaper fake camera.
const LOW_COST_ARGS = ["--use-fake-device-for-media-stream=fps=15"];

const missing = postgresMissing();

test("two replicas and two media nodes: a killed node's session goes on on the other, the browsers recover by themselves", { timeout: 240_000, skip: missing?.skip ?? false }, async () => {
  if (missing?.fail) assert.fail(missing.fail);
  const root = mkdtempSync(join(tmpdir(), "seduta-e2e-mn-"));
  const db = createDatabase("seduta_e2e_mn");
  const procs = [];
  const browsers = [];
  const consoles = {};
  try {
    // ---- The cluster: cp-1 (seeds the demo Giunta), cp-2, sfu-a, sfu-b. -----------
    const [p1, p2] = [await freePort(), await freePort()];
    // One recordings volume for everyone (one path everywhere), as in multi_node.rs.
    const recordings = join(root, "cp-1", "recordings");
    mkdirSync(recordings, { recursive: true });
    mkdirSync(join(root, "cp-2"), { recursive: true });
    symlinkSync(recordings, join(root, "cp-2", "recordings"));
    const jwtSecret = randomBytes(24).toString("hex");
    const common = { databaseUrl: db.url, secret: CLUSTER_SECRET, jwtSecret, metricsToken: METRICS };
    const cp1 = await startReplica({ ...common, dir: join(root, "cp-1"), id: "cp-1", port: p1, demo: true });
    procs.push(cp1);
    const cp2 = await startReplica({ ...common, dir: join(root, "cp-2"), id: "cp-2", port: p2, demo: false });
    procs.push(cp2);
    const control = [cp1.controlUrl, cp2.controlUrl];
    const nodes = {};
    for (const name of ["sfu-a", "sfu-b"]) {
      nodes[name] = await startMediaNode({ dir: join(root, "nodes"), name, control, secret: CLUSTER_SECRET });
      procs.push(nodes[name]);
    }
    for (const cp of [cp1, cp2]) {
      await until(async () => Object.keys(await cp.nodeGauge("capacity")).length === 2, 20_000, `${cp.id} to see both media nodes`);
    }

    // ---- The segretario (REST on cp-2): login, the session, two invitations. -------
    const staff = JSON.parse(readFileSync(join(cp1.dir, "demo-credentials.json"), "utf8"));
    const seg = staff.find((s) => s.username === "segretario");
    assert.ok(seg, "the demo segretario account");
    const login = await cp2.api("POST", "/api/auth/login", null, { username: seg.username, password: seg.password });
    assert.equal(login.status, 200, `staff login: ${login.text}`);
    const token = login.body.token;
    const sessions = await cp2.api("GET", "/api/sessions", token);
    assert.equal(sessions.status, 200, sessions.text);
    const session = (sessions.body.find((s) => s.status === "convened") ?? sessions.body[0])?.id;
    assert.ok(session, `a session of the demo: ${sessions.text}`);
    const invite = async (who) => {
      const r = await cp2.api("POST", `/api/sessions/${session}/invitations`, token, { participant_id: who });
      assert.equal(r.status, 201, `invitation for ${who}: ${r.text}`);
      assert.ok(r.body?.[0]?.token, `a token for ${who}: ${r.text}`);
      return r.body[0].token;
    };
    const act = async (action) => {
      const r = await cp2.api("POST", `/api/sessions/${session}/actions`, token, action);
      assert.equal(r.status, 200, `${JSON.stringify(action)} was refused: ${r.text}`);
    };

    // ---- Two members, each through a different replica's web client. -------------
    const members = [
      { who: "assessore-1", replica: cp1 },
      { who: "assessore-2", replica: cp2 },
    ];
    for (const m of members) {
      m.browser = await openBrowser({ width: 960, height: 640 }, LOW_COST_ARGS);
      browsers.push(m.browser);
      const log = (consoles[m.who] = []);
      m.browser.page.on("console", (msg) => {
        if (msg.text().startsWith("seduta:")) log.push(`${new Date().toISOString()} ${msg.text()}`);
      });
      await joinViaUi(m.browser, `${m.replica.url}/#token=${await invite(m.who)}`);
    }
    const [a1, a2] = members;
    a1.other = a2.who;
    a2.other = a1.who;
    for (const m of members) await act({ kind: "identify", participant: m.who, camera_on: true });
    for (const who of ["sindaco", "assessore-4"]) await act({ kind: "check_in", participant: who });
    await act({ kind: "open_session" });

    const receiving = async (m) => {
      const media = (await remoteMedia(m.browser.page))[m.other];
      return media?.framesDecoded > 0 && media?.audioPackets > 0 && media;
    };
    for (const m of members) {
      const got = await until(() => receiving(m), 40_000, `${m.who} decoding video and receiving audio from ${m.other}`);
      console.log(`before the kill: ${m.who} from ${m.other}: ${JSON.stringify(got)}`);
    }

    // The node that carries the session: both members on it.
    const busyNode = (cp) => until(async () => {
      const load = await cp.nodeGauge("participants");
      return Object.entries(load).find(([, n]) => n >= 2)?.[0];
    }, 20_000, `the node carrying the session, per ${cp.id}'s metrics`);
    const first = await busyNode(cp1);
    const survivor = first === "sfu-a" ? "sfu-b" : "sfu-a";
    console.log(`the session ${session} runs on ${first}; placed sessions: cp-1 ${JSON.stringify(await cp1.nodeGauge("placed_sessions"))}, cp-2 ${JSON.stringify(await cp2.nodeGauge("placed_sessions"))}`);

    // Marks in the pages, to tell afterwards that the very same documents recovered
    // (no reload), with new peer connections, and which states they went through.
    for (const m of members) {
      await m.browser.page.evaluate(() => {
        window.__sameDocument = true;
        window.__oldPcs = [window.seduta.publisherPc, window.seduta.subscriberPc];
        window.__states = [document.body.dataset.state];
        new MutationObserver(() => window.__states.push(document.body.dataset.state))
          .observe(document.body, { attributes: true, attributeFilter: ["data-state"] });
      });
    }

    // ---- The node dies. From here on the test only watches. ---------------------
    const killedAt = Date.now();
    await nodes[first].kill9();
    console.log(`killed ${first} (-9)`);

    for (const m of members) {
      const got = await until(async () => {
        const page = m.browser.page;
        const fresh = await page.evaluate(() =>
          window.seduta.state === "in" &&
          window.seduta.subscriberPc !== null &&
          !window.__oldPcs.includes(window.seduta.subscriberPc) &&
          !window.__oldPcs.includes(window.seduta.publisherPc));
        return fresh && (await receiving(m));
      }, RECOVERY_MS, `${m.who} back in, with new peer connections, decoding ${m.other} again`);
      m.recoveredMs = Date.now() - killedAt;
      console.log(`${m.who} decodes ${m.other} again ${m.recoveredMs} ms after the kill: ${JSON.stringify(got)}`);
    }
    // The media keeps flowing (frames decoded keep growing on the new connections).
    for (const m of members) {
      const before = (await receiving(m)).framesDecoded;
      await until(async () => (await receiving(m))?.framesDecoded > before + 5, 10_000, `${m.who}'s frames from ${m.other} to keep coming`);
    }

    // The session now runs on the other node, per both replicas.
    for (const cp of [cp1, cp2]) {
      const now = await busyNode(cp);
      assert.equal(now, survivor, `${cp.id}: the session placed again on ${survivor}, not ${now}`);
    }

    // The pages recovered by themselves: told media_lost, reconnecting, then in;
    // the same documents; no error view, no uncaught error.
    for (const m of members) {
      const page = m.browser.page;
      const states = await page.evaluate(() => window.__states);
      assert.ok(states.includes("reconnecting"), `${m.who} went through reconnecting: ${states}`);
      assert.ok(!states.includes("error"), `${m.who} never showed the error view: ${states}`);
      assert.equal(await page.evaluate(() => window.seduta.state), "in");
      assert.equal(await page.evaluate(() => window.__sameDocument), true, `${m.who}: no page reload`);
      assert.equal(await page.locator("#view-error").isHidden(), true, `${m.who}: the error view is hidden`);
      assert.equal(await page.locator("#conn-banner").isHidden(), true, `${m.who}: the reconnecting banner is gone`);
      assert.ok(consoles[m.who].some((l) => l.includes("media_lost")), `${m.who} was told media_lost: ${consoles[m.who].join("\n")}`);
      const ids = await page.evaluate(() => window.seduta.participants().map((p) => p.id));
      assert.ok(ids.includes(m.other), `${m.who} still lists ${m.other}: ${ids}`);
      assert.deepEqual(m.browser.errors, [], `${m.who}: no uncaught errors in the page`);
    }
    console.log(`recovered after ${members.map((m) => `${m.who} ${m.recoveredMs} ms`).join(", ")}`);
  } catch (e) {
    // The processes' and pages' own account helps when something fails.
    for (const p of procs) console.error(`---- ${p.name} (last lines)\n${p.log().split("\n").slice(-60).join("\n")}`);
    for (const [who, lines] of Object.entries(consoles)) console.error(`---- ${who}'s page console\n${lines.join("\n")}`);
    throw e;
  } finally {
    for (const b of browsers) await b.close();
    // The nodes are killed (a SIGTERM would drain: wait for the session to end).
    for (const p of procs.filter((p) => p.name.startsWith("sfu-"))) await p.kill9();
    for (const p of procs.filter((p) => !p.name.startsWith("sfu-"))) await p.stop(10_000);
    db.dropSync();
    rmSync(root, { recursive: true, force: true });
  }
});
