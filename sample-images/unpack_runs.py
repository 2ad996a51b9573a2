#!/usr/bin/env python3
"""Turn btrfs-corpus-runs files back into sparse raw images (for debugging).

usage: unpack_runs.py IN.runs.gz OUT.raw
       unpack_runs.py -d DEST_DIR [IMAGE_NAME ...]

The first form unpacks one file. The second unpacks every
sample-images/<name>/devN.runs.gz (or only the named images) to
DEST_DIR/<name>/devN.raw. The raw files keep the original apparent size as
sparse files (large-offsets is 260 GiB apparent but takes a few MB).
"""
import gzip
import json
import os
import sys

MAGIC = b"btrfs-corpus-runs 1\n"
HERE = os.path.dirname(os.path.abspath(__file__))


def read_header(f):
    if f.readline() != MAGIC:
        raise ValueError("not a btrfs-corpus-runs file")
    return json.loads(f.readline())


def unpack(src, dst):
    tmp = dst + ".part"
    with gzip.open(src, "rb") as i, open(tmp, "wb") as o:
        head = read_header(i)
        for off, n in head["runs"]:
            o.seek(off)
            while n:
                b = i.read(min(n, 1 << 20))
                if not b:
                    raise ValueError(f"{src}: truncated run data")
                o.write(b)
                n -= len(b)
        o.truncate(head["size"])
    os.replace(tmp, dst)
    return head


def main(argv):
    if len(argv) >= 2 and argv[0] == "-d":
        dest, names = argv[1], set(argv[2:])
        for name in sorted(os.listdir(HERE)):
            d = os.path.join(HERE, name)
            if not os.path.isdir(d) or (names and name not in names):
                continue
            for f in sorted(os.listdir(d)):
                if f.endswith(".runs.gz"):
                    os.makedirs(os.path.join(dest, name), exist_ok=True)
                    out = os.path.join(dest, name, f[:-len(".runs.gz")] + ".raw")
                    unpack(os.path.join(d, f), out)
                    print(out)
    elif len(argv) == 2:
        unpack(argv[0], argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
