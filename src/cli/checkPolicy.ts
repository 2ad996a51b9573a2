import { readFileSync, statSync } from 'node:fs';
import { type FindingCode, isFindingCode } from '../findingRules.js';
import type { Finding, Severity } from '../findings.js';
import { InputError, UsageError } from './context.js';

/**
 * What fails a CI run: findings at or above `failOn`, except accepted ones
 * (`--ignore CODE`, or a config file's entries, each with the reason it is
 * accepted and optionally the images it applies to).
 */
export interface CheckPolicy {
  failOn: Severity;
  ignore: { code: FindingCode; reason: string; images?: string[] }[];
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** Largest config file read: it is a short list of accepted findings. */
const MAX_CONFIG_BYTES = 1 << 20;

export function parseFailOn(s: string | undefined): Severity | undefined {
  if (s === undefined) return undefined;
  if (s !== 'error' && s !== 'warning' && s !== 'info') throw new UsageError(`--fail-on must be "error", "warning" or "info", got "${s}"`);
  return s;
}

function checkCode(code: unknown, where: string): FindingCode {
  if (typeof code !== 'string' || !isFindingCode(code)) throw new UsageError(`${where}: "${String(code)}" is not a finding code (docs/check-rules.md lists them)`);
  return code;
}

/**
 * The policy from --fail-on, --ignore and --config FILE (JSON:
 * `{"failOn": "warning", "ignore": [{"code": "...", "reason": "...", "images": ["*.img"]}]}`).
 * Command-line options win over the file's failOn; ignore lists add up.
 */
export function loadPolicy(opts: { failOn?: string; ignore?: string[]; config?: string }): CheckPolicy {
  const policy: CheckPolicy = { failOn: 'error', ignore: [] };
  if (opts.config !== undefined) {
    let doc: unknown;
    try {
      const st = statSync(opts.config);
      if (st.size > MAX_CONFIG_BYTES) throw new InputError(`--config ${opts.config}: ${st.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
      doc = JSON.parse(readFileSync(opts.config, 'utf8'));
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`--config ${opts.config}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`--config ${opts.config}: not a JSON object`);
    const o = doc as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'failOn' && k !== 'ignore') throw new UsageError(`--config ${opts.config}: unknown key "${k}" (failOn, ignore)`);
    if (o['failOn'] !== undefined) policy.failOn = parseFailOn(String(o['failOn']))!;
    if (o['ignore'] !== undefined) {
      if (!Array.isArray(o['ignore'])) throw new UsageError(`--config ${opts.config}: "ignore" must be a list`);
      o['ignore'].forEach((x: unknown, i: number) => {
        const where = `--config ${opts.config}: ignore[${i}]`;
        const e = x as Record<string, unknown>;
        const code = checkCode(e?.['code'], where);
        if (typeof e['reason'] !== 'string' || e['reason'].trim() === '') throw new UsageError(`${where}: give the reason "${code}" is accepted ("reason")`);
        const images = e['images'];
        if (images !== undefined && (!Array.isArray(images) || images.some((g) => typeof g !== 'string'))) throw new UsageError(`${where}: "images" must be a list of file names or patterns`);
        policy.ignore.push({ code, reason: e['reason'], ...(images ? { images: images as string[] } : {}) });
      });
    }
  }
  const failOn = parseFailOn(opts.failOn);
  if (failOn) policy.failOn = failOn;
  for (const c of opts.ignore ?? []) policy.ignore.push({ code: checkCode(c, '--ignore'), reason: 'given as --ignore' });
  return policy;
}

/** A shell-style pattern (* and ?) matched against the whole image path or its last component. */
function globMatch(pattern: string, path: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
  return re.test(path) || re.test(path.slice(path.lastIndexOf('/') + 1));
}

/** Why a finding of `image` is accepted, or null. */
export function ignoredBecause(policy: CheckPolicy, image: string, f: Finding): string | null {
  for (const i of policy.ignore) if (i.code === f.code && (!i.images || i.images.some((g) => globMatch(g, image)))) return i.reason;
  return null;
}

/** A finding that fails the run: at or above failOn, and not accepted. */
export function fails(policy: CheckPolicy, image: string, f: Finding): boolean {
  return RANK[f.severity] >= RANK[policy.failOn] && ignoredBecause(policy, image, f) === null;
}
