// `npm run connect -- install | uninstall | status` (scripts/lib/connect-service.mjs), run as a
// user runs them, in a scratch HOME: the systemd user unit it writes, start/stop through
// `systemctl --user` where a user manager runs (else the clear message), the launchd agent and
// the Windows steps as text.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { plistText, unitText, windowsSteps, UNIT_NAME } from "../../scripts/lib/connect-service.mjs";

const home = mkdtempSync(join(tmpdir(), "connect-service-"));
after(() => rmSync(home, { recursive: true, force: true }));

function connect(...args) {
  const r = spawnSync(process.execPath, ["scripts/connect.mjs", ...args], {
    encoding: "utf8",
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config") },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const opts = {
  node: "/usr/bin/node",
  script: "/opt/logseq sync/scripts/connect.mjs",
  server: "https://sync.example.com",
  port: 8790,
  caDir: "/home/u/.config/ca",
};

describe("connect as a background service", () => {
  test("install writes the systemd user unit and starts it, or says why it cannot", () => {
    const caDir = join(home, "ca");
    const r = connect("install", "https://sync.example.com/", "--port", "18999", "--ca-dir", caDir);
    assert.equal(r.code, 0, r.err);
    const unit = join(home, ".config", "systemd", "user", UNIT_NAME);
    assert.match(r.out, new RegExp(`wrote ${unit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.ok(existsSync(join(caDir, "ca.pem")), "the CA exists before the first start, so it can be trusted now");
    assert.match(r.out, /certutil -d sql:\$HOME\/\.pki\/nssdb -A/);
    const text = readFileSync(unit, "utf8");
    const script = resolve("scripts/connect.mjs");
    assert.match(
      text,
      new RegExp(
        `^ExecStart=${process.execPath} ${script} https://sync.example.com --port 18999 --ca-dir ${caDir}$`,
        "m",
      ),
    );
    assert.match(text, /^Restart=on-failure$/m);
    assert.match(text, /^WantedBy=default.target$/m);
    const systemd = spawnSync("systemctl", ["--user", "show-environment"]).status === 0;
    if (systemd) assert.match(r.out, /enabled and started/);
    else
      assert.match(
        r.out,
        /systemctl --user is not available here .*; the unit is written but not started\.\nStart it in a login session with: systemctl --user daemon-reload && systemctl --user enable --now logseq-sync-connect.service/,
      );

    const s = connect("status");
    assert.equal(s.code, 0);
    assert.match(s.out, /^installed: /);
    assert.match(s.out, systemd ? /state: active/ : /state unknown: systemctl --user is not available here/);

    const u = connect("uninstall");
    assert.equal(u.code, 0, u.err);
    assert.match(u.out, /removed /);
    assert.ok(!existsSync(unit));
    assert.match(connect("status").out, /^not installed/);
  });

  test("bad arguments: one-line error plus usage, non-zero", () => {
    for (const args of [
      ["install"],
      ["install", "https://x.example", "--port", "0"],
      ["status", "https://x.example"],
      ["--nope"],
    ]) {
      const r = connect(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, /^connect: .+\n\nusage: npm run connect/);
    }
    const h = connect("--help");
    assert.equal(h.code, 0);
    for (const o of ["--port", "--ca-dir", "--verbose", "install", "uninstall", "status", "default 8790"])
      assert.ok(h.out.includes(o), o);
  });

  test("the unit quotes paths with spaces; the launchd agent and the Windows steps", () => {
    assert.match(
      unitText(opts),
      /^ExecStart=\/usr\/bin\/node "\/opt\/logseq sync\/scripts\/connect.mjs" https:\/\/sync.example.com --port 8790 --ca-dir \/home\/u\/.config\/ca$/m,
    );
    const plist = plistText(opts);
    assert.match(plist, /<key>RunAtLoad<\/key><true\/>/);
    assert.match(plist, /<string>\/opt\/logseq sync\/scripts\/connect.mjs<\/string>/);
    const win = windowsSteps(opts);
    assert.match(win, /schtasks \/Create \/SC ONLOGON \/TN "Logseq Sync connect"/);
    assert.match(win, /nothing was changed/);
  });
});
