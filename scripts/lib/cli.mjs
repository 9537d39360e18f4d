// Command-line conventions shared by every `npm run` script: node:util's parseArgs in strict
// mode (the standard parser; no npm package, so a script answers before anything is installed)
// plus the house rules: `--help`/`-h` prints the usage to stdout and exits 0; an unknown option,
// a missing value or a wrong number of arguments prints one line `<script>: …` (or `error: …`)
// and the usage to stderr and exits 2. This module imports only Node built-ins: a script parses
// its arguments with it first, then installs what it needs, then imports what needs that.

import { parseArgs } from "node:util";

/** A malformed command line: the message is the one line printed above the usage. */
export class UsageError extends Error {}

/**
 * Prints the one-line error and the usage to stderr, then exits 2. The line reads
 * `<name>: <message>` (`error: <message>` without a name); `spaced`: a blank line after it (the
 * form connect and deploy document).
 */
export function usageError(usage, message, name = "error", spaced = false) {
  process.stderr.write(`${name}: ${message}\n${spaced ? "\n" : ""}${usage.trimEnd()}\n`);
  process.exit(2);
}

/** parseArgs' error, in the house's words (its own run on with advice about `--`). */
function parseError(e) {
  const flag = /'(-[^' ]+)/.exec(String(e.message))?.[1] ?? "";
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${flag}`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
    return /does not take/.test(e.message) ? `${flag} takes no value` : `${flag} needs a value`;
  return String(e.message).split(/\.\s/)[0].replace(/\.$/, "");
}

/**
 * Parses `argv` (without node and the script) against `options` (parseArgs' format, plus
 * `--help`/`-h`) and checks the positional count against [min, max]. Pure: returns
 * `{ values, positionals }` and throws UsageError on anything malformed.
 */
export function parseArgv(argv, { options = {}, positionals: [min, max] = [0, 0] } = {}) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(parseError(e));
  }
  if (parsed.values.help) return parsed;
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(min === 1 ? "missing argument" : `expected at least ${min} arguments, got ${n}`);
  if (n > max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
  return parsed;
}

/**
 * parseArgv for a script: prints the usage and exits 0 on --help, prints the error (see
 * usageError; `name` names the script, `spaced` adds the blank line) and exits 2 on a usage error. `check(parsed)` may
 * throw UsageError for what parseArgs cannot see (values, combinations) or return a result.
 * Returns `check`'s result, else `{ values, positionals }`.
 */
export function parseCli(argv, { usage, name, spaced, options, positionals, check = (p) => p }) {
  try {
    const parsed = parseArgv(argv, { options, positionals });
    if (parsed.values.help) {
      process.stdout.write(`${usage.trimEnd()}\n`);
      process.exit(0);
    }
    delete parsed.values.help;
    return check(parsed);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    usageError(usage, e.message, name, spaced);
  }
}

/** A non-negative number option, or a usage error naming it. */
export function numberOption(usage, values, name) {
  const v = Number(values[name]);
  if (values[name] === undefined || values[name] === "" || !Number.isFinite(v) || v < 0) {
    usageError(usage, `--${name} must be a non-negative number, got ${JSON.stringify(values[name] ?? "")}`);
  }
  return v;
}
