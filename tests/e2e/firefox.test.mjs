// Firefox (Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core) and
// Chromium in one session: each decodes the other's audio and video.
//
// Firefox gathers no ICE candidates on loopback alone, so the test gives its network
// namespace a veth interface with a documentation address (192.0.2.1, TEST-NET-1)
// and binds the server there. The namespace has no link to anything else: all
// traffic stays on this machine.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { browserSession, startServer, openBrowser, joinViaUi, remoteMedia, remoteMediaInPage, until } from "./harness.mjs";

const FIREFOX = process.env.SEDUTA_FIREFOX || "/usr/bin/firefox-esr";

const ADDR = "192.0.2.1";

function localInterface() {
  try {
    execFileSync("ip", ["addr", "show", "dev", "sd0"], { stdio: "ignore" });
  } catch {
    execFileSync("ip", ["link", "add", "sd0", "type", "veth", "peer", "name", "sd1"]);
    execFileSync("ip", ["addr", "add", `${ADDR}/24`, "dev", "sd0"]);
    execFileSync("ip", ["link", "set", "sd0", "up"]);
    execFileSync("ip", ["link", "set", "sd1", "up"]);
  }
}

async function openFirefox() {
  const dir = mkdtempSync(join(tmpdir(), "seduta-firefox-"));
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    userDataDir: dir,
    extraPrefsFirefox: {
      "media.navigator.streams.fake": true,
      "media.navigator.permission.disabled": true,
      "media.peerconnection.ice.loopback": true,
      "media.peerconnection.ice.obfuscate_host_addresses": false,
      "media.autoplay.default": 0,
      // The page is served over plain HTTP on a non-loopback address.
      "media.devices.insecure.enabled": true,
      "media.getusermedia.insecure.enabled": true,
    },
  });
  const page = await browser.newPage();
  return browserSession(page, async () => {
    await browser.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
}

test("Firefox and Chromium see and hear each other", { timeout: 150_000 }, async () => {
  assert.ok(existsSync(FIREFOX), `Firefox at ${FIREFOX} (Debian package firefox-esr; scripts/test installs it)`);
  localInterface();
  const server = await startServer(["--http-bind", `${ADDR}:0`, "--udp-bind", `${ADDR}:0`, "--tcp-bind", `${ADDR}:0`]);
  const origin = server.http_url;
  const chromium = await openBrowser(undefined, [`--unsafely-treat-insecure-origin-as-secure=${origin}`]);
  let firefox;
  try {
    firefox = await openFirefox();
    await firefox.page.goto(server.link({ session: "firefox", sub: "assessore-4", name: "Chiara Moretti" }));
    await firefox.page.waitForSelector("#join-button", { visible: true, timeout: 20_000 });
    await until(() => firefox.page.evaluate(() => document.querySelector("#camera-select").options.length > 0), 15_000, "Firefox devices");
    await firefox.page.click("#join-button");
    await until(() => firefox.page.evaluate(() => window.seduta.state === "in"), 20_000, "Firefox joined");
    await joinViaUi(chromium, server.link({ session: "firefox", sub: "sindaco", name: "Giulia Ferraris", role: "presiding" }));

    await until(async () => {
      const m = (await remoteMedia(chromium.page))["assessore-4"];
      return m?.framesDecoded > 0 && m?.audioPackets > 0;
    }, 45_000, "Chromium decoding Firefox");
    await until(async () => {
      const m = (await firefox.page.evaluate(remoteMediaInPage)).sindaco;
      return m?.framesDecoded > 0 && m?.audioPackets > 0 && m;
    }, 45_000, "Firefox decoding Chromium");
  } finally {
    await firefox?.close();
    await chromium.close();
    await server.stop();
  }
});
