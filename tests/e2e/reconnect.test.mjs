// A browser that loses its network for 10 s gets back in by itself, without a page
// reload. The cut is real: tc drops every packet to and from the server's ports on
// the loopback of the test's network namespace.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startServer, openBrowser, joinViaUi, remoteMedia, until, sleep } from "./harness.mjs";

const tc = (...args) => execFileSync("tc", args, { stdio: ["ignore", "ignore", "pipe"] });
const portOf = (addr) => Number(String(addr).split(":").pop());

function cut(ports) {
  tc("qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "10");
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit");
  // No drop action in this kernel: a class of 8 bit/s with a one-packet queue drops all.
  tc("class", "add", "dev", "lo", "parent", "1:", "classid", "1:20", "htb", "rate", "8bit", "ceil", "8bit");
  tc("qdisc", "add", "dev", "lo", "parent", "1:20", "handle", "20:", "pfifo", "limit", "1");
  for (const port of ports) {
    for (const dir of ["dport", "sport"]) {
      tc("filter", "add", "dev", "lo", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
        "match", "ip", dir, String(port), "0xffff", "flowid", "1:20");
    }
  }
}

function restore() {
  try {
    tc("qdisc", "del", "dev", "lo", "root");
  } catch {
    // not cut
  }
}

const skip = process.env.SEDUTA_E2E_NO_TC === "1" ? "SEDUTA_E2E_NO_TC=1: no traffic control here" : false;

test("a 10 s network loss is recovered without a reload", { timeout: 150_000, skip }, async () => {
  const server = await startServer();
  const a = await openBrowser();
  const b = await openBrowser();
  try {
    await joinViaUi(a, server.link({ session: "reconnect", sub: "assessore-5", name: "Davide Colombo" }));
    await joinViaUi(b, server.link({ session: "reconnect", sub: "sindaco", name: "Giulia Ferraris", role: "presiding" }));
    await until(async () => (await remoteMedia(a.page)).sindaco?.framesDecoded > 0, 30_000, "media before the cut");
    await a.page.evaluate(() => (window.__sameDocument = true));

    cut([portOf(server.http_url), portOf(server.udp_addr), portOf(server.tcp_addr)]);
    let sawReconnecting = false;
    const cutEnd = Date.now() + 10_000;
    while (Date.now() < cutEnd) {
      sawReconnecting ||= (await a.page.evaluate(() => window.seduta.state)) === "reconnecting";
      await sleep(250);
    }
    restore();
    assert.ok(sawReconnecting, "the client noticed the loss and showed it");

    for (const [me, other] of [[a, "sindaco"], [b, "assessore-5"]]) {
      await until(() => me.page.evaluate(() => window.seduta.state === "in"), 30_000, "back in");
      await until(async () => (await remoteMedia(me.page))[other]?.framesDecoded > 0, 30_000, `media from ${other} again`);
    }
    assert.equal(await a.page.evaluate(() => window.__sameDocument), true, "no page reload");
    const names = await b.page.evaluate(() => window.seduta.participants().map((p) => p.id));
    assert.ok(names.includes("assessore-5"), "still a participant for the others");
  } finally {
    restore();
    await a.close();
    await b.close();
    await server.stop();
  }
});
