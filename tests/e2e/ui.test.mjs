import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, joinViaUi, until } from "./harness.mjs";

test("the client explains a missing link, switches language, reports an expired link and shows mute", { timeout: 120_000 }, async () => {
  const server = await startServer();
  const a = await openBrowser();
  const b = await openBrowser();
  try {
    // No token: an explanation, in Italian first.
    await a.page.goto(server.http_url);
    await a.page.locator("#view-notoken").waitFor({ state: "visible" });
    assert.match(await a.page.textContent("#view-notoken h1"), /link di invito/);
    // The language switch flips every text, and back.
    await a.page.click("#lang-switch");
    assert.match(await a.page.textContent("#view-notoken h1"), /invitation link is needed/);
    await a.page.click("#lang-switch");
    assert.match(await a.page.textContent("#view-notoken h1"), /link di invito/);

    // An expired link: the Italian message, at join.
    const now = Math.floor(Date.now() / 1000);
    const token = server.signedToken({ sub: "late", session: "ui", role: "member", name: "Ritardatario", nbf: now - 7200, exp: now - 3600 });
    const expired = `${server.http_url}/#token=${token}`;
    await a.page.goto("about:blank");
    await a.page.goto(expired);
    await a.page.locator("#join-button").waitFor({ state: "visible" });
    await a.page.click("#join-button");
    await a.page.locator("#view-error").waitFor({ state: "visible", timeout: 15_000 });
    assert.match(await a.page.textContent("#error-text"), /è scaduto/);

    // Mute is shown to the others.
    await joinViaUi(a, server.link({ session: "ui", sub: "assessore-3", name: "Paolo Rinaldi" }));
    await joinViaUi(b, server.link({ session: "ui", sub: "assessore-4", name: "Chiara Moretti" }));
    await a.page.click("#mic-button");
    await until(() => b.page.locator('#grid .tile[data-participant="assessore-3"] .flag.muted').count(), 10_000, "the muted icon at the other side");
    await a.page.click("#cam-button");
    await until(() => b.page.locator('#grid .tile[data-participant="assessore-3"] .flag.camoff').count(), 10_000, "the camera-off icon at the other side");
    await a.page.click("#cam-button");
    await until(async () => (await b.page.locator('#grid .tile[data-participant="assessore-3"] .flag.camoff').count()) === 0, 10_000, "camera back on");
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally {
    await a.close();
    await b.close();
    await server.stop();
  }
});
