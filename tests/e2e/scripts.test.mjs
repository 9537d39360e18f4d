// Every `npm run` script works from a fresh clone (issue 14): a copy of the working tree's
// tracked and untracked-but-not-ignored files (so no node_modules, build/, .dev.vars, .tools/),
// where each script of package.json is run as a new user would run it:
//   1. `--help` before anything is installed: usage on stdout, exit 0, and still no
//      node_modules afterwards — ES modules link every static import before any code runs, so
//      this fails for any script that imports from node_modules before its own setup;
//   2. an unknown option and a missing argument: a one-line error and the usage, non-zero exit;
//   3. its cheapest real mode, in the order a new user meets them (token, build, start, admin,
//      connect, deploy --dry-run, bench): each installs what it needs itself.
// The clone shares the npm cache (HOME) and this checkout's cargo target directory, so the
// build recompiles only this crate. Needs the e2e worker (WORKER_URL, ADMIN_TOKEN) for admin.

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT } from "../../scripts/lib/tools.mjs";
import { freePort } from "../../scripts/lib/devserver.mjs";

const SCRIPTS = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts);
// Scripts with a required positional argument, and what a real call passes.
const REQUIRES_ARGUMENT = ["token", "connect", "admin"];
const MINUTE = 60_000;

let clone;
let env;

/** The environment of a new shell: the outer `npm test`'s npm_* variables removed. */
function freshEnv() {
  const e = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...e, CARGO_TARGET_DIR: join(ROOT, "target"), CI: "true", WRANGLER_SEND_METRICS: "false" };
}

/** Runs `npm <args>` in the clone in its own process group; resolves with code and output. */
function npm(args, { timeoutMs = 10 * MINUTE, until, extraEnv = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn("npm", args, {
      cwd: clone,
      env: { ...env, ...extraEnv },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let reason = null;
    const stop = (why) => {
      if (reason) return;
      reason = why;
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {
        // already gone
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, 10_000).unref();
    };
    const timer = setTimeout(() => stop("timeout"), timeoutMs);
    const check = () => {
      if (until && !reason && until(stdout, stderr)) stop("ready");
    };
    child.stdout.on("data", (d) => {
      stdout += d;
      check();
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      check();
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, reason });
    });
  });
}

const show = (r) =>
  `exit ${r.code}${r.reason ? ` (${r.reason})` : ""}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

describe("every npm script from a fresh clone", { concurrency: false }, () => {
  before(() => {
    clone = mkdtempSync(join(tmpdir(), "logseq-sync-fresh-clone-"));
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: ROOT,
      encoding: "utf8",
    })
      .split("\0")
      .filter((f) => f && existsSync(join(ROOT, f)));
    for (const f of files) {
      mkdirSync(dirname(join(clone, f)), { recursive: true });
      copyFileSync(join(ROOT, f), join(clone, f));
    }
    env = freshEnv();
  });
  after(() => {
    if (clone) rmSync(clone, { recursive: true, force: true });
  });

  it("the clone has nothing installed", () => {
    for (const d of ["node_modules", "build", ".dev.vars", ".tools", ".wrangler"])
      assert.ok(!existsSync(join(clone, d)), d);
    assert.ok(SCRIPTS.length >= 8, `package.json scripts: ${SCRIPTS}`);
  });

  it("each script answers --help before anything is installed", async () => {
    for (const name of SCRIPTS) {
      const r = await npm(["run", "--silent", name, "--", "--help"], { timeoutMs: MINUTE });
      assert.equal(r.code, 0, `${name} --help: ${show(r)}`);
      assert.match(r.stdout, /^usage: /, `${name} --help prints its usage first`);
      assert.match(r.stdout, /^output:/im, `${name} --help says where its output goes (an "Output:" line)`);
      assert.ok(!existsSync(join(clone, "node_modules")), `${name} --help installed or needed node_modules`);
    }
  });

  it("an unknown option: one-line error, the usage, non-zero exit", async () => {
    for (const name of SCRIPTS) {
      const r = await npm(["run", "--silent", name, "--", "--no-such-option"], { timeoutMs: MINUTE });
      assert.notEqual(r.code, 0, `${name}: ${show(r)}`);
      const [first, ...rest] = r.stderr.split("\n");
      assert.match(
        first,
        /^[\w-]+: .*--no-such-option/,
        `${name}: one line "<who>: <what>" naming the option first: ${show(r)}`,
      );
      assert.match(rest.join("\n"), /^usage: /m, `${name}: usage follows the error`);
      assert.equal(r.stdout, "", `${name}: nothing on stdout`);
    }
  });

  it("a missing argument: one-line error, the usage, non-zero exit", async () => {
    for (const name of REQUIRES_ARGUMENT) {
      const r = await npm(["run", "--silent", name], { timeoutMs: MINUTE });
      assert.notEqual(r.code, 0, `${name}: ${show(r)}`);
      assert.match(r.stderr, /^[\w-]+: .+\n(\n)?usage: /, `${name}: a one-line error, then the usage: ${show(r)}`);
    }
  });

  it("token: prints a bearer token (creates .dev.vars)", async () => {
    const r = await npm(["run", "--silent", "token", "--", "fresh-clone@example.com"], { timeoutMs: MINUTE });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, "one JWT on stdout");
    assert.ok(existsSync(join(clone, ".dev.vars")));
  });

  it("build: installs npm dependencies and builds the worker", async () => {
    const r = await npm(["run", "build"], { timeoutMs: 20 * MINUTE });
    assert.equal(r.code, 0, show(r));
    assert.ok(existsSync(join(clone, "node_modules", "wrangler")), "npm dependencies installed by the build");
    assert.ok(existsSync(join(clone, "build", "index_bg.wasm")), "build/index_bg.wasm");
  });

  it("start: serves the API until interrupted", async () => {
    const port = await freePort();
    let answered = false;
    const poll = setInterval(async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/logseq/version`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) answered = true;
      } catch {
        // not up yet
      }
    }, 500);
    const r = await npm(["start", "--", "--port", String(port)], {
      timeoutMs: 10 * MINUTE,
      until: (_out, err) => answered && /server ready at/.test(err),
    });
    clearInterval(poll);
    assert.equal(r.reason, "ready", `GET /logseq/version never answered 200: ${show(r)}`);
    assert.match(r.stderr, /server ready at http:\/\/127\.0\.0\.1:\d+/);
  });

  it("admin: talks to a running server", async () => {
    const url = process.env.WORKER_URL;
    assert.ok(url && process.env.ADMIN_TOKEN, "run through npm test (WORKER_URL, ADMIN_TOKEN)");
    const r = await npm(["run", "--silent", "admin", "--", "--url", url, "usage"], {
      timeoutMs: MINUTE,
      extraEnv: { ADMIN_TOKEN: process.env.ADMIN_TOKEN },
    });
    assert.equal(r.code, 0, show(r));
    assert.equal(typeof JSON.parse(r.stdout), "object");
  });

  it("connect: starts the proxy for a server", async () => {
    const caDir = join(clone, "connect-ca");
    const r = await npm(
      ["run", "--silent", "connect", "--", process.env.WORKER_URL, "--port", "0", "--ca-dir", caDir],
      {
        timeoutMs: MINUTE,
        until: (out) => /Proxy listening on http:\/\/127\.0\.0\.1:\d+/.test(out),
      },
    );
    assert.equal(r.reason, "ready", show(r));
    assert.ok(existsSync(caDir), "the CA directory was created");
  });

  it("deploy --dry-run: checks everything offline", async () => {
    const r = await npm(["run", "deploy", "--", "--dry-run"], { timeoutMs: 15 * MINUTE });
    assert.equal(r.code, 0, show(r));
  });

  it("bench: a short real run prints its table", async () => {
    const r = await npm(
      ["run", "--silent", "bench", "--", "--files", "100", "--runs", "1", "--only", "size", "--scale-files", "0"],
      { timeoutMs: 15 * MINUTE },
    );
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /Logseq Sync worker bench/);
  });
});
