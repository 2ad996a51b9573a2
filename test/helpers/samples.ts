import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ByteSource } from '../../src/io/ByteSource.js';
import { loadRunsImage } from '../../src/io/node/runs.js';
import { SliceSource } from '../../src/io/SliceSource.js';
import { Filesystem } from '../../src/tree/Filesystem.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const SAMPLES = join(ROOT, 'sample-images');
export const CORPUS = resolve(ROOT, '..', 'shared', 'corpus');

export interface SampleManifest {
  name: string;
  description: string;
  devices: { file: string; size: number; devid: number; dev_uuid: string; superblock_mirrors: number[] }[];
  partition: null | { table: string; btrfs_partition: number; btrfs_offset_bytes: number; btrfs_size_bytes: number; [k: string]: unknown };
  [k: string]: unknown;
}

/** Names of the sample images that were built (they have a manifest and device files). */
export function sampleNames(): string[] {
  if (!existsSync(SAMPLES)) return [];
  return readdirSync(SAMPLES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(SAMPLES, d.name, 'truth', 'manifest.json')) && existsSync(join(SAMPLES, d.name, 'dev1.runs.gz')))
    .map((d) => d.name)
    .sort();
}

export function manifest(name: string): SampleManifest {
  return JSON.parse(truthText(name, 'manifest.json')) as SampleManifest;
}

/** A truth file's text (gunzipped when stored as .gz). */
export function truthText(name: string, file: string): string {
  const p = join(SAMPLES, name, 'truth', file);
  if (existsSync(p)) return readFileSync(p, 'utf8');
  if (existsSync(p + '.gz')) return gunzipSync(readFileSync(p + '.gz')).toString('utf8');
  throw new Error(`no truth file ${p}`);
}

export function hasTruth(name: string, file: string): boolean {
  const p = join(SAMPLES, name, 'truth', file);
  return existsSync(p) || existsSync(p + '.gz');
}

export function truthJson<T = unknown>(name: string, file: string): T {
  return JSON.parse(truthText(name, file)) as T;
}

const sourceCache = new Map<string, ByteSource[]>();

/** The sample's device images as byte sources, in devid order (cached per test file). */
export function sampleSources(name: string): ByteSource[] {
  let s = sourceCache.get(name);
  if (!s) {
    const files = readdirSync(join(SAMPLES, name))
      .filter((f) => /^dev\d+\.runs\.gz$/.test(f))
      .sort((a, b) => parseInt(a.slice(3), 10) - parseInt(b.slice(3), 10));
    s = files.map((f) => loadRunsImage(join(SAMPLES, name, f)));
    sourceCache.set(name, s);
  }
  return s;
}

/** Opens a sample filesystem; partitioned images are opened at their btrfs partition. */
export function openSample(name: string, sources = sampleSources(name)): Filesystem {
  const m = manifest(name);
  if (m.partition) {
    const first = sources[0]!;
    return Filesystem.open([new SliceSource(first, BigInt(m.partition.btrfs_offset_bytes), BigInt(m.partition.btrfs_size_bytes), `${first.name} partition`), ...sources.slice(1)]);
  }
  return Filesystem.open(sources);
}
