// Command-line conventions shared by every `npm run` script: node:util's parseArgs in strict
// mode (the standard parser; no npm package, so a script answers before anything is installed)
// plus the house rules: `--help`/`-h` prints the usage to stdout and exits 0; an unknown option,
// a missing value or a wrong number of arguments prints one line `error: …` and the usage to
// stderr and exits 2. This module imports only Node built-ins: a script parses its arguments
// with it first, then installs what it needs, then imports what needs that.

import { parseArgs } from "node:util";

/** Prints `error: <message>` and the usage to stderr, then exits 2. */
export function usageError(usage, message) {
  process.stderr.write(`error: ${message}\n${usage.trimEnd()}\n`);
  process.exit(2);
}

/**
 * Parses `argv` (without node and the script) against `options` (parseArgs' format; a
 * `default` is applied as usual) and checks the positional count against [min, max].
 * Returns `{ values, positionals }`; never returns on --help or on a usage error.
 */
export function parseCli(argv, { usage, options = {}, positionals: [min, max] = [0, 0] }) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // parseArgs' messages run on with advice about `--`; the first sentence is the error.
    usageError(usage, String(e.message).split(/\.\s/)[0].replace(/\.$/, ""));
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  const n = parsed.positionals.length;
  if (n < min) usageError(usage, min === 1 ? "missing argument" : `expected at least ${min} arguments, got ${n}`);
  if (n > max) usageError(usage, `unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
  delete parsed.values.help;
  return parsed;
}

/** A non-negative number option, or a usage error naming it. */
export function numberOption(usage, values, name) {
  const v = Number(values[name]);
  if (values[name] === undefined || values[name] === "" || !Number.isFinite(v) || v < 0) {
    usageError(usage, `--${name} must be a non-negative number, got ${JSON.stringify(values[name] ?? "")}`);
  }
  return v;
}
