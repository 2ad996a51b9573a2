import { computeCsum } from '../src/format/checksum.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import type { Rng } from './rng.js';
import { type Patch, readRuns } from './runsImage.js';
import type { BlockTarget, ItemTarget, SampleTargets } from './targets.js';

/** One fuzz case's damage: byte patches per device, optionally a device cut short. */
export interface Mutation {
  desc: string[];
  patches: Patch[];
  truncate?: { dev: number; size: number };
}

/** A field: byte offset and width (1, 2, 4 or 8 bytes, little-endian). */
type Field = [name: string, off: number, width: number];

/** btrfs_super_block fields worth breaking (btrfs_tree.h offsets). */
const SUPER_FIELDS: Field[] = [
  ['bytenr', 0x30, 8],
  ['flags', 0x38, 8],
  ['magic', 0x40, 8],
  ['generation', 0x48, 8],
  ['root', 0x50, 8],
  ['chunk_root', 0x58, 8],
  ['log_root', 0x60, 8],
  ['total_bytes', 0x70, 8],
  ['bytes_used', 0x78, 8],
  ['root_dir_objectid', 0x80, 8],
  ['num_devices', 0x88, 8],
  ['sectorsize', 0x90, 4],
  ['nodesize', 0x94, 4],
  ['stripesize', 0x9c, 4],
  ['sys_chunk_array_size', 0xa0, 4],
  ['chunk_root_generation', 0xa4, 8],
  ['incompat_flags', 0xbc, 8],
  ['csum_type', 0xc4, 2],
  ['root_level', 0xc6, 1],
  ['chunk_root_level', 0xc7, 1],
  ['log_root_level', 0xc8, 1],
  ['dev_item.devid', 0xc9, 8],
  ['dev_item.total_bytes', 0xd1, 8],
  ['block_group_root', 0x253, 8],
  ['block_group_root_level', 0x263, 1],
];

/** btrfs_chunk fields, relative to the item body. */
const CHUNK_FIELDS: Field[] = [
  ['length', 0, 8],
  ['owner', 8, 8],
  ['stripe_len', 16, 8],
  ['type', 24, 8],
  ['sector_size', 40, 4],
  ['num_stripes', 44, 2],
  ['sub_stripes', 46, 2],
  ['stripe0.devid', 48, 8],
  ['stripe0.offset', 56, 8],
];

const DIR_FIELDS: Field[] = [
  ['location.objectid', 0, 8],
  ['location.type', 8, 1],
  ['location.offset', 9, 8],
  ['data_len', 25, 2],
  ['name_len', 27, 2],
  ['type', 29, 1],
];
const REF_FIELDS: Field[] = [
  ['dirid', 0, 8],
  ['sequence', 8, 8],
  ['name_len', 16, 2],
];

/** Item body fields by key type (btrfs_tree.h layouts). */
const ITEM_FIELDS: Record<number, Field[]> = {
  [ItemType.INODE_ITEM]: [
    ['generation', 0, 8],
    ['size', 16, 8],
    ['nbytes', 24, 8],
    ['nlink', 40, 4],
    ['mode', 52, 4],
    ['flags', 64, 8],
  ],
  [ItemType.INODE_REF]: [
    ['index', 0, 8],
    ['name_len', 8, 2],
  ],
  [ItemType.INODE_EXTREF]: [
    ['parent', 0, 8],
    ['index', 8, 8],
    ['name_len', 16, 2],
  ],
  [ItemType.XATTR_ITEM]: DIR_FIELDS,
  [ItemType.DIR_ITEM]: DIR_FIELDS,
  [ItemType.DIR_INDEX]: DIR_FIELDS,
  [ItemType.EXTENT_DATA]: [
    ['ram_bytes', 8, 8],
    ['compression', 16, 1],
    ['encryption', 17, 1],
    ['type', 20, 1],
    ['disk_bytenr', 21, 8],
    ['disk_num_bytes', 29, 8],
    ['offset', 37, 8],
    ['num_bytes', 45, 8],
  ],
  [ItemType.ROOT_ITEM]: [
    ['generation', 160, 8],
    ['root_dirid', 168, 8],
    ['bytenr', 176, 8],
    ['flags', 208, 8],
    ['refs', 216, 4],
    ['level', 238, 1],
  ],
  [ItemType.ROOT_REF]: REF_FIELDS,
  [ItemType.ROOT_BACKREF]: REF_FIELDS,
  [ItemType.EXTENT_ITEM]: [
    ['refs', 0, 8],
    ['generation', 8, 8],
    ['flags', 16, 8],
    ['inline_ref.type', 24, 1],
    ['inline_ref.offset', 25, 8],
  ],
  [ItemType.METADATA_ITEM]: [
    ['refs', 0, 8],
    ['flags', 16, 8],
    ['inline_ref.type', 24, 1],
    ['inline_ref.offset', 25, 8],
  ],
  [ItemType.BLOCK_GROUP_ITEM]: [
    ['used', 0, 8],
    ['chunk_objectid', 8, 8],
    ['flags', 16, 8],
  ],
  [ItemType.DEV_EXTENT]: [
    ['chunk_offset', 16, 8],
    ['length', 24, 8],
  ],
  [ItemType.DEV_ITEM]: [
    ['devid', 0, 8],
    ['total_bytes', 8, 8],
    ['bytes_used', 16, 8],
    ['sector_size', 32, 4],
  ],
  [ItemType.CHUNK_ITEM]: CHUNK_FIELDS,
  // btrfs_stripe_extent: an array of btrfs_raid_stride (devid u64, physical u64).
  [ItemType.RAID_STRIPE]: [
    ['strides[0].devid', 0, 8],
    ['strides[0].physical', 8, 8],
    ['strides[1].devid', 16, 8],
    ['strides[1].physical', 24, 8],
  ],
  [ItemType.FREE_SPACE_INFO]: [
    ['extent_count', 0, 4],
    ['flags', 4, 4],
  ],
};

/** Offsets of the name_len field and the name itself, for items that carry one name. */
const NAME_AT: Record<number, [lenOff: number, nameOff: number]> = {
  [ItemType.DIR_ITEM]: [27, 30],
  [ItemType.DIR_INDEX]: [27, 30],
  [ItemType.INODE_REF]: [8, 10],
  [ItemType.INODE_EXTREF]: [16, 18],
  [ItemType.ROOT_REF]: [16, 18],
  [ItemType.ROOT_BACKREF]: [16, 18],
};

/**
 * Names a hostile image can hold (issue 25): path tricks, NUL, terminal controls (ESC, BEL,
 * newline, the C1 CSI U+009B, the bidi override U+202E) and the name recover gives its report.
 */
const HOSTILE_NAMES = ['..', '.', '/', 'a/b', '../x', '/etc', '\0', 'x\0y', '\x1b[2J\x1b]0;t\x07', 'a\nb\r', '\u009b31m', 'x\u202eexe.txt', 'recover-report.json'];

const HEADER_FIELDS: Field[] = [
  ['bytenr', 0x30, 8],
  ['flags', 0x38, 8],
  ['generation', 0x50, 8],
  ['owner', 0x58, 8],
  ['nritems', 0x60, 4],
  ['level', 0x64, 1],
  ['fsid', 0x20, 8],
];

function readLE(b: Uint8Array, off: number, width: number): bigint {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i] ?? 0);
  return v;
}

function writeLE(b: Uint8Array, off: number, width: number, v: bigint): void {
  let x = BigInt.asUintN(width * 8, v);
  for (let i = 0; i < width && off + i < b.length; i++) {
    b[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** Values that break size and count checks: extremes, off-by-one, powers of two, other addresses. */
function interesting(rng: Rng, t: SampleTargets, width: number, old: bigint): bigint {
  const max = (1n << BigInt(width * 8)) - 1n;
  const vals = [0n, 1n, max, max - 1n, 1n << BigInt(width * 8 - 1), old + 1n, old - 1n, old * 2n, old ^ (1n << BigInt(rng.int(width * 8))), rng.u64() & max];
  if (width >= 4) vals.push(0x7fffffffn, 0x80000000n, BigInt(t.nodesize), BigInt(t.nodesize) + 1n, 1n << 31n, 1n << 30n);
  if (width === 8) vals.push(1n << 53n, 1n << 62n, 1n << 63n, 1n << 32n, old + BigInt(t.nodesize), rng.pick(t.blocks).logical, t.dataLogical, 1n << 40n);
  return rng.pick(vals) & max;
}

/** Builds mutations over a view of the devices that already includes earlier patches of the case. */
class Builder {
  readonly m: Mutation = { desc: [], patches: [] };
  constructor(
    readonly t: SampleTargets,
    readonly rng: Rng,
  ) {}

  read(dev: number, offset: number, length: number): Uint8Array {
    const out = readRuns(this.t.images[dev]!, offset, length);
    for (const p of this.m.patches) {
      if (p.dev !== dev) continue;
      const a = Math.max(offset, p.offset),
        b = Math.min(offset + length, p.offset + p.bytes.length);
      if (a < b) out.set(p.bytes.subarray(a - p.offset, b - p.offset), a - offset);
    }
    return out;
  }

  /** Edits every superblock copy (or just the primary), recomputing its checksum unless told not to. */
  editSuper(edit: (sb: Uint8Array) => string): void {
    const fix = this.rng.chance(0.85);
    const all = this.rng.chance(0.4);
    const copies = all ? this.t.supers : this.t.supers.slice(0, 1);
    let what = '';
    for (const s of copies) {
      const b = this.read(s.dev, s.offset, 4096);
      what = edit(b);
      if (fix) {
        b.fill(0, 0, 32);
        b.set(computeCsum(this.t.csumType, b.subarray(32)), 0);
      }
      this.m.patches.push({ dev: s.dev, offset: s.offset, bytes: b });
    }
    this.m.desc.push(`super: ${what}${fix ? '' : ' (csum stale)'}${all ? ' all copies' : ''}`);
  }

  /** Edits a tree block on all its copies (or one), recomputing its checksum unless told not to. */
  editBlock(blk: BlockTarget, what: string, edit: (b: Uint8Array) => string): void {
    const fix = this.rng.chance(0.85);
    const one = blk.copies.length > 1 && this.rng.chance(0.15);
    const src = blk.copies[0]!;
    const b = this.read(src.dev, src.offset, this.t.nodesize);
    const how = edit(b);
    if (fix) {
      b.fill(0, 0, 32);
      b.set(computeCsum(this.t.csumType, b.subarray(32)), 0);
    }
    for (const c of one ? blk.copies.slice(0, 1) : blk.copies) this.m.patches.push({ dev: c.dev, offset: c.offset, bytes: b.slice() });
    this.m.desc.push(`block ${blk.logical} (tree ${blk.tree} level ${blk.level})${what ? ` ${what}` : ''}: ${how}${fix ? '' : ' (csum stale)'}${one ? ' one copy' : ''}`);
  }

  setField(b: Uint8Array, base: number, f: Field): string {
    const [name, off, width] = f;
    const old = readLE(b, base + off, width);
    const v = interesting(this.rng, this.t, width, old);
    writeLE(b, base + off, width, v);
    return `${name} ${old} -> ${v}`;
  }

  flipBits(b: Uint8Array, from: number, len: number): string {
    const n = 1 + this.rng.int(4);
    const at: number[] = [];
    for (let i = 0; i < n; i++) {
      const bit = this.rng.int(Math.max(1, len * 8));
      b[from + (bit >> 3)]! ^= 1 << (bit & 7);
      at.push(from + (bit >> 3));
    }
    return `bit flips at ${at.join(',')}`;
  }

  byteRun(b: Uint8Array, from: number, len: number): string {
    const start = from + this.rng.int(len);
    const n = Math.min(from + len - start, 1 + this.rng.int(this.rng.chance(0.5) ? 16 : 512));
    const fill = this.rng.pick([0x00, 0xff, -1]);
    for (let i = 0; i < n; i++) b[start + i] = fill < 0 ? this.rng.u32() & 0xff : fill;
    return `byte run ${start}+${n} = ${fill < 0 ? 'random' : fill}`;
  }
}

type Mutator = (x: Builder) => void;

const mutators: [weight: number, name: string, fn: Mutator][] = [
  [
    3,
    'super-field',
    (x) => {
      const f = x.rng.pick(SUPER_FIELDS);
      x.editSuper((b) => x.setField(b, 0, f));
    },
  ],
  [
    1,
    'super-bytes',
    (x) => {
      x.editSuper((b) => (x.rng.chance(0.5) ? x.flipBits(b, 32, 4064) : x.byteRun(b, 32, 4064)));
    },
  ],
  [
    1,
    'super-mirror',
    (x) => {
      // A forged backup copy alone (issue 25, item 4): a newer generation, and a root that may be
      // another tree block (an older tree) or garbage; the primary stays as the kernel reads it.
      const mirrors = x.t.supers.filter((s) => s.offset !== 0x10000);
      if (mirrors.length === 0) return;
      const s = x.rng.pick(mirrors);
      const b = x.read(s.dev, s.offset, 4096);
      const gen = readLE(b, 0x48, 8) + BigInt(1 + x.rng.int(100));
      writeLE(b, 0x48, 8, gen);
      let what = `generation -> ${gen}`;
      if (x.rng.chance(0.7)) {
        const root = x.rng.chance(0.7) ? BigInt(x.rng.pick(x.t.blocks).logical) : x.rng.u64();
        writeLE(b, 0x50, 8, root);
        what += `, root -> ${root}`;
      }
      b.fill(0, 0, 32);
      b.set(computeCsum(x.t.csumType, b.subarray(32)), 0);
      x.m.patches.push({ dev: s.dev, offset: s.offset, bytes: b });
      x.m.desc.push(`super mirror @${s.offset}: ${what}`);
    },
  ],
  [
    2,
    'sys-chunk-array',
    (x) => {
      const e = x.rng.pick(x.t.sysArrayEntries);
      if (!e) return;
      x.editSuper((b) => {
        const body = 0x32b + e.offset + 17;
        if (x.rng.chance(0.2)) return `sys_chunk_array ${x.flipBits(b, 0x32b, x.t.sysArraySize)}`;
        return `sys_chunk_array entry @${e.offset} ${x.setField(b, body, x.rng.pick(CHUNK_FIELDS))}`;
      });
    },
  ],
  [
    3,
    'header',
    (x) => {
      const blk = x.rng.pick(x.t.blocks);
      const f = x.rng.pick(HEADER_FIELDS);
      x.editBlock(blk, 'header', (b) => x.setField(b, 0, f));
    },
  ],
  [
    3,
    'key-ptr',
    (x) => {
      const nodes = x.t.blocks.filter((b) => b.level > 0);
      if (!nodes.length) return;
      const blk = x.rng.pick(nodes);
      const slot = x.rng.int(blk.nritems);
      const at = 101 + slot * 33;
      x.editBlock(blk, `key ptr ${slot}`, (b) => {
        const kind = x.rng.int(5);
        if (kind === 0) {
          const other = x.rng.int(blk.nritems);
          if (x.rng.chance(0.5)) {
            // Every slot names one child (blockptr and generation; keys kept ascending): a DAG
            // whose paths multiply by the node's width at each such level.
            for (let i = 0; i < blk.nritems; i++) if (i !== other) b.copyWithin(101 + i * 33 + 17, 101 + other * 33 + 17, 101 + other * 33 + 33);
            return `every slot -> slot ${other}'s child (DAG)`;
          }
          // Duplicate another slot's pointer: two parents' slots naming one child.
          b.copyWithin(at, 101 + other * 33, 101 + other * 33 + 33);
          return `copy of slot ${other}`;
        } else if (kind === 1) {
          // Loop: point at an ancestor or the block itself, optionally faking the child level.
          const target = x.rng.pick([...blk.path, blk.logical]);
          writeLE(b, at + 17, 8, target);
          return `blockptr -> ${target} (loop)`;
        } else if (kind === 2) {
          return x.setField(b, at + 17, ['blockptr', 0, 8]);
        } else if (kind === 3) {
          return x.setField(b, at + 25, ['generation', 0, 8]);
        } else {
          return x.setField(
            b,
            at,
            x.rng.pick<Field>([
              ['key.objectid', 0, 8],
              ['key.type', 8, 1],
              ['key.offset', 9, 8],
            ]),
          );
        }
      });
    },
  ],
  [
    4,
    'item-header',
    (x) => {
      const leaves = x.t.blocks.filter((b) => b.items.length > 0);
      const blk = x.rng.pick(leaves);
      const it = x.rng.pick(blk.items);
      const at = 101 + it.slot * 25;
      const f = x.rng.pick<Field>([
        ['key.objectid', 0, 8],
        ['key.type', 8, 1],
        ['key.offset', 9, 8],
        ['offset', 17, 4],
        ['size', 21, 4],
        ['size', 21, 4],
      ]);
      x.editBlock(blk, `item ${it.slot} type ${it.type}`, (b) => x.setField(b, at, f));
    },
  ],
  [
    8,
    'item-body',
    (x) => {
      const leaves = x.t.blocks.filter((b) => b.items.length > 0);
      const blk = x.rng.pick(leaves);
      const it = x.rng.pick(blk.items);
      x.editBlock(blk, `item ${it.slot} type ${it.type}`, (b) => editBody(x, b, it));
    },
  ],
  [
    2,
    'name',
    (x) => {
      const named: [BlockTarget, ItemTarget][] = [];
      for (const b of x.t.blocks) for (const it of b.items) if (NAME_AT[it.type]) named.push([b, it]);
      if (!named.length) return;
      const [blk, it] = x.rng.pick(named);
      const [lenOff, nameOff] = NAME_AT[it.type]!;
      x.editBlock(blk, `item ${it.slot} type ${it.type} name`, (b) => {
        const oldLen = Number(readLE(b, it.bodyOff + lenOff, 2));
        const name = new TextEncoder().encode(x.rng.pick(HOSTILE_NAMES));
        if (name.length > oldLen) return 'name too short to replace';
        b.set(name, it.bodyOff + nameOff);
        writeLE(b, it.bodyOff + lenOff, 2, BigInt(name.length));
        // Shrink the item to the new name so it still decodes as one entry.
        writeLE(b, 101 + it.slot * 25 + 21, 4, BigInt(nameOff + name.length + (it.type === ItemType.DIR_ITEM || it.type === ItemType.DIR_INDEX ? Number(readLE(b, it.bodyOff + 25, 2)) : 0)));
        return `name -> ${JSON.stringify(new TextDecoder().decode(name))}`;
      });
    },
  ],
  [
    1,
    'dir-loop',
    (x) => {
      const dirs: [BlockTarget, ItemTarget][] = [];
      for (const b of x.t.blocks) for (const it of b.items) if (it.type === ItemType.DIR_ITEM || it.type === ItemType.DIR_INDEX) dirs.push([b, it]);
      if (!dirs.length) return;
      const [blk, it] = x.rng.pick(dirs);
      x.editBlock(blk, `item ${it.slot} dir entry`, (b) => {
        // The entry now names its own directory (or the subvolume root): a directory loop.
        const target = x.rng.chance(0.5) ? it.objectid : 256n;
        writeLE(b, it.bodyOff, 8, target);
        b[it.bodyOff + 8] = ItemType.INODE_ITEM;
        writeLE(b, it.bodyOff + 9, 8, 0n);
        b[it.bodyOff + 29] = 2;
        return `location -> inode ${target} (loop)`;
      });
    },
  ],
  [
    3,
    'block-bytes',
    (x) => {
      const blk = x.rng.pick(x.t.blocks);
      x.editBlock(blk, '', (b) => (x.rng.chance(0.5) ? x.flipBits(b, 32, b.length - 32) : x.byteRun(b, 32, b.length - 32)));
    },
  ],
  [
    2,
    'global-root',
    (x) => {
      // extent-tree-v2: several roots of the extent, csum and free-space trees, told apart by the
      // ROOT_ITEM key offset (the global root id), and block group items naming theirs in
      // chunk_objectid. Ids duplicated, out of range, or two roots on one tree block.
      const globals = new Set<bigint>([ObjectId.EXTENT_TREE, ObjectId.CSUM_TREE, ObjectId.FREE_SPACE_TREE]);
      const roots: [BlockTarget, ItemTarget][] = [];
      const groups: [BlockTarget, ItemTarget][] = [];
      for (const b of x.t.blocks)
        for (const it of b.items) {
          if (b.tree === ObjectId.ROOT_TREE && it.type === ItemType.ROOT_ITEM && globals.has(it.objectid) && it.bodySize >= 239) roots.push([b, it]);
          if (it.type === ItemType.BLOCK_GROUP_ITEM && it.bodySize >= 24) groups.push([b, it]);
        }
      if (roots.length < 2) return;
      if (groups.length && x.rng.chance(0.3)) {
        const [blk, it] = x.rng.pick(groups);
        x.editBlock(blk, `block group item ${it.slot} global root id`, (b) => {
          const v = x.rng.pick([BigInt(roots.length), 1n << 32n, (1n << 64n) - 1n, BigInt(x.rng.int(8))]);
          writeLE(b, it.bodyOff + 8, 8, v);
          return `chunk_objectid -> ${v}`;
        });
        return;
      }
      const [blk, it] = x.rng.pick(roots);
      const same = roots.filter(([, o]) => o.objectid === it.objectid && o !== it);
      x.editBlock(blk, `root item ${it.slot} (tree ${it.objectid})`, (b) => {
        const kind = x.rng.int(3);
        const other = same.length ? x.rng.pick(same)[1] : undefined;
        if (kind === 0 && other) {
          // Two global roots with one id: a key order that is no longer strict.
          b.copyWithin(101 + it.slot * 25 + 9, 101 + other.slot * 25 + 9, 101 + other.slot * 25 + 17);
          return `global root id = slot ${other.slot}'s`;
        }
        if (kind === 1 && other && blk.items.includes(other)) {
          // Two global roots on one tree (bytenr, generation, level copied): items read twice.
          b.copyWithin(it.bodyOff + 176, other.bodyOff + 176, other.bodyOff + 184);
          b.copyWithin(it.bodyOff + 160, other.bodyOff + 160, other.bodyOff + 168);
          b[it.bodyOff + 238] = b[other.bodyOff + 238]!;
          return `tree of slot ${other.slot}`;
        }
        return x.setField(b, 101 + it.slot * 25, ['key.offset (global root id)', 9, 8]);
      });
    },
  ],
  [
    2,
    'truncate',
    (x) => {
      const dev = x.rng.int(x.t.images.length);
      const img = x.t.images[dev]!;
      const meta = x.t.blocks.flatMap((b) => b.copies.filter((c) => c.dev === dev).map((c) => c.offset));
      const choices = [
        x.rng.int(img.size),
        x.rng.int(0x10000 + 4096),
        meta.length ? x.rng.pick(meta) : 0,
        meta.length ? x.rng.pick(meta) + x.rng.int(x.t.nodesize) : 0,
        img.size - 1 - x.rng.int(1 << 20),
      ];
      const size = Math.max(0, x.rng.pick(choices));
      x.m.truncate = { dev, size };
      x.m.desc.push(`truncate dev${dev + 1} to ${size}`);
    },
  ],
];

function editBody(x: Builder, b: Uint8Array, it: ItemTarget): string {
  const fields = ITEM_FIELDS[it.type];
  if (fields && x.rng.chance(0.7)) {
    const ok = fields.filter((f) => f[1] + f[2] <= it.bodySize);
    if (ok.length) return x.setField(b, it.bodyOff, x.rng.pick(ok));
  }
  if (it.bodySize === 0) return 'empty body';
  return x.rng.chance(0.5) ? x.flipBits(b, it.bodyOff, it.bodySize) : x.byteRun(b, it.bodyOff, it.bodySize);
}

const totalWeight = mutators.reduce((s, m) => s + m[0], 0);

/** Picks and applies 1-3 mutations for one case. */
export function mutate(t: SampleTargets, rng: Rng): Mutation {
  const x = new Builder(t, rng);
  const n = rng.chance(0.7) ? 1 : 2 + rng.int(2);
  for (let i = 0; i < n; i++) {
    let w = rng.int(totalWeight);
    const m = mutators.find((mm) => (w -= mm[0]) < 0)!;
    m[2](x);
  }
  return x.m;
}
