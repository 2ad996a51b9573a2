/**
 * extract and recover -o by default take over nothing from the image that could hand local
 * users privileges: no device nodes, no setuid/setgid bits, no ownership change, a private
 * output directory; the summary says what was withheld, and --preserve-all (or --devices,
 * --setuid, --owner) takes it over. Image: test/fixtures/privileged/build.sh (kernel-made;
 * truth.json is the kernel's lstat of every entry before /gone was deleted).
 */
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExtractSummary } from '../src/cli/commands/extract.js';
import { cli } from './helpers/cli.js';
import { sha256File } from './helpers/sameTree.js';

const DIR = join(import.meta.dirname, 'fixtures', 'privileged');
const IMAGE = join(DIR, 'privileged.runs.gz');
const truth = JSON.parse(nodeFs.readFileSync(join(DIR, 'truth.json'), 'utf8')) as {
  root_mode: number;
  entries: { path: string; mode: number; uid: number; gid: number; rdev?: [number, number]; sha256?: string }[];
};
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const ownUid = typeof process.getuid === 'function' ? process.getuid() : -1;
const ownGid = typeof process.getgid === 'function' ? process.getgid() : -1;
const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-policy-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(tmpRoot, `o${n++}`);

const S_IFMT = 0o170000;
const isDevice = (mode: number) => (mode & S_IFMT) === 0o020000 || (mode & S_IFMT) === 0o060000;
const isSetid = (mode: number) => (mode & S_IFMT) === 0o100000 && (mode & 0o6000) !== 0;
const live = truth.entries.filter((e) => e.path.startsWith('live/'));
const gone = truth.entries.filter((e) => e.path.startsWith('gone/'));

/** The on-disk rdev as [major, minor] (Linux's dev_t encoding). */
const rdevOf = (rdev: number) => [Math.floor(rdev / 256) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)];

describe('extract: safe defaults', () => {
  it('withholds device nodes, setuid/setgid bits, ownership and the root mode, says so, and exits 0', async () => {
    expect(live.filter((e) => isDevice(e.mode)).length).toBe(2);
    expect(live.filter((e) => isSetid(e.mode)).length).toBe(2);
    const out = fresh();
    const r = await cli('extract', IMAGE, '-o', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as ExtractSummary;
    expect([s.failed, s.refused]).toEqual([[], []]);
    for (const e of live) {
      const p = join(out, e.path);
      if (isDevice(e.mode)) {
        // No placeholder: nothing at all is written in its place.
        expect(nodeFs.lstatSync(p, { throwIfNoEntry: false }), e.path).toBeUndefined();
        expect(s.withheld.entries.find((w) => w.path === `/${e.path}`)?.reason, e.path).toMatch(new RegExp(`device ${e.rdev![0]}:${e.rdev![1]} not made`));
        continue;
      }
      const st = nodeFs.lstatSync(p);
      expect((st.mode & 0o7777).toString(8), `${e.path} mode`).toBe((e.mode & (isSetid(e.mode) ? 0o1777 : 0o7777)).toString(8));
      expect([st.uid, st.gid], `${e.path} owner`).toEqual([ownUid, ownGid]);
      expect(sha256File(Buffer.from(p)), e.path).toBe(e.sha256);
      if (isSetid(e.mode)) expect(s.withheld.entries.find((w) => w.path === `/${e.path}`)?.reason, e.path).toMatch(/without its setuid\/setgid bits/);
    }
    // The output directory made by extract stays private; the image's root was 0755.
    expect(truth.root_mode & 0o7777).toBe(0o755);
    expect(nodeFs.statSync(out).mode & 0o7777).toBe(0o700);
    const owned = new Set(live.filter((e) => !isDevice(e.mode) && (e.uid !== ownUid || e.gid !== ownGid)).map((e) => e.path));
    expect(owned.size).toBeGreaterThan(0);
    expect(s.withheld).toMatchObject({ devices: 2, setuid: 2, owner: owned.size, outputMode: 1 });
    expect(s.withheld.entries).toHaveLength(5);
    expect(s.written.devices).toBe(0);
    expect(s.ownership).toMatch(/^withheld/);
    const t = await cli('extract', IMAGE, '-o', fresh());
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`withheld by default (--preserve-all takes all): 2 device nodes not made (--devices), setuid/setgid bits of 2 files (--setuid), the owner of ${owned.size}`);
    expect(t.stdout).toMatch(/\/live\/raw-loop0: block device 7:0 not made/);
  });

  it('--dry-run lists device nodes as not written', async () => {
    const r = await cli('extract', IMAGE, '/live', '-o', fresh(), '--dry-run', '--json');
    const d = JSON.parse(r.stdout) as { entries: { path: string; notWritten?: string }[] };
    for (const e of live) expect(d.entries.find((x) => x.path === `/${e.path}`)?.notWritten !== undefined, e.path).toBe(isDevice(e.mode));
  });

  it.runIf(isRoot)('--preserve-all restores modes, device numbers, owners and the root mode as the kernel had them', async () => {
    const out = fresh();
    const r = await cli('extract', IMAGE, '-o', out, '--preserve-all', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as ExtractSummary;
    expect(s.withheld).toEqual({ devices: 0, setuid: 0, owner: 0, outputMode: 0, entries: [] });
    for (const e of live) {
      const st = nodeFs.lstatSync(join(out, e.path));
      expect([st.mode.toString(8), st.uid, st.gid], e.path).toEqual([e.mode.toString(8), e.uid, e.gid]);
      if (e.rdev) expect(rdevOf(st.rdev), e.path).toEqual(e.rdev);
    }
    expect(nodeFs.statSync(out).mode).toBe(truth.root_mode);
  });

  it.runIf(isRoot)('--devices, --setuid and --owner each take over one thing only', async () => {
    for (const [flag, kept] of [
      ['--devices', 'devices'],
      ['--setuid', 'setuid'],
      ['--owner', 'owner'],
    ] as const) {
      const out = fresh();
      const r = await cli('extract', IMAGE, '/live', '-o', out, flag, '--json');
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout) as ExtractSummary;
      expect(s.withheld[kept], flag).toBe(0);
      for (const other of (['devices', 'setuid', 'owner'] as const).filter((k) => k !== kept)) expect(s.withheld[other], `${flag}: ${other}`).toBeGreaterThan(0);
      for (const e of live) {
        const st = nodeFs.lstatSync(join(out, e.path), { throwIfNoEntry: false });
        if (isDevice(e.mode)) {
          expect(st !== undefined, `${flag} ${e.path}`).toBe(kept === 'devices');
          if (st) expect(rdevOf(st.rdev), e.path).toEqual(e.rdev);
        } else if (isSetid(e.mode)) expect(st!.mode & 0o6000, `${flag} ${e.path}`).toBe(kept === 'setuid' ? e.mode & 0o6000 : 0);
        if (st) expect([st.uid, st.gid], `${flag} ${e.path}`).toEqual(kept === 'owner' ? [e.uid, e.gid] : [0, 0]);
      }
    }
  });
});

describe('recover -o: the same defaults', () => {
  type Report = { withheld: ExtractSummary['withheld']; files: { outputPath: string; failed: string | null }[] };

  it('withholds device nodes and setuid/setgid bits of the deleted files (listed in the report, exit 0); --preserve-all restores them', async () => {
    const out = fresh();
    const r = await cli('recover', IMAGE, '-o', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('withheld by default (--preserve-all takes all): 2 device nodes not made (--devices), setuid/setgid bits of 2 files (--setuid)');
    const rep = JSON.parse(nodeFs.readFileSync(join(out, 'recover-report.json'), 'utf8')) as Report;
    expect(rep.withheld).toMatchObject({ devices: 2, setuid: 2 });
    for (const e of gone) {
      const p = join(out, 'files', e.path);
      const st = nodeFs.lstatSync(p, { throwIfNoEntry: false });
      if (isDevice(e.mode)) {
        expect(st, e.path).toBeUndefined();
        expect(rep.withheld.entries.some((w) => w.path === `/files/${e.path}`)).toBe(true);
      } else {
        expect((st!.mode & 0o7777).toString(8), e.path).toBe((e.mode & 0o1777).toString(8));
        expect(sha256File(Buffer.from(p)), e.path).toBe(e.sha256);
      }
    }
    if (!isRoot) return;
    const all = fresh();
    const a = await cli('recover', IMAGE, '-o', all, '--preserve-all', '--json');
    expect(a.code, a.stderr).toBe(0);
    expect((JSON.parse(a.stdout) as Report).withheld).toEqual({ devices: 0, setuid: 0, owner: 0, outputMode: 0, entries: [] });
    for (const e of gone) {
      const st = nodeFs.lstatSync(join(all, 'files', e.path));
      expect([st.mode.toString(8), st.uid, st.gid], e.path).toEqual([e.mode.toString(8), e.uid, e.gid]);
      if (e.rdev) expect(rdevOf(st.rdev), e.path).toEqual(e.rdev);
    }
  });

  it('the opt-ins go with -o', async () => {
    const r = await cli('recover', IMAGE, '--devices');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--devices goes with --output/);
  });
});
