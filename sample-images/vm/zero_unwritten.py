#!/usr/bin/env python3
"""Zero every zone of a zoned device's copy past its write pointer.

usage: zero_unwritten.py IMAGE BLKZONE_REPORT

null_blk returns 0xff for reads past a zone's write pointer, so a plain dd
copy is 1 GiB of non-zero bytes. Only the written part of each zone (start to
wptr, from `blkzone report`, in 512-byte sectors) is data; a zone-aware copy
keeps that and leaves the rest as holes, which keeps the packed image small.
"""
import os
import re
import sys

image, report = sys.argv[1], sys.argv[2]
zone_re = re.compile(r"start: 0x([0-9a-f]+), len 0x([0-9a-f]+), cap 0x[0-9a-f]+, wptr 0x([0-9a-f]+)")
fd = os.open(image, os.O_RDWR)
size = os.fstat(fd).st_size
chunk = bytes(1 << 20)
for line in open(report):
    m = zone_re.search(line)
    if not m:
        continue
    start, length, wptr = (int(x, 16) * 512 for x in m.groups())
    pos, end = start + wptr, min(start + length, size)
    while pos < end:
        n = min(len(chunk), end - pos)
        os.pwrite(fd, chunk[:n], pos)
        pos += n
os.close(fd)
