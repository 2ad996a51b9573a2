import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeItem } from '../src/format/items/index.js';
import { TreeBlock } from '../src/format/treeBlock.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import {
  blockGroupFlagsToString,
  extentFlagsToString,
  formatKey,
  formatTime,
  inodeFlagsToString,
  keyTypeToString,
  objectidToString,
  type PrintContext,
  printItem,
  printTreeBlock,
} from '../src/report/printTree.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { CORPUS, hasTruth, openSample, ROOT, SAMPLES, sampleNames } from './helpers/samples.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'items');

/** One block as dump-tree printed it: its address and its exact text (no trailing newline). */
interface TruthBlock {
  logical: bigint;
  text: string;
}

const isHead = (l: string) => /^(leaf|node) \d+ (items|level) /.test(l);
/** Lines that end a block in a dump: the next block, a tree title, the totals, a "$ cmd" or version line. */
const isBoundary = (l: string) => isHead(l) || /^[a-z][a-z ]* tree( key \(.*\))? ?$/.test(l) || /^total bytes \d+$/.test(l) || l.startsWith('$ ') || /^btrfs-progs v/.test(l) || l === '';

/**
 * Splits dump-tree output into blocks. A name with a newline in it continues
 * on a line of its own, which is still part of the block (only the
 * boundaries above end one; an empty line can only come from a name too when
 * it is followed by more item lines, so it is checked by lookahead).
 */
function truthBlocks(text: string): TruthBlock[] {
  const lines = text.split('\n');
  const out: TruthBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!isHead(lines[i]!)) continue;
    let j = i + 1;
    while (j < lines.length) {
      const l = lines[j]!;
      if (l === '' && j + 1 < lines.length && lines[j + 1]!.startsWith('\t')) {
        j++;
        continue;
      }
      if (isBoundary(l)) break;
      j++;
    }
    out.push({ logical: BigInt(/^(?:leaf|node) (\d+)/.exec(lines[i]!)![1]!), text: lines.slice(i, j).join('\n') });
    i = j - 1;
  }
  return out;
}

/** dump-tree writes names as raw bytes; we produce text, so the truth is read as UTF-8 (invalid bytes become U+FFFD either way). */
function gunzipText(path: string): string {
  return new TextDecoder().decode(gunzipSync(readFileSync(path)));
}

function expectSameText(got: string, want: string, what: string): void {
  if (got === want) return;
  const g = got.split('\n');
  const w = want.split('\n');
  let k = 0;
  while (k < Math.min(g.length, w.length) && g[k] === w[k]) k++;
  expect(g.slice(k, k + 3), `${what}: first difference at line ${k + 1}`).toEqual(w.slice(k, k + 3));
  expect(g.length, `${what}: line count`).toBe(w.length);
}

interface FixtureIndex {
  blocks: { name: string; logical: string; nodesize: number; sectorsize: number; csumType: number; csumSize: number; csumItems: boolean; csumHeaders: boolean; what: string }[];
}

function fixtureBlocks(): { name: string; what: string; block: TreeBlock; ctx: PrintContext; truth: string }[] {
  const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as FixtureIndex;
  return index.blocks.map((f) => ({
    name: f.name,
    what: f.what,
    block: new TreeBlock(new Uint8Array(gunzipSync(readFileSync(join(FIXTURES, `${f.name}.bin.gz`)))), BigInt(f.logical)),
    ctx: { csumSize: f.csumSize, csumType: f.csumType, nodesize: f.nodesize, sectorsize: f.sectorsize, csumItems: f.csumItems, csumHeaders: f.csumHeaders },
    truth: gunzipText(join(FIXTURES, `${f.name}.txt.gz`)).replace(/\n$/, ''),
  }));
}

describe('printTreeBlock against `dump-tree -b` of committed fixture blocks (btrfs-progs v6.2)', () => {
  for (const f of fixtureBlocks()) {
    it(`${f.name}: ${f.what}`, () => {
      expectSameText(printTreeBlock(f.block, f.ctx), f.truth, f.name);
    });
  }
});

describe.each(sampleNames())('printTreeBlock of every block dump-tree printed for sample %s', (name) => {
  it('matches btrfs-progs v6.2 block by block', () => {
    const fs = openSample(name);
    const sb = fs.superblock;
    const ctx: PrintContext = { csumSize: sb.csumSize, csumType: sb.csumType, nodesize: sb.nodesize, sectorsize: sb.sectorsize };
    const files = ['dump-tree.txt.gz', 'dump-tree-log.txt.gz'].filter((f) => hasTruth(name, f.replace(/\.gz$/, '')));
    let n = 0;
    for (const file of files) {
      for (const t of truthBlocks(gunzipText(join(SAMPLES, name, 'truth', file)))) {
        const r = fs.reader.read({ logical: t.logical });
        const b = r.block ?? r.damaged;
        expect(b, `block ${t.logical} readable`).toBeTruthy();
        expectSameText(printTreeBlock(b!, ctx), t.text, `${name} block ${t.logical}`);
        n++;
      }
    }
    expect(n).toBeGreaterThan(5);
  });
});

const MODERN = join(CORPUS, 'modern');
describe.skipIf(!existsSync(MODERN))('progs: "6.19" against the shared corpus images made by btrfs-progs v6.19', () => {
  for (const name of ['bgt-squota', 'raid1c3-bgt']) {
    it(name, () => {
      const dir = join(MODERN, name);
      const devs = ['dev1', 'dev2', 'dev3'].filter((d) => existsSync(join(dir, `${d}.runs.gz`)));
      const fs = Filesystem.open(devs.map((d) => loadRunsImage(join(dir, `${d}.runs.gz`))));
      const sb = fs.superblock;
      const ctx: PrintContext = {
        csumSize: sb.csumSize,
        csumType: sb.csumType,
        nodesize: sb.nodesize,
        sectorsize: sb.sectorsize,
        progs: '6.19',
        incompatFlags: sb.incompatFlags,
      };
      const blocks = truthBlocks(gunzipText(join(dir, 'dump-tree.txt.gz')));
      expect(blocks.length).toBeGreaterThan(5);
      for (const t of blocks) {
        const r = fs.reader.read({ logical: t.logical });
        expectSameText(printTreeBlock((r.block ?? r.damaged)!, ctx), t.text, `${name} block ${t.logical}`);
      }
    });
  }
});

describe('progs: "6.19" against mkfs.btrfs 6.19 -O remap-tree (test/fixtures/valid-modern/rootdir-remap)', () => {
  it('prints every block as dump-tree 6.19 did: the METADATA_REMAP block group, the v2 block group items, the remap tree', () => {
    const dir = join(ROOT, 'test', 'fixtures', 'valid-modern');
    const fs = Filesystem.open([loadRunsImage(join(dir, 'rootdir-remap.runs.gz'))]);
    const sb = fs.superblock;
    const ctx: PrintContext = { csumSize: sb.csumSize, csumType: sb.csumType, nodesize: sb.nodesize, sectorsize: sb.sectorsize, progs: '6.19', incompatFlags: sb.incompatFlags };
    // The progs here is built with --enable-experimental (remap-tree needs it), whose print-tree.c adds
    // "checksum stored" / "checksum calced" lines under each header (#if EXPERIMENTAL); the release prints neither.
    const text = gunzipText(join(dir, 'rootdir-remap.dump-tree.txt.gz'))
      .split('\n')
      .filter((l) => !/^checksum (stored|calced) [0-9a-f]+$/.test(l))
      .join('\n');
    expect(text).toContain('flags METADATA_REMAP|');
    expect(text).toContain('owner REMAP_TREE');
    const blocks = truthBlocks(text);
    expect(blocks.length).toBeGreaterThan(5);
    for (const t of blocks) {
      const r = fs.reader.read({ logical: t.logical });
      expectSameText(printTreeBlock((r.block ?? r.damaged)!, ctx), t.text, `rootdir-remap block ${t.logical}`);
    }
  });
});

describe('key, object id and flag formatting', () => {
  const k = (objectid: bigint, type: number, offset: bigint) => ({ objectid, type, offset });
  const M = (n: bigint) => BigInt.asUintN(64, n);
  it('names object ids by key type as print_objectid does', () => {
    expect(formatKey(k(256n, 1, 0n))).toBe('(256 INODE_ITEM 0)');
    expect(formatKey(k(5n, 132, 0n))).toBe('(FS_TREE ROOT_ITEM 0)');
    expect(formatKey(k(1n, 216, 1n))).toBe('(DEV_ITEMS DEV_ITEM 1)');
    expect(formatKey(k(1n, 204, 1048576n))).toBe('(1 DEV_EXTENT 1048576)');
    expect(formatKey(k(256n, 228, 22020096n))).toBe('(FIRST_CHUNK_TREE CHUNK_ITEM 22020096)');
    expect(formatKey(k(256n, 1, 0n))).toBe('(256 INODE_ITEM 0)');
    expect(formatKey(k(M(-10n), 128, 13631488n))).toBe('(EXTENT_CSUM EXTENT_CSUM 13631488)');
    expect(formatKey(k(M(-11n), 0, 1n))).toBe('(FREE_SPACE UNTYPED 1)');
    expect(formatKey(k(M(-7n), 1, 0n))).toBe('(LOG_FIXUP INODE_ITEM 0)');
    expect(formatKey(k(M(-1n), 1, M(-1n)))).toBe('(-1 INODE_ITEM -1)');
    expect(formatKey(k(0n, 249, 1n))).toBe('(DEV_STATS PERSISTENT_ITEM 1)');
    expect(formatKey(k(M(-4n), 248, 0n))).toBe('(BALANCE TEMPORARY_ITEM 0)');
    expect(formatKey(k(0n, 242, (1n << 48n) | 100n))).toBe('(0 QGROUP_INFO 1/100)');
    expect(formatKey(k(256n, 246, (1n << 48n) | 100n))).toBe('(0/256 QGROUP_RELATION 1/100)');
    expect(formatKey(k(0x1234n, 251, 0xabcdefn))).toBe('(0x0000000000001234 UUID_KEY_SUBVOL 0x0000000000abcdef)');
    // ROOT_ITEM offsets print raw (even -1), except reloc trees' source subvolume ids.
    expect(formatKey(k(5n, 132, M(-1n)))).toBe('(FS_TREE ROOT_ITEM 18446744073709551615)');
    expect(formatKey(k(M(-8n), 132, 5n))).toBe('(TREE_RELOC ROOT_ITEM FS_TREE)');
    expect(keyTypeToString(0n, 172)).toBe('UNKNOWN.172');
    expect(keyTypeToString(0n, 172, '6.19')).toBe('EXTENT_OWNER_REF');
    expect(keyTypeToString(0n, 120)).toBe('CSUM_ITEM');
    expect(objectidToString(12n, 0)).toBe('12');
    expect(objectidToString(12n, 0, '6.19')).toBe('RAID_STRIPE_TREE');
  });
  it('prints flags as btrfs-progs does, quirks included', () => {
    expect(blockGroupFlagsToString(1n)).toBe('DATA|single');
    expect(blockGroupFlagsToString(4n | (1n << 5n))).toBe('METADATA|DUP');
    expect(blockGroupFlagsToString(2n | (1n << 9n))).toBe('SYSTEM|RAID1C3');
    expect(blockGroupFlagsToString(5n)).toBe('DATA|METADATA|single');
    expect(blockGroupFlagsToString(6n)).toBe('METADATASYSTEM|single');
    expect(extentFlagsToString(1n)).toBe('DATA');
    expect(extentFlagsToString(2n | 256n)).toBe('TREE_BLOCK|FULL_BACKREF');
    expect(extentFlagsToString(0n)).toBe('');
    expect(inodeFlagsToString(3n)).toBe('NODATASUM|NODATACOW');
    expect(inodeFlagsToString(0n)).toBe('none');
    expect(inodeFlagsToString(1n << 31n)).toBe('none');
    expect(inodeFlagsToString((1n << 31n) | (1n << 40n), '6.19')).toBe('ROOT_ITEM_INIT|UNKNOWN: 0x10000000000');
  });
  it('formats times like strftime in UTC, including negative and out-of-range ones', () => {
    expect(formatTime(0n)).toBe('1970-01-01 00:00:00');
    expect(formatTime(1795275138n)).toBe('2026-11-21 15:32:18');
    expect(formatTime(-310157633n)).toBe('1960-03-04 05:06:07');
    expect(formatTime(-1n)).toBe('1969-12-31 23:59:59');
    expect(formatTime(4102444800n)).toBe('2100-01-01 00:00:00');
    expect(formatTime(951782400n)).toBe('2000-02-29 00:00:00');
    // From a fuzzed image: year beyond int, as glibc leaves it (verified against btrfs-progs v6.2).
    expect(formatTime(BigInt.asIntN(64, 18012701963040325632n))).toBe('-869343088-01-01 22:06:56');
  });
});

describe('printItem details', () => {
  const ctx: PrintContext = { csumSize: 4, csumType: 0, nodesize: 16384, sectorsize: 4096 };
  const dirItem = (name: number[], data: number[]) => {
    const b = new Uint8Array(30 + name.length + data.length);
    b[8] = 1; // location key type INODE_ITEM, objectid 0
    b[0] = 1;
    b[25] = data.length & 0xff;
    b[26] = data.length >> 8;
    b[27] = name.length;
    b[29] = 1;
    b.set(name, 30);
    b.set(data, 30 + name.length);
    return b;
  };
  it('6.2 stops names at NUL and writes other bytes raw; 6.19 escapes them', () => {
    const key = { objectid: 256n, type: 84, offset: 1n };
    const it = decodeItem(key, dirItem([0x61, 0x20, 0x0a, 0x5c, 0x00, 0x62, 0xff], []), ctx);
    expect(printItem(key, it, ctx)).toContain('\t\tname: a \n\\\n');
    expect(printItem(key, it, { ...ctx, progs: '6.19' })).toContain('\t\tname: a\\ \\n\\\\\\000b\\377\n');
    expect(printItem(key, it, { ...ctx, hideNames: true })).toContain('\t\tname: HIDDEN\n');
  });
  it('caps printed names and xattr values at 255 bytes', () => {
    const key = { objectid: 256n, type: 24, offset: 1n };
    const it = decodeItem(key, dirItem([0x78], new Array(300).fill(0x41)), ctx);
    expect(printItem(key, it, ctx)).toContain(`\t\tdata ${'A'.repeat(255)}\n`);
  });
  it('prints an undecodable item as one marked line', () => {
    const key = { objectid: 256n, type: 1, offset: 0n };
    expect(printItem(key, decodeItem(key, new Uint8Array(10), ctx), ctx)).toBe('\t\t(invalid INODE_ITEM item: inode item needs 160 bytes, item has 10)\n');
  });
});

describe('printTreeBlock on damaged blocks', () => {
  it('never throws and stays bounded on mutated real blocks', () => {
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const f of fixtureBlocks()) {
      for (let round = 0; round < 40; round++) {
        const d = f.block.data.slice();
        const n = 1 + Math.floor(rnd() * 40);
        for (let i = 0; i < n; i++) d[Math.floor(rnd() * d.length)] = Math.floor(rnd() * 256);
        // Sometimes hit the header fields that steer parsing (nritems, level) and item offsets/sizes.
        if (round % 4 === 0) d[0x60 + Math.floor(rnd() * 5)] = Math.floor(rnd() * 256);
        if (round % 4 === 1) d[101 + 17 + Math.floor(rnd() * 8)] = Math.floor(rnd() * 256);
        const s = printTreeBlock(new TreeBlock(d, f.block.logical), { ...f.ctx, progs: round % 2 ? '6.19' : '6.2' });
        expect(s.length).toBeLessThan(2_000_000);
      }
    }
  });
  it('stops at an item whose offset points outside the leaf, as btrfs-progs does', () => {
    const f = fixtureBlocks().find((x) => x.name === 'quota')!;
    const d = f.block.data.slice();
    const h = 101 + 2 * 25; // item 2
    d[h + 17] = 0xff;
    d[h + 18] = 0xff; // offset 65535 > leaf data size
    const s = printTreeBlock(new TreeBlock(d, f.block.logical), f.ctx);
    expect(s).toContain('\titem 1 key');
    expect(s).not.toContain('\titem 2 key');
  });
});
