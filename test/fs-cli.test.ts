import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { FsView } from '../src/fs/FsView.js';
import { locate } from '../src/fs/select.js';
import { listingJson, statJson } from '../src/report/fileDocs.js';
import { entryJson } from '../src/report/fs.js';
import { jsonDocument, toJson, writeJsonStream } from '../src/report/json.js';
import { captureIO, filesTruth } from './helpers/fsTruth.js';
import { openSample, SAMPLES, sampleNames, truthText } from './helpers/samples.js';

const has = (n: string) => sampleNames().includes(n);
const IMG = join(SAMPLES, 'default', 'dev1.runs.gz');

async function cli(args: string[]) {
  const c = captureIO();
  const code = await runCli(args, c.io);
  return { code, out: c.text(), bytes: c.stdout(), err: c.stderr() };
}

describe.runIf(has('default'))('file commands through runCli (sample default)', () => {
  const truth = filesTruth('default');
  const sha = (p: string) => truth.find((t) => t.path === p)!.sha256;

  it('subvolumes: table, default, lineage tree; --json with every field', async () => {
    const r = await cli(['subvolumes', IMG]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/default subvolume: 256/);
    expect(r.out).toMatch(/snapshot lineage \(by parent uuid\):\n5 <FS_TREE>\n256 \/subvol-a\n├── 259 \/snap-a-rw\n├── 260 \/snapshots\/snap-a-ro \(ro\)\n└── 261 \/snapshots\/snap-a-ro2 \(ro\)/);
    const j = await cli(['subvolumes', IMG, '--json']);
    const o = JSON.parse(j.out) as { defaultSubvol: number; subvolumes: Record<string, unknown>[] };
    expect(o.defaultSubvol).toBe(256);
    const s263 = o.subvolumes.find((s) => s['subvol'] === 263)!;
    expect(s263).toMatchObject({ path: '/received/snap-a-ro2', parentSubvol: 5, readOnly: true, default: false, deleted: false, snapshotOf: 262 });
    for (const k of ['uuid', 'parentUuid', 'receivedUuid', 'generation', 'otransid', 'ctime', 'otime', 'stransid', 'rtransid']) expect(s263).toHaveProperty(k);
  });

  it('ls: entries with inode and type; -l long lines; --json; -R --json is NDJSON of every file', async () => {
    const r = await cli(['ls', IMG, '/rich']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\s+259 file\s+tiny\.txt$/m);
    const l = await cli(['ls', IMG, '/rich', '-l']);
    expect(l.out).toMatch(/^\s+277 lrwxrwxrwx\s+1\s+0\s+0\s+8 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}Z symlink-relative -> tiny\.txt$/m);
    const sp = await cli(['ls', IMG, '/rich/special', '-l']);
    expect(sp.out).toMatch(/crw-------\s+1\s+0\s+0\s+260, 70000 /);
    const j = await cli(['ls', IMG, '/rich/times', '--json']);
    const o = JSON.parse(j.out) as { entries: Record<string, unknown>[] };
    expect(o.entries.find((e) => e['name'] === 'before-epoch-1960')).toMatchObject({ mtimeNs: -315619199500000000, mtime: '1960-01-01T00:00:00.500000000Z' });
    const R = await cli(['ls', IMG, '-R', '--json']);
    const records = R.out
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x) as { record: string; path: string; type: string; mode: number; size: number });
    expect(records[0]).toMatchObject({ record: 'header', command: 'ls' });
    const lines = records.filter((x) => x.record === 'entry');
    expect(lines.length).toBe(truth.length - 1);
    const tp = new Map(truth.map((t) => [`/${t.path}`, t]));
    let checked = 0;
    for (const e of lines) {
      const t = tp.get(e.path);
      if (!t) continue; // names that are not UTF-8 are compared by bytes in fs-samples
      expect({ type: e.type, mode: e.mode, size: e.size }, e.path).toEqual({ type: t.type, mode: t.mode, size: t.size });
      checked++;
    }
    expect(checked).toBeGreaterThan(truth.length - 5);
  });

  it('a missing path exits 2 naming it; a path through a file exits 2', async () => {
    const r = await cli(['ls', IMG, '/rich/no-such-file']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('/rich/no-such-file: no such file or directory');
    expect(r.err).not.toMatch(/\n\s+at /);
    const s = await cli(['stat', IMG, '/rich/tiny.txt/x']);
    expect(s.code).toBe(2);
    expect(s.err).toContain('/rich/tiny.txt: not a directory');
    const c = await cli(['cat', IMG, '/nope']);
    expect(c.code).toBe(2);
    expect(c.err).toContain('/nope');
  });

  it('stat: every inode field, flags by name, all names, xattrs binary-safe, extents', async () => {
    const r = await cli(['stat', IMG, '/rich/nodatacow.bin']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/flags\s+│ 0x3 \(NODATASUM \| NODATACOW\)/);
    for (const f of ['sequence', 'transid', 'rdev', 'block group', 'generation', 'otime']) expect(r.out).toContain(f);
    const j = JSON.parse((await cli(['stat', IMG, '--inode', '5:276', '--json'])).out) as Record<string, unknown> & { names: { path: string; source: string }[]; paths: string[] };
    expect(j.paths.sort()).toEqual(['/rich/hardlink-a', '/rich/hardlink-b', '/rich/other-dir/hardlink-c']);
    expect(j.names.map((n) => n.source)).toEqual(['INODE_REF', 'INODE_REF', 'INODE_REF']);
    const x = JSON.parse((await cli(['stat', IMG, '/rich/xattrs.txt', '--json'])).out) as { xattrs: { name: string; valueBase64: string; valueHex: string }[] };
    const bin = x.xattrs.find((a) => a.name === 'user.binary')!;
    expect(Buffer.from(bin.valueBase64, 'base64')).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    expect(bin.valueHex.slice(0, 8)).toBe('00010203');
    const t = await cli(['stat', IMG, '/rich/xattrs.txt']);
    expect(t.out).toContain('0x000102030405');
    const sub = await cli(['stat', IMG, 'tiny.txt', '--subvol', '257']);
    expect(sub.code).toBe(0);
    expect(sub.out).toContain('/subvol-a/nested/tiny.txt');
  });

  it('stat --json has an extents part for files and symlinks only, as the text has', async () => {
    const pick = (type: string, pred: (t: (typeof truth)[number]) => boolean = () => true) => truth.find((t) => t.subvol_id === 5 && t.type === type && pred(t))!;
    const file = pick('file', (t) => (t.filefrag?.extents.length ?? 0) > 0);
    for (const t of [pick('dir', (t) => t.path !== ''), pick('fifo'), pick('chr'), file, pick('symlink')]) {
      const j = JSON.parse((await cli(['stat', IMG, `/${t.path}`, '--json'])).out) as { type: string; extents?: { list: unknown[] } };
      expect(j.type, t.path).toBe(t.type);
      const has = t.type === 'file' || t.type === 'symlink';
      expect('extents' in j, t.path).toBe(has);
      expect((await cli(['stat', IMG, `/${t.path}`])).out.includes('\nextents: '), t.path).toBe(has);
      if (t === file) expect(j.extents!.list.length).toBeGreaterThan(0);
    }
  });

  it('symlink targets are shown as the kernel reads them ("/" as is) in ls -l, stat, ls --json, cat\'s refusal', async () => {
    const links = truth.filter((t) => t.type === 'symlink' && t.subvol_id === 5);
    expect(links.map((t) => t.path)).toContain('rich/symlink-absolute');
    const l = await cli(['ls', IMG, '/rich', '-l']);
    const j = JSON.parse((await cli(['ls', IMG, '/rich', '--json'])).out) as { entries: { name: string; symlinkTarget?: string; symlinkTargetBase64?: string }[] };
    for (const t of links.filter((x) => x.path.startsWith('rich/') && !x.path.slice(5).includes('/'))) {
      const target = Buffer.from(t.symlink_target_b64!, 'base64').toString('utf8'); // all printable ASCII in this sample
      const name = t.path.slice(5);
      expect(l.out, name).toContain(` ${name} -> ${target}\n`);
      const e = j.entries.find((x) => x.name === name)!;
      expect(e.symlinkTarget, name).toBe(target);
      expect(e.symlinkTargetBase64, name).toBeUndefined(); // the text is exact
      const st = await cli(['stat', IMG, `/${t.path}`]);
      expect(st.out, name).toMatch(new RegExp(`symlink target\\s+│ ${target.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }
    const c = await cli(['cat', IMG, '/rich/symlink-absolute']);
    expect(c.err).toContain('is a symbolic link to /etc/hostname');
  });

  it('names in listings follow the one rule: printable UTF-8 as is, controls, the backslash and bytes that are not UTF-8 as \\xNN', async () => {
    // Truth paths are UTF-8 with \\xNN for the bytes that are not (the recorder's escape); a lone backslash is a real one.
    const shown = (p: string) =>
      p.replace(/\\x[0-9a-f]{2}|[\s\S]/gu, (m) => {
        if (m.length === 4 && m.startsWith('\\x')) return m;
        const c = m.codePointAt(0)!;
        if (m === '\\' || c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) return [...Buffer.from(m)].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('');
        return m;
      });
    const names = truth.filter((t) => t.subvol_id === 5 && t.path.startsWith('rich/names/'));
    expect(names.length).toBeGreaterThan(6);
    const l = await cli(['ls', IMG, '/rich/names']);
    const listed = l.out
      .trimEnd()
      .split('\n')
      .map((x) => x.replace(/^\s*\d+ \w+\s+/, ''));
    expect(listed.sort()).toEqual(names.map((t) => shown(t.path.slice('rich/names/'.length))).sort());
    expect(listed).toContain('tab\\x09and\\x5cbackslash');
    // Each shown name reads back to the same file.
    for (const t of names) {
      const st = await cli(['stat', IMG, `/${shown(t.path)}`, '--json']);
      expect(st.code, t.path).toBe(0);
      expect((JSON.parse(st.out) as { ino: number }).ino, t.path).toBe(t.ino);
    }
  });

  it('stat of a subvolume root: its name as the parent subvolume links it (ROOT_BACKREF), no ".." row, no extents part for a directory', async () => {
    const dump = truthText('default', 'dump-tree.txt');
    // "item N key (ID ROOT_BACKREF PARENT) ..." then "root backref key dirid D sequence S name NAME" (btrfs-progs' dump).
    const refs = [...dump.matchAll(/key \((\d+) ROOT_BACKREF (\d+)\).*\n\s+root backref key dirid (\d+) sequence (\d+) name (.*)/g)].map((m) => ({
      id: Number(m[1]),
      parent: Number(m[2]),
      dirid: Number(m[3]),
      sequence: Number(m[4]),
      name: m[5]!,
    }));
    expect(refs.length).toBeGreaterThan(5);
    for (const r of refs) {
      const j = JSON.parse((await cli(['stat', IMG, '--inode', `${r.id}:256`, '--json'])).out) as {
        names: { parent: number; parentSubvol: number; name: string; index: number; source: string; path: string }[];
        paths: string[];
      };
      expect(j.names, String(r.id)).toEqual([{ parent: r.dirid, parentSubvol: r.parent, name: r.name, index: r.sequence, source: 'ROOT_BACKREF', path: j.paths[0] }]);
      expect(
        truth.some((t) => `/${t.path}` === j.paths[0] && t.subvol_id === r.id && t.subvol_root),
        String(r.id),
      ).toBe(true);
    }
    const t = await cli(['stat', IMG, '/subvol-a']);
    expect(t.out).not.toMatch(/│ \.\.\s+│/);
    expect(t.out).toMatch(/│ 256 \(subvolume 5\)\s+│ subvol-a\s+│ 3\s+│ ROOT_BACKREF │ \/subvol-a\s+│/);
    expect(t.out).not.toMatch(/^extents:/m);
    const top = JSON.parse((await cli(['stat', IMG, '/', '--json'])).out) as { names: unknown[] };
    expect(top.names).toEqual([]); // the top level has no name
    expect((await cli(['stat', IMG, '/rich/tiny.txt'])).out).toMatch(/^extents: 1 /m);
  });

  it('streamed JSON (entries[] and xattrs[] written as read) is what the in-memory document writes, byte for byte', async () => {
    const view = new FsView(openSample('default'));
    for (const path of ['/rich', '/rich/xattrs.txt', '/']) {
      const loc = locate(view, { path });
      if (!loc.ok) throw new Error(loc.error);
      const ls = await cli(['ls', IMG, path, '--json']);
      expect(ls.out, path).toBe(`${toJson(jsonDocument('ls', listingJson(view, loc)), 2)}\n`);
      const st = await cli(['stat', IMG, path, '--json', '--extents', '100']);
      expect(st.out, path).toBe(`${toJson(jsonDocument('stat', statJson(view, loc, 100)), 2)}\n`);
    }
    // The compact form (an NDJSON record) is toJson's, xattrs streamed into it.
    const loc = locate(view, { path: '/rich/xattrs.txt' });
    if (!loc.ok) throw new Error(loc.error);
    const item = { path: loc.path ?? [], entry: null, ref: loc.ref, inode: loc.inode, depth: 0 };
    let line = '';
    writeJsonStream(entryJson(item, null, view.eachXattr(loc.ref)), (s) => (line += s), 0);
    expect(line).toBe(toJson(entryJson(item, null, view.xattrs(loc.ref))));
    expect(view.xattrs(loc.ref).length).toBeGreaterThan(1);
  });

  it('ls -R --json carries xattrs (as the kernel lists them), and ls, ls -R and stat write one entry shape', async () => {
    const R = await cli(['ls', IMG, '-R', '--json']);
    const recs = R.out
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x) as Record<string, unknown> & { record: string; path: string; xattrs?: { name: string; valueBase64: string }[] })
      .filter((x) => x.record === 'entry');
    const byPath = new Map(recs.map((x) => [x.path, x]));
    let withX = 0;
    for (const t of truth) {
      const e = byPath.get(`/${t.path}`);
      if (!e || t.ino === 2) continue;
      const got = Object.fromEntries((e.xattrs ?? []).map((x) => [x.name, x.valueBase64]));
      expect(got, t.path).toEqual(t.xattrs);
      if (Object.keys(t.xattrs).length) withX++;
    }
    expect(withX).toBeGreaterThan(3);
    // One shape: the entry of /rich/xattrs.txt in ls, ls -R and stat has the same fields and values (stat adds its own after them).
    const st = JSON.parse((await cli(['stat', IMG, '/rich/xattrs.txt', '--json'])).out) as Record<string, unknown>;
    const ls = (JSON.parse((await cli(['ls', IMG, '/rich', '--json'])).out) as { entries: Record<string, unknown>[] }).entries.find((e) => e['name'] === 'xattrs.txt')!;
    const { record: _r, ...lsR } = byPath.get('/rich/xattrs.txt')!;
    expect(lsR).toEqual(ls);
    for (const [k, v] of Object.entries(ls)) expect(st[k], k).toEqual(v);
    for (const k of ['path', 'name', 'subvol', 'ino', 'type', 'mode', 'nlink', 'size', 'nbytes', 'rdev', 'flags', 'generation', 'mtimeNs', 'otimeNs', 'xattrs']) expect(ls, k).toHaveProperty(k);
    // manifest's entries too: the same fields, the path taken from the manifest's start.
    const man = (await cli(['manifest', IMG, '/rich', '--json'])).out
      .trim()
      .split('\n')
      .map((x) => JSON.parse(x) as Record<string, unknown>)
      .find((x) => x['key'] === './xattrs.txt')!;
    const written = ['nbytes', 'generation', 'transid', 'sequence', 'blockGroup', 'atime', 'atimeNs', 'ctime', 'ctimeNs', 'otime', 'otimeNs', 'item'];
    for (const [k, v] of Object.entries(ls)) expect(man[k], k).toEqual(written.includes(k) ? undefined : k === 'path' ? '/xattrs.txt' : v);
  });

  it('cat: exact bytes (regular, sparse, prealloc, reflinked), --no-verify says so; directories and symlinks refused', async () => {
    for (const p of ['rich/random-2m.bin', 'rich/sparse-hole-middle.bin', 'rich/prealloc.bin', 'rich/clone-range.bin', 'rich/inline-2000.txt', 'subvol-a/nested/tiny.txt', 'snap-a-rw/tiny.txt']) {
      const r = await cli(['cat', IMG, `/${p}`]);
      expect(r.code, p).toBe(0);
      expect(createHash('sha256').update(r.bytes).digest('hex'), p).toBe(sha(p));
    }
    const nv = await cli(['cat', IMG, '/rich/tiny.txt', '--no-verify']);
    expect(nv.code).toBe(0);
    expect(nv.err).toMatch(/not verified \(--no-verify\)/);
    expect((await cli(['cat', IMG, '/rich'])).code).toBe(2);
    const sl = await cli(['cat', IMG, '/rich/symlink-relative']);
    expect(sl.code).toBe(2);
    expect(sl.err).toContain('symbolic link to tiny.txt');
  });

  it('cat streams in bounded chunks and waits for drain', async () => {
    // A stdout that says "full" after every write and drains later: cat must wait, never buffer the file.
    const chunks: number[] = [];
    let pending = 0;
    let maxPending = 0;
    const out = new EventEmitter() as EventEmitter & { write(b: Uint8Array | string): boolean };
    out.write = (b) => {
      chunks.push(b.length);
      pending++;
      maxPending = Math.max(maxPending, pending);
      setImmediate(() => {
        pending--;
        out.emit('drain');
      });
      return false;
    };
    const err: string[] = [];
    const code = await runCli(['cat', IMG, '/rich/sparse-all-hole.bin'], { stdout: out, stderr: { write: (s: string) => err.push(s) }, stderrIsTTY: false });
    expect(code, err.join('')).toBe(0);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(10485760);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(1 << 20);
    expect(maxPending).toBe(1);
  });

  it('resolve --inode gives every path; --logical gives every file using the address, and tree owners for metadata', async () => {
    const r = await cli(['resolve', IMG, '--inode', '256:258']);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n').sort()).toEqual(['/subvol-a/dir/tiny-hardlink.txt', '/subvol-a/tiny-renamed.txt']);
    const rnd = truth.find((t) => t.path === 'rich/random-2m.bin')!;
    const phys = rnd.filefrag!.extents[0]!.physical;
    const j = JSON.parse((await cli(['resolve', IMG, '--logical', String(phys + 8192), '--json'])).out) as { extent: { kind: string }; files: { paths: string[]; fileOffset: number }[] };
    expect(j.extent.kind).toBe('data');
    expect(j.files.flatMap((f) => f.paths.map((p) => `${p}@${f.fileOffset}`)).sort()).toEqual(['/rich/random-2m.bin@8192', '/rich/random-2m.reflink@8192']);
    const fs = openSample('default');
    let leaf: bigint | undefined;
    fs.walk(fs.treeRoot(5n)!, {
      block(b) {
        if (b.isLeaf && leaf === undefined) leaf = b.logical;
      },
    });
    const t = await cli(['resolve', IMG, '--logical', String(leaf! + 100n)]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/tree block: owner tree 5, level 0, first key \(\d+ \d+ \d+\); reached from tree\(s\) 5/);
    const none = await cli(['resolve', IMG, '--logical', '1']);
    expect(none.code).toBe(1);
    expect((await cli(['resolve', IMG])).code).toBe(2);
    expect((await cli(['resolve', IMG, '--inode', '5:999999'])).code).toBe(2);
  });

  it('paths cross into nested subvolumes; a snapshot shows a not-linked nested subvolume as an empty directory', async () => {
    const n = await cli(['ls', IMG, '/subvol-a/nested', '--json', '-d']);
    expect(JSON.parse(n.out)).toMatchObject({ path: '/subvol-a/nested', subvol: 257, ino: 256, type: 'dir' });
    const inside = JSON.parse((await cli(['ls', IMG, '/subvol-a/nested/tiny.txt', '--json'])).out) as { subvol: number };
    expect(inside.subvol).toBe(257);
    const ph = JSON.parse((await cli(['ls', IMG, '/snap-a-rw', '--json'])).out) as { entries: { name: string; ino: number; placeholder?: boolean }[] };
    expect(ph.entries.find((e) => e.name === 'nested')).toMatchObject({ ino: 2, placeholder: true });
  });
});

describe.runIf(has('partitioned-gpt'))('partitioned image', () => {
  it('ls finds the btrfs partition by itself', async () => {
    const r = await cli(['ls', join(SAMPLES, 'partitioned-gpt', 'dev1.runs.gz'), '/small']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('tiny.txt');
  });
});
