import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { SUPER_MIRROR_OFFSETS } from '../src/format/constants.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { SliceSource } from '../src/io/SliceSource.js';
import { SparseSource } from '../src/io/SparseSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import type { TreeRoot } from '../src/tree/walk.js';
import { sysChunkArrayEntries } from '../src/volume/ChunkMap.js';
import { loadRuns, type RunsImage, readRuns } from './runsImage.js';

/** One leaf item: key type and where its header and body sit in the block. */
export interface ItemTarget {
  slot: number;
  type: number;
  objectid: bigint;
  bodyOff: number;
  bodySize: number;
}

/** A tree block found by walking the image with the library. */
export interface BlockTarget {
  logical: bigint;
  tree: bigint;
  level: number;
  nritems: number;
  /** Ancestors' logical addresses (root first): targets for looping pointers. */
  path: bigint[];
  items: ItemTarget[];
  /** Where every copy is: device index and byte offset in that device's file. */
  copies: { dev: number; offset: number }[];
}

/** Everything the mutators need to know about one sample, decoded from its clean image. */
export interface SampleTargets {
  name: string;
  images: RunsImage[];
  /** Byte offset of the btrfs filesystem in device 0's file (a partition), else 0. */
  base: number;
  nodesize: number;
  csumType: number;
  supers: { dev: number; offset: number }[];
  sysArrayEntries: { offset: number; numStripes: number }[];
  sysArraySize: number;
  blocks: BlockTarget[];
  /** Regular files, biggest first, directories and other paths (for cat/stat/ls arguments). */
  files: string[];
  dirs: string[];
  /** A logical address holding file data, and one holding a tree block. */
  dataLogical: bigint;
  treeLogical: bigint;
}

const SAMPLES_DIR = join(import.meta.dirname, '..', 'sample-images');

/** A sample's directory: under sample-images/ (`raid1`, `progs-made/zoned`), or any directory of devN.runs.gz given by absolute path. */
const sampleDir = (name: string) => (isAbsolute(name) ? name : join(SAMPLES_DIR, name));

export function samplePaths(name: string): string[] {
  const dir = sampleDir(name);
  return readdirSync(dir)
    .filter((f) => /^dev\d+\.runs\.gz$/.test(f))
    .sort((a, b) => parseInt(a.slice(3), 10) - parseInt(b.slice(3), 10))
    .map((f) => join(dir, f));
}

/** Samples that exist in this checkout (a manifest and device files). */
export function availableSamples(): string[] {
  if (!existsSync(SAMPLES_DIR)) return [];
  return readdirSync(SAMPLES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(SAMPLES_DIR, d.name, 'dev1.runs.gz')) && existsSync(join(SAMPLES_DIR, d.name, 'truth', 'manifest.json')))
    .map((d) => d.name)
    .concat(progsMade())
    .sort();
}

/** The progs-made/ filesystems (no manifest: made by a newer mkfs, no mount). */
function progsMade(): string[] {
  const dir = join(SAMPLES_DIR, 'progs-made');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'dev1.runs.gz')))
    .map((d) => `progs-made/${d.name}`);
}

function partitionOffset(name: string): number {
  const path = join(sampleDir(name), 'truth', 'manifest.json');
  // Images without a manifest (progs-made/, built ones) are whole filesystems.
  if (!existsSync(path)) return 0;
  const m = JSON.parse(readFileSync(path, 'utf8')) as { partition: null | { btrfs_offset_bytes: number; btrfs_size_bytes: number } };
  return m.partition ? m.partition.btrfs_offset_bytes : 0;
}

/**
 * Decodes a sample with the library to find the places worth mutating:
 * superblock copies, sys_chunk_array entries, and every reachable tree
 * block with its leaf items and physical copies.
 */
export function decodeTargets(name: string, listing: { files: string[]; dirs: string[] }): SampleTargets {
  const images = samplePaths(name).map(loadRuns);
  const base = partitionOffset(name);
  const sources: ByteSource[] = images.map((img, i) => new SparseSource(BigInt(img.size), img.runs, `${name}/dev${i + 1}`));
  if (base) {
    const m = JSON.parse(readFileSync(join(sampleDir(name), 'truth', 'manifest.json'), 'utf8')) as { partition: { btrfs_size_bytes: number } };
    sources[0] = new SliceSource(sources[0]!, BigInt(base), BigInt(m.partition.btrfs_size_bytes), `${name} partition`);
  }
  const fs = Filesystem.open(sources);
  const sb = fs.superblock;
  const devIndex = new Map<bigint, number>();
  for (const [devid, d] of fs.volume.devices) devIndex.set(devid, sources.indexOf(d.source!));

  const supers: SampleTargets['supers'] = [];
  images.forEach((img, dev) => {
    const off = dev === 0 ? base : 0;
    for (const m of SUPER_MIRROR_OFFSETS) {
      const at = off + Number(m);
      if (at + 4096 <= img.size && readRuns(img, at + 0x40, 8).some((b) => b !== 0)) supers.push({ dev, offset: at });
    }
  });
  const sysArrayEntries: SampleTargets['sysArrayEntries'] = [];
  for (const e of sysChunkArrayEntries(sb.sysChunkArray.subarray(0, sb.sysChunkArraySize))) {
    if ('item' in e) sysArrayEntries.push({ offset: e.offset, numStripes: (e.item.length - 48) / 32 });
  }

  const blocks: BlockTarget[] = [];
  const seen = new Set<bigint>();
  const walkOne = (root: TreeRoot) => {
    const stack: bigint[] = [];
    fs.walk(root, {
      block: (b, info) => {
        stack.length = info.depth;
        if (seen.has(b.logical)) return false;
        seen.add(b.logical);
        const m = fs.volume.chunks.map(b.logical);
        if (!m || m.contiguous < BigInt(sb.nodesize)) return;
        const items: ItemTarget[] = [];
        if (b.isLeaf) {
          for (let s = 0; s < info.validItems; s++) items.push({ slot: s, type: b.keyType(s), objectid: b.keyObjectid(s), bodyOff: b.itemOffset(s), bodySize: b.itemSize(s) });
        }
        blocks.push({
          logical: b.logical,
          tree: root.tree,
          level: b.level,
          nritems: b.nritems,
          path: [...stack],
          items,
          copies: m.copies
            .filter((c) => c.role === 'data')
            .map((c) => {
              const dev = devIndex.get(c.devid) ?? 0;
              return { dev, offset: Number(c.physical) + (dev === 0 ? base : 0) };
            }),
        });
        stack.push(b.logical);
      },
    });
  };
  walkOne(fs.chunkTree);
  walkOne(fs.rootTree);
  for (const r of fs.roots()) walkOne(r);
  if (fs.logRootTree) walkOne(fs.logRootTree);
  for (const r of fs.logTrees()) walkOne(r);

  let dataLogical = 0n;
  const data = fs.volume.chunks.all.find((c) => (c.type & 1n) !== 0n);
  if (data) dataLogical = data.logical;
  return {
    name,
    images,
    base,
    nodesize: sb.nodesize,
    csumType: sb.csumType,
    supers,
    sysArrayEntries,
    sysArraySize: sb.sysChunkArraySize,
    blocks,
    files: listing.files,
    dirs: listing.dirs,
    dataLogical,
    treeLogical: sb.root,
  };
}
