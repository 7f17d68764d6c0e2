// The clerk's archive in Chromium, on a session the real server recorded and
// preserved: assessore-1 joins from a browser (fake camera and microphone) and is
// identified, the segretario runs a short session through the REST API (roll call in
// the chamber, item 1 with a vote by name, item 2, close) while the server records it
// (the server's own recorder, chapters and ffmpeg preservation job make every file);
// the clerk logs in,
// finds the session by agenda text, opens it, plays preservation.mp4 and jumps to the
// chapter of item 2 (the video's currentTime moves to the chapter's start, and the
// browser fetched the media with Range requests answered 206); the segretario then
// sees the clerk's view, playback and two downloads (a recording file through a signed
// URL, the package through the package API) in the access log, and exactly one `play`. The
// record page also shows assessore-1 "da remoto" and their microphone activity.

import { test } from "node:test";
import assert from "node:assert/strict";
import { openBrowser, sleep, until } from "./harness.mjs";
import { joinCall, startDemoServer, tid } from "./demo_server.mjs";

// A browser on a small machine: the fake camera at 10 frames per second.
const LOW_COST_ARGS = ["--use-fake-device-for-media-stream=fps=10"];

async function login(server, username) {
  const creds = server.staff(username);
  const res = await server.api("POST", "/api/auth/login", null, { username: creds.username, password: creds.password });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.token;
}

async function consoleLogin(page, server, username) {
  const creds = server.staff(username);
  await page.goto(`${server.http_url}/console#/archive`);
  await tid(page, "login-username").fill(creds.username);
  await tid(page, "login-password").fill(creds.password);
  await tid(page, "login-submit").click();
}

test("clerk archive: search by agenda text, record page, playback with Range, chapter jump, access log", { timeout: 300_000 }, async () => {
  const server = await startDemoServer();
  const browser = await openBrowser({ width: 1280, height: 900 });
  let member = null;
  try {
    const seg = await login(server, "segretario");
    const sessions = await server.api("GET", "/api/sessions", seg);
    const session = sessions.body.find((s) => s.status === "convened").id;
    const act = async (action) => {
      const res = await server.api("POST", `/api/sessions/${session}/actions`, seg, action);
      assert.equal(res.status, 200, `${JSON.stringify(action)}: ${JSON.stringify(res.body)}`);
    };
    // assessore-1 joins from a browser (Chromium's fake camera and microphone) and is
    // identified: their camera and microphone are recorded.
    const inv = await server.api("POST", `/api/sessions/${session}/invitations`, seg, { participant_id: "assessore-1" });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const memberToken = inv.body[0].token;
    member = await openBrowser({ width: 800, height: 600 }, LOW_COST_ARGS);
    await member.page.goto(`${server.http_url}/#token=${memberToken}`);
    await joinCall(member.page, { slow: 2 });
    await until(async () => {
      const st = await server.api("GET", `/api/sessions/${session}/state`, seg);
      const p = st.body?.people?.find((x) => x.id === "assessore-1");
      return p?.presence?.state === "lobby" && p.camera_on;
    }, 30_000, "assessore-1 in the lobby with the camera on");
    await act({ kind: "identify", participant: "assessore-1", camera_on: true });
    for (const p of ["sindaco", "assessore-2", "assessore-3"]) await act({ kind: "check_in", participant: p });
    await act({ kind: "open_session" });
    await sleep(1500);
    await act({ kind: "open_item", item: 1 });
    await sleep(1000);
    await act({ kind: "open_vote", vote: "deliberation" });
    const own = await server.api("POST", `/api/sessions/${session}/actions`, memberToken, { kind: "cast", ballot: "favorevole" });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    for (const [who, ballot] of [["sindaco", "favorevole"], ["assessore-2", "contrario"], ["assessore-3", "favorevole"]]) {
      await act({ kind: "cast", ballot, participant: who });
    }
    await act({ kind: "close_vote" });
    await sleep(2000);
    await act({ kind: "open_item", item: 2 });
    await sleep(4000);
    await act({ kind: "close_session" });
    await member.close();
    member = null;

    // The server's preservation job makes preservation.mp4 and chapters.json.
    const report = await until(async () => {
      const r = await server.api("GET", `/api/sessions/${session}/recording`, seg);
      const job = r.body?.preservation;
      if (job?.state === "failed") throw new Error(`preservation failed: ${JSON.stringify(job)}\n${server.log()}`);
      return job?.state === "done" && r.body.chapters ? r.body : null;
    }, 180_000, "the preservation copy");
    // The package (built after the copy) for the download below.
    const pkg = await until(async () => {
      const r = await server.api("GET", `/api/sessions/${session}/package`, seg);
      return r.status === 200 && r.body.versions?.length ? r.body : null;
    }, 120_000, "the package's first version");
    const zipName = pkg.versions[0].zip;
    const item2 = report.chapters.chapters.find((c) => c.kind === "agenda_item" && c.title.startsWith("Punto 2"));
    assert.ok(item2, `a chapter for item 2: ${JSON.stringify(report.chapters)}`);
    assert.ok(item2.start_ms >= 3000, `item 2 starts a few seconds in: ${item2.start_ms}`);

    // The clerk: log in, search by agenda text (no accents, any case), open the session.
    const { page } = browser;
    const media = [];
    page.on("response", async (res) => {
      if (!res.url().includes("/media/preservation.mp4")) return;
      const headers = await res.request().allHeaders();
      media.push({ status: res.status(), range: headers.range ?? null, contentRange: res.headers()["content-range"] ?? null });
    });
    await consoleLogin(page, server, "segreteria");
    await tid(page, "archive-q").waitFor({ state: "visible", timeout: 10_000 });
    await tid(page, "archive-q").fill("MANUTENZIONE delle scuole");
    await tid(page, "archive-submit").click();
    await tid(page, `archive-row-${session}`).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid^="archive-row-"]').count(), 1);
    await tid(page, `archive-match-${session}-2`).waitFor();
    await tid(page, `archive-link-${session}`).click();

    // The record page: attendance with the mode, the vote by name.
    await tid(page, "record-title").waitFor({ timeout: 10_000 });
    assert.equal(await tid(page, "attendance-sindaco-0").getAttribute("data-mode"), "in_person");
    assert.match(await tid(page, "attendance-sindaco-0").textContent(), /in presenza/);
    assert.equal(await tid(page, "attendance-assessore-4-0").getAttribute("data-state"), "absent");
    assert.equal(await tid(page, "attendance-assessore-1-0").getAttribute("data-mode"), "remote");
    assert.match(await tid(page, "attendance-assessore-1-0").textContent(), /da remoto/);
    // "When assessore-1 spoke": microphone activity from their own track.
    await tid(page, "speaker-assessore-1").waitFor({ timeout: 60_000 });
    const spans = await tid(page, "speaker-assessore-1").locator("[data-start-ms]").count();
    assert.ok(spans >= 1, "assessore-1's microphone activity");
    const spanText = await tid(page, "speaker-assessore-1").textContent();
    assert.equal(await tid(page, "record-vote-1").getAttribute("data-approved"), "true");
    assert.match(await tid(page, "record-vote-1-contrari").textContent(), /\S/);

    // Play, then jump to item 2.
    await tid(page, "player-start").click();
    const video = tid(page, "player-media");
    await until(() => video.evaluate((v) => !v.paused && v.currentTime > 0.2), 20_000, "the video playing");
    const before = await video.evaluate((v) => v.currentTime);
    assert.ok(before < item2.start_ms / 1000 - 1, `still before item 2: ${before}`);
    const chapter = page.locator(`[data-testid^="chapter-"][data-start-ms="${item2.start_ms}"]`).first();
    await chapter.click();
    const at = await until(async () => {
      const t = await video.evaluate((v) => (v.seeking ? null : v.currentTime));
      return t !== null && t >= item2.start_ms / 1000 - 0.05 ? t : null;
    }, 10_000, "the seek to item 2");
    assert.ok(at < item2.start_ms / 1000 + 2, `currentTime ${at} at the chapter's start ${item2.start_ms / 1000}`);
    assert.ok(media.length >= 1, "the browser fetched the media");
    assert.ok(media.some((m) => m.range && m.status === 206 && /^bytes \d+-\d+\/\d+$/.test(m.contentRange ?? "")),
      `Range requests answered 206: ${JSON.stringify(media)}`);
    assert.ok(media.every((m) => m.status === 206 || m.status === 200), JSON.stringify(media));
    console.log(`assessore-1's microphone: ${spanText}`);
    console.log(`playback at ${before.toFixed(2)} s, chapter at ${(item2.start_ms / 1000).toFixed(2)} s, after the jump ${at.toFixed(2)} s; media requests: ${JSON.stringify(media)}`);

    // Downloads: a file of the recording (signed URL) and the package (staff token).
    const [file] = await Promise.all([page.waitForEvent("download", { timeout: 20_000 }), tid(page, "download-chapters.json").click()]);
    assert.equal(file.suggestedFilename(), `${session}-chapters.json`);
    assert.equal((await file.failure()) ?? null, null);
    const [zip] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), tid(page, "package-download-1").click()]);
    assert.equal(zip.suggestedFilename(), zipName);
    assert.equal((await zip.failure()) ?? null, null);

    // The segretario reads the access log in the console.
    await tid(page, "logout").click();
    await consoleLogin(page, server, "segretario");
    await tid(page, "nav-access-log").waitFor({ state: "visible", timeout: 10_000 });
    await page.goto(`${server.http_url}/console#/access-log?session=${encodeURIComponent(session)}`);
    await page.locator('[data-testid^="access-row-"]').first().waitFor({ timeout: 10_000 });
    const rows = await page.locator('[data-testid^="access-row-"]').evaluateAll((els) =>
      els.map((e) => ({ action: e.dataset.action, object: e.dataset.object, user: e.dataset.user })));
    const by = (action, object) => rows.filter((r) => r.action === action && r.object === object && r.user === "segreteria").length;
    assert.equal(by("view", "record"), 1, JSON.stringify(rows));
    assert.equal(by("play", "preservation.mp4"), 1, `one play for ${media.length} media requests: ${JSON.stringify(rows)}`);
    assert.equal(by("download", "chapters.json"), 1, JSON.stringify(rows));
    assert.equal(by("download", zipName), 1, JSON.stringify(rows));
    assert.deepEqual(browser.errors, []);
  } finally {
    if (member) await member.close();
    await browser.close();
    await server.stop();
  }
});
