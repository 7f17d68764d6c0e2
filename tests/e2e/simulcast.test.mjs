// A subscriber whose receive bandwidth is constrained gets a lower simulcast layer,
// and climbs back when the constraint is lifted. The constraint is real: Linux tc
// shapes the subscriber's UDP port on the loopback of the test's network namespace.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startServer, openBrowser, joinViaUi, remoteMedia, until } from "./harness.mjs";

function tc(...args) {
  execFileSync("tc", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function tcUsable() {
  try {
    tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
    tc("qdisc", "del", "dev", "lo", "root");
    return true;
  } catch {
    return false;
  }
}

// Limits traffic to `port` on lo to `rate`; everything else goes unshaped.
function shape(port, rate) {
  tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit");
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", rate, "ceil", rate);
  tc("qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "30");
  tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
    "match", "ip", "protocol", "17", "0xff", "match", "ip", "dport", String(port), "0xffff", "flowid", "1:20");
}

function unshape() {
  try {
    tc("qdisc", "del", "dev", "lo", "root");
  } catch {
    // already gone
  }
}

async function subscriberPort(page) {
  return page.evaluate(async () => {
    const stats = await window.seduta.subscriberPc.getStats();
    let pair;
    stats.forEach((s) => {
      if (s.type === "candidate-pair" && s.state === "succeeded" && s.nominated) pair = s;
    });
    return pair ? stats.get(pair.localCandidateId)?.port : null;
  });
}

const skip = process.env.SEDUTA_E2E_NO_TC === "1" ? "SEDUTA_E2E_NO_TC=1: no traffic shaping here" : false;

test("simulcast: constrained subscriber drops to a lower layer and climbs back", { timeout: 180_000, skip }, async () => {
  assert.ok(tcUsable(), "tc on lo must work: run inside `unshare -n` as root (scripts/test does), or set SEDUTA_E2E_NO_TC=1");
  const server = await startServer();
  const publisher = await openBrowser();
  const subscriber = await openBrowser({ width: 2400, height: 1500 });
  try {
    await joinViaUi(publisher, server.link({ session: "simulcast", sub: "sindaco", name: "Giulia Ferraris", role: "presiding" }));
    await joinViaUi(subscriber, server.link({ session: "simulcast", sub: "assessore-1", name: "Marco Bellini" }));
    const height = async () => (await remoteMedia(subscriber.page)).sindaco?.frameHeight ?? 0;

    await until(async () => (await height()) >= 720 && (await height()), 45_000, "the full 720p layer");
    const port = await subscriberPort(subscriber.page);
    assert.ok(port, "the subscriber's local UDP port");

    shape(port, "300kbit");
    await until(async () => {
      const h = await height();
      return h > 0 && h <= 360 && h;
    }, 40_000, "a lower layer under a 300 kbit/s constraint");

    unshape();
    await until(async () => (await height()) >= 720, 60_000, "the full layer again once the constraint is lifted");
    assert.deepEqual(publisher.errors, []);
    assert.deepEqual(subscriber.errors, []);
  } finally {
    unshape();
    await publisher.close();
    await subscriber.close();
    await server.stop();
  }
});
