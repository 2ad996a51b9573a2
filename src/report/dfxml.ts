import type { ByteRun } from '../analysis/byteRuns.js';
import type { ManifestEntry } from '../analysis/manifest.js';
import { jsonPath, jsonText } from '../fs/names.js';
import type { Timespec } from '../fs/types.js';
import { formatTime } from './fs.js';
import { xmlText } from './xml.js';

/**
 * Digital Forensics XML (DFXML, schema 1.x/2.0 of the DFXML working group,
 * as fiwalk writes it): a `volume` of `fileobject`s with names, inode fields,
 * times, byte runs and hash digests. Elements follow the schema's sequence
 * order (it fixes the order of a fileobject's children). btrfs facts DFXML
 * has no element for (subvolume, device id) are attributes in our own
 * namespace, which the schema allows on fileobject and byte_run.
 */

export const DFXML_NS = 'http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML';
export const BTRFS_NS = 'https://btrfs-inspect.invalid/dfxml';
const DFXML_VERSION = '1.2.0';

const xml = xmlText;

/** TSK's meta types (TSK_FS_META_TYPE_ENUM), which DFXML's meta_type records. */
const META_TYPE: Record<string, number> = { file: 1, dir: 2, fifo: 3, chr: 4, blk: 5, symlink: 6, sock: 8 };
/** TSK's name types, DFXML's name_type letters. */
const NAME_TYPE: Record<string, string> = { file: 'r', dir: 'd', fifo: 'p', chr: 'c', blk: 'b', symlink: 'l', sock: 's' };
const COMPRESSION = ['none', 'zlib', 'lzo', 'zstd'];

export interface DfxmlSource {
  /** Image files, as given. */
  images: string[];
  program: string;
  version: string;
  commandLine: string;
  sectorSize: number;
  blockSize: number;
  /** Offset of the filesystem in the first image (partition or --offset). */
  volumeOffset: bigint;
}

/** The document's start: metadata, creator, source, and the volume element that holds the file objects. */
export function dfxmlHead(s: DfxmlSource): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<dfxml xmlns="${DFXML_NS}" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:btrfs="${BTRFS_NS}" version="${DFXML_VERSION}">`,
    '  <metadata>',
    '    <dc:type>File system walk</dc:type>',
    '  </metadata>',
    `  <creator version="1.0">`,
    `    <program>${xml(s.program)}</program>`,
    `    <version>${xml(s.version)}</version>`,
    `    <execution_environment>`,
    `      <command_line>${xml(s.commandLine)}</command_line>`,
    `    </execution_environment>`,
    '  </creator>',
    '  <source>',
    ...s.images.map((i) => `    <image_filename>${xml(i)}</image_filename>`),
    '  </source>',
    `  <volume offset="${s.volumeOffset}">`,
    `    <sector_size>${s.sectorSize}</sector_size>`,
    `    <block_size>${s.blockSize}</block_size>`,
    '    <ftype_str>btrfs</ftype_str>',
  ].join('\n');
}

export function dfxmlTail(): string {
  return '  </volume>\n</dfxml>\n';
}

const time = (name: string, t: Timespec) => {
  const s = formatTime(t);
  // An invalid time (nsec past a second, a year no calendar holds) has no xs:dateTime form: left out.
  return s.endsWith('(invalid)') ? '' : `      <${name}>${s}</${name}>\n`;
};

/**
 * What DFXML says of a file found by recovery rather than by a walk of the
 * live trees. The schema's alloc_inode / alloc_name pair says what is
 * deleted (alloc alone cannot: "0" is written too, for readers of alloc).
 */
export interface DfxmlRecovered {
  /** The inode is still allocated (an older version of a live file; a removed name). */
  inodeAllocated: boolean;
  /** No directory entry reaches it (DFXML's orphan: no referencing metadata). */
  orphan: boolean;
  /** btrfs:source, btrfs:last_seen (generation) and btrfs:data_state attributes. */
  source: string;
  lastSeen?: bigint;
  dataState?: string;
}

/**
 * One fileobject. `volumeOffset` turns a device offset on the first device
 * into an offset in the image file (img_offset); runs on other devices carry
 * only btrfs:devid and btrfs:physical. `recovered`: a deleted file, with
 * the allocation elements that say so.
 */
export function dfxmlFileObject(e: ManifestEntry, runs: readonly ByteRun[] | null, imageDevid: bigint, volumeOffset: bigint, recovered?: DfxmlRecovered): string {
  const name = jsonPath(e.path).text.slice(1) || '.';
  const i = e.inode;
  let attrs = '';
  if (recovered) {
    attrs = ` btrfs:source="${xml(recovered.source)}"`;
    if (recovered.lastSeen !== undefined) attrs += ` btrfs:last_seen="${recovered.lastSeen}"`;
    if (recovered.dataState !== undefined) attrs += ` btrfs:data_state="${xml(recovered.dataState)}"`;
  }
  let x = `    <fileobject btrfs:subvol="${e.ref.subvol}"${attrs}>\n      <filename>${xml(name)}</filename>\n`;
  if (e.contentError !== undefined) x += `      <error>${xml(e.contentError)}</error>\n`;
  if (NAME_TYPE[e.type]) x += `      <name_type>${NAME_TYPE[e.type]}</name_type>\n`;
  if (e.type !== 'missing') x += `      <filesize>${e.size}</filesize>\n`;
  if (recovered) x += `      <alloc>0</alloc>\n      <alloc_inode>${recovered.inodeAllocated ? 1 : 0}</alloc_inode>\n      <alloc_name>0</alloc_name>\n`;
  else x += `      <alloc>1</alloc>\n`;
  if (recovered?.orphan) x += `      <orphan>1</orphan>\n`;
  if (runs?.some((r) => r.compression !== undefined && r.compression !== 0)) x += `      <compressed>1</compressed>\n`;
  x += `      <inode>${e.ref.ino}</inode>\n`;
  if (META_TYPE[e.type]) x += `      <meta_type>${META_TYPE[e.type]}</meta_type>\n`;
  if (i) {
    x += `      <mode>${i.mode & 0o7777}</mode>\n      <nlink>${i.nlink}</nlink>\n      <uid>${i.uid}</uid>\n      <gid>${i.gid}</gid>\n`;
    x += time('mtime', i.mtime) + time('ctime', i.ctime) + time('atime', i.atime);
    // otime 0 is no birth time: an inode mkfs.btrfs --rootdir made, or one written before otime existed, has none.
    if (i.otime.sec !== 0n || i.otime.nsec !== 0) x += time('crtime', i.otime);
  }
  if (e.link) x += `      <link_target>${xml(jsonText(e.link).text)}</link_target>\n`;
  if (runs && runs.length > 0) {
    x += '      <byte_runs>\n';
    for (const r of runs) {
      const a = [`file_offset="${r.fileOffset}"`];
      if (r.logical !== undefined) a.push(`fs_offset="${r.logical}"`);
      if (r.physical !== undefined && r.devid === imageDevid) a.push(`img_offset="${volumeOffset + r.physical}"`);
      a.push(`len="${r.length}"`);
      if (r.uncompressedLength !== undefined) a.push(`uncompressed_len="${r.uncompressedLength}"`);
      if (r.fill !== undefined) a.push(`fill="${r.fill}"`);
      if (r.inline) a.push('type="resident"');
      if (r.devid !== undefined) a.push(`btrfs:devid="${r.devid}"`, `btrfs:physical="${r.physical}"`);
      if (r.compression !== undefined && r.compression !== 0) a.push(`btrfs:compression="${COMPRESSION[r.compression] ?? r.compression}"`);
      if (r.unmapped) a.push('btrfs:unmapped="1"');
      x += `        <byte_run ${a.join(' ')}/>\n`;
    }
    x += '      </byte_runs>\n';
  }
  for (const [alg, v] of Object.entries(e.digests ?? {})) x += `      <hashdigest type="${alg}">${v}</hashdigest>\n`;
  return x + '    </fileobject>';
}
