// Shared test harness: starts the real `seduta` binary on loopback and drives real
// headless Chromium (Debian's) with a fake camera and microphone.

import { spawn, spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes, createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "..", "..");
export const BIN = process.env.SEDUTA_BIN || join(ROOT, "target", "debug", "seduta");
const CHROMIUM = process.env.SEDUTA_CHROMIUM || "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--auto-select-desktop-capture-source=Entire screen",
  "--allow-loopback-in-peer-connection",
  "--autoplay-policy=no-user-gesture-required",
  "--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks",
];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` until it returns a truthy value or `ms` pass; then throws `what`.
export async function until(fn, ms, what) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last?.message ?? last)}`);
}

export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), "seduta-e2e-"));
  const secret = randomBytes(24).toString("hex");
  const ready = join(dir, "ready.json");
  const override = (flag) => extraArgs.includes(flag);
  const args = [
    "serve",
    ...(override("--http-bind") ? [] : ["--http-bind", "127.0.0.1:0"]),
    ...(override("--udp-bind") ? [] : ["--udp-bind", "127.0.0.1:0"]),
    ...(override("--tcp-bind") ? [] : ["--tcp-bind", "127.0.0.1:0"]),
    "--data-dir", dir,
    "--jwt-secret", secret,
    "--ready-file", ready,
    "--no-demo",
    ...extraArgs,
  ];
  const child = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  await until(() => existsSync(ready) || child.exitCode !== null, 20_000, "the server's ready file");
  if (child.exitCode !== null) throw new Error(`server exited: ${log}`);
  const info = JSON.parse(readFileSync(ready, "utf8"));
  return {
    ...info,
    log: () => log,
    token({ session, sub, name, role = "member", ttl = 3600 }) {
      return execFileSync(BIN, [
        "token", "--jwt-secret", secret, "--data-dir", dir,
        "--session", session, "--role", role, "--sub", sub, "--name", name, "--ttl", String(ttl),
      ]).toString().trim();
    },
    // A token with arbitrary claims, signed here (not by the server) with the secret.
    signedToken(claims) {
      const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ aud: "seduta", ...claims })}`;
      return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
    },
    link(opts) {
      return `${info.http_url}/#token=${this.token(opts)}`;
    },
    async stop() {
      child.kill("SIGTERM");
      await until(() => child.exitCode !== null || child.signalCode !== null, 5_000, "server exit").catch(() => child.kill("SIGKILL"));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// One browser per participant, each with its own profile.
export async function openBrowser(viewport = { width: 1280, height: 800 }, extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), "seduta-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    permissions: ["camera", "microphone"],
    viewport,
  });
  const page = context.pages()[0] || (await context.newPage());
  return browserSession(page, async () => {
    await context.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
}

// A page with its uncaught errors collected, and how to close its browser.
export function browserSession(page, close) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { page, errors, close };
}

// Opens an invitation link and enters the session through the UI.
export async function joinViaUi(browser, link) {
  const { page } = browser;
  await page.goto("about:blank");
  await page.goto(link);
  await page.locator("#join-button").waitFor({ state: "visible", timeout: 15_000 });
  await until(() => page.evaluate(() => document.querySelector("#camera-select").options.length > 0), 10_000, "devices listed");
  await page.click("#join-button");
  await until(() => page.evaluate(() => window.seduta.state === "in"), 15_000, "state in");
}

// Per remote participant: decoded video frames and received audio packets.
// Runs in the page (Playwright or Puppeteer).
export const remoteMediaInPage = async () => {
    const pc = window.seduta.subscriberPc;
    if (!pc) return {};
    const tracks = window.seduta.tracks();
    const byParticipant = {};
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== "inbound-rtp") return;
      const info = tracks[s.mid];
      if (!info) return;
      const entry = (byParticipant[info.participant] ??= { audioPackets: 0, framesDecoded: 0, frameHeight: 0 });
      if (s.kind === "audio") entry.audioPackets += s.packetsReceived || 0;
      if (s.kind === "video" && info.source === "camera") {
        entry.framesDecoded += s.framesDecoded || 0;
        entry.frameHeight = Math.max(entry.frameHeight, s.frameHeight || 0);
      }
      if (s.kind === "video" && info.source === "screen") entry.screenFrames = (entry.screenFrames || 0) + (s.framesDecoded || 0);
    });
    return byParticipant;
};

export async function remoteMedia(page) {
  return page.evaluate(remoteMediaInPage);
}

// ---- Judging recorded files (Debian's ffmpeg and ffprobe) -------------------------

/** What `ffmpeg -v error` says while decoding `file` to nothing: "" when it decodes
 *  cleanly (a non-zero exit is reported too). `-enc_time_base -1` keeps the file's own
 *  time base (1 ms in WebM) on the way to the null output: without it ffmpeg rounds
 *  each video frame's time to ticks of the stream's guessed frame rate (100 ms at
 *  10 fps), and two real frames captured 40 ms apart become "non monotonically
 *  increasing dts to muxer" — a complaint about its own rounding, not about the file. */
export function decodeErrors(file) {
  const r = spawnSync("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-enc_time_base", "-1", "-f", "null", "-"], { encoding: "utf8" });
  if (r.error) throw new Error(`running ffmpeg (Debian package ffmpeg): ${r.error.message}`);
  return `${r.stderr.trim()}${r.status === 0 ? "" : ` (ffmpeg exited with ${r.status})`}`.trim();
}

/** A media file's packets as ffprobe reads them: the first packet's time, the end of
 *  the last one (its time plus its duration, 0 when the container gives none) and
 *  `seconds`, the span between them — a live WebM has no Duration element, so this is
 *  its duration (docs/recording.md, "Crash safety"). Times in seconds. */
export function packetSpan(file) {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", file], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`running ffprobe (Debian package ffmpeg): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ffprobe ${file}: ${r.stderr.trim()}`);
  let first = Infinity;
  let end = -Infinity;
  let packets = 0;
  for (const line of r.stdout.split("\n")) {
    const [pts, duration] = line.split(",").map(Number);
    if (!Number.isFinite(pts)) continue;
    packets += 1;
    first = Math.min(first, pts);
    end = Math.max(end, pts + (Number.isFinite(duration) ? duration : 0));
  }
  if (packets === 0) throw new Error(`${file} has no packets`);
  return { packets, first, end, seconds: end - first };
}
