import type { ByteSource } from '../ByteSource.js';
import { hasEwf2Magic, hasEwfMagic } from './ewf.js';
import { hasQcow2Magic } from './qcow2.js';
import { hasVhdFooter } from './vhd.js';
import { hasVhdxMagic } from './vhdx.js';
import { hasVmdkMagic, isVmdkDescriptor } from './vmdk.js';

/** Container formats recognized by their bytes (never by file name). */
export type ContainerKind = 'qcow2' | 'ewf' | 'ewf2' | 'vmdk' | 'vmdk-descriptor' | 'vhd' | 'vhdx';

/**
 * The formats a user may name to override detection (--input-format): "raw"
 * reads the file's bytes as they are (a container with a damaged header), the
 * others decode it as that container whatever its first bytes say.
 */
export const INPUT_FORMATS = ['raw', 'qcow2', 'ewf', 'vmdk', 'vhd', 'vhdx'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export function isInputFormat(name: string): name is InputFormat {
  return (INPUT_FORMATS as readonly string[]).includes(name);
}

/**
 * The container format `src` holds, or null for a raw image: by the magic of
 * its first bytes, or (VHD, whose fixed disks are raw bytes plus a footer)
 * the "conectix" footer in its last 512 bytes.
 */
export function detectContainer(src: ByteSource): ContainerKind | null {
  const head = src.read(0n, 32);
  if (hasQcow2Magic(head)) return 'qcow2';
  if (hasEwfMagic(head)) return 'ewf';
  if (hasEwf2Magic(head)) return 'ewf2';
  if (hasVmdkMagic(head)) return 'vmdk';
  if (hasVhdxMagic(head)) return 'vhdx';
  if (isVmdkDescriptor(head)) return 'vmdk-descriptor';
  if (hasVhdFooter(src, head)) return 'vhd';
  return null;
}
