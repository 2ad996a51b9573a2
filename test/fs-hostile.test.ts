import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractFiles } from '../src/cli/commands/extract.js';
import { runCli } from '../src/cli/main.js';
import { FsView } from '../src/fs/FsView.js';
import { displayName, utf8Bytes } from '../src/fs/names.js';
import { walkFiles } from '../src/fs/walk.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { DamageKit } from './helpers/damage.js';
import { captureIO, filesTruth, writeSparse } from './helpers/fsTruth.js';
import { sampleNames, sampleSources } from './helpers/samples.js';

const SAMPLE = 'default';
const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-hostile-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));

/** A DIR_INDEX entry rewritten in place: new name bytes (the rest of the old name becomes "data"). */
interface NameEdit {
  dir: string;
  from: string;
  to: Uint8Array;
}

/**
 * Builds an image whose directory entries carry hostile names by editing
 * DIR_INDEX items in the leaves of the sample (through an overlay, in
 * memory), recomputing each leaf's checksum and patching every copy.
 */
function hostileImage(edits: NameEdit[]): { sources: ByteSource[]; kit: DamageKit } {
  const clean = Filesystem.open(sampleSources(SAMPLE));
  const view = new FsView(clean);
  const kit = new DamageKit(clean, sampleSources(SAMPLE));
  const byBlock = new Map<bigint, ((b: Uint8Array) => void)[]>();
  for (const e of edits) {
    const dir = view.resolve(e.dir);
    if (!dir.ok) throw new Error(dir.error);
    const entry = [...view.readdir(dir.ref)].find((x) => Buffer.from(x.name).toString() === e.from);
    if (!entry) throw new Error(`${e.dir}/${e.from} not found`);
    const block = clean.reader.read({ logical: entry.place.block }).block!;
    const off = block.itemOffset(entry.place.slot);
    const oldLen = entry.name.length;
    if (e.to.length > oldLen) throw new Error('new name must not be longer');
    const list = byBlock.get(entry.place.block) ?? [];
    list.push((b) => {
      // btrfs_dir_item: ... data_len u16 @25, name_len u16 @27, type @29, name @30.
      const v = new DataView(b.buffer, b.byteOffset);
      v.setUint16(off + 25, oldLen - e.to.length, true);
      v.setUint16(off + 27, e.to.length, true);
      b.set(e.to, off + 30);
    });
    byBlock.set(entry.place.block, list);
  }
  for (const [block, fns] of byBlock)
    kit.editBlock(
      block,
      (b) => {
        for (const f of fns) f(b);
      },
      { fixCsum: true },
    );
  return { sources: kit.overlays, kit };
}

const enc = (s: string) => utf8Bytes(s);
const EDITS: NameEdit[] = [
  { dir: '/rich', from: 'hardlink-a', to: enc('../../evil') },
  { dir: '/subvol-a', from: 'dir', to: enc('a/b') },
  { dir: '/rich', from: 'tiny.txt', to: enc('/etc/pwn') },
  { dir: '/rich', from: 'deep', to: Uint8Array.from([0x61, 0, 0x62, 0x63]) },
  { dir: '/rich', from: 'empty', to: enc('..') },
  { dir: '/rich', from: 'special', to: enc('.') },
  { dir: '/rich', from: 'bigdir', to: new Uint8Array(0) },
];

describe.runIf(sampleNames().includes(SAMPLE))('hostile names in directory entries', () => {
  const { sources } = hostileImage(EDITS);

  it('the edited image reads cleanly (checksums fixed) and shows the names escaped', () => {
    const fs = Filesystem.open(sources);
    const view = new FsView(fs);
    const rich = view.resolve('/rich');
    expect(rich.ok).toBe(true);
    const names = [...view.readdir((rich as { ref: { subvol: bigint; ino: bigint } }).ref)].map((e) => displayName(e.name));
    expect(names).toEqual(expect.arrayContaining(['..\\x2f..\\x2fevil', '\\x2fetc\\x2fpwn', 'a\\x00bc', '..', '.', '']));
    expect(fs.findings.items.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('extract refuses every unsafe name, reports it, writes nothing below it and nothing outside DIR', async () => {
    const fs = Filesystem.open(sources);
    const view = new FsView(fs);
    const base = join(tmpRoot, 'lib');
    const out = join(base, 'out');
    nodeFs.mkdirSync(out, { recursive: true });
    const root = view.rootOf(5n);
    const s = await extractFiles(view, { ref: root, inode: view.inode(root)!, into: null }, out, { isRoot: false });
    const refused = s.refused.map((r) => [r.path, r.reason]);
    expect(refused).toEqual(
      expect.arrayContaining([
        ['/rich/..\\x2f..\\x2fevil', 'name contains "/"'],
        ['/subvol-a/a\\x2fb', 'name contains "/"'],
        ['/rich/\\x2fetc\\x2fpwn', 'name contains "/"'],
        ['/rich/a\\x00bc', 'name contains a NUL byte'],
        ['/rich/..', 'name is ".."'],
        ['/rich/.', 'name is "."'],
        ['/rich/', 'empty name'],
      ]),
    );
    expect(s.refused.length).toBeGreaterThanOrEqual(EDITS.length);
    // Only "out" in the parent; nothing named evil or pwn anywhere; the refused directory's children are absent.
    expect(nodeFs.readdirSync(base)).toEqual(['out']);
    expect(nodeFs.readdirSync(tmpRoot).sort()).toEqual(['lib']);
    expect(nodeFs.existsSync('/etc/pwn')).toBe(false);
    const all = nodeFs.readdirSync(out, { recursive: true, encoding: 'utf8' }) as string[];
    expect(all.filter((p) => /evil|pwn/.test(p))).toEqual([]);
    expect(nodeFs.existsSync(join(out, 'subvol-a', 'a'))).toBe(false);
    expect(nodeFs.existsSync(join(out, 'subvol-a', 'tiny-renamed.txt'))).toBe(true);
    // The rest of the tree is there: the other hard link of the renamed "hardlink-a" still is.
    expect(nodeFs.readFileSync(join(out, 'rich', 'hardlink-b')).length).toBe(10000);
  });

  it('the CLI reports them and exits 1; ls lists them escaped', async () => {
    const img = join(tmpRoot, 'hostile.img');
    writeSparse(sources[0]!, img);
    const out = join(tmpRoot, 'cli', 'out');
    const c = captureIO();
    expect(await runCli(['extract', img, '-o', out], c.io)).toBe(1);
    expect(c.text()).toMatch(/refused \(unsafe names\) \(\d+\):/);
    expect(c.text()).toContain('/rich/..\\x2f..\\x2fevil: name contains "/"');
    expect(nodeFs.readdirSync(join(tmpRoot, 'cli'))).toEqual(['out']);
    const l = captureIO();
    expect(await runCli(['ls', img, '/rich'], l.io)).toBe(0);
    expect(l.text()).toContain('..\\x2f..\\x2fevil');
    const j = captureIO();
    expect(await runCli(['ls', img, '/rich', '--json'], j.io)).toBe(0);
    const entries = (JSON.parse(j.text()) as { entries: { name: string; nameBase64?: string }[] }).entries;
    const evil = entries.find((e) => e.name === '..\\x2f..\\x2fevil')!;
    expect(Buffer.from(evil.nameBase64!, 'base64').toString()).toBe('../../evil');
    nodeFs.rmSync(img);
  }, 60_000);

  it('extract enters a directory whose entry says "regular file", and stops at one that leads back up', async () => {
    // /rich/bigdir's DIR_INDEX entry gets type 1 (BTRFS_FT_REG_FILE, byte @29 of btrfs_dir_item):
    // the walk sets it aside like a file, and only its inode tells that it is a directory.
    const clean = Filesystem.open(sampleSources(SAMPLE));
    const view = new FsView(clean);
    const rich = view.resolve('/rich');
    const deep = view.resolve('/rich/deep');
    if (!rich.ok || !deep.ok) throw new Error('sample layout changed');
    const entry = [...view.readdir(rich.ref)].find((x) => Buffer.from(x.name).toString() === 'bigdir')!;
    const first = [...view.readdir(deep.ref)][0]!;
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const setType = (e: typeof entry, type: number, ino?: bigint) => {
      const off = clean.reader.read({ logical: e.place.block }).block!.itemOffset(e.place.slot);
      kit.editBlock(
        e.place.block,
        (b) => {
          b[off + 29] = type;
          if (ino !== undefined) new DataView(b.buffer, b.byteOffset).setBigUint64(off, ino, true);
        },
        { fixCsum: true },
      );
    };
    setType(entry, 1);
    // And the first entry of /rich/deep, also typed as a file, points back at /rich: a loop that
    // only the inode shows.
    setType(first, 1, rich.ref.ino);
    const fs = Filesystem.open(kit.overlays);
    const v2 = new FsView(fs);
    const r2 = v2.resolve('/rich');
    if (!r2.ok) throw new Error(r2.error);
    const out = join(tmpRoot, 'typed-as-file');
    const s = await extractFiles(v2, { ref: r2.ref, inode: r2.inode, into: null }, out, { isRoot: false, xattr: 'not in this test' });
    // Everything below /rich/bigdir is written, as the kernel listed it.
    const below = filesTruth(SAMPLE).filter((t) => t.path.startsWith('rich/bigdir/'));
    expect(below.length).toBeGreaterThan(10);
    for (const t of below) {
      const st = nodeFs.lstatSync(join(out, t.path.slice('rich/'.length)), { throwIfNoEntry: false });
      expect(st?.isDirectory() ? 'dir' : st?.isFile() ? 'file' : st?.isSymbolicLink() ? 'symlink' : 'missing', t.path).toBe(t.type);
    }
    expect(nodeFs.lstatSync(join(out, 'bigdir')).isDirectory()).toBe(true);
    expect(s.failed).toEqual([{ path: `/deep/${Buffer.from(first.name).toString()}`, reason: 'directory already extracted on this walk (hard-linked directory: a loop); not entered again' }]);
    const codes = fs.findings.items.map((f) => f.code);
    expect(codes).toContain('dir-entry-type');
    expect(codes).toContain('directory-loop');
  });

  it('a directory hard-linked into its own subtree (a loop) is entered once and reported', () => {
    // Point the DIR_INDEX entry of /rich/deep/level-01 back at /rich (inode 257): a directory cycle.
    const clean = Filesystem.open(sampleSources(SAMPLE));
    const view = new FsView(clean);
    const deep = view.resolve('/rich/deep');
    const rich = view.resolve('/rich');
    if (!deep.ok || !rich.ok) throw new Error('sample layout changed');
    const e = [...view.readdir(deep.ref)][0]!;
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const block = clean.reader.read({ logical: e.place.block }).block!;
    const off = block.itemOffset(e.place.slot);
    kit.editBlock(e.place.block, (b) => new DataView(b.buffer, b.byteOffset).setBigUint64(off, rich.ref.ino, true), { fixCsum: true });
    const fs = Filesystem.open(kit.overlays);
    const v2 = new FsView(fs);
    let n = 0;
    for (const it of walkFiles(v2, v2.rootOf(5n))) {
      n++;
      expect(n).toBeLessThan(100_000);
      void it;
    }
    expect(fs.findings.items.some((f) => f.code === 'directory-loop')).toBe(true);
  });
});
