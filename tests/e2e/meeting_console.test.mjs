// The meeting through the browser, as the people of a Giunta use it: the segretario
// logs into the staff console, makes the invitation links and enters the session;
// an assessore waits in the lobby and is identified on video; members in the
// chamber are checked in; the session opens with the quorum; a roll-call vote is
// cast by the remote member and recorded by name for the others; the outcome is
// shown to both; a revoked link is refused; the session is closed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { openBrowser, until } from "./harness.mjs";
import { act, joinCall, startDemoServer, tid } from "./demo_server.mjs";

const presence = (page, id) => page.evaluate((id) => document.querySelector(`[data-testid="presence-${id}"]`)?.dataset.state ?? null, id);

test("segretario console: login, invitations, lobby on video, check-in, quorum, roll-call vote, revocation, close", { timeout: 240_000 }, async () => {
  const server = await startDemoServer();
  const seg = await openBrowser({ width: 1440, height: 900 });
  const a1 = await openBrowser();
  const late = await openBrowser();
  try {
    const { page } = seg;
    // Staff login: a wrong password is refused in words, the right one lists the sessions.
    const creds = server.staff("segretario");
    assert.ok(creds, "the demo segretario account");
    await page.goto(`${server.http_url}/console`);
    await tid(page, "login-username").fill(creds.username);
    await tid(page, "login-password").fill("not-the-password");
    await tid(page, "login-submit").click();
    await tid(page, "login-error").waitFor({ state: "visible" });
    assert.match(await tid(page, "login-error").textContent(), /errati/);
    await tid(page, "login-password").fill(creds.password);
    await tid(page, "login-submit").click();
    const row = page.locator('[data-testid^="session-row-"][data-status="convened"]').first();
    await row.waitFor({ timeout: 10_000 });
    const session = (await row.getAttribute("data-testid")).replace("session-row-", "");
    await row.locator("a").click();

    // Invitation links for everyone; one is kept for the remote assessore.
    await tid(page, "invite-all").click();
    await tid(page, "invite-link-assessore-1").waitFor();
    const link = await tid(page, "invite-link-assessore-1").textContent();
    assert.match(link, /#token=/);
    const lateLink = await tid(page, "invite-link-assessore-2").textContent();
    // Links point at the public URL; open them on this server.
    const local = (l) => `${server.http_url}/${l.slice(l.indexOf("#"))}`;

    // Into the meeting console.
    await tid(page, "enter-session").click();
    await joinCall(page);
    await tid(page, "console-panel").waitFor({ state: "visible" });
    assert.equal(await page.evaluate(() => window.seduta.meeting?.session), session);

    // The assessore joins: lobby screen at their side, their video in the queue.
    await a1.page.goto(local(link));
    await joinCall(a1.page);
    await tid(a1.page, "screen-lobby").waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await tid(a1.page, "screen-lobby").textContent(), /sala d'attesa/);
    await tid(page, "lobby-row-assessore-1").waitFor({ timeout: 10_000 });
    await until(
      () => page.evaluate(() => {
        const v = document.querySelector('[data-testid="lobby-row-assessore-1"] video');
        return v && v.videoWidth > 0 && !v.paused;
      }),
      20_000,
      "the waiting assessore's video in the lobby queue",
    );
    assert.equal(await page.locator('#grid .tile[data-participant="assessore-1"]').count(), 0, "not in the main grid while waiting");

    // Identified and admitted.
    await act(page, "identify-assessore-1");
    await until(async () => (await presence(page, "assessore-1")) === "present", 10_000, "assessore-1 present");
    await until(async () => (await tid(a1.page, "screen-lobby").count()) === 0, 10_000, "the lobby screen to go");
    await until(() => page.locator('#grid .tile[data-participant="assessore-1"]').count(), 10_000, "assessore-1 in the grid");

    // Opening without the quorum is refused in words.
    await act(page, "open-session");
    await tid(page, "action-error").waitFor({ state: "visible" });
    assert.match(await tid(page, "action-error").textContent(), /numero legale/i);

    // Members in the chamber are checked in until the quorum holds.
    for (const id of ["sindaco", "assessore-3", "assessore-4"]) {
      await act(page, `checkin-${id}`);
      await until(async () => (await presence(page, id)) === "present", 10_000, `${id} checked in`);
    }
    await until(() => page.evaluate(() => window.seduta.meeting.quorum.reached), 10_000, "the quorum");
    assert.match(await tid(page, "quorum").textContent(), /raggiunto/);
    await act(page, "check-quorum");
    await tid(page, "quorum-check").waitFor();

    await act(page, "open-session");
    await until(async () => (await tid(page, "phase").getAttribute("data-phase")) === "open", 10_000, "phase open");
    await act(page, "open-item-1");
    await until(() => a1.page.evaluate(() => window.seduta.meeting?.current_item === 1), 10_000, "item 1 at the member");

    // Roll-call vote: the remote member casts, the others are recorded by name.
    await act(page, "open-vote-deliberation");
    await tid(a1.page, "vote-favorevole").click();
    await tid(a1.page, "my-ballot").waitFor();
    assert.equal(await tid(a1.page, "vote-contrario").isDisabled(), true, "one ballot only");
    await until(async () => (await tid(page, "ballot-assessore-1").getAttribute("data-ballot")) === "favorevole", 10_000, "the member's ballot at the console");
    await act(page, "record-sindaco-favorevole");
    await act(page, "record-assessore-3-contrario");
    await act(page, "record-assessore-4-astenuto");
    await until(() => page.evaluate(() => Object.keys(window.seduta.meeting.vote?.ballots ?? {}).length === 4), 10_000, "four ballots");
    await act(page, "close-vote", { confirm: true });
    await tid(page, "result-1").waitFor({ timeout: 10_000 });
    await tid(a1.page, "result-1").waitFor({ timeout: 10_000 });
    assert.match(await tid(a1.page, "result-1").textContent(), /APPROVATA/);

    // A revoked link is refused with its own message.
    const staffToken = await page.evaluate(() => JSON.parse(sessionStorage.getItem("seduta.staff")).token);
    const claims = JSON.parse(Buffer.from(lateLink.split("#token=")[1].split(".")[1], "base64url").toString());
    const invitations = await server.api("GET", `/api/sessions/${session}/invitations`, staffToken);
    const lateJti = invitations.body.find((i) => i.jti === claims.jti)?.jti;
    assert.ok(lateJti, "the link's invitation is listed");
    const revoked = await server.api("DELETE", `/api/invitations/${lateJti}`, staffToken);
    assert.ok(revoked.status >= 200 && revoked.status < 300, `revocation answered ${revoked.status}`);
    await late.page.goto(local(lateLink));
    await late.page.locator("#join-button").waitFor({ state: "visible" });
    await late.page.click("#join-button");
    await late.page.locator("#view-error").waitFor({ state: "visible", timeout: 15_000 });
    assert.match(await late.page.textContent("#error-text"), /revocato/);

    // Close: confirmed, then everyone is told.
    await act(page, "close-session", { confirm: true });
    await a1.page.locator("#view-error").waitFor({ state: "visible", timeout: 15_000 });
    assert.match(await a1.page.textContent("#error-text"), /chiusa/);

    assert.deepEqual(seg.errors, []);
    assert.deepEqual(a1.errors, []);
    assert.deepEqual(late.errors, []);
  } finally {
    await seg.close();
    await a1.close();
    await late.close();
    await server.stop();
  }
});
