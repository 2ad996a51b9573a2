import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { manifestEntries } from '../../analysis/manifest.js';
import { compareManifest, type ManifestDifference } from '../../analysis/manifestCompare.js';
import { compressionViolations, entryViolations, filesystemViolations, type Policy, type PolicyViolation } from '../../analysis/policy.js';
import { computeUsage } from '../../analysis/usage.js';
import { rule } from '../../findingRules.js';
import type { Finding } from '../../findings.js';
import { displayPath, parsePath } from '../../fs/names.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { entryRecord, mtreeKey, type ParsedManifest, parseManifest } from '../../report/manifestFormats.js';
import { worst } from '../batch.js';
import { openCiReports } from '../ciReportFiles.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, InputError, UsageError } from '../context.js';
import { finish } from '../findings.js';
import { nodeHasher } from '../hashers.js';
import { addSourceOptions, type CommonOptions, collect } from '../options.js';
import { parseByteCount } from '../parse.js';
import { renderTable } from '../table.js';
import { openTarget } from '../target.js';

interface VerifyOptions extends CommonOptions {
  manifest?: string;
  deny?: string[];
  allowSetuid?: string[];
  minFree?: string;
  compressed?: string;
  junit?: string;
  sarif?: string;
  xdev?: boolean;
  subvol?: string;
  inode?: string;
}

/** Largest manifest read (bytes): a manifest is text held whole; 1 GiB is millions of files. */
const MAX_MANIFEST_BYTES = 1 << 30;

export function registerVerify(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('verify').argument('[image]', 'image file or device').argument('[path]', 'directory the manifest describes, as a mount of subvolume 5 shows it (default /)'))
    .description(
      'compare the files below PATH with a manifest (BSD mtree, sha256sum\'s list, or "manifest --json"): every missing, extra and different entry; and check a policy (--deny, --min-free, --compressed); exit 1 on any difference or violation',
    )
    .option('--manifest <file>', 'the manifest: mtree (bsdtar, mtree -c, "manifest"), sha256sum output, or NDJSON of "manifest --json" (told apart by content)')
    .option(
      '--deny <rules>',
      'policy, a comma list (repeatable): "world-writable" (files and directories anyone may write; sticky directories allowed), "setuid" (setuid/setgid files not in --allow-setuid), "snapshots" (any snapshot left in the image)',
      collect,
    )
    .option('--allow-setuid <paths>', 'with --deny setuid: these setuid/setgid files are expected (comma list, repeatable; paths below PATH)', collect)
    .option('--min-free <size>', 'policy: at least this much free space (bytes, or with K, M, G, T: powers of 1024), as "usage" estimates it')
    .option('--compressed <all|none>', 'policy: every regular file\'s data stored compressed ("all": no uncompressed or preallocated extent) or none of it ("none")')
    .option('--junit <file>', 'also write a JUnit XML report to FILE (a test case "manifest" and one "policy", failing with every difference and violation)')
    .option('--sarif <file>', 'also write a SARIF 2.1.0 report to FILE (a result per difference and violation, with its code from the finding catalogue)')
    .option('--xdev', "stay in PATH's subvolume: do not descend into subvolumes linked below it")
    .option('--subvol <id|path>', 'PATH is in this subvolume')
    .option('--inode <subvol:ino>', 'the directory to compare, instead of a path')
    .action((image: string | undefined, path: string | undefined, opts: VerifyOptions) => {
      const policy = parsePolicy(opts);
      if (opts.manifest === undefined && Object.keys(policy).length === 0) throw new UsageError('nothing to verify: give --manifest FILE, a policy (--deny, --min-free, --compressed), or both');
      const manifest = opts.manifest !== undefined ? readManifest(opts.manifest) : null;
      const { fs, view, loc } = openTarget(image, path, opts, io, { defaultPath: '/' });
      if (!loc.ok) return;
      // Content is read only when the manifest gives digests, for the algorithms it gives.
      const algorithms = (['md5', 'sha1', 'sha256'] as const).filter((a) => manifest?.records.some((r) => r.fields[`${a}digest`] !== undefined));
      const actual = [];
      const violations: PolicyViolation[] = [];
      let unreadable = 0;
      for (const e of manifestEntries(view, loc.ref, { ...(algorithms.length > 0 ? { hasher: nodeHasher(algorithms) } : {}), crossSubvolumes: !opts.xdev })) {
        if (e.contentError !== undefined) unreadable++;
        const r = entryRecord(e);
        actual.push(r);
        violations.push(...entryViolations(e, r.key, policy), ...compressionViolations(view, e, r.key, policy));
      }
      if (policy.snapshots || policy.minFree !== undefined) {
        const subvols = view.subvolumes();
        const byUuid = new Map(subvols.filter((x) => x.uuid !== null).map((x) => [x.uuid!, x]));
        const snapshots = subvols
          .filter((x) => x.parentUuid !== null && !x.deleted)
          .map((x) => {
            const of = byUuid.get(x.parentUuid!);
            return { id: x.id, path: x.path ? displayPath(x.path) : '(not linked)', of: of ? `subvolume ${of.id}` : `a deleted subvolume (uuid ${x.parentUuid})` };
          });
        violations.push(...filesystemViolations(policy, { snapshots, freeEstimated: policy.minFree !== undefined ? computeUsage(fs).freeEstimated : 0n }));
      }
      const diffs = manifest ? compareManifest(manifest.records, manifest.scope, actual) : [];
      const counts = { missing: 0, extra: 0, different: 0 };
      const files = new Set<string>();
      for (const d of diffs) {
        counts[d.kind]++;
        if (d.kind === 'different') files.add(d.key);
      }
      if (opts.junit !== undefined || opts.sarif !== undefined) {
        const reports = openCiReports(opts, ['manifest', 'policy'], 'verify');
        reports.add({
          image: image ?? '(demo)',
          findings: [...diffs.map(diffFinding), ...violations.map((v) => ({ code: v.code, severity: v.severity, message: v.message, location: {} }))],
          failing: () => true,
        });
        reports.close();
      }
      if (opts.json) {
        io.stdout.write(
          toJson(
            jsonDocument('verify', {
              verdict: diffs.length === 0 && violations.length === 0 ? 'match' : 'differs',
              entries: actual.length,
              ...(manifest
                ? {
                    manifest: opts.manifest,
                    format: manifest.format,
                    compared: manifest.records.length,
                    missing: counts.missing,
                    extra: counts.extra,
                    differentEntries: files.size,
                    notCompared: manifest.ignoredKeywords,
                    differences: diffs.map(diffJson),
                  }
                : {}),
              policy: violations,
            }),
            2,
          ) + '\n',
        );
      } else {
        if (diffs.length > 0) {
          io.stdout.write(
            renderTable(
              ['difference', 'path', 'keyword', 'manifest', 'image', 'line'],
              diffs.map((d) => [
                d.kind,
                d.key,
                d.kind === 'different' ? d.field : '',
                d.kind === 'different' ? d.expected : '',
                d.kind === 'different' ? (d.found ?? '(none)') : d.kind === 'extra' ? (d.type ?? '') : '',
                'line' in d && d.line !== undefined ? d.line : '',
              ]),
            ) + '\n',
          );
        }
        if (violations.length > 0)
          io.stdout.write(
            renderTable(
              ['policy', 'path', 'what'],
              violations.map((v) => [v.code, v.key ?? (v.subvol !== undefined ? `subvolume ${v.subvol}` : ''), v.message]),
              { title: 'policy' },
            ) + '\n',
          );
        if (manifest) {
          io.stdout.write(
            `${manifest.format} manifest of ${manifest.records.length} entries against ${actual.length} in the image: ` +
              (diffs.length === 0 ? 'match\n' : `${counts.missing} missing, ${counts.extra} extra, ${files.size} different\n`),
          );
          if (manifest.ignoredKeywords.length > 0) io.stderr.write(`not compared (the image cannot say): ${manifest.ignoredKeywords.join(', ')}\n`);
        }
        if (Object.keys(policy).length > 0) io.stdout.write(`policy: ${violations.length === 0 ? 'kept' : `${violations.length} violation(s)`}\n`);
      }
      if (unreadable > 0) io.stderr.write(`btrfs-inspect: ${unreadable} file(s) could not be read whole; their digests differ (run "check --data" for where)\n`);
      done(worst(finish(fs, io), diffs.length > 0 || violations.length > 0 ? EXIT_DAMAGE : EXIT_OK));
    });
}

const DENY_RULES = ['world-writable', 'setuid', 'snapshots'];

function parsePolicy(o: VerifyOptions): Policy {
  const p: Policy = {};
  for (const r of o.deny ?? []) {
    if (!DENY_RULES.includes(r)) throw new UsageError(`--deny: unknown rule "${r}" (rules: ${DENY_RULES.join(', ')})`);
    if (r === 'world-writable') p.worldWritable = true;
    if (r === 'snapshots') p.snapshots = true;
  }
  if ((o.deny ?? []).includes('setuid')) p.setuid = { allow: new Set((o.allowSetuid ?? []).map((x) => mtreeKey(parsePath(x)))) };
  else if (o.allowSetuid !== undefined) throw new UsageError('--allow-setuid lists exceptions to --deny setuid; give that too');
  if (o.minFree !== undefined) p.minFree = parseByteCount(o.minFree, '--min-free');
  if (o.compressed !== undefined) {
    if (o.compressed !== 'all' && o.compressed !== 'none') throw new UsageError(`--compressed must be "all" or "none", got "${o.compressed}"`);
    p.compressed = o.compressed;
  }
  return p;
}

function readManifest(path: string): ParsedManifest {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new InputError(`--manifest ${path}: not a regular file`);
    if (st.size > MAX_MANIFEST_BYTES) throw new InputError(`--manifest ${path}: ${st.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`--manifest ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const m = parseManifest(text);
  if (m.errors.length > 0) {
    const first = m.errors
      .slice(0, 5)
      .map((e) => `line ${e.line}: ${e.message}`)
      .join('; ');
    throw new UsageError(`--manifest ${path}: ${m.errors.length} line(s) not understood (${first})`);
  }
  if (m.records.length === 0) throw new UsageError(`--manifest ${path}: no entries (is it a manifest?)`);
  return m;
}

/** A difference as a finding of the JUnit and SARIF reports (its path and the manifest's line in the message). */
function diffFinding(d: ManifestDifference): Finding {
  const line = 'line' in d && d.line !== undefined ? ` (manifest line ${d.line})` : '';
  if (d.kind === 'missing') return { ...rule('manifest-missing'), message: `${d.key}: in the manifest${line}, not in the image`, location: {} };
  if (d.kind === 'extra') return { ...rule('manifest-extra'), message: `${d.key}: ${d.type ?? 'an entry'} in the image, not in the manifest`, location: {} };
  return { ...rule('manifest-different'), message: `${d.key}: ${d.field} ${d.found ?? '(none)'} in the image, ${d.expected} in the manifest${line}`, location: {} };
}

/** mtree's type names in the JSON vocabulary's (docs/json.md: `type`). */
const FILE_TYPE: Record<string, string> = { link: 'symlink', char: 'chr', block: 'blk', socket: 'sock' };

/** A difference as JSON: `difference` says which (not `kind`: "missing" there would read as a file type). */
function diffJson(d: ManifestDifference): Record<string, unknown> {
  const { kind, ...rest } = d;
  if (d.kind === 'extra' && d.type !== undefined) return { difference: kind, ...rest, type: FILE_TYPE[d.type] ?? d.type };
  return { difference: kind, ...rest };
}
