import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveUse } from '../src/io/node/liveUse.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A fake /proc and /sys laid out as Linux lays them out (proc(5); sysfs of the
 * loop, block and btrfs drivers) around a real image file attached to loop3.
 */
function fakeSystem(opts: { mounts?: string; btrfsMember?: string; holders?: string[] } = {}): { root: string; image: string } {
  const root = mkdtempSync(join(tmpdir(), 'liveuse-'));
  dirs.push(root);
  const image = join(root, 'disk.img');
  writeFileSync(image, 'an image');
  const w = (p: string, text: string) => {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  w('sys/block/loop3/loop/backing_file', `${image}\n`);
  w('sys/block/loop4/loop/backing_file', '/elsewhere/other.img\n');
  mkdirSync(join(root, 'sys/class/block/loop3/holders'), { recursive: true });
  for (const h of opts.holders ?? []) w(`sys/class/block/loop3/holders/${h}`, '');
  w('proc/self/mounts', opts.mounts ?? 'proc /proc proc rw 0 0\n/dev/loop4 /mnt/other btrfs rw 0 0\n');
  if (opts.btrfsMember) w(`sys/fs/btrfs/6e1c/devices/${opts.btrfsMember}`, '');
  return { root, image };
}

describe('liveUse: an image or device the kernel is using', () => {
  it('nothing when the image backs no mounted loop device (another loop device is mounted)', () => {
    const { root, image } = fakeSystem();
    expect(liveUse(image, root)).toEqual([]);
  });

  it('an image file backing a mounted loop device (the mount table names it, with octal escapes)', () => {
    const { root, image } = fakeSystem({ mounts: '/dev/loop3 /mnt/my\\040disk btrfs rw 0 0\n' });
    expect(liveUse(image, root)).toEqual([`/dev/loop3 is mounted at /mnt/my disk (btrfs) (loop3 is backed by ${image})`]);
  });

  it('a device of a mounted multi-device btrfs that the mount table does not name (/sys/fs/btrfs/FSID/devices)', () => {
    const { root, image } = fakeSystem({ btrfsMember: 'loop3' });
    expect(liveUse(image, root)).toEqual([`/dev/loop3 is a device of the mounted btrfs 6e1c (loop3 is backed by ${image})`]);
  });

  it('a device held by device-mapper or md (holders)', () => {
    const { root, image } = fakeSystem({ holders: ['dm-2'] });
    expect(liveUse(image, root)).toEqual([`/dev/loop3 is held by /dev/dm-2 (loop3 is backed by ${image})`]);
  });

  it('without /proc and /sys nothing is claimed', () => {
    const root = mkdtempSync(join(tmpdir(), 'liveuse-'));
    dirs.push(root);
    const image = join(root, 'x.img');
    writeFileSync(image, 'x');
    expect(liveUse(image, root)).toEqual([]);
  });
});
