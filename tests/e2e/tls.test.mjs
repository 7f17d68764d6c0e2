// With a certificate configured the server speaks HTTPS and WSS (rustls), and a
// browser joins and exchanges media over it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { get } from "node:https";
import { startServer, openBrowser, joinViaUi, remoteMedia, until } from "./harness.mjs";

function selfSigned(dir) {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ], { stdio: "ignore" });
  return { cert, key };
}

function httpsGet(url, ca) {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on("error", reject);
  });
}

test("HTTPS and WSS with a configured certificate", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "seduta-tls-"));
  const { cert, key } = selfSigned(dir);
  const server = await startServer(["--tls-cert", cert, "--tls-key", key]);
  const a = await openBrowser(undefined, ["--ignore-certificate-errors"]);
  const b = await openBrowser(undefined, ["--ignore-certificate-errors"]);
  try {
    assert.match(server.http_url, /^https:/);
    const res = await httpsGet(`${server.http_url}/`, readFileSync(cert));
    assert.equal(res.status, 200);
    assert.match(res.headers["content-security-policy"], /default-src 'self'/);
    assert.match(res.headers["strict-transport-security"], /max-age=\d+/);
    await joinViaUi(a, server.link({ session: "tls", sub: "assessore-6", name: "Elena Marchetti" }));
    await joinViaUi(b, server.link({ session: "tls", sub: "sindaco", name: "Giulia Ferraris", role: "presiding" }));
    await until(async () => (await remoteMedia(a.page)).sindaco?.framesDecoded > 0, 30_000, "media over a WSS-signaled session");
  } finally {
    await a.close();
    await b.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
