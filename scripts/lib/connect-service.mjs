// `npm run connect -- install | uninstall | status`: runs the connect proxy at login so nobody
// keeps a terminal open. Linux: a systemd user unit; macOS: a launchd agent; Windows: the exact
// manual steps are printed (a scheduled task at logon), nothing is changed.
//
// Only node: built-ins. Paths follow HOME and XDG_CONFIG_HOME, so tests can use a scratch HOME.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { xml } from "./mobileconfig.mjs";

export const UNIT_NAME = "logseq-sync-connect.service";
export const AGENT_LABEL = "org.logseq-sync.connect";
const TASK_NAME = "Logseq Sync connect";

const home = () => process.env.HOME || homedir();

/** Where the service definition lives on this platform, or null (Windows). */
export function servicePath(platform = process.platform) {
  if (platform === "linux")
    return join(process.env.XDG_CONFIG_HOME || join(home(), ".config"), "systemd", "user", UNIT_NAME);
  if (platform === "darwin") return join(home(), "Library", "LaunchAgents", `${AGENT_LABEL}.plist`);
  return null;
}

/** The command line the service runs: this Node, this checkout's connect.mjs, the options. */
export function serviceArgs({ node, script, server, port, caDir }) {
  return [node, script, server, "--port", String(port), "--ca-dir", caDir];
}

const systemdQuote = (a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, "\\$1")}"`);

/** The systemd user unit. */
export function unitText(opts) {
  return `[Unit]
Description=Logseq Sync connect proxy for ${opts.server} (npm run connect)
After=network-online.target

[Service]
ExecStart=${serviceArgs(opts).map(systemdQuote).join(" ")}
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
`;
}

/** The launchd agent. */
export function plistText(opts) {
  const args = serviceArgs(opts)
    .map((a) => `    <string>${xml(a)}</string>`)
    .join("\n");
  const log = join(home(), "Library", "Logs", "logseq-sync-connect.log");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>${AGENT_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><true/>
  <key>StandardOutPath</key><string>${xml(log)}</string>
  <key>StandardErrorPath</key><string>${xml(log)}</string>
</dict>
</plist>
`;
}

/** The manual steps on Windows (Task Scheduler, at logon, hidden). */
export function windowsSteps(opts) {
  const cmd = serviceArgs(opts)
    .map((a) => (/\s/.test(a) ? `\\"${a}\\"` : a))
    .join(" ");
  return `On Windows, register it yourself (nothing was changed). In a Command Prompt:
  schtasks /Create /SC ONLOGON /TN "${TASK_NAME}" /TR "${cmd}" /RL LIMITED /F
  schtasks /Run /TN "${TASK_NAME}"
Check:   schtasks /Query /TN "${TASK_NAME}"
Remove:  schtasks /End /TN "${TASK_NAME}" & schtasks /Delete /TN "${TASK_NAME}" /F
`;
}

function runTool(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() || String(r.error?.message ?? "") };
}

/** Whether `systemctl --user` can talk to a user manager here. */
function userSystemd() {
  const r = runTool("systemctl", ["--user", "show-environment"]);
  return r.ok ? { ok: true } : { ok: false, why: r.out || "systemctl not found" };
}

/** Installs and starts the service. Returns the lines to print. */
export function install(opts, platform = process.platform) {
  const path = servicePath(platform);
  if (!path) return [windowsSteps(opts)];
  mkdirSync(join(path, ".."), { recursive: true });
  const lines = [];
  if (platform === "linux") {
    writeFileSync(path, unitText(opts));
    lines.push(`wrote ${path}`);
    const sd = userSystemd();
    if (!sd.ok) {
      lines.push(
        `systemctl --user is not available here (${sd.why.split("\n")[0]}); the unit is written but not started.`,
        `Start it in a login session with: systemctl --user daemon-reload && systemctl --user enable --now ${UNIT_NAME}`,
      );
      return lines;
    }
    for (const args of [["daemon-reload"], ["enable", "--now", UNIT_NAME]]) {
      const r = runTool("systemctl", ["--user", ...args]);
      if (!r.ok) throw new Error(`systemctl --user ${args.join(" ")}: ${r.out}`);
    }
    lines.push(`enabled and started ${UNIT_NAME}: it starts at every login. Logs: journalctl --user -u ${UNIT_NAME}`);
    return lines;
  }
  writeFileSync(path, plistText(opts));
  lines.push(`wrote ${path}`);
  runTool("launchctl", ["unload", path]);
  const r = runTool("launchctl", ["load", "-w", path]);
  if (!r.ok) throw new Error(`launchctl load -w ${path}: ${r.out}`);
  lines.push(`loaded ${AGENT_LABEL}: it starts at every login.`);
  return lines;
}

/** Stops and removes the service. Returns the lines to print. */
export function uninstall(platform = process.platform) {
  const path = servicePath(platform);
  if (!path)
    return [
      windowsSteps({ node: "node", script: "connect.mjs", server: "<server url>", port: 8790, caDir: "<ca dir>" })
        .split("\n")
        .filter((l) => /Remove/.test(l))
        .join("\n"),
    ];
  const lines = [];
  if (platform === "linux") {
    const sd = userSystemd();
    if (sd.ok) {
      runTool("systemctl", ["--user", "disable", "--now", UNIT_NAME]);
      lines.push(`stopped and disabled ${UNIT_NAME}`);
    } else lines.push(`systemctl --user is not available here; nothing to stop`);
  } else runTool("launchctl", ["unload", "-w", path]);
  if (existsSync(path)) {
    rmSync(path);
    lines.push(`removed ${path}`);
  } else lines.push(`${path} was not installed`);
  if (platform === "linux" && userSystemd().ok) runTool("systemctl", ["--user", "daemon-reload"]);
  return lines;
}

/** Whether the service is installed and running. Returns the lines to print. */
export function status(platform = process.platform) {
  const path = servicePath(platform);
  if (!path) return ['On Windows: schtasks /Query /TN "Logseq Sync connect"'];
  if (!existsSync(path)) return [`not installed (${path} does not exist)`];
  const exec = readFileSync(path, "utf8").match(/^ExecStart=(.*)$/m)?.[1];
  const lines = [`installed: ${path}`, ...(exec ? [`runs: ${exec}`] : [])];
  if (platform === "linux") {
    const sd = userSystemd();
    if (!sd.ok) lines.push(`state unknown: systemctl --user is not available here`);
    else lines.push(`state: ${runTool("systemctl", ["--user", "is-active", UNIT_NAME]).out}`);
  } else {
    const r = runTool("launchctl", ["list", AGENT_LABEL]);
    lines.push(r.ok ? "state: loaded" : "state: not loaded");
  }
  return lines;
}
