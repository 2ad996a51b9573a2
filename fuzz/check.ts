/** What running one command on one case produced. */
export interface CommandOutcome {
  argv: string[];
  code: number;
  ms: number;
  stdoutBytes: number;
  stderr: string;
  /** Peak RSS growth over the child's baseline during the command (bytes), when measurable. */
  rssGrowth: number;
}

/** Node's own error texts: a message carrying one means an exception escaped as a message. */
const ENGINE_ERROR =
  /\b(TypeError|RangeError|ReferenceError|SyntaxError|Cannot read propert|Cannot set propert|is not a function|is not iterable|is not a constructor|Invalid typed array length|Invalid array length|Array buffer allocation failed|Maximum call stack|Cannot mix BigInt|Cannot convert|out of bounds|Invalid string length|Invalid time value|JavaScript heap)/;
const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|<anonymous>\)?)$/m;

export interface Limits {
  /** Wall time per command. */
  commandMs: number;
  /** Peak RSS growth per command. */
  rssBytes: number;
}

/**
 * The pass rule for one command run: exit 0, 1 or 2; a non-zero exit says
 * why on stderr; no stack trace or engine error text; within time and
 * memory bounds. Returns the problems (empty when it passed).
 */
export function checkOutcome(o: CommandOutcome, limits: Limits): string[] {
  const p: string[] = [];
  if (![0, 1, 2].includes(o.code)) p.push(`exit code ${o.code}`);
  if (o.code !== 0 && o.stderr.trim() === '' && o.stdoutBytes === 0) p.push(`exit ${o.code} with no message`);
  if (STACK_LINE.test(o.stderr)) p.push('stack trace on stderr');
  const engine = ENGINE_ERROR.exec(o.stderr);
  if (engine) p.push(`engine error on stderr: ${lineWith(o.stderr, engine.index)}`);
  if (o.ms > limits.commandMs) p.push(`took ${Math.round(o.ms)} ms (limit ${limits.commandMs})`);
  if (o.rssGrowth > limits.rssBytes) p.push(`RSS grew ${Math.round(o.rssGrowth / 2 ** 20)} MiB (limit ${Math.round(limits.rssBytes / 2 ** 20)})`);
  return p;
}

function lineWith(s: string, at: number): string {
  const a = s.lastIndexOf('\n', at) + 1;
  const b = s.indexOf('\n', at);
  return s.slice(a, b < 0 ? undefined : b).slice(0, 300);
}
