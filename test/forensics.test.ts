import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogOverlay } from '../src/analysis/forensics/logReplay.js';
import { scanOf, surveyRoots } from '../src/analysis/forensics/roots.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { openSample, SAMPLES, truthJson, truthText } from './helpers/samples.js';

const dev = (name: string) => join(SAMPLES, name, 'dev1.runs.gz');
const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

interface FileTruth {
  sha256: string;
  size: number;
  ino: number;
  mtime_ns: number | string;
}
interface DeletedTruth {
  generation_before: number;
  generation_after: number;
  deleted: { path: string; ino: number; size: number; sha256: string; mode: number; mtime_ns: number; fully_deleted: boolean }[];
  deleted_dirs: { path: string; ino: number }[];
}

describe('recover (deleted sample)', () => {
  const truth = truthJson<DeletedTruth>('deleted', 'deleted.json');
  const gone = truth.deleted.filter((d) => d.fully_deleted);

  it('finds every deleted file and directory by its old path, inode and fields, last seen before the deleting commit', async () => {
    const r = await cli('recover', dev('deleted'), '--json');
    expect(r.code).toBe(0);
    const files = (
      parseJsonExact(r.stdout) as {
        files: { ino: string | number; paths: string[]; size: string | number; mode: number; mtimeNs?: string; lastSeen: string | number; source: string; data: { state: string } }[];
      }
    ).files;
    for (const d of gone) {
      const f = files.find((x) => Number(x.ino) === d.ino);
      expect(f, d.path).toBeDefined();
      expect(f!.paths).toContain(`/${d.path}`);
      expect(Number(f!.size)).toBe(d.size);
      expect(f!.mode).toBe(d.mode);
      expect(Number(f!.lastSeen)).toBe(truth.generation_before);
      expect(['intact', 'inline', 'unverified']).toContain(f!.data.state);
    }
    for (const d of truth.deleted_dirs) expect(files.find((x) => Number(x.ino) === d.ino)?.paths).toContain(`/${d.path}`);
    // A file that kept another name is live: not recovered.
    const live = truth.deleted.filter((d) => !d.fully_deleted);
    for (const d of live) expect(files.find((x) => Number(x.ino) === d.ino)).toBeUndefined();
  });

  it('-o writes each deleted file to DIR/files/<path as it was> with the sha256 it had before deletion, and a report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recover-'));
    tmp.push(out);
    const r = await cli('recover', dev('deleted'), '-o', join(out, 'x'));
    expect(r.code).toBe(0);
    expect(readdirSync(join(out, 'x')).sort()).toEqual(['files', 'recover-report.json']);
    for (const d of gone) expect(sha(readFileSync(join(out, 'x', 'files', d.path))), d.path).toBe(d.sha256);
    const rep = parseJsonExact(readFileSync(join(out, 'x', 'recover-report.json'), 'utf8')) as {
      version: number;
      timePrecision: string;
      files: { ino: string | number; mtimeNs: string; writtenTo: string | null; outputPath: string; failed: string | null; confidence: string }[];
    };
    expect(rep.version).toBe(3);
    expect(['us', 'ns']).toContain(rep.timePrecision);
    // The truth's ns times read exactly (JSON.parse rounds them past 2^53).
    const exact = parseJsonExact(truthText('deleted', 'deleted.json')) as { deleted: { ino: number; mtime_ns: string }[] };
    for (const d of gone) {
      const mtimeNs = BigInt(exact.deleted.find((x) => x.ino === d.ino)!.mtime_ns);
      const f = rep.files.find((x) => Number(x.ino) === d.ino)!;
      expect(f.failed).toBeNull();
      expect(f.outputPath).toBe(`/files/${d.path}`);
      expect(f.writtenTo).toBe(join(out, 'x', 'files', d.path));
      // Every regular victim verified against surviving checksums (or inline in a checksummed leaf).
      expect(f.confidence, d.path).toBe('high');
      // The report has the exact ns; the file has them too (koffi), or truncated to the microsecond.
      expect(BigInt(f.mtimeNs)).toBe(mtimeNs);
      expect(statSync(join(out, 'x', 'files', d.path), { bigint: true }).mtimeNs).toBe(rep.timePrecision === 'ns' ? mtimeNs : (mtimeNs / 1000n) * 1000n);
    }
  });

  it('-o refuses a DIR that is not empty (exit 2) unless --force, which lists every file it replaced; --dry-run writes nothing', async () => {
    const out = mkdtempSync(join(tmpdir(), 'recover-'));
    tmp.push(out);
    const dry = await cli('recover', dev('deleted'), '-o', join(out, 'y'), '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(existsSync(join(out, 'y'))).toBe(false);
    const planned = parseJsonExact(dry.stdout) as { dryRun: boolean; files: { ino: string | number; outputPath?: string; writtenTo?: string | null }[] };
    expect(planned.dryRun).toBe(true);
    for (const d of gone) expect(planned.files.find((x) => Number(x.ino) === d.ino)?.outputPath).toBe(`/files/${d.path}`);
    writeFileSync(join(out, 'keep'), 'x');
    const refused = await cli('recover', dev('deleted'), '-o', out);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not empty.*--force/);
    expect(readdirSync(out)).toEqual(['keep']);
    expect((await cli('recover', dev('deleted'), '-o', out, '--force')).code).toBe(0);
    const victim = gone[0]!;
    writeFileSync(join(out, 'files', victim.path), 'changed');
    const again = await cli('recover', dev('deleted'), '-o', out, '--force', '--json');
    expect(again.code).toBe(0);
    const rep = parseJsonExact(again.stdout) as { replaced: string[] };
    expect(rep.replaced).toContain(`/files/${victim.path}`);
    expect(rep.replaced).toContain('/recover-report.json');
    expect(rep.replaced.length).toBe(gone.length + 1);
    expect(sha(readFileSync(join(out, 'files', victim.path)))).toBe(victim.sha256);
  });

  it('checks recovered data against surviving checksums: regular victims verify sector by sector', () => {
    // Independent of the CLI: sectors checked = the file's extent sizes (filefrag, before deletion) / 4096.
    return (async () => {
      const r = await cli('recover', dev('deleted'), '--json');
      const files = (parseJsonExact(r.stdout) as { files: { ino: string | number; data: { sectorsOk: number; sectorsBad: number } }[] }).files;
      const t = truthJson<{ deleted: { ino: number; fully_deleted: boolean; extents: { length: number; flags: string[] }[] }[] }>('deleted', 'deleted.json');
      for (const d of t.deleted.filter((x) => x.fully_deleted && !x.extents.some((e) => e.flags.includes('inline')))) {
        const f = files.find((x) => Number(x.ino) === d.ino)!;
        expect(f.data.sectorsBad).toBe(0);
        expect(f.data.sectorsOk).toBe(d.extents.reduce((s, e) => s + e.length, 0) / 4096);
      }
    })();
  });
});

describe('--generation (generations sample)', () => {
  const g = truthJson<{ commits: { commit: number; generation: number; super: { root: number }; files: Record<string, FileTruth | null> }[] }>('generations', 'generations.json');
  for (const c of g.commits) {
    it(`generation ${c.generation} (commit ${c.commit}) shows each tracked file as it was`, async () => {
      for (const [path, f] of Object.entries(c.files)) {
        const r = await cli('cat', dev('generations'), path, '--generation', String(c.generation));
        if (f === null) {
          expect(r.code).toBe(2);
          continue;
        }
        expect(r.code, `${path}: ${r.stderr}`).toBe(0);
        expect(sha(r.stdoutBytes), path).toBe(f.sha256);
        const s = await cli('stat', dev('generations'), path, '--generation', String(c.generation), '--json');
        const j = parseJsonExact(s.stdout) as { ino: string | number; size: string | number };
        expect(Number(j.ino)).toBe(f.ino);
        expect(Number(j.size)).toBe(f.size);
      }
    });
  }

  it('--root of an older root tree block reads that commit', async () => {
    const c1 = g.commits[0]!;
    const r = await cli('cat', dev('generations'), 'gen/modified.bin', '--root', String(c1.super.root));
    expect(sha(r.stdoutBytes)).toBe(c1.files['gen/modified.bin']!.sha256);
    // A generation no surviving root tree has: well-formed, not served (1).
    const bad = await cli('cat', dev('generations'), 'gen/modified.bin', '--generation', '999');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no root tree of generation 999/);
  });

  it("roots finds every commit's root tree, complete, with its superblock bytenr", () => {
    const fs = openSample('generations');
    const roots = surveyRoots(fs, scanOf(fs));
    for (const c of g.commits) {
      const rt = roots.find((r) => r.tree === 1n && r.generation === BigInt(c.generation) && r.root.bytenr === BigInt(c.super.root));
      expect(rt, `commit ${c.commit}`).toBeDefined();
      expect(rt!.missing).toBe(0);
      expect(rt!.intact).toBeGreaterThan(0);
    }
    // Every valid copy found has the fsid and bytenr of this filesystem; DUP metadata: each block twice.
    const s = scanOf(fs);
    expect(s.validCopies).toBe(s.validBlocks * 2);
  });
});

describe('--replay-log (log-tree sample)', () => {
  const t = parseJsonExact(truthText('log-tree', 'log-tree.json')) as { log_root: number; committed: Record<string, FileTruth | null>; after_log_replay: Record<string, FileTruth | null> };

  it("without it: the committed view (the fsync'd new file absent)", async () => {
    for (const [path, f] of Object.entries(t.committed)) {
      const r = await cli('cat', dev('log-tree'), path);
      if (f === null) {
        expect(r.code).toBe(2);
        continue;
      }
      expect(sha(r.stdoutBytes), path).toBe(f.sha256);
    }
  });

  it('with it: every file as the kernel had it after the fsyncs, sizes, inodes and mtimes too', async () => {
    for (const [path, f] of Object.entries(t.after_log_replay)) {
      expect(f).not.toBeNull();
      const r = await cli('cat', dev('log-tree'), path, '--replay-log');
      expect(r.code, `${path}: ${r.stderr}`).toBe(0);
      expect(sha(r.stdoutBytes), path).toBe(f!.sha256);
      const s = parseJsonExact((await cli('stat', dev('log-tree'), path, '--replay-log', '--json')).stdout) as {
        ino: string | number;
        size: string | number;
        mtimeNs?: string | number;
        mtime?: { ns?: string };
      };
      expect(Number(s.ino)).toBe(f!.ino);
      expect(Number(s.size)).toBe(f!.size);
      expect(String(s.mtimeNs)).toBe(String(f!.mtime_ns));
    }
    const ls = await cli('ls', dev('log-tree'), 'lt', '--replay-log');
    expect(ls.stdout).toMatch(/new-fsynced\.bin/);
  });

  it('the log summary names the logged inodes and the log root', () => {
    const fs = openSample('log-tree');
    expect(fs.superblock.logRoot).toBe(BigInt(t.log_root));
    const o = LogOverlay.build(fs)!;
    const inos = o.logged.flatMap((l) => l.inodes.map((i) => Number(i.ino))).sort();
    const changed = Object.entries(t.after_log_replay)
      .filter(([p, f]) => JSON.stringify(f) !== JSON.stringify(t.committed[p]))
      .map(([, f]) => f!.ino)
      .sort();
    expect(inos).toEqual(changed);
  });
});

describe('timeline', () => {
  interface Entry {
    path: string;
    path_b64: string;
    ino: number;
    size: number;
    type: string;
    atime_ns: number | string;
    mtime_ns: number | string;
    ctime_ns: number | string;
    btime_ns: number | string;
    subvol_id: number;
    uid: number;
    gid: number;
  }
  // Exact parse: nanosecond times do not fit a double.
  const files = (name: string) => (parseJsonExact(truthText(name, 'files.json')) as { entries: Entry[] }).entries;
  const sec = (ns: number | string) => {
    const b = BigInt(ns);
    const s = b / 1_000_000_000n;
    return String(b < 0n && b % 1_000_000_000n !== 0n ? s - 1n : s);
  };

  /**
   * A truth path (UTF-8, \\xNN for bytes that are not) as a body file must show it, by TSK's convention:
   * the backslash as it is, "|" and control characters escaped.
   */
  const bodyText = (p: string) =>
    [...p]
      .map((ch) => {
        const c = ch.codePointAt(0)!;
        if (ch === '|' || c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) return [...Buffer.from(ch)].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('');
        return ch;
      })
      .join('');

  it("body file: 11 fields; every name of every inode in every subvolume (hard links too), with the kernel's SUBVOL-INO, sizes and times (default sample)", async () => {
    const r = await cli('timeline', dev('default'), '--bodyfile', '--no-recovered');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const byName = new Map<string, string[]>();
    for (const l of lines) {
      const f = l.split('|');
      expect(f.length).toBe(11);
      expect(f[0]).toBe('0');
      expect(f[2]).toMatch(/^\d+-\d+$/);
      for (const i of [4, 5, 6, 7, 8, 9, 10]) expect(f[i]).toMatch(/^-?\d+$/);
      const name = f[1]!.replace(/ -> .*$/, '');
      expect(byName.has(name), name).toBe(false);
      byName.set(name, f);
    }
    const truth = files('default').filter((e) => e.ino !== 2); // ino 2: the placeholder of a subvolume a snapshot does not hold
    for (const e of truth) {
      const f = byName.get(e.path === '.' ? '/' : `/${bodyText(e.path)}`);
      expect(f, e.path).toBeDefined();
      expect(f![2], e.path).toBe(`${e.subvol_id}-${e.ino}`);
      if (e.type !== 'dir') expect(Number(f![6]), e.path).toBe(e.size);
      expect(f![4]).toBe(String(e.uid));
      expect(f![5]).toBe(String(e.gid));
      expect([f![7], f![8], f![9], f![10]], e.path).toEqual([sec(e.atime_ns), sec(e.mtime_ns), sec(e.ctime_ns), sec(e.btime_ns)]);
    }
    // Nothing but the kernel's names.
    const known = new Set(truth.map((e) => (e.path === '.' ? '/' : `/${bodyText(e.path)}`)));
    expect([...byName.keys()].filter((n) => !known.has(n))).toEqual([]);
    const hard = truth
      .filter((e) => e.subvol_id === 5 && e.ino === 276)
      .map((e) => `/${e.path}`)
      .sort();
    expect(hard).toEqual(['/rich/hardlink-a', '/rich/hardlink-b', '/rich/other-dir/hardlink-c']);
    for (const h of hard) expect(byName.get(h)![2]).toBe('5-276');
    expect(byName.get('/rich/symlink-absolute')![1]).toBe('/rich/symlink-absolute -> /etc/hostname');
  });

  // The Sleuth Kit's mactime, where installed, is the reader a body file is for: it drops any line it cannot parse.
  const mactime = ['/usr/bin/mactime', '/usr/local/bin/mactime'].find((p) => existsSync(p));
  it.runIf(mactime)('mactime (The Sleuth Kit) reads every line of the body file: each name gives its events, SUBVOL-INO as the inode', async () => {
    const r = await cli('timeline', dev('default'), '--bodyfile', '--no-recovered');
    const dir = mkdtempSync(join(tmpdir(), 'mactime-'));
    try {
      const body = join(dir, 'body.txt');
      writeFileSync(body, r.stdout);
      const m = spawnSync(mactime!, ['-b', body, '-d'], { env: { ...process.env, TZ: 'UTC' }, encoding: 'utf8', maxBuffer: 1 << 28 });
      expect(m.status).toBe(0);
      const rows = m.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(','));
      const names = new Set(rows.map((c) => c.slice(7).join(',')));
      expect(names.size).toBe(r.stdout.trimEnd().split('\n').length);
      const hard = rows.filter((c) => c[6] === '5-276').map((c) => c.slice(7).join(','));
      expect([...new Set(hard)].sort()).toEqual(['"/rich/hardlink-a"', '"/rich/hardlink-b"', '"/rich/other-dir/hardlink-c"']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('table and --json list every name of a hard-linked inode too, the path in each vocabulary', async () => {
    const want = files('default')
      .filter((e) => e.subvol_id === 5 && e.ino === 276)
      .map((e) => `/${e.path}`)
      .sort();
    const j = await cli('timeline', dev('default'), '--json', '--no-recovered');
    const ev = j.stdout
      .trimEnd()
      .split('\n')
      .map((l) => parseJsonExact(l) as { record: string; subvol: number; ino: number; path: string; pathBase64?: string; macb: string });
    expect([...new Set(ev.filter((x) => x.subvol === 5 && x.ino === 276).map((x) => x.path))].sort()).toEqual(want);
    // JSON: the exact text, base64 beside it only when the text is not the bytes.
    const nl = files('default').find((e) => e.path === 'rich/names/new\nline')!;
    expect(ev.find((x) => x.subvol === 5 && x.ino === nl.ino)!.path).toBe('/rich/names/new\nline');
    const latin = files('default').find((e) => e.path.startsWith('rich/names/latin1-'))!;
    const lj = ev.find((x) => x.subvol === 5 && x.ino === latin.ino)!;
    expect(lj.path).toBe(`/${latin.path}`);
    expect(lj.pathBase64).toBe(latin.path_b64); // the path's bytes, as ls --json gives them
    const t = await cli('timeline', dev('default'), '--no-recovered');
    const rows = t.stdout
      .split('\n')
      .filter((l) => / 5:276 /.test(l))
      .map((l) => l.slice(l.indexOf(' 5:276 ') + 7));
    expect([...new Set(rows)].sort()).toEqual(want);
    expect(t.stdout).toContain(' 5:278 /rich/symlink-absolute -> /etc/hostname\n');
    expect(t.stdout).toContain(`5:${nl.ino} /rich/names/new\\x0aline\n`);
  });

  it('recovered inodes are flagged "(deleted)" with their old names (deleted sample), and --json events are time-sorted', async () => {
    const r = await cli('timeline', dev('deleted'), '--bodyfile');
    const t = parseJsonExact(truthText('deleted', 'deleted.json')) as DeletedTruth;
    for (const d of t.deleted.filter((x) => x.fully_deleted)) {
      const l = r.stdout.split('\n').find((x) => x.split('|')[1] === `/${d.path} (deleted)`);
      expect(l, d.path).toBeDefined();
      expect(l!.split('|')[2]).toMatch(new RegExp(`^\\d+-${d.ino}$`));
      expect(l!.split('|')[8]).toBe(sec(d.mtime_ns));
    }
    const j = await cli('timeline', dev('deleted'), '--json');
    const ev = j.stdout
      .trimEnd()
      .split('\n')
      .map((l) => parseJsonExact(l) as { record: string; timeNs: string | number })
      .filter((x) => x.record === 'event');
    for (let i = 1; i < ev.length; i++) expect(BigInt(ev[i]!.timeNs) >= BigInt(ev[i - 1]!.timeNs)).toBe(true);
  });

  it('--subvol: exactly the events of that subvolume, in the same order as in the whole timeline', async () => {
    const all = await cli('timeline', dev('default'), '--json', '--no-recovered');
    // The subvolume other than 5 with the most files.
    const counts = new Map<number, number>();
    for (const e of files('default')) if (e.subvol_id !== 5) counts.set(e.subvol_id, (counts.get(e.subvol_id) ?? 0) + 1);
    const sub = [...counts].sort((x, y) => y[1] - x[1])[0]![0];
    const one = await cli('timeline', dev('default'), '--json', '--no-recovered', '--subvol', String(sub));
    expect(one.code).toBe(0);
    const want = all.stdout
      .trimEnd()
      .split('\n')
      .filter((l) => (parseJsonExact(l) as { subvol: number }).subvol === sub);
    expect(want.length).toBeGreaterThan(3);
    // The same header record, then the same events.
    expect(one.stdout.trimEnd().split('\n')).toEqual([all.stdout.split('\n')[0], ...want]);
    const body = await cli('timeline', dev('default'), '--bodyfile', '--no-recovered', '--subvol', String(sub));
    // One body-file line per name: the distinct (inode, path) pairs of the events.
    expect(body.stdout.trimEnd().split('\n').length).toBe(
      new Set(
        want.map((l) => {
          const x = parseJsonExact(l) as { ino: number; path: string };
          return `${x.ino} ${x.path}`;
        }),
      ).size,
    );
    expect((await cli('timeline', dev('default'), '--subvol', '/no/such')).code).toBe(2);
  });
});

it('reads nothing it should not: outputs exist only where asked', () => {
  expect(existsSync(join(SAMPLES, 'deleted', 'recover-report.json'))).toBe(false);
});
