import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, joinViaUi, remoteMedia, until } from "./harness.mjs";

test("screen share is a second video track, renegotiated in and out", { timeout: 120_000 }, async () => {
  const server = await startServer();
  const a = await openBrowser();
  const b = await openBrowser();
  try {
    await joinViaUi(a, server.link({ session: "screen", sub: "assessore-2", name: "Laura Gentile" }));
    await joinViaUi(b, server.link({ session: "screen", sub: "segretario", name: "Andrea Conti", role: "segretario" }));
    await until(async () => (await remoteMedia(b.page))["assessore-2"]?.framesDecoded > 0, 30_000, "camera first");

    await a.page.click("#screen-button");
    await until(async () => (await remoteMedia(b.page))["assessore-2"]?.screenFrames > 0, 30_000, "the shared screen decoding at the other side");
    await until(() => b.page.locator('#grid .tile.screen[data-participant="assessore-2"]').count(), 10_000, "a screen tile");
    const cameraStill = (await remoteMedia(b.page))["assessore-2"].framesDecoded;
    assert.ok(cameraStill > 0, "the camera keeps going beside the screen");

    await a.page.click("#screen-button");
    await until(async () => (await b.page.locator("#grid .tile.screen").count()) === 0, 15_000, "the screen tile to go");
    await until(async () => {
      const before = (await remoteMedia(b.page))["assessore-2"].framesDecoded;
      await new Promise((r) => setTimeout(r, 1000));
      return (await remoteMedia(b.page))["assessore-2"].framesDecoded > before;
    }, 10_000, "the camera still flowing after the screen stopped");
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
  } finally {
    await a.close();
    await b.close();
    await server.stop();
  }
});
