import { type FiemapExtent, filefragCount } from '../analysis/layout.js';

/**
 * The text `filefrag -v -b1 FILE` (e2fsprogs 1.47) prints for a file of a
 * mounted btrfs, from the FIEMAP extents the kernel would return: -b1 makes
 * every number a byte count, so nothing is rounded to blocks. Layout as
 * filefrag writes it (facts from e2fsprogs' misc/filefrag.c):
 *
 * - "Filesystem type is: 9123683e" (statfs f_type, BTRFS_SUPER_MAGIC);
 * - "File size of F is SIZE (N block[s] of 1 bytes)": N is the size rounded up
 *   to whole blocks of st_blksize (the sectorsize), "block" when that is one;
 * - the column widths start at 8 (file offsets) and 10 (disk addresses) and grow
 *   to int_log10 of the file's block count and of statfs' f_blocks; numbers wider
 *   than their column push it (they are byte counts, the widths are in blocks);
 * - a row: index, first..last file byte, first..last disk byte, length, then the
 *   expected address or blanks, then the FIEMAP flags; filefrag drops the last
 *   character of that tail (its trailing comma, or a space when there are no
 *   flags) and then appends ",eof" when the extent reaches st_size;
 * - no header and "0 extents found" for a file with no extent.
 */
export interface FilefragInput {
  /** The name filefrag was given (here: the path as a mount of subvolume 5 at "/" shows it). */
  name: string;
  size: bigint;
  /** st_blksize of a btrfs file: the sectorsize. */
  blockSize: bigint;
  /** statfs f_blocks: the filesystem's total bytes in blocks of the sectorsize. */
  fsBlocks: bigint;
  fiemap: readonly FiemapExtent[];
  /** False for the second and later files of one run (filefrag names the type once per device). */
  typeLine?: boolean;
}

/** int_log10 of filefrag: the number of decimal digits minus one. */
function intLog10(n: bigint): number {
  return n < 10n ? 0 : n.toString().length - 1;
}

const pad = (v: bigint | string, w: number) => String(v).padStart(w);

export function filefragText(f: FilefragInput): string {
  const out: string[] = [];
  const w = new FilefragLines(f, (s) => out.push(s));
  for (const e of f.fiemap) w.extent(e);
  w.end(filefragCount(f.fiemap));
  return out.join('\n') + '\n';
}

/** filefragText line by line, one extent at a time (a file can have millions). */
export class FilefragLines {
  private readonly physicalWidth: number;
  private readonly logicalWidth: number;
  private i = 0;
  constructor(
    private readonly f: Omit<FilefragInput, 'fiemap'>,
    private readonly line: (s: string) => void,
  ) {
    this.physicalWidth = Math.max(10, intLog10(f.fsBlocks));
    const numblocks = (f.size + f.blockSize - 1n) / f.blockSize;
    this.logicalWidth = Math.max(8, intLog10(numblocks));
    if (f.typeLine !== false) line('Filesystem type is: 9123683e');
    line(`File size of ${f.name} is ${f.size} (${numblocks * f.blockSize} block${numblocks === 1n ? '' : 's'} of 1 bytes)`);
  }

  extent(e: FiemapExtent): void {
    const { physicalWidth, logicalWidth } = this;
    if (this.i === 0) this.line(` ext: ${pad('logical_offset:', logicalWidth * 2 + 3)} ${pad('physical_offset:', physicalWidth * 2 + 3)} length: ${pad('expected:', physicalWidth + 1)} flags:`);
    const last = e.length - 1n;
    let tail = e.expected !== null ? `${pad(e.expected, physicalWidth)}: ` : `${' '.repeat(physicalWidth)}  `;
    tail += e.flags
      .filter((x) => x !== 'eof')
      .map((x) => `${x},`)
      .join('');
    tail = tail.slice(0, -1);
    // 1.47 appends ",eof" after dropping that character: an extent with no other flag shows " ,eof".
    if (e.flags.includes('eof')) tail += ',eof';
    this.line(
      `${pad(String(this.i), 4)}: ${pad(e.logical, logicalWidth)}..${pad(e.logical + last, logicalWidth)}: ${pad(e.physical, physicalWidth)}..${pad(e.physical + last, physicalWidth)}: ${pad(e.length, 6)}: ${tail}`,
    );
    this.i++;
  }

  /** The closing line; `found` is filefrag's extent count (FiemapMerger.filefragCount). */
  end(found: number): void {
    this.line(`${this.f.name}: ${found} extent${found === 1 ? '' : 's'} found`);
  }
}
