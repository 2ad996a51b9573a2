#!/usr/bin/env python3
"""Pack a (sparse) raw image into the btrfs-corpus-runs format.

usage: pack_runs.py IMAGE OUT.runs.gz

Output: gzip (level 9) of
    b"btrfs-corpus-runs 1\n"
    JSON line {"size": N, "runs": [[offset, length], ...]} + "\n"
    the bytes of every run, in order.
Everything outside the runs is zero. Runs are made of the 4 KiB blocks of
IMAGE that are not all zero (found with SEEK_DATA/SEEK_HOLE first, so huge
sparse files are cheap); adjacent non-zero blocks are merged into one run.
"""
import gzip
import json
import os
import sys

BLOCK = 4096
CHUNK = 1 << 20  # read granularity inside a data segment


def data_segments(fd, size):
    """Yield (start, end) of the allocated (data) parts of a file."""
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:  # ENXIO: no more data
            return
        try:
            end = os.lseek(fd, start, os.SEEK_HOLE)
        except OSError:
            end = size
        end = min(end, size)
        if end <= start:
            return
        yield start, end
        pos = end


def nonzero_runs(fd, size):
    """Return merged [offset, length] runs of non-zero 4 KiB blocks."""
    zero = bytes(BLOCK)
    runs = []
    for seg_start, seg_end in data_segments(fd, size):
        # align the segment to the block grid
        pos = seg_start - seg_start % BLOCK
        while pos < seg_end:
            n = min(CHUNK, seg_end - pos)
            buf = os.pread(fd, n, pos)
            if not buf:
                break
            for i in range(0, len(buf), BLOCK):
                blk = buf[i:i + BLOCK]
                if blk == zero[:len(blk)]:
                    continue
                off = pos + i
                ln = len(blk)
                if runs and runs[-1][0] + runs[-1][1] == off:
                    runs[-1][1] += ln
                else:
                    runs.append([off, ln])
            pos += len(buf)
    return runs


def pack(image, out):
    fd = os.open(image, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size == 0:  # block device
            size = os.lseek(fd, 0, os.SEEK_END)
        runs = nonzero_runs(fd, size)
        tmp = out + ".part"
        with open(tmp, "wb") as raw, gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as o:
            o.write(b"btrfs-corpus-runs 1\n")
            o.write(json.dumps({"size": size, "runs": runs},
                               separators=(",", ":")).encode() + b"\n")
            for off, ln in runs:
                while ln:
                    n = min(ln, CHUNK)
                    b = os.pread(fd, n, off)
                    assert len(b) == n, "short read"
                    o.write(b)
                    off += n
                    ln -= n
        os.replace(tmp, out)
    finally:
        os.close(fd)
    return size, runs


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    size, runs = pack(sys.argv[1], sys.argv[2])
    used = sum(r[1] for r in runs)
    print(f"{sys.argv[1]}: size {size}, {len(runs)} runs, {used} non-zero bytes, "
          f"stored {os.path.getsize(sys.argv[2])} bytes")


if __name__ == "__main__":
    main()
