// The acceptance scenario of the meeting feature, end to end in real Chromium
// against the real `seduta` binary with the demo Giunta (7 members in office):
//
//  1. an administrator shortens the Giunta's disconnection grace period (3 s) before
//     anyone joins;
//  2. the segretario logs into the staff console, makes the invitation links and
//     enters the session console;
//  3. the Sindaca and three assessori join from four browsers, wait in the lobby and
//     are identified on video: 4 of 7 present, the quorum (floor(7/2)+1 = 4) holds,
//     at the console and at a member's page; the session is opened;
//  4. one assessore's network is cut: after the grace period they are absent, the
//     quorum (3 of 7) is lost and the console shows the alert;
//  5. two members are checked in in the chamber (5 present); item 1 is put to the
//     vote: 3 favorevoli, 1 contrario, 1 astenuto, three answers cast by the remote
//     members themselves and two recorded by name by the segretario: APPROVATA;
//  6. the immediate-executability vote gets 3 favorevoli, fewer than the 4 needed on
//     the membership (TUEL art. 134 c.4): RESPINTA;
//  7. the session is closed; the attendance log exported through the API verifies
//     with `seduta verify`, holds every event of the scenario, and one byte changed
//     in one entry is caught and named.
//
// Step 4 deviates from a literal "cut, then open" order on purpose: the server
// raises the quorum alert (and proposes a suspension) only while the session is
// open — in the convened phase there is nothing to suspend — so the session is
// opened while the quorum holds, before the cut.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { BIN, CHROMIUM_ARGS, browserSession, sleep, until } from "./harness.mjs";
import { joinCall, startDemoServer, tid } from "./demo_server.mjs";

const CHROMIUM = process.env.SEDUTA_CHROMIUM || "/usr/bin/chromium";
const GRACE_MS = 3000;
// Five browsers on a small machine: the fake camera at 10 frames per second.
const LOW_COST_ARGS = ["--use-fake-device-for-media-stream=fps=10"];

const consoleTid = (page, id) => page.locator(`#console-panel [data-testid="${id}"]`);
const presence = (page, id) => page.evaluate((id) => document.querySelector(`[data-testid="presence-${id}"]`)?.dataset.state ?? null, id);
const view = (page) => page.evaluate(() => window.seduta.meeting);

// A browser with its own profile, as harness.openBrowser, but the profile's path is
// kept: it names the browser's processes (see `cutNetwork`).
async function openBrowser(viewport) {
  const profile = mkdtempSync(join(tmpdir(), "seduta-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...LOW_COST_ARGS],
    permissions: ["camera", "microphone"],
    viewport,
  });
  const page = context.pages()[0] || (await context.newPage());
  let closed = false;
  const session = browserSession(page, async () => {
    if (closed) return;
    closed = true;
    const done = context.close().catch(() => {});
    // A browser that does not answer (frozen, see below) is killed.
    const timer = sleep(15_000).then(() => signal(browserPids(profile), "SIGKILL"));
    await Promise.race([done, timer]);
    rmSync(profile, { recursive: true, force: true });
  });
  return { ...session, profile };
}

async function act(page, testid, { confirm = false } = {}) {
  await consoleOrPage(page, testid).click({ timeout: 15_000 });
  if (confirm) await tid(page, "confirm-yes").click({ timeout: 10_000 });
}

// Console buttons are looked up inside the console panel, members' inside the page.
function consoleOrPage(page, testid) {
  return page.locator(`#console-panel [data-testid="${testid}"], #meeting-side [data-testid="${testid}"]`).first();
}

// ---- Cutting one browser's network ------------------------------------------------
//
// reconnect.test.mjs cuts the network with `tc` by the server's ports, which would cut
// every browser here (the segretario's console too). So this test cuts by the
// member's own ports instead: in the test's network namespace it finds the sockets
// of that browser's processes (its profile directory names the browser process; the
// network service and renderers are its descendants) and makes `tc` drop every
// packet from or to those ports — the WebSocket and the ICE (UDP/TCP) flows. A port
// filter cannot catch flows opened later, and the client would reconnect at once on
// fresh ports (it notices the silence after three heartbeats), which is not a cut
// but a reconnection; so the member's processes are also frozen (SIGSTOP) first. To
// the server this is exactly a dead network: no FIN, no RST, no answer — it must
// notice the silence by itself. The other browsers are untouched.

function processes() {
  const out = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      out.push({ pid: Number(name), ppid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function browserPids(profile) {
  const all = processes();
  const pids = new Set(all.filter((p) => p.cmdline.includes(`--user-data-dir=${profile}`)).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!pids.has(p.pid) && pids.has(p.ppid)) {
        pids.add(p.pid);
        grew = true;
      }
    }
  }
  return [...pids];
}

function signal(pids, sig) {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // exited
    }
  }
}

// [{proto: 6|17, port}] of every TCP and UDP socket held by `pids`.
function socketsOf(pids) {
  const mine = new Set(pids.map(String));
  const out = execFileSync("ss", ["-H", "-t", "-u", "-a", "-n", "-p"]).toString();
  const found = new Map();
  for (const line of out.split("\n")) {
    const owners = [...line.matchAll(/pid=(\d+)/g)].map((m) => m[1]);
    if (!owners.some((pid) => mine.has(pid))) continue;
    const cols = line.trim().split(/\s+/);
    const port = Number(cols[4]?.split(":").pop());
    if (!Number.isInteger(port) || port <= 0) continue;
    const proto = cols[0] === "udp" ? 17 : cols[0] === "tcp" ? 6 : null;
    if (proto) found.set(`${proto}/${port}`, { proto, port });
  }
  return [...found.values()];
}

const tc = (...args) => execFileSync("tc", args, { stdio: ["ignore", "ignore", "pipe"] });

function dropPorts(sockets) {
  tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit");
  // No drop action in this kernel: a class of 8 bit/s with a one-packet queue drops all.
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "8bit", "ceil", "8bit");
  tc("qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "1");
  for (const { proto, port } of sockets) {
    for (const dir of ["sport", "dport"]) {
      tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
        "match", "ip", "protocol", String(proto), "0xff",
        "match", "ip", dir, String(port), "0xffff", "flowid", "1:20");
    }
  }
}

function restoreNetwork() {
  try {
    tc("qdisc", "del", "dev", "lo", "root");
  } catch {
    // not cut
  }
}

// Freezes the browser, then drops its flows; returns its pids and the ports dropped.
function cutNetwork(profile) {
  let pids = browserPids(profile);
  assert.ok(pids.length > 0, "the member's browser processes");
  // Freeze until no new process appears (a fork racing the first SIGSTOP).
  for (let seen = 0; seen !== pids.length; ) {
    seen = pids.length;
    signal(pids, "SIGSTOP");
    pids = browserPids(profile);
  }
  const sockets = socketsOf(pids);
  assert.ok(sockets.some((s) => s.proto === 6), `the member's WebSocket among its sockets: ${JSON.stringify(sockets)}`);
  assert.ok(sockets.some((s) => s.proto === 17), `the member's ICE (UDP) sockets among its sockets: ${JSON.stringify(sockets)}`);
  dropPorts(sockets);
  return { pids, sockets };
}

// ---- The scenario -------------------------------------------------------------------

const REMOTE = ["sindaco", "assessore-1", "assessore-2", "assessore-3"];
const CUT = "assessore-3";
const IN_CHAMBER = ["assessore-4", "assessore-5"];

const skip = process.env.SEDUTA_E2E_NO_TC === "1" ? "SEDUTA_E2E_NO_TC=1: no traffic control here" : false;

test("a Giunta session: lobby, quorum, a member's network cut, roll-call votes, immediate executability, sealed log", { timeout: 480_000, skip }, async () => {
  const server = await startDemoServer();
  const browsers = [];
  let frozen = null;
  let logKinds = null;
  const logDir = mkdtempSync(join(tmpdir(), "seduta-log-"));
  try {
    // 1. The administrator shortens the grace period before anyone joins (the
    // session takes the organ's settings when it is first loaded).
    const admin = server.staff("admin");
    assert.ok(admin, "the demo administrator account");
    const adminLogin = await server.api("POST", "/api/auth/login", null, { username: admin.username, password: admin.password });
    assert.equal(adminLogin.status, 200, JSON.stringify(adminLogin.body));
    const organs = await server.api("GET", "/api/organs", adminLogin.body.token);
    assert.equal(organs.status, 200);
    const giunta = organs.body.find((o) => o.id === "giunta-demo") ?? organs.body[0];
    const settings = structuredClone(giunta.settings);
    settings.presence.grace_ms = GRACE_MS;
    const put = await server.api("PUT", `/api/organs/${giunta.id}/settings`, adminLogin.body.token, settings);
    assert.equal(put.status, 204, JSON.stringify(put.body));
    const after = await server.api("GET", "/api/organs", adminLogin.body.token);
    assert.equal(after.body.find((o) => o.id === giunta.id).settings.presence.grace_ms, GRACE_MS);

    // 2. The segretario: staff login, invitation links, into the session console.
    const seg = await openBrowser({ width: 1440, height: 900 });
    browsers.push(seg);
    const { page } = seg;
    const creds = server.staff("segretario");
    assert.ok(creds, "the demo segretario account");
    await page.goto(`${server.http_url}/console`);
    await tid(page, "login-username").fill(creds.username);
    await tid(page, "login-password").fill(creds.password);
    await tid(page, "login-submit").click();
    const row = page.locator('[data-testid^="session-row-"][data-status="convened"]').first();
    await row.waitFor({ timeout: 15_000 });
    const session = (await row.getAttribute("data-testid")).replace("session-row-", "");
    await row.locator("a").click();
    await tid(page, "invite-all").click();
    const links = {};
    for (const id of REMOTE) {
      await tid(page, `invite-link-${id}`).waitFor({ timeout: 15_000 });
      const link = await tid(page, `invite-link-${id}`).textContent();
      assert.match(link, /#token=/);
      // Links point at the public URL; open them on this server.
      links[id] = `${server.http_url}/${link.slice(link.indexOf("#"))}`;
    }
    await tid(page, "enter-session").click();
    await joinCall(page, { slow: 2 });
    await tid(page, "console-panel").waitFor({ state: "visible" });
    assert.equal((await view(page)).session, session);
    assert.equal((await view(page)).phase, "convened");
    const segId = (await view(page)).people.find((p) => p.role === "segretario").id;

    // 3. Four members join; each waits in the lobby and is identified on video.
    const members = {};
    for (const id of REMOTE) {
      const m = await openBrowser({ width: 800, height: 600 });
      browsers.push(m);
      members[id] = m;
      await m.page.goto(links[id]);
      await joinCall(m.page, { slow: 2 });
      await tid(m.page, "screen-lobby").waitFor({ state: "visible", timeout: 20_000 });
      assert.equal((await m.page.evaluate(() => window.seduta.presence)).state, "lobby");
      await tid(page, `lobby-row-${id}`).waitFor({ timeout: 20_000 });
      // Identification needs the camera on: wait until the server knows it is.
      await until(
        async () => (await view(page)).people.find((p) => p.id === id)?.camera_on === true,
        20_000,
        `${id}'s camera on at the console`,
      );
      await act(page, `identify-${id}`);
      await until(async () => (await presence(page, id)) === "present", 15_000, `${id} admitted`);
      await until(async () => (await tid(m.page, "screen-lobby").count()) === 0, 15_000, `${id}'s lobby screen to go`);
    }
    assert.equal(await tid(page, `presence-sindaco`).getAttribute("data-mode"), "remote");

    // The quorum: 4 present of 7 in office, 4 required — at the console and at a member's.
    await until(async () => (await view(page)).quorum.reached, 15_000, "the quorum at the console");
    assert.deepEqual(pickQuorum((await view(page)).quorum), { reached: true, counted: 4, required: 4, in_office: 7 });
    assert.match(await consoleTid(page, "quorum").textContent(), /Numero legale raggiunto: 4 presenti, 4 richiesti \(7 in carica\)/);
    const sindaca = members.sindaco.page;
    await until(() => sindaca.evaluate(() => window.seduta.meeting?.quorum?.reached === true), 15_000, "the quorum at the Sindaca's page");
    assert.deepEqual(pickQuorum((await view(sindaca)).quorum), { reached: true, counted: 4, required: 4, in_office: 7 });

    // The session opens while the quorum holds (see the note at the top).
    await act(page, "open-session");
    await until(async () => (await consoleTid(page, "phase").getAttribute("data-phase")) === "open", 15_000, "phase open");
    assert.equal(await consoleTid(page, "alerts").count(), 0, "no alert while the quorum holds");

    // 4. assessore-3's network is cut; the others keep theirs.
    const cutAt = Date.now();
    frozen = cutNetwork(members[CUT].profile);
    await until(async () => (await presence(page, CUT)) === "absent", 60_000, `${CUT} absent after the grace period`);
    const absentAfter = Date.now() - cutAt;
    console.log(`network of ${CUT} cut (${frozen.pids.length} processes, ports ${frozen.sockets.map((x) => `${x.proto === 6 ? "tcp" : "udp"}/${x.port}`).join(" ")}); absent after ${absentAfter} ms`);
    assert.ok(absentAfter >= GRACE_MS, `absent only after the grace period (${absentAfter} ms)`);
    const q3 = (await view(page)).quorum;
    assert.deepEqual(pickQuorum(q3), { reached: false, counted: 3, required: 4, in_office: 7 });
    assert.match(await consoleTid(page, "quorum").textContent(), /Numero legale non raggiunto: 3 presenti, 4 richiesti \(7 in carica\)/);
    await consoleTid(page, "alerts").waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await consoleTid(page, "alerts").textContent(), /Numero legale venuto meno/);
    assert.match(await consoleTid(page, "alerts").textContent(), /sospendere/);
    await until(() => sindaca.evaluate(() => window.seduta.meeting?.quorum?.reached === false), 15_000, "the lost quorum at the Sindaca's page");
    assert.deepEqual(await sindaca.evaluate(() => window.seduta.alerts), ["quorum"]);
    // The cut is this member's only: the others are still connected and present.
    for (const id of ["sindaco", "assessore-1", "assessore-2"]) {
      assert.equal(await members[id].page.evaluate(() => window.seduta.state), "in", `${id} still in`);
      assert.equal(await presence(page, id), "present", `${id} still present`);
    }

    // 5. Two members in the chamber are checked in: five present, the quorum is back.
    for (const id of IN_CHAMBER) {
      await act(page, `checkin-${id}`);
      await until(async () => (await presence(page, id)) === "present", 15_000, `${id} checked in`);
      assert.equal(await tid(page, `presence-${id}`).getAttribute("data-mode"), "in_person");
    }
    await until(async () => (await view(page)).quorum.counted === 5, 15_000, "five present");
    assert.deepEqual(pickQuorum((await view(page)).quorum), { reached: true, counted: 5, required: 4, in_office: 7 });
    await until(async () => (await consoleTid(page, "alerts").count()) === 0, 15_000, "the alert to go");

    await act(page, "open-item-1");
    for (const id of ["sindaco", "assessore-1", "assessore-2"]) {
      await until(() => members[id].page.evaluate(() => window.seduta.meeting?.current_item === 1), 15_000, `item 1 at ${id}`);
    }

    // The proposal: 3 favorevoli, 1 contrario, 1 astenuto; three answers cast by the
    // remote members on camera, two called by name and recorded by the segretario.
    const deliberation = await rollCall(page, members, "open-vote-deliberation", {
      sindaco: "favorevole",
      "assessore-1": "favorevole",
      "assessore-2": "astenuto",
    }, {
      "assessore-4": "favorevole",
      "assessore-5": "contrario",
    });
    assert.equal(deliberation.vote, "deliberation");
    assert.deepEqual(deliberation.outcome.count, { favorevoli: 3, contrari: 1, astenuti: 1, presenti: 5 });
    assert.equal(deliberation.outcome.approved, true);
    for (const p of [page, sindaca, members["assessore-2"].page]) {
      await tid(p, "result-1").waitFor({ timeout: 15_000 });
      const text = await tid(p, "result-1").textContent();
      assert.match(text, /APPROVATA/);
      assert.match(text, /Favorevoli 3 · Contrari 1 · Astenuti 1 · Presenti 5/);
    }

    // 6. Immediate executability on the same item: 3 favorevoli are fewer than the
    // 4 (floor(7/2)+1) required on the membership — rejected, although 3 > 1 contrario.
    const immediate = await rollCall(page, members, "open-vote-immediate", {
      sindaco: "favorevole",
      "assessore-1": "favorevole",
      "assessore-2": "contrario",
    }, {
      "assessore-4": "favorevole",
      "assessore-5": "astenuto",
    });
    assert.equal(immediate.vote, "immediate_executability");
    assert.equal(immediate.item, 1);
    assert.equal(immediate.outcome.count.favorevoli, 3);
    assert.equal(immediate.outcome.approved, false, "immediate executability needs 4 favorevoli");
    for (const p of [page, sindaca]) {
      await tid(p, "result-2").waitFor({ timeout: 15_000 });
      const text = await tid(p, "result-2").textContent();
      assert.match(text, /RESPINTA/);
      assert.doesNotMatch(text, /APPROVATA/);
      assert.match(text, /Favorevoli 3 /);
    }

    // 7. The session is closed (confirmed); the members are told.
    await act(page, "close-session", { confirm: true });
    for (const id of ["sindaco", "assessore-1", "assessore-2"]) {
      await members[id].page.locator("#view-error").waitFor({ state: "visible", timeout: 20_000 });
      assert.match(await members[id].page.textContent("#error-text"), /chiusa/);
    }

    // The attendance log through the API, with a fresh staff login.
    const segLogin = await server.api("POST", "/api/auth/login", null, { username: creds.username, password: creds.password });
    assert.equal(segLogin.status, 200);
    const res = await fetch(`${server.http_url}/api/sessions/${encodeURIComponent(session)}/attendance?format=jsonl`, {
      headers: { authorization: `Bearer ${segLogin.body.token}` },
    });
    assert.equal(res.status, 200);
    const jsonl = await res.text();
    const lines = jsonl.split("\n").filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l));
    logKinds = entries.map((e) => `${e.seq} ${e.kind} ${e.data.participant ?? e.data.member ?? ""}`);
    const file = join(logDir, "attendance.jsonl");
    writeFileSync(file, jsonl);

    const ok = spawnSync(BIN, ["verify", file], { encoding: "utf8" });
    assert.equal(ok.status, 0, `seduta verify on the untouched log: ${ok.stdout}${ok.stderr}`);
    assert.match(ok.stdout, /integro/);
    assert.match(ok.stdout, new RegExp(`${entries.length} eventi`));
    assert.match(ok.stdout, /sigillato \/ sealed/);

    // Every event of the scenario is in the log.
    const kinds = (kind, pred = () => true) => entries.filter((e) => e.kind === kind && pred(e));
    const about = (id) => (e) => e.data.participant === id;
    // admitted ×4: the four remote members, each once; the only other admission is the
    // segretario's own (authenticated by the staff account, admitted on joining).
    assert.equal(kinds("admitted", (e) => REMOTE.includes(e.data.participant)).length, 4, "admitted ×4");
    for (const id of REMOTE) assert.equal(kinds("admitted", about(id)).length, 1, `${id} admitted`);
    assert.deepEqual(kinds("admitted", (e) => !REMOTE.includes(e.data.participant)).map((e) => e.data.participant), [segId]);
    assert.equal(kinds("disconnected", about(CUT)).length, 1, "disconnected");
    assert.equal(kinds("absent_after_disconnection", about(CUT)).length, 1, "absent_after_disconnection");
    assert.equal(kinds("checked_in").length, 2, "checked_in ×2");
    for (const id of IN_CHAMBER) assert.equal(kinds("checked_in", about(id)).length, 1, `${id} checked in`);
    assert.equal(kinds("session_opened").length, 1);
    assert.equal(kinds("vote_opened").length, 2, "two votes opened");
    assert.equal(kinds("vote_cast").length, 10, "five answers per vote");
    assert.equal(kinds("vote_closed").length, 2);
    assert.equal(kinds("session_closed").length, 1);
    assert.equal(entries.at(-1).kind, "sealed", "sealed last");
    // The grace period was the administrator's (3 s), not the default (30 s).
    const lostAt = Date.parse(kinds("disconnected", about(CUT))[0].at);
    const absentAt = Date.parse(kinds("absent_after_disconnection", about(CUT))[0].at);
    assert.ok(absentAt - lostAt >= GRACE_MS && absentAt - lostAt < 30_000, `grace period in the log: ${absentAt - lostAt} ms`);
    console.log(`the server noticed the cut after ${lostAt - cutAt} ms; absent ${absentAt - lostAt} ms later`);
    // Presence is frozen when a vote opens: the cut member is not among the voters.
    for (const e of kinds("vote_opened")) {
      assert.deepEqual([...e.data.present].sort(), ["assessore-1", "assessore-2", "assessore-4", "assessore-5", "sindaco"]);
    }
    // Who cast and who recorded: the remote members themselves, the segretario by name.
    const firstVote = kinds("vote_cast").slice(0, 5);
    const cast = Object.fromEntries(firstVote.map((e) => [e.data.member, [e.data.ballot, e.data.recorded_by ?? null]]));
    assert.deepEqual(cast.sindaco, ["favorevole", null]);
    assert.deepEqual(cast["assessore-1"], ["favorevole", null]);
    assert.deepEqual(cast["assessore-2"], ["astenuto", null]);
    assert.equal(cast["assessore-4"][0], "favorevole");
    assert.equal(cast["assessore-5"][0], "contrario");
    assert.ok(cast["assessore-4"][1] && cast["assessore-5"][1], "the in-chamber answers recorded by the segretario");
    const closed = kinds("vote_closed").map((e) => [e.data.kind, e.data.outcome.approved]);
    assert.deepEqual(closed, [["deliberation", true], ["immediate_executability", false]]);

    // One byte changed inside entry N (a digit of its timestamp; the JSON stays valid).
    const n = kinds("absent_after_disconnection")[0].seq;
    const target = lines[n - 1];
    const tampered = target.replace(/^(\{"seq":\d+,"at":"[^"]*?)(\d)(Z?")/, (_, head, d, tail) => `${head}${(Number(d) + 1) % 10}${tail}`);
    assert.notEqual(tampered, target, "the timestamp was changed");
    assert.equal(tampered.length, target.length, "one byte, in place");
    JSON.parse(tampered);
    const altered = [...lines];
    altered[n - 1] = tampered;
    const badFile = join(logDir, "attendance-altered.jsonl");
    writeFileSync(badFile, `${altered.join("\n")}\n`);
    const bad = spawnSync(BIN, ["verify", badFile], { encoding: "utf8" });
    assert.notEqual(bad.status, 0, "seduta verify refuses the altered log");
    const said = `${bad.stdout}${bad.stderr}`;
    assert.match(said, new RegExp(`entry ${n}\\b`), `names entry ${n}: ${said}`);
    assert.doesNotMatch(said, /integro \/ intact/);

    for (const b of browsers) {
      if (b === members[CUT]) continue;
      assert.deepEqual(b.errors, [], "no uncaught errors in the pages");
    }
  } catch (e) {
    // The server's own account helps when something fails.
    console.error(server.log().split("\n").slice(-60).join("\n"));
    if (logKinds) console.error(`attendance log:\n${logKinds.join("\n")}`);
    throw e;
  } finally {
    restoreNetwork();
    if (frozen) signal(frozen.pids, "SIGCONT");
    for (const b of browsers) await b.close();
    await server.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
});

function pickQuorum(q) {
  if (!q) return q;
  return { reached: q.reached, counted: q.counted, required: q.required, in_office: q.in_office };
}

// Opens a vote on the current item, has `cast` answered by the members at their own
// pages and `recorded` by the segretario, closes it (confirmed) and returns the
// result as the console's view holds it.
async function rollCall(page, members, opener, cast, recorded) {
  const before = (await view(page)).results.length;
  await act(page, opener);
  await until(async () => (await view(page)).vote, 15_000, "the vote open at the console");
  const entitled = (await view(page)).vote.entitled;
  assert.deepEqual([...entitled].sort(), ["assessore-1", "assessore-2", "assessore-4", "assessore-5", "sindaco"], "entitled: the five present");
  for (const [id, ballot] of Object.entries(cast)) {
    const p = members[id].page;
    await tid(p, `vote-${ballot}`).click({ timeout: 15_000 });
    await tid(p, "my-ballot").waitFor({ timeout: 15_000 });
    assert.equal(await tid(p, "vote-favorevole").isDisabled(), true, "one answer only");
    await until(async () => (await consoleTid(page, `ballot-${id}`).getAttribute("data-ballot")) === ballot, 15_000, `${id}'s answer at the console`);
  }
  for (const [id, ballot] of Object.entries(recorded)) {
    await act(page, `record-${id}-${ballot}`);
    await until(async () => (await consoleTid(page, `ballot-${id}`).getAttribute("data-ballot")) === ballot, 15_000, `${id}'s recorded answer`);
  }
  await until(async () => Object.keys((await view(page)).vote?.ballots ?? {}).length === 5, 15_000, "five answers");
  await act(page, "close-vote", { confirm: true });
  await until(async () => (await view(page)).results.length === before + 1, 15_000, "the vote closed");
  return (await view(page)).results[before];
}
