import * as nodeFs from 'node:fs';
import { SliceSource } from '../io/SliceSource.js';
import { dfxmlHead, dfxmlTail } from '../report/dfxml.js';
import type { DfxmlImage } from '../report/dfxmlForensics.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { UsageError } from './context.js';
import { VERSION } from './version.js';

/**
 * A DFXML document written to a file as its file objects come (--dfxml
 * FILE of recover and timeline): the head when opened, the tail at close.
 */
export class DfxmlFile {
  private readonly fd: number;
  readonly image: DfxmlImage;

  constructor(path: string, fs: Filesystem, image: string | undefined, command: string) {
    try {
      this.fd = nodeFs.openSync(path, 'w');
    } catch (e) {
      throw new UsageError(`--dfxml ${path}: cannot write it (${(e as Error).message})`);
    }
    this.image = dfxmlImage(fs, image);
    this.write(
      dfxmlHead({
        images: [...fs.volume.devices.values()].map((d) => d.name),
        program: 'btrfs-inspect',
        version: VERSION,
        commandLine: `btrfs-inspect ${command} ${process.argv.slice(3).join(' ')}`.trim(),
        sectorSize: fs.superblock.sectorsize,
        blockSize: fs.superblock.sectorsize,
        volumeOffset: this.image.offset,
      }) + '\n',
    );
  }

  object(text: string): void {
    this.write(text + '\n');
  }

  close(): void {
    this.write(dfxmlTail());
    nodeFs.closeSync(this.fd);
  }

  private write(s: string): void {
    nodeFs.writeSync(this.fd, s);
  }
}

/**
 * The device that is the IMAGE argument and where the filesystem starts in
 * it (a partition or --offset): DFXML's img_offset is an offset in that file.
 */
export function dfxmlImage(fs: Filesystem, image: string | undefined): { devid: bigint; offset: bigint } {
  const devs = [...fs.volume.devices.values()].filter((d) => d.source !== null);
  const d = devs.find((x) => image !== undefined && x.name.startsWith(image)) ?? devs[0];
  return { devid: d?.devid ?? -1n, offset: d?.source instanceof SliceSource ? d.source.start : 0n };
}
