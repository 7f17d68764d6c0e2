// The meeting as a member and as the chamber's display see it: the lobby screen
// (in both languages), the meeting bar (phase, item, quorum), "Mi assento / Sono di
// nuovo presente", the vote prompt refusing a ballot with the camera off in words
// and taking it with the camera on, the outcome, the art. 78 screen; the room
// endpoint shows the grid and the item but no vote prompt.

import { test } from "node:test";
import assert from "node:assert/strict";
import { openBrowser, until } from "./harness.mjs";
import { act, joinCall, startDemoServer, tid } from "./demo_server.mjs";

const stateOf = (page, id) =>
  page.evaluate((id) => window.seduta.meeting?.people.find((p) => p.id === id)?.presence.state ?? null, id);

async function enterCall(page, url) {
  await page.goto("about:blank");
  await page.goto(url);
  await joinCall(page);
}

test("member and room views: lobby, meeting bar, away/back, vote with camera rule, outcome, art. 78, room display", { timeout: 240_000 }, async () => {
  const server = await startDemoServer();
  const seg = await openBrowser({ width: 1440, height: 900 });
  const a1 = await openBrowser();
  const room = await openBrowser({ width: 1280, height: 720 });
  try {
    // Links through the REST API, as the staff console makes them.
    const creds = server.staff("segretario");
    const login = await server.api("POST", "/api/auth/login", null, { username: creds.username, password: creds.password });
    assert.equal(login.status, 200);
    const token = login.body.token;
    const session = (await server.api("GET", "/api/sessions", token)).body.find((s) => s.status === "convened").id;
    const made = (await server.api("POST", `/api/sessions/${session}/invitations`, token, {})).body;
    const local = (link) => `${server.http_url}/${link.slice(link.indexOf("#"))}`;
    const linkOf = (id) => local(made.find((m) => m.participant_id === id).link);
    const roomLink = local(made.find((m) => m.role === "room").link);
    const consoleToken = (await server.api("POST", `/api/sessions/${session}/console`, token)).body.token;

    await enterCall(seg.page, `${server.http_url}/#token=${consoleToken}`);
    await tid(seg.page, "console-panel").waitFor({ state: "visible" });

    // The lobby screen, in Italian and in English.
    await enterCall(a1.page, linkOf("assessore-1"));
    await tid(a1.page, "screen-lobby").waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await tid(a1.page, "screen-lobby").textContent(), /il segretario ti identificherà in video/);
    await a1.page.click("#lang-switch");
    await until(async () => /secretary will identify you/.test(await tid(a1.page, "screen-lobby").textContent()), 5_000, "the lobby text in English");
    await a1.page.click("#lang-switch");
    assert.equal(await a1.page.locator('#grid .tile:not([hidden]):not(.self)').count(), 0, "no remote tiles while waiting");

    // Admitted; the chamber's members checked in; the session opens on item 1.
    await act(seg.page, "identify-assessore-1");
    await until(async () => (await tid(a1.page, "screen-lobby").count()) === 0, 10_000, "the lobby screen to go");
    for (const id of ["sindaco", "assessore-3", "assessore-4"]) await act(seg.page, `checkin-${id}`);
    await until(() => seg.page.evaluate(() => window.seduta.meeting.quorum.reached), 10_000, "the quorum");
    await act(seg.page, "open-session");
    await act(seg.page, "open-item-1");
    await until(async () => (await tid(a1.page, "phase").getAttribute("data-phase")) === "open", 10_000, "phase open at the member");
    await until(async () => /^Punto 1: /.test(await tid(a1.page, "current-item").textContent()), 10_000, "item 1 in the bar");
    assert.match(await tid(a1.page, "quorum").textContent(), /Numero legale raggiunto/);

    // Mi assento / Sono di nuovo presente.
    await tid(a1.page, "away-toggle").click();
    await until(async () => (await stateOf(seg.page, "assessore-1")) === "away", 10_000, "away at the console");
    assert.match(await tid(seg.page, "presence-assessore-1").textContent(), /assente temporaneamente/);
    assert.match(await tid(a1.page, "away-toggle").textContent(), /Sono di nuovo presente/);
    await tid(a1.page, "away-toggle").click();
    await until(async () => (await stateOf(seg.page, "assessore-1")) === "present", 10_000, "back at the console");

    // The chamber's display: grid and item, no vote prompt.
    await enterCall(room.page, roomLink);
    await until(() => room.page.evaluate(() => document.body.classList.contains("room-mode")), 10_000, "room mode");
    if (await tid(seg.page, "identify-aula").count()) await act(seg.page, "identify-aula");
    await until(async () => /^Punto 1: /.test(await tid(room.page, "current-item").textContent()), 10_000, "item 1 on the chamber's display");

    // A vote: refused in words with the camera off, taken with it on.
    await act(seg.page, "open-vote-deliberation");
    await tid(a1.page, "vote-prompt").waitFor({ timeout: 10_000 });
    await a1.page.click("#cam-button");
    await until(() => seg.page.evaluate(() => window.seduta.meeting.people.find((p) => p.id === "assessore-1").camera_on === false), 10_000, "camera off seen");
    await tid(a1.page, "vote-favorevole").click();
    await tid(a1.page, "action-error").waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await tid(a1.page, "action-error").textContent(), /videocamera accesa/);
    await a1.page.click("#cam-button");
    await until(() => seg.page.evaluate(() => window.seduta.meeting.people.find((p) => p.id === "assessore-1").camera_on), 10_000, "camera on seen");
    await tid(a1.page, "vote-favorevole").click();
    await tid(a1.page, "my-ballot").waitFor({ timeout: 10_000 });
    assert.match(await tid(a1.page, "my-ballot").textContent(), /Favorevole/);
    assert.equal(await tid(room.page, "vote-prompt").count(), 0, "no vote prompt on the chamber's display");
    await act(seg.page, "record-sindaco-favorevole");
    await act(seg.page, "record-assessore-3-contrario");
    await act(seg.page, "record-assessore-4-astenuto");
    await act(seg.page, "close-vote", { confirm: true });
    await tid(a1.page, "result-1").waitFor({ timeout: 10_000 });
    const result = await tid(a1.page, "result-1").textContent();
    assert.match(result, /APPROVATA/);
    assert.match(result, /Favorevoli 2 · Contrari 1 · Astenuti 1/);

    // Art. 78 on item 2: the member is out for the item, back on the next one.
    await act(seg.page, "open-item-2");
    await act(seg.page, "abstain-assessore-1", { confirm: true });
    await tid(a1.page, "screen-abstaining").waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await tid(a1.page, "screen-abstaining").textContent(), /punto 2/);
    await act(seg.page, "open-item-3");
    await until(async () => (await tid(a1.page, "screen-abstaining").count()) === 0, 10_000, "back after the item");

    assert.deepEqual(seg.errors, []);
    assert.deepEqual(a1.errors, []);
    assert.deepEqual(room.errors, []);
  } finally {
    await seg.close();
    await a1.close();
    await room.close();
    await server.stop();
  }
});
