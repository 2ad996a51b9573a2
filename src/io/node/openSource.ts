import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ByteSource } from '../ByteSource.js';
import { detectContainer, type InputFormat } from '../containers/detect.js';
import { EwfSource, ewfSegmentName } from '../containers/ewf.js';
import { MAX_BACKING_DEPTH, Qcow2Source } from '../containers/qcow2.js';
import { openVhd, type VhdParentRef, vhdUniqueId } from '../containers/vhd.js';
import { type VhdxParentRef, VhdxSource, vhdxDataWriteGuid } from '../containers/vhdx.js';
import { embeddedVmdkDescriptor, hasVmdkMagic, isVmdkDescriptor, VmdkSource } from '../containers/vmdk.js';
import { openVmdkDescriptor } from '../containers/vmdkDescriptor.js';
import { MAX_DESCRIPTOR_BYTES, parseVmdkDescriptor, type VmdkDescriptor } from '../containers/vmdkText.js';
import { nodeCodecs } from './codecs.js';
import { FileOpenError, FileSource } from './FileSource.js';
import { loadRunsImage } from './runs.js';
import { openSplitOrFile } from './split.js';

/** Whether a path names a runs image (`*.runs.gz` or `*.runs`) rather than a raw image or device. */
export function isRunsImagePath(path: string): boolean {
  return /\.runs(\.gz)?$/i.test(path);
}

export interface OpenSourceOptions {
  /** Read the file as a raw image even when it starts like a container (a backing file declared raw). */
  raw?: boolean;
  /** Real paths of the images whose backing file this is (loop detection). */
  chain?: readonly string[];
  /** Read this qcow2 internal snapshot (id or name) instead of the current state; refused for anything but a qcow2. */
  snapshot?: string;
  /** Decode the file as this format (--input-format), whatever its first bytes say; "raw" reads them as they are. */
  format?: InputFormat;
}

/**
 * Opens an image file, block device or runs image read-only: `*.runs.gz`
 * and `*.runs` are loaded into memory as sparse images; the first segment of
 * a split raw image (`disk.001`, `disk.aa`) reads all its segments back to
 * back; a container (qcow2, EWF/E01 with its .E02... segments, VMDK sparse
 * or stream-optimized or a VMDK descriptor with its extent files, VHD fixed or dynamic, VHDX; found by its magic, never its name) reads as the
 * disk it holds, with its backing files; anything else is read in place.
 * Throws a SourceError (FileOpenError) naming the path.
 */
export function openByteSource(file: string, opts: OpenSourceOptions = {}): ByteSource {
  if (isRunsImagePath(file)) return loadRunsImage(file);
  const base = openSplitOrFile(file);
  if (opts.raw || opts.format === 'raw') {
    if (opts.snapshot !== undefined) {
      base.close?.();
      throw new FileOpenError(file, `a snapshot ("${opts.snapshot}") was asked for, but --input-format raw reads no container`);
    }
    return base;
  }
  try {
    const detected = opts.format === undefined || opts.format === 'vmdk' ? detectContainer(base) : null;
    // "vmdk" names both VMDK forms: the binary sparse extent and the text descriptor.
    const kind = opts.format === undefined || detected === 'vmdk-descriptor' ? detected : opts.format;
    if (opts.snapshot !== undefined && kind !== 'qcow2')
      throw new FileOpenError(file, `a snapshot ("${opts.snapshot}") was asked for, but only a qcow2 holds internal snapshots and this is ${kind ?? 'a raw image'}`);
    switch (kind) {
      case 'qcow2':
        return new Qcow2Source(base, {
          codecs: nodeCodecs,
          openBacking: (name, format) => openBacking(file, name, format, opts.chain ?? []),
          ...(opts.snapshot !== undefined ? { snapshot: opts.snapshot } : {}),
        });
      case 'ewf':
        return new EwfSource([base], (n) => openEwfSegment(file, n), { codecs: nodeCodecs });
      case 'ewf2':
        throw new FileOpenError(file, 'an EWF2 (EnCase 7 .Ex01) evidence file is not read yet; export it to raw or E01 first (ewfexport)');
      case 'vmdk':
        return new VmdkSource(base, { codecs: nodeCodecs, openParent: (hint, cid) => openVmdkParent(file, hint, cid, opts.chain ?? []) });
      case 'vmdk-descriptor':
        return openVmdkDescriptor(base, (name) => openExtent(file, name), { codecs: nodeCodecs, openParent: (hint, cid) => openVmdkParent(file, hint, cid, opts.chain ?? []) });
      case 'vhd':
        return openVhd(base, (ref) => openVhdParent(file, ref, opts.chain ?? []));
      case 'vhdx':
        return new VhdxSource(base, (ref) => openVhdxParent(file, ref, opts.chain ?? []));
      default:
        return base;
    }
  } catch (e) {
    base.close?.();
    if (opts.format === undefined || e instanceof FileOpenError) throw e;
    // A ContainerError's message starts with the file's name, which this one names already.
    const why = (e as Error).message.replace(`${base.name}: `, '');
    throw new FileOpenError(file, `does not read as ${opts.format} (--input-format ${opts.format}): ${why}; leave --input-format out to detect the format, or give --input-format raw`);
  }
}

/**
 * The chain with `real` (a parent's real path) added: never a file already in it (a loop) and
 * never past MAX_BACKING_DEPTH files. `what` names the chain in the error ("backing file", "parent").
 */
function extendChain(child: string, real: string, chain: readonly string[], what: string): string[] {
  const here = chain.length ? chain : [fs.realpathSync(child)];
  if (here.includes(real)) throw new FileOpenError(child, `${what} chain loops: ${[...here, real].join(' -> ')}`);
  if (here.length >= MAX_BACKING_DEPTH) throw new FileOpenError(child, `${what} chain is deeper than ${MAX_BACKING_DEPTH} files`);
  return [...here, real];
}

/** A backing file named by `image`: relative to its directory, read-only, never a loop. */
function openBacking(image: string, name: string, format: string | null, chain: readonly string[]): ByteSource {
  const full = path.isAbsolute(name) ? name : path.resolve(path.dirname(image), name);
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch {
    throw new FileOpenError(image, `its backing file "${name}" (${full}) does not exist; put it there, or convert the image with its chain (qemu-img convert -O raw)`);
  }
  const next = extendChain(image, real, chain, 'backing file');
  // A backing file declared "raw" is read raw, as QEMU does: its first bytes are the guest's.
  return openByteSource(full, { raw: format === 'raw', chain: next });
}

/**
 * A differencing VHD's parent: the first locator path that exists (relative
 * ones first, against the child's directory), read-only, never a loop, and
 * only if its footer's unique id is the one the child was made against.
 */
function openVhdParent(child: string, ref: VhdParentRef, chain: readonly string[]): ByteSource {
  const tried: string[] = [];
  for (const p of ref.paths) {
    // A W2ku path with a drive letter names a Windows machine's file: nothing to open here.
    if (/^[A-Za-z]:\//.test(p.path)) {
      tried.push(`${p.code} ${p.path} (a Windows path)`);
      continue;
    }
    const full = path.isAbsolute(p.path) ? p.path : path.resolve(path.dirname(child), p.path);
    tried.push(`${p.code} ${full}`);
    if (!fs.existsSync(full)) continue;
    const real = fs.realpathSync(full);
    const next = extendChain(child, real, chain, 'parent');
    const probe = FileSource.open(full);
    const id = vhdUniqueId(probe);
    probe.close?.();
    if (id !== ref.uniqueId)
      throw new FileOpenError(child, `its parent ${full} has unique id ${id ?? '(no VHD footer)'}, not the ${ref.uniqueId} the child was made against: a different or modified parent is refused`);
    return openByteSource(full, { chain: next });
  }
  throw new FileOpenError(
    child,
    `its parent VHD "${ref.name}" is not found (${tried.length ? `tried ${tried.join(', ')}` : 'no W2ru, W2ku or MacX parent locator'}); put it there, or merge the chain (qemu-img cannot: use the tool that made it)`,
  );
}

/**
 * A differencing VHDX's parent: the first locator path that exists (relative_path,
 * against the child's directory, then volume_path and absolute_win32_path, as the
 * specification orders them), read-only, never a loop, and only if its header's
 * DataWriteGuid is the parent_linkage (or parent_linkage2) the child names.
 */
function openVhdxParent(child: string, ref: VhdxParentRef, chain: readonly string[]): ByteSource {
  const tried: string[] = [];
  for (const p of ref.paths) {
    // Win32 paths ("//?/C:/...", "//?/Volume{...}/...", "C:/...") name a Windows machine's file: nothing to open here.
    const posix = p.path.replace(/^\/\/\?\//, '');
    if (!p.relative && !posix.startsWith('/')) {
      tried.push(`${p.key} ${p.stored} (a Windows path)`);
      continue;
    }
    const full = p.relative ? path.resolve(path.dirname(child), posix) : posix;
    tried.push(`${p.key} ${full}`);
    if (!fs.existsSync(full)) continue;
    const real = fs.realpathSync(full);
    const next = extendChain(child, real, chain, 'parent');
    const probe = FileSource.open(full);
    const id = vhdxDataWriteGuid(probe);
    probe.close?.();
    if (id === null || !ref.linkage.includes(id))
      throw new FileOpenError(
        child,
        `its parent ${full} has DataWriteGuid ${id ?? '(not a VHDX with a valid header)'}, not the ${ref.linkage.join(' or ')} the child was made against: a different or modified parent is refused`,
      );
    return openByteSource(full, { chain: next });
  }
  throw new FileOpenError(
    child,
    `its parent VHDX is not found (${tried.length ? `tried ${tried.join(', ')}` : 'no relative_path, volume_path or absolute_win32_path in its parent locator'}); put it there, or merge the chain with the tool that made it`,
  );
}

/**
 * A VMDK delta disk's parent (parentFileNameHint, relative to the child's
 * directory), read-only, never a loop, and only if its descriptor's CID is the
 * parentCID the child was made against (the CID changes whenever the parent is
 * written, so another CID means the child's grains no longer fit it).
 */
function openVmdkParent(child: string, hint: string, parentCID: string, chain: readonly string[]): ByteSource {
  const full = path.isAbsolute(hint) ? hint : path.resolve(path.dirname(child), hint);
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch {
    throw new FileOpenError(child, `its parent VMDK "${hint}" (${full}) does not exist; put it there, or convert the chain where it is whole (qemu-img convert -O raw)`);
  }
  const next = extendChain(child, real, chain, 'parent');
  const probe = FileSource.open(full);
  let d: VmdkDescriptor | null = null;
  try {
    d = vmdkDescriptorOf(probe);
  } finally {
    probe.close?.();
  }
  if (!d || parseInt(d.cid, 16) !== parseInt(parentCID, 16))
    throw new FileOpenError(child, `its parent ${full} has CID ${d?.cid || '(no VMDK descriptor)'}, not the ${parentCID} the delta was made against: a different or modified parent is refused`);
  return openByteSource(full, { chain: next });
}

/** The descriptor of a VMDK file: its text, or the one a sparse extent embeds; null for anything else. */
function vmdkDescriptorOf(src: ByteSource): VmdkDescriptor | null {
  const head = src.read(0n, 512);
  if (isVmdkDescriptor(head)) {
    if (src.size > BigInt(MAX_DESCRIPTOR_BYTES)) return null;
    return parseVmdkDescriptor(src.name, new TextDecoder('latin1').decode(src.read(0n, Number(src.size))));
  }
  return hasVmdkMagic(head) ? embeddedVmdkDescriptor(src) : null;
}

/** An extent file a VMDK descriptor names: relative to the descriptor's directory, read-only. */
function openExtent(descriptor: string, name: string): ByteSource {
  const full = path.isAbsolute(name) ? name : path.resolve(path.dirname(descriptor), name);
  if (!fs.existsSync(full)) throw new FileOpenError(descriptor, `its extent file "${name}" (${full}) does not exist; put it next to the descriptor, or convert the disk (qemu-img convert -O raw)`);
  return FileSource.open(full);
}

/** Segment n of the EWF set whose first segment is `first` (.E01 -> .E0n), or null when there is none. */
function openEwfSegment(first: string, n: number): ByteSource | null {
  const name = ewfSegmentName(first, n);
  return name && fs.existsSync(name) ? FileSource.open(name) : null;
}
