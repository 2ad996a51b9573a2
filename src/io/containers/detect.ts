import type { ByteSource } from '../ByteSource.js';
import { hasQcow2Magic } from './qcow2.js';
import { hasEwfMagic } from './ewf.js';

/** Container formats recognized by their first bytes (never by file name). */
export type ContainerKind = 'qcow2' | 'ewf';

/** The container format `src` starts with, or null for a raw image. */
export function detectContainer(src: ByteSource): ContainerKind | null {
  const head = src.read(0n, 16);
  if (hasQcow2Magic(head)) return 'qcow2';
  if (hasEwfMagic(head)) return 'ewf';
  return null;
}
