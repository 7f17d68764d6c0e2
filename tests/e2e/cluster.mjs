// Multi-node on one machine for the browser tests: a scratch PostgreSQL database,
// control-plane replicas (`seduta serve --replica-url …`) and media nodes
// (`seduta sfu-node`), each a real child process on loopback. The Rust counterpart is
// tests/tests/multi_node.rs; tests/src/process.rs starts the processes the same way.
//
// Every child is also remembered in a list that a synchronous `exit` hook kills, so a
// test that times out (node:test does not wait for its `finally`) leaves nothing behind.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { BIN, until } from "./harness.mjs";

const live = new Set();
const databases = new Set();
process.on("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }
  for (const db of databases) db.dropSync();
});

// ---- PostgreSQL -------------------------------------------------------------------

/** Why the PostgreSQL tests cannot run here, or null: `{skip}` when
 *  SEDUTA_SKIP_POSTGRES=1 says to skip them knowingly, `{fail}` otherwise (the same
 *  convention as the Rust tests, tests/src/pg.rs). */
export function postgresMissing() {
  if ((process.env.TEST_DATABASE_URL ?? "").trim()) return null;
  if (process.env.SEDUTA_SKIP_POSTGRES === "1") {
    return { skip: "SEDUTA_SKIP_POSTGRES=1 and no TEST_DATABASE_URL: the PostgreSQL test is skipped" };
  }
  return {
    fail:
      "TEST_DATABASE_URL is not set: the multi-node test needs a PostgreSQL server to create a " +
      "scratch database on, reached from inside the test's network namespace by a unix socket, e.g. " +
      "TEST_DATABASE_URL='postgres:///test?host=/run/postgresql&user=postgres' " +
      "(scripts/with-postgres sets it; SEDUTA_SKIP_POSTGRES=1 skips the test)",
  };
}

/** `url` with its database name replaced by `name`, the query string kept. */
export function withDatabase(url, name) {
  const start = url.indexOf("://");
  if (start < 0) throw new Error(`TEST_DATABASE_URL is not a URL: ${url}`);
  const q = url.indexOf("?");
  const base = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? "" : url.slice(q);
  const slash = base.indexOf("/", start + 3);
  const authority = slash < 0 ? base : base.slice(0, slash);
  return `${authority}/${name}${query}`;
}

function psql(url, sql) {
  const r = spawnSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], { encoding: "utf8", timeout: 30_000 });
  if (r.error) throw new Error(`running psql (Debian package postgresql-client): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`psql ${JSON.stringify(sql)}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** A fresh database `<prefix>_<random>` on TEST_DATABASE_URL's server. */
export function createDatabase(prefix) {
  const admin = process.env.TEST_DATABASE_URL.trim();
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  psql(admin, `CREATE DATABASE ${name}`);
  const db = {
    name,
    url: withDatabase(admin, name),
    query: (sql) => psql(withDatabase(admin, name), sql),
    dropped: false,
    dropSync() {
      if (db.dropped) return;
      db.dropped = true;
      databases.delete(db);
      try {
        psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch (e) {
        console.error(`could not drop the test database ${name}: ${e.message}`);
      }
    },
  };
  databases.add(db);
  return db;
}

// ---- Processes --------------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (a replica must know its own URL before it starts). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A child whose output is kept (the last 200 000 characters) for the failure report.
function child(args, name) {
  const proc = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(proc);
  let log = "";
  const keep = (d) => {
    log += d;
    if (log.length > 400_000) log = log.slice(-200_000);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => {
    live.delete(proc);
    resolve({ code, signal });
  }));
  const gone = () => proc.exitCode !== null || proc.signalCode !== null;
  return {
    name,
    proc,
    pid: proc.pid,
    log: () => log,
    gone,
    exited,
    /** SIGKILL and wait for the exit. */
    async kill9() {
      if (!gone()) proc.kill("SIGKILL");
      await exited;
    },
    /** SIGTERM, then SIGKILL after `ms`. */
    async stop(ms = 10_000) {
      if (gone()) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function readyFile(file, proc, what, ms) {
  await until(() => existsSync(file) || proc.gone(), ms, `${what}'s ready file`);
  if (proc.gone()) throw new Error(`${what} exited at start:\n${proc.log()}`);
}

/** A control-plane replica on `port`, its data in `dir`, on the database `databaseUrl`. */
export async function startReplica({ dir, id, port, databaseUrl, secret, jwtSecret, metricsToken, demo }) {
  mkdirSync(dir, { recursive: true });
  const ready = join(dir, "ready.json");
  const url = `http://127.0.0.1:${port}`;
  const proc = child([
    "serve",
    "--data-dir", dir,
    "--jwt-secret", jwtSecret,
    "--http-bind", `127.0.0.1:${port}`,
    "--udp-bind", "127.0.0.1:0",
    "--no-tcp",
    "--ready-file", ready,
    "--database-url", databaseUrl,
    "--replica-id", id,
    "--replica-url", url,
    "--cluster-secret", secret,
    "--metrics-token", metricsToken,
    "--no-preservation",
    "--reconnect-grace-secs", "120",
    ...(demo ? [] : ["--no-demo"]),
  ], id);
  await readyFile(ready, proc, `replica ${id}`, 60_000);
  const info = JSON.parse(readFileSync(ready, "utf8"));
  return {
    ...proc,
    id,
    dir,
    url: info.http_url ?? url,
    controlUrl: `ws://127.0.0.1:${port}/internal/sfu`,
    async api(method, path, token, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      let parsed = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON (e.g. /metrics)
      }
      return { status: res.status, body: parsed, text };
    },
    /** `seduta_media_node_<what>{node="…"}` per node: `{node: value}`. */
    async nodeGauge(what) {
      const res = await fetch(`${url}/metrics`, {
        headers: { authorization: `Bearer ${metricsToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new Error(`${id} /metrics: ${res.status}`);
      const out = {};
      const prefix = `seduta_media_node_${what}{node="`;
      for (const line of (await res.text()).split("\n")) {
        if (!line.startsWith(prefix)) continue;
        const [node, value] = line.slice(prefix.length).split('"} ');
        if (node && value !== undefined) out[node] = Number(value);
      }
      return out;
    },
  };
}

/** A media node dialing every replica in `control`; resolves once its socket is bound. */
export async function startMediaNode({ dir, name, control, secret, capacity = 50 }) {
  mkdirSync(dir, { recursive: true });
  const ready = join(dir, `${name}.ready.json`);
  const proc = child([
    "sfu-node",
    "--node-name", name,
    "--cluster-secret", secret,
    "--capacity", String(capacity),
    "--udp-bind", "127.0.0.1:0",
    "--no-tcp",
    "--ready-file", ready,
    ...control.flatMap((c) => ["--control", c]),
  ], name);
  await readyFile(ready, proc, `media node ${name}`, 30_000);
  return proc;
}
