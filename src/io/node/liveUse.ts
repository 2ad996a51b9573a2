import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Whether an image or device is in live use by the kernel: a block device
 * that a mounted btrfs has as a member (or that another filesystem is mounted
 * from), a device held by device-mapper or md, or an image file backing such
 * a loop device. Reading it then races the kernel's writes: trees change
 * between reads, and a check's verdict can be wrong (btrfs check refuses a
 * mounted device for this reason). Linux only; elsewhere nothing is found.
 *
 * `root` is where /proc and /sys are found ("/" but for tests).
 */
export function liveUse(path: string, root = '/'): string[] {
  try {
    const real = realpathSync(path);
    const st = statSync(real);
    if (st.isBlockDevice()) return blockDeviceUse(real, kernelName(st.rdev, root), root);
    if (!st.isFile()) return [];
    // An image file attached to loop devices: each one's use is this file's.
    return loopDevicesOf(real, root).flatMap((loop) => blockDeviceUse(`/dev/${loop}`, loop, root).map((u) => `${u} (${loop} is backed by ${real})`));
  } catch {
    // No /proc or /sys (another OS, a container): nothing can be said, nothing is claimed.
    return [];
  }
}

/** The kernel's name of a block device (sda1, loop0, nvme0n1p2) from its device number, through /sys/dev/block/MAJ:MIN. */
function kernelName(rdev: number, root: string): string | undefined {
  // Linux's dev_t: major in bits 8..19, minor in bits 0..7 and 20..31.
  const major = (rdev >>> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  try {
    return basename(readlinkSync(join(root, 'sys/dev/block', `${major}:${minor}`)));
  } catch {
    return undefined;
  }
}

/** Loop devices whose backing file is `file` (/sys/block/loopN/loop/backing_file). */
function loopDevicesOf(file: string, root: string): string[] {
  const sysBlock = join(root, 'sys/block');
  return readdirSync(sysBlock).filter((n) => {
    if (!n.startsWith('loop')) return false;
    try {
      return readFileSync(join(sysBlock, n, 'loop/backing_file'), 'utf8').trim() === file;
    } catch {
      return false;
    }
  });
}

/** How a block device (and its partitions) is in use: mounted, a member of a mounted btrfs, held by dm/md. */
function blockDeviceUse(devPath: string, name: string | undefined, root: string): string[] {
  const names = name ? [name, ...partitionsOf(name, root)] : [];
  const uses: string[] = [];
  const mounts = readMounts(root);
  for (const m of mounts) {
    if (!m.source.startsWith('/dev/')) continue;
    // A mount names its device as given (/dev/mapper/x, /dev/disk/by-uuid/...): compare where it leads.
    const src = realOr(m.source);
    if (src === devPath || names.some((n) => src === `/dev/${n}`)) uses.push(`${src} is mounted at ${m.target} (${m.type})`);
  }
  const members = mountedBtrfsMembers(root);
  for (const n of names) {
    const fsid = members.get(n);
    if (fsid && !uses.some((u) => u.startsWith(`/dev/${n} `))) uses.push(`/dev/${n} is a device of the mounted btrfs ${fsid}`);
    const holders = list(join(root, 'sys/class/block', n, 'holders'));
    if (holders.length) uses.push(`/dev/${n} is held by ${holders.map((h) => `/dev/${h}`).join(', ')}`);
  }
  return uses;
}

/** Partitions of a whole disk: the sysfs entries under it that have a "partition" file. */
function partitionsOf(name: string, root: string): string[] {
  const dir = join(root, 'sys/class/block', name);
  return list(dir).filter((n) => n.startsWith(name) && exists(join(dir, n, 'partition')));
}

/** Member devices of every mounted btrfs: /sys/fs/btrfs/FSID/devices/NAME exists while it is mounted. */
function mountedBtrfsMembers(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const base = join(root, 'sys/fs/btrfs');
  for (const fsid of list(base)) for (const dev of list(join(base, fsid, 'devices'))) out.set(dev, fsid);
  return out;
}

/** /proc/self/mounts: source, target, type (octal escapes as the kernel writes them). */
function readMounts(root: string): { source: string; target: string; type: string }[] {
  let text: string;
  try {
    text = readFileSync(join(root, 'proc/self/mounts'), 'utf8');
  } catch {
    return [];
  }
  const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [source = '', target = '', type = ''] = l.split(' ');
      return { source: unescapeOctal(source), target: unescapeOctal(target), type };
    });
}

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
