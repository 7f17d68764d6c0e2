import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, openBrowser, joinViaUi, remoteMedia, until } from "./harness.mjs";

test("three participants see and hear each other; a leave is seen by the others", { timeout: 120_000 }, async () => {
  const server = await startServer();
  const people = [
    { sub: "sindaco", name: "Giulia Ferraris", role: "presiding" },
    { sub: "assessore-1", name: "Marco Bellini", role: "member" },
    { sub: "segretario", name: "Andrea Conti", role: "segretario" },
  ];
  const browsers = [];
  try {
    for (const p of people) {
      const b = await openBrowser();
      browsers.push(b);
      await joinViaUi(b, server.link({ session: "e2e-three", ...p }));
    }
    for (const [i, b] of browsers.entries()) {
      const others = people.filter((_, j) => j !== i).map((p) => p.sub);
      await until(async () => {
        const media = await remoteMedia(b.page);
        return others.every((o) => media[o]?.framesDecoded > 0 && media[o]?.audioPackets > 0) && media;
      }, 40_000, `${people[i].sub} decoding audio and video from ${others.join(", ")}`);
      const names = await b.page.locator("#grid .tile .name").allTextContents();
      for (const j of people.keys()) {
        if (j !== i) assert.ok(names.some((n) => n.includes(people[j].name)), `${people[i].sub} shows ${people[j].name}: ${names}`);
      }
    }

    // The assessore leaves; the others lose the tile and the list entry.
    await browsers[1].page.click("#leave-button");
    await browsers[1].page.locator("#view-left").waitFor({ state: "visible" });
    for (const b of [browsers[0], browsers[2]]) {
      await until(
        () => b.page.evaluate(() =>
          !document.querySelector('#grid .tile[data-participant="assessore-1"]') &&
          !window.seduta.participants().some((p) => p.id === "assessore-1")),
        15_000,
        "the leaver's tile to go",
      );
    }
    for (const b of browsers) assert.deepEqual(b.errors, [], "no page errors");
  } finally {
    for (const b of browsers) await b.close();
    await server.stop();
  }
});
