import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNsTimes } from '../src/node/extract/nsTimes.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { filesTruth, type TruthEntry } from './helpers/fsTruth.js';
import { SAMPLES, sampleNames } from './helpers/samples.js';

/**
 * extract's layout (DIR/<path from the top level>, the same for a file, a
 * directory, a subvolume, several PATHs and --path-regex), --dry-run, --force
 * and the times it sets, against the kernel's truth of the demo image
 * (sample-images/default/truth/files.json, recorded from a mount).
 */

/** The optional ns path (koffi), or why it is not there. */
const koffi = await loadNsTimes();
const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-layout-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));
const image = join(SAMPLES, 'default', 'dev1.runs.gz');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let n = 0;
const fresh = () => join(tmpRoot, `o${n++}`);

/** Every path under `dir`, relative ("a/b"), as latin1 strings of the name bytes. */
function tree(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: Buffer, rel: string) => {
    for (const name of nodeFs.readdirSync(d, { encoding: 'buffer' })) {
      const r = rel ? `${rel}/${name.toString('latin1')}` : name.toString('latin1');
      out.add(r);
      const p = Buffer.concat([d, Buffer.from('/'), name]);
      if (nodeFs.lstatSync(p).isDirectory()) walk(p, r);
    }
  };
  walk(Buffer.from(dir), '');
  return out;
}

const rel = (t: TruthEntry) => Buffer.from(t.path_b64, 'base64').toString('latin1');
/** What extract writes of the truth's entries by default: sockets and device nodes never, fifos only as root. */
const writable = (t: TruthEntry) => t.path !== '.' && !['sock', 'chr', 'blk'].includes(t.type) && (isRoot || t.type !== 'fifo');
/** The on-disk time truncated to the microsecond (toward minus infinity, as a timespec holds it). */
const floorUs = (ns: bigint) => (ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n)) * 1000n;

describe.runIf(sampleNames().includes('default'))('extract layout: DIR/<path from the top level>', () => {
  const truth = filesTruth('default');
  const under = (prefix: string) => truth.filter((t) => writable(t) && (t.path === prefix || t.path.startsWith(`${prefix}/`))).map(rel);

  it('a file goes to DIR/<its path>, with the directories on the way given their metadata from the image', async () => {
    const out = fresh();
    const r = await cli('extract', image, '/rich/tiny.txt', '-o', out);
    expect(r.code, r.stderr).toBe(0);
    expect([...tree(out)].sort()).toEqual(['rich', 'rich/tiny.txt']);
    const dir = truth.find((t) => t.path === 'rich')!;
    const st = nodeFs.statSync(join(out, 'rich'), { bigint: true });
    expect(Number(st.mode & 0o7777n).toString(8)).toBe((dir.mode & 0o7777).toString(8));
    expect(st.mtimeNs).toBe(typeof koffi === 'string' ? floorUs(BigInt(dir.mtime_ns)) : BigInt(dir.mtime_ns));
  });

  it('a directory, a subvolume and several PATHs each go to DIR/<path>; a PATH inside another is written once', async () => {
    const out = fresh();
    const r = await cli('extract', image, '/subvol-a/dir', '/rich/deep', '/rich/deep/level-01', '-o', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('/rich/deep/level-01 is within /rich/deep');
    expect([...tree(out)].sort()).toEqual(['rich', 'subvol-a', ...under('subvol-a/dir'), ...under('rich/deep')].sort());
    const sub = fresh();
    expect((await cli('extract', image, '/subvol-a', '-o', sub)).code).toBe(0);
    // The subvolume with the one nested in it, below DIR/subvol-a (not into DIR itself).
    expect([...tree(sub)].sort()).toEqual(under('subvol-a').sort());
    const all = fresh();
    expect((await cli('extract', image, '-o', all)).code).toBe(0);
    expect([...tree(all)].sort()).toEqual(truth.filter(writable).map(rel).sort());
  });

  it('--path-regex writes the entries whose path matches and the directories on the way; --dry-run lists the same and writes nothing', async () => {
    const re = '(bottom|tiny|tiny-hardlink)\\.txt$';
    const matched = truth.filter((t) => writable(t) && new RegExp(re).test(`/${t.path}`));
    expect(matched.length).toBeGreaterThan(5);
    const want = new Set<string>();
    for (const t of matched) {
      const parts = rel(t).split('/');
      for (let i = 1; i <= parts.length; i++) want.add(parts.slice(0, i).join('/'));
    }
    const dry = fresh();
    const d = await cli('extract', image, '-o', dry, '--path-regex', re, '--dry-run', '--json');
    expect(d.code, d.stderr).toBe(0);
    expect(nodeFs.existsSync(dry)).toBe(false);
    const doc = parseJsonExact(d.stdout) as { dryRun: boolean; entries: { path: string; type: string; size: string | number }[] };
    expect(doc.dryRun).toBe(true);
    expect(doc.entries.map((e) => e.path.slice(1)).sort()).toEqual([...want].sort());
    for (const t of matched) expect(Number(doc.entries.find((e) => e.path === `/${t.path}`)!.size), t.path).toBe(t.size);
    const out = fresh();
    const r = await cli('extract', image, '-o', out, '--path-regex', re);
    expect(r.code, r.stderr).toBe(0);
    expect([...tree(out)].sort()).toEqual([...want].sort());
    // Names of one inode that both match are one inode here too.
    const a = nodeFs.statSync(join(out, 'subvol-a/nested/dir/tiny-hardlink.txt')),
      b = nodeFs.statSync(join(out, 'subvol-a/nested/tiny.txt'));
    expect(a.ino).toBe(b.ino);
    expect((await cli('extract', image, '-o', fresh(), '--path-regex', '(')).code).toBe(2);
  });

  /** lstat of every entry the truth lists, before anything reads a file (reads update atimes). */
  const timesOf = (out: string) =>
    truth.filter((x) => writable(x) && x.ino !== 2).map((t) => ({ t, st: nodeFs.lstatSync(Buffer.concat([Buffer.from(`${out}/`), Buffer.from(t.path_b64, 'base64')]), { bigint: true }) }));
  // Inode 2 is the empty directory a snapshot shows for a subvolume nested in its source: no item, no time on disk.
  const expectTimes = (out: string, exact: boolean) => {
    const all = timesOf(out);
    expect(all.length).toBeGreaterThan(1000);
    const want = (ns: string) => (exact ? BigInt(ns) : floorUs(BigInt(ns)));
    for (const { t, st } of all) {
      expect(st.mtimeNs, `${t.path} mtime`).toBe(want(t.mtime_ns));
      if (t.type !== 'dir') expect(st.atimeNs, `${t.path} atime`).toBe(want(t.atime_ns));
    }
  };
  const engine = async (out: string, times?: string) => {
    const { openSample } = await import('./helpers/samples.js');
    const { FsView } = await import('../src/fs/FsView.js');
    const { extractFiles } = await import('../src/node/extract/index.js');
    const view = new FsView(openSample('default'));
    const root = view.rootOf(5n);
    return extractFiles(view, { ref: root, inode: view.inode(root)!, into: null }, out, times === undefined ? {} : { times });
  };

  it('without the ns path: every mtime (and atime of non-directories) is the on-disk time truncated to the microsecond', async () => {
    const out = fresh();
    const s = await engine(out, 'turned off by the test');
    expect(s.failed).toEqual([]);
    expect(s.timePrecision).toBe('us');
    expect(s.notes.join('\n')).toMatch(/to the microsecond.*for ns: turned off by the test/);
    expectTimes(out, false);
  });

  it.runIf(typeof koffi !== 'string')('with the optional koffi package: every time exactly, to the nanosecond', async () => {
    const out = fresh();
    const s = await engine(out);
    expect(s.failed).toEqual([]);
    expect(s.timePrecision).toBe('ns');
    expectTimes(out, true);
  });
  if (typeof koffi === 'string') it.skip(`ns times: ${koffi}`, () => {});

  it('--json says the precision used and lists every entry written with its exact ns times', async () => {
    const out = fresh();
    const r = await cli('extract', image, '-o', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = parseJsonExact(r.stdout) as { timePrecision: string; notes: string[]; entries: { path: string; mtimeNs: string | number; atimeNs: string | number }[] };
    expect(s.timePrecision).toBe(typeof koffi === 'string' ? 'us' : 'ns');
    expectTimes(out, s.timePrecision === 'ns');
    const byPath = new Map(s.entries.map((e) => [e.path, e]));
    for (const t of truth.filter((x) => writable(x) && x.ino !== 2 && /^[\x20-\x7e]*$/.test(x.path))) {
      const e = byPath.get(`/${t.path}`);
      expect(e, t.path).toBeDefined();
      expect(BigInt(e!.mtimeNs), `${t.path} mtimeNs`).toBe(BigInt(t.mtime_ns));
      expect(BigInt(e!.atimeNs), `${t.path} atimeNs`).toBe(BigInt(t.atime_ns));
    }
  });

  it('keeps what is there without --force (exit 1) and lists every file replaced with it', async () => {
    const out = fresh();
    expect((await cli('extract', image, '/rich/tiny.txt', '/rich/inline-2000.txt', '-o', out)).code).toBe(0);
    nodeFs.writeFileSync(join(out, 'rich/tiny.txt'), 'changed');
    const kept = await cli('extract', image, '/rich/tiny.txt', '-o', out, '--json');
    expect(kept.code).toBe(1);
    expect(nodeFs.readFileSync(join(out, 'rich/tiny.txt'), 'utf8')).toBe('changed');
    const forced = await cli('extract', image, '/rich/tiny.txt', '/rich/inline-2000.txt', '-o', out, '--json', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect((parseJsonExact(forced.stdout) as { replaced: string[] }).replaced).toEqual(['/rich/tiny.txt', '/rich/inline-2000.txt']);
    expect(nodeFs.statSync(join(out, 'rich/tiny.txt')).size).toBe(truth.find((t) => t.path === 'rich/tiny.txt')!.size);
  });
});
