import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { startServer, openBrowser, joinViaUi, remoteMedia, until, BIN } from "./harness.mjs";

const TESTPEER = process.env.SEDUTA_TESTPEER || join(dirname(BIN), "seduta-testpeer");

test("an independent webrtc-rs peer and a browser exchange audio and video", { timeout: 120_000 }, async () => {
  const server = await startServer();
  const browser = await openBrowser();
  const mediaDir = mkdtempSync(join(tmpdir(), "seduta-testpeer-"));
  let peer;
  try {
    await joinViaUi(browser, server.link({ session: "mixed", sub: "sindaco", name: "Giulia Ferraris", role: "presiding" }));
    const url = `${server.http_url.replace("http", "ws")}/ws/mixed`;
    const token = server.token({ session: "mixed", sub: "rs-peer", name: "Peer webrtc-rs", role: "member" });
    peer = spawn(TESTPEER, ["--url", url, "--token", token, "--seconds", "60", "--media-dir", mediaDir], { stdio: ["ignore", "pipe", "pipe"] });
    let last = {};
    let stderr = "";
    peer.stderr.on("data", (d) => (stderr += d));
    peer.stdout.on("data", (d) => {
      for (const line of String(d).split("\n")) {
        try {
          const msg = JSON.parse(line);
          if (msg.received) last = msg.received;
        } catch {}
      }
    });
    // The browser decodes the peer's VP8 and receives its Opus.
    await until(async () => {
      const media = await remoteMedia(browser.page);
      return media["rs-peer"]?.framesDecoded > 0 && media["rs-peer"]?.audioPackets > 0;
    }, 40_000, "the browser decoding the webrtc-rs peer");
    // The peer receives the browser's audio and video.
    await until(() => last.sindaco?.audio_packets > 20 && last.sindaco?.video_packets > 20, 30_000,
      `the webrtc-rs peer receiving the browser's media (stderr: ${stderr.slice(-500)})`);
    assert.deepEqual(browser.errors, []);
  } finally {
    peer?.kill("SIGTERM");
    await browser.close();
    await server.stop();
    rmSync(mediaDir, { recursive: true, force: true });
  }
});
