#!/usr/bin/env python3
"""Fill a mounted btrfs directory with deterministic test content.

usage: fill.py [--report REPORT.json] RECIPE DIR [recipe options]

Recipes (see RECIPES below and README.md):
  rich DIR                 every kind of inode / name / attribute we care about
  small DIR [--big N] [--random N]
                           a few files, one big patterned file (> 64 KiB stripes)
  many DIR [--count N]     thousands of small files in nested dirs (deep trees)
  holes DIR                sparse files, punched holes, prealloc
  compress DIR --alg A     files meant to be written under compress=A
  force DIR --alg A        files meant to be written under compress-force=A
  property DIR --alg A     files with `btrfs property set compression A`
  default-extras MNT       reflinks, clone-range, bookend overwrite (default image)
  modify-subvol DIR        changes made to a subvolume after it was snapshotted

Content is reproducible: "random" bytes come from SHAKE-256 of a name, and
"patterned" bytes are 4 KiB blocks that each start with a unique header
(tag and offset) followed by repeated text, so they compress very well yet
every block is distinct.

--report appends what was made (paths relative to the mount given with
--mount, kind, details) to a JSON list; build.sh copies these into
manifest.json as "special".
"""
import argparse
import fcntl
import hashlib
import json
import os
import socket
import stat
import struct
import subprocess
import sys

REPORT = []
MOUNT = None


# --------------------------------------------------------------------------
# deterministic data
def rand_bytes(seed, n):
    """n pseudo-random (incompressible) bytes derived from seed."""
    return hashlib.shake_256(("seed:" + seed).encode()).digest(n)


WORDS = ("btrfs copy on write extent tree chunk stripe parity mirror "
         "checksum subvolume snapshot inode root leaf node key item").split()


def pattern_bytes(tag, n, start=0):
    """n patterned bytes of file `tag` starting at file offset `start`.

    Every 4 KiB block (aligned to file offsets) starts with
    "[tag @offset]" and is then filled with a sentence chosen by a hash of
    the tag, so the data compresses ~50x but no two blocks are equal.
    """
    h = hashlib.sha256(tag.encode()).digest()
    sentence = " ".join(WORDS[b % len(WORDS)] for b in h[:12]) + ".\n"
    out = bytearray()
    pos = start - start % 4096
    while pos < start + n:
        head = f"[{tag} @{pos:012d}] ".encode()
        blk = head + (sentence.encode() * (4096 // len(sentence) + 2))
        out += blk[:4096]
        pos += 4096
    skip = start % 4096
    return bytes(out[skip:skip + n])


def text_bytes(n, seed="text"):
    """Very compressible text (repeated lines)."""
    line = f"The quick brown fox ({seed}) jumps over the lazy dog. 0123456789\n"
    return (line * (n // len(line) + 1)).encode()[:n]


# --------------------------------------------------------------------------
# helpers
def rel(p):
    return os.path.relpath(p, MOUNT) if MOUNT else p


def note(path, kind, **kw):
    d = {"path": rel(path), "kind": kind}
    d.update(kw)
    REPORT.append(d)


def write(path, data, mode=None, offset=None, fsync=False):
    flags = os.O_WRONLY | os.O_CREAT
    if offset is None:
        flags |= os.O_TRUNC
    fd = os.open(path, flags, 0o644)
    try:
        if offset is not None:
            os.lseek(fd, offset, os.SEEK_SET)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    if mode is not None:
        os.chmod(path, mode)


def sync():
    os.sync()


def run(*cmd, **kw):
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def mkdirs(p):
    os.makedirs(p, exist_ok=True)
    return p


def set_time(path, sec, nsec=0, atime_sec=None):
    ns = sec * 10**9 + nsec
    ans = ns if atime_sec is None else atime_sec * 10**9
    os.utime(path, ns=(ans, ns), follow_symlinks=False)


FICLONE = 0x40049409
FICLONERANGE = 0x4020940D


def clone_file(src, dst):
    with open(src, "rb") as s, open(dst, "wb") as d:
        fcntl.ioctl(d.fileno(), FICLONE, s.fileno())


def clone_range(src, src_off, length, dst, dst_off):
    with open(src, "rb") as s, open(dst, "r+b") as d:
        arg = struct.pack("=qQQQ", s.fileno(), src_off, length, dst_off)
        fcntl.ioctl(d.fileno(), FICLONERANGE, arg)


# --------------------------------------------------------------------------
# recipes
def recipe_rich(d, args):
    mkdirs(d)
    # plain files ---------------------------------------------------------
    write(f"{d}/empty", b"")
    write(f"{d}/tiny.txt", b"hello, btrfs\n")
    note(f"{d}/tiny.txt", "inline")
    write(f"{d}/inline-2000.txt", pattern_bytes("inline-2000", 2000))
    note(f"{d}/inline-2000.txt", "inline")
    write(f"{d}/exact-4096.bin", rand_bytes("exact-4096", 4096))
    write(f"{d}/random-2m.bin", rand_bytes("random-2m", 2 * 1024 * 1024))
    write(f"{d}/pattern-1m-plus.bin", pattern_bytes("pattern-1m-plus", 1024 * 1024 + 1234))
    # fragmented: pieces interleaved with another file, committed in between
    frag, inter = f"{d}/fragmented.bin", f"{d}/interleaved.bin"
    write(frag, b"")
    write(inter, b"")
    for i in range(8):
        write(frag, pattern_bytes("fragmented", 65536, i * 65536), offset=i * 65536)
        sync()
        write(inter, pattern_bytes("interleaved", 16384, i * 16384), offset=i * 16384)
        sync()
    note(frag, "fragmented", pieces=8, piece_size=65536)
    # sparse files
    p = f"{d}/sparse-hole-start.bin"
    write(p, pattern_bytes("sparse-hole-start", 65536, 1 << 20), offset=1 << 20)
    note(p, "sparse", holes=[[0, 1 << 20]])
    p = f"{d}/sparse-hole-middle.bin"
    write(p, pattern_bytes("sparse-hole-middle", 65536))
    write(p, pattern_bytes("sparse-hole-middle", 65536, 2 << 20), offset=2 << 20)
    note(p, "sparse", holes=[[65536, (2 << 20) - 65536]])
    p = f"{d}/sparse-hole-end.bin"
    write(p, pattern_bytes("sparse-hole-end", 65536))
    os.truncate(p, 4 << 20)
    note(p, "sparse", holes=[[65536, (4 << 20) - 65536]])
    p = f"{d}/sparse-all-hole.bin"
    write(p, b"")
    os.truncate(p, 10 << 20)
    note(p, "sparse", holes=[[0, 10 << 20]])
    # preallocated
    p = f"{d}/prealloc.bin"
    run("fallocate", "-l", str(1 << 20), p)
    write(p, pattern_bytes("prealloc", 131072, 262144), offset=262144)
    note(p, "prealloc", allocated=[0, 1 << 20], written=[262144, 131072])
    p = f"{d}/prealloc-keep-size.bin"
    write(p, pattern_bytes("prealloc-keep-size", 8192))
    run("fallocate", "-n", "-o", "0", "-l", str(512 * 1024), p)
    note(p, "prealloc", allocated_beyond_eof=[8192, 512 * 1024 - 8192])
    # NODATACOW
    p = f"{d}/nodatacow.bin"
    write(p, b"")
    run("chattr", "+C", p)
    write(p, pattern_bytes("nodatacow", 256 * 1024))
    note(p, "nodatacow")
    nd = mkdirs(f"{d}/nocow-dir")
    run("chattr", "+C", nd)
    write(f"{nd}/inherits-nocow.bin", pattern_bytes("inherits-nocow", 40000))
    note(nd, "nodatacow-dir")
    # hard links
    od = mkdirs(f"{d}/other-dir")
    write(f"{d}/hardlink-a", pattern_bytes("hardlink", 10000))
    os.link(f"{d}/hardlink-a", f"{d}/hardlink-b")
    os.link(f"{d}/hardlink-a", f"{od}/hardlink-c")
    note(f"{d}/hardlink-a", "hardlink",
         names=[rel(f"{d}/hardlink-a"), rel(f"{d}/hardlink-b"), rel(f"{od}/hardlink-c")])
    # symlinks
    os.symlink("tiny.txt", f"{d}/symlink-relative")
    os.symlink("/etc/hostname", f"{d}/symlink-absolute")
    os.symlink("does/not/exist", f"{d}/symlink-dangling")
    long_target = "/".join(f"long-component-{i:03d}" for i in range(100))[:1000]
    os.symlink(long_target, f"{d}/symlink-long")
    note(f"{d}/symlink-long", "symlink", target_length=len(long_target))
    os.symlink("../tiny.txt", f"{od}/symlink-up")
    # special files
    sp = mkdirs(f"{d}/special")
    os.mkfifo(f"{sp}/fifo", 0o644)
    os.mknod(f"{sp}/char-null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(f"{sp}/block-loop7", 0o660 | stat.S_IFBLK, os.makedev(7, 7))
    os.mknod(f"{sp}/char-bigminor", 0o600 | stat.S_IFCHR, os.makedev(260, 70000))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(f"{sp}/socket")
    s.close()
    # xattrs and ACLs
    p = f"{d}/xattrs.txt"
    write(p, b"file with extended attributes\n")
    os.setxattr(p, "user.text", b"plain text value")
    os.setxattr(p, "user.binary", bytes(range(256)))
    os.setxattr(p, "user.empty", b"")
    os.setxattr(p, "user.large", pattern_bytes("xattr-large", 2500))
    os.setxattr(p, "user.unicode-\u00e9\u2603", "v\u00e4lue \u2603".encode())
    os.setxattr(p, "trusted.secret", b"only root sees this")
    note(p, "xattrs", count=6)
    os.setxattr(od, "user.on-a-directory", b"dir xattr")
    os.setxattr(f"{d}/symlink-relative", "trusted.on-symlink", b"symlink xattr",
                follow_symlinks=False)
    p = f"{d}/acl-file"
    write(p, b"file with a POSIX ACL\n")
    run("setfacl", "-m", "u:1000:rw-,g:1000:r--,m::rw-", p)
    note(p, "posix-acl")
    ad = mkdirs(f"{d}/acl-dir")
    run("setfacl", "-m", "u:1000:rwx", ad)
    run("setfacl", "-d", "-m", "u:1000:rwx,g::r-x", ad)
    write(f"{ad}/inherits-acl", b"inherits the default ACL\n")
    note(ad, "posix-acl-default")
    # odd names
    nd = mkdirs(f"{d}/names")
    odd = [
        "unicode-h\u00e9llo-w\u00f6rld-\u2603-\u65e5\u672c\u8a9e-\U0001f600.txt",
        "name with spaces.txt",
        "new\nline",
        "tab\tand\\backslash",
        "-leading-dash",
        ".hidden",
        "a" * 251 + ".txt",            # 255 bytes
        "\u00e9" * 127 + "x",          # 255 bytes of 2-byte UTF-8
    ]
    for i, name in enumerate(odd):
        write(os.path.join(nd, name), f"odd name {i}\n".encode())
    raw = os.fsencode(nd) + b"/latin1-caf\xe9-\xff\xfe.bin"   # not valid UTF-8
    with open(raw, "wb") as f:
        f.write(b"file whose name is not UTF-8\n")
    note(nd, "odd-names", count=len(odd) + 1)
    # a directory with 1000 entries
    bd = mkdirs(f"{d}/bigdir")
    for i in range(1000):
        if i % 100 == 0:
            os.mkdir(f"{bd}/subdir-{i:04d}")
        else:
            write(f"{bd}/entry-{i:04d}-{hashlib.md5(str(i).encode()).hexdigest()[:8]}", b"")
    note(bd, "big-directory", entries=1000)
    # 20 levels of nesting
    deepest = f"{d}/deep"
    for i in range(1, 21):
        deepest = os.path.join(deepest, f"level-{i:02d}")
    mkdirs(deepest)
    write(f"{deepest}/bottom.txt", b"20 levels down\n")
    note(deepest, "deep-nesting", levels=20)
    # modes and owners
    md = mkdirs(f"{d}/modes")
    for name, mode in [("mode-0600", 0o600), ("mode-0755", 0o755), ("mode-0000", 0o000),
                       ("setuid-4755", 0o4755), ("setgid-2755", 0o2755),
                       ("all-7777", 0o7777)]:
        write(f"{md}/{name}", name.encode() + b"\n")
        os.chmod(f"{md}/{name}", mode)
    os.mkdir(f"{md}/sticky-dir-1777")
    os.chmod(f"{md}/sticky-dir-1777", 0o1777)
    os.mkdir(f"{md}/setgid-dir-2775")
    os.chmod(f"{md}/setgid-dir-2775", 0o2775)
    ow = mkdirs(f"{d}/owners")
    for name, uid, gid in [("uid1000-gid1000", 1000, 1000), ("uid65534-gid65534", 65534, 65534),
                           ("uid123456-gid654321", 123456, 654321), ("uid0-gid1000", 0, 1000)]:
        write(f"{ow}/{name}", b"owned\n")
        os.lchown(f"{ow}/{name}", uid, gid)
    os.symlink("uid1000-gid1000", f"{ow}/symlink-owned-by-1000")
    os.lchown(f"{ow}/symlink-owned-by-1000", 1000, 1000)
    os.mkdir(f"{ow}/dir-1234-5678")
    os.lchown(f"{ow}/dir-1234-5678", 1234, 5678)
    os.chmod(f"{ow}/uid1000-gid1000", 0o4750)   # setuid kept after chown
    # fixed times (set last so later changes in the dirs don't touch them)
    td = mkdirs(f"{d}/times")
    for name, sec, nsec in [("2001-09-09", 1000000000, 123456789),
                            ("epoch", 0, 0),
                            ("before-epoch-1960", -315619200, 500000000),
                            ("year-2100", 4102444800, 999999999),
                            ("y2038-plus-1", 2**31, 1)]:
        write(f"{td}/{name}", name.encode() + b"\n")
        set_time(f"{td}/{name}", sec, nsec, atime_sec=1234567890)
    os.symlink("epoch", f"{td}/symlink-fixed")
    set_time(f"{td}/symlink-fixed", 1111111111, 111111111)
    set_time(deepest, 1500000000, 42)    # deepest dir
    set_time(td, 1600000000, 7)
    note(td, "fixed-times")


def recipe_small(d, args):
    """Small set for raid / csum / partition images."""
    mkdirs(d)
    write(f"{d}/empty", b"")
    write(f"{d}/tiny.txt", b"small recipe\n")
    write(f"{d}/inline-1500.txt", pattern_bytes(f"{args.tag}-inline", 1500))
    write(f"{d}/exact-4096.bin", pattern_bytes(f"{args.tag}-exact-4096", 4096))
    write(f"{d}/unaligned-200000.bin", pattern_bytes(f"{args.tag}-unaligned", 200000))
    big = f"{d}/pattern-big.bin"
    write(big, pattern_bytes(f"{args.tag}-big", args.big))
    note(big, "large-file", size=args.big)
    if args.random:
        p = f"{d}/random.bin"
        write(p, rand_bytes(f"{args.tag}-random", args.random))
        note(p, "random-data", size=args.random)
    p = f"{d}/sparse.bin"
    write(p, pattern_bytes(f"{args.tag}-sparse", 65536))
    write(p, pattern_bytes(f"{args.tag}-sparse", 65536, 1 << 20), offset=1 << 20)
    sd = mkdirs(f"{d}/dir")
    os.link(f"{d}/tiny.txt", f"{sd}/tiny-hardlink.txt")
    os.symlink("../tiny.txt", f"{sd}/symlink")
    write(f"{sd}/xattr.txt", b"x\n")
    os.setxattr(f"{sd}/xattr.txt", "user.k", b"v" * 300)
    os.setxattr(f"{sd}/xattr.txt", "user.bin", bytes(range(64)))
    set_time(f"{sd}/xattr.txt", 1300000000, 5)


def recipe_many(d, args):
    """args.count files: ~60% 4 KiB (real extents), ~40% inline, in 50 dirs."""
    mkdirs(d)
    ndirs = 50
    for i in range(ndirs):
        os.mkdir(f"{d}/dir-{i:03d}")
    for i in range(args.count):
        sub = f"{d}/dir-{i % ndirs:03d}"
        name = f"{sub}/file-{i:05d}"
        if i % 5 < 3:
            write(name, pattern_bytes(f"many-{i}", 4096))
        else:
            write(name, pattern_bytes(f"many-{i}", 100 + (i * 37) % 1800))
        if i % 97 == 0:
            os.setxattr(name, "user.index", str(i).encode())
    note(d, "many-files", count=args.count, dirs=ndirs)


def recipe_holes(d, args):
    mkdirs(d)
    # hole at start, middle, end
    p = f"{d}/hole-start.bin"
    write(p, pattern_bytes("hole-start", 8192, 3 << 20), offset=3 << 20)
    note(p, "sparse", holes=[[0, 3 << 20]])
    p = f"{d}/hole-middle.bin"
    write(p, pattern_bytes("hole-middle", 100000))
    write(p, pattern_bytes("hole-middle", 100000, 1 << 20), offset=1 << 20)
    note(p, "sparse", holes=[[102400, (1 << 20) - 102400]])
    p = f"{d}/hole-end.bin"
    write(p, pattern_bytes("hole-end", 12345))
    os.truncate(p, 5 << 20)
    note(p, "sparse", holes=[[16384, (5 << 20) - 16384]])
    p = f"{d}/only-hole.bin"
    write(p, b"")
    os.truncate(p, 7 << 20)
    note(p, "sparse", holes=[[0, 7 << 20]])
    # checkerboard: 32 x (4 KiB data, 4 KiB hole), committed as one write each
    p = f"{d}/checkerboard.bin"
    write(p, b"")
    for i in range(32):
        write(p, pattern_bytes("checkerboard", 4096, i * 8192), offset=i * 8192)
    note(p, "sparse", pattern="4 KiB data / 4 KiB hole x32")
    # punched holes in a written file
    p = f"{d}/punched.bin"
    write(p, pattern_bytes("punched", 1 << 20))
    sync()
    run("fallocate", "--punch-hole", "-o", "65536", "-l", "131072", p)
    run("fallocate", "--punch-hole", "-o", str(900 * 1024), "-l", str(124 * 1024), p)
    note(p, "punched", holes=[[65536, 131072], [900 * 1024, 124 * 1024]])
    # hole after an inline extent (file grows past the inline data)
    p = f"{d}/inline-then-hole.bin"
    write(p, b"short inline start\n")
    sync()
    write(p, pattern_bytes("inline-then-hole", 4096, 65536), offset=65536)
    note(p, "sparse", detail="small start (was inline) then hole then data")
    # prealloc inside a sparse file
    p = f"{d}/prealloc-middle.bin"
    write(p, b"")
    os.truncate(p, 2 << 20)
    run("fallocate", "-o", str(512 * 1024), "-l", str(256 * 1024), p)
    write(p, pattern_bytes("prealloc-middle", 4096, 600 * 1024), offset=600 * 1024)
    note(p, "prealloc", allocated=[512 * 1024, 256 * 1024])
    # truncate down into the middle of an extent
    p = f"{d}/truncated-down.bin"
    write(p, pattern_bytes("truncated-down", 300000))
    sync()
    os.truncate(p, 150001)
    note(p, "truncated", old_size=300000, new_size=150001)


def _compress_set(d, alg, force):
    mkdirs(d)
    tag = f"{'force-' if force else ''}{alg}"
    p = f"{d}/text-1m.txt"
    write(p, text_bytes(1 << 20, tag))
    note(p, "compressed", alg=alg, force=force, expect="8 x 128 KiB compressed extents")
    p = f"{d}/pattern-640k.bin"
    write(p, pattern_bytes(f"{tag}-pattern", 640 * 1024))
    note(p, "compressed", alg=alg, force=force)
    p = f"{d}/inline-3000.txt"
    write(p, text_bytes(3000, tag))
    note(p, "compressed-inline", alg=alg, force=force, size=3000)
    p = f"{d}/inline-200.txt"
    write(p, text_bytes(200, tag))
    note(p, "inline", alg=alg, force=force, size=200)
    p = f"{d}/random-192k.bin"
    write(p, rand_bytes(f"{tag}-random", 192 * 1024))
    note(p, "incompressible", alg=alg, force=force)
    p = f"{d}/mixed.bin"
    write(p, text_bytes(256 * 1024, tag + "-a") + rand_bytes(tag + "-mixed", 128 * 1024)
          + text_bytes(256 * 1024, tag + "-b"))
    note(p, "mixed-compression", alg=alg, force=force,
         layout="256K text, 128K random, 256K text")
    p = f"{d}/unaligned-tail.txt"
    write(p, text_bytes(200000 + 77, tag + "-tail"))
    note(p, "compressed", alg=alg, force=force, detail="size not sector aligned")


def recipe_compress(d, args):
    _compress_set(d, args.alg, False)


def recipe_force(d, args):
    _compress_set(d, args.alg, True)


def recipe_property(d, args):
    mkdirs(d)
    for name, data in [("text-512k.txt", text_bytes(512 * 1024, "prop-" + args.alg)),
                       ("inline-2500.txt", text_bytes(2500, "prop-inline-" + args.alg))]:
        p = f"{d}/{name}"
        write(p, b"")
        run("btrfs", "property", "set", p, "compression", args.alg)
        write(p, data)
        note(p, "compressed-by-property", alg=args.alg)
    # directory property: new files inherit it
    sd = mkdirs(f"{d}/dir-with-property")
    run("btrfs", "property", "set", sd, "compression", args.alg)
    write(f"{sd}/inherited.txt", text_bytes(300 * 1024, "inherit-" + args.alg))
    note(sd, "compression-property-dir", alg=args.alg)


def recipe_default_extras(m, args):
    """Reflinks / clone range / bookend extents in the default image (m = mount)."""
    r = f"{m}/rich"
    clone_file(f"{r}/random-2m.bin", f"{r}/random-2m.reflink")
    note(f"{r}/random-2m.reflink", "reflink", source=rel(f"{r}/random-2m.bin"))
    run("cp", "--reflink=always", f"{r}/pattern-1m-plus.bin", f"{m}/subvol-a/cross-subvol-reflink.bin")
    note(f"{m}/subvol-a/cross-subvol-reflink.bin", "reflink",
         source=rel(f"{r}/pattern-1m-plus.bin"), detail="cross-subvolume cp --reflink=always")
    # clone a range from the middle of an extent into the middle of another file
    dst = f"{r}/clone-range.bin"
    write(dst, pattern_bytes("clone-range", 512 * 1024))
    sync()
    clone_range(f"{r}/random-2m.bin", 5 * 65536, 3 * 65536, dst, 2 * 65536)
    note(dst, "clone-range", source=rel(f"{r}/random-2m.bin"),
         src_offset=5 * 65536, length=3 * 65536, dst_offset=2 * 65536)
    # bookend: 1 MiB extent, then overwrite 64 KiB in the middle
    p = f"{r}/bookend.bin"
    write(p, pattern_bytes("bookend-old", 1 << 20))
    sync()
    write(p, pattern_bytes("bookend-new", 65536, 512 * 1024), offset=512 * 1024)
    sync()
    note(p, "bookend", overwritten=[512 * 1024, 65536],
         detail="original 1 MiB extent is referenced twice with offsets")
    # overwrite a reflinked file partially (shared + own extents)
    p = f"{r}/random-2m.reflink"
    write(p, pattern_bytes("reflink-overwrite", 8192, 100 * 4096), offset=100 * 4096)
    note(p, "partially-overwritten-reflink", overwritten=[100 * 4096, 8192])


def recipe_modify_subvol(d, args):
    """Make the subvolume differ from its snapshot."""
    write(f"{d}/added-after-snapshot.txt", b"not in the first snapshot\n")
    write(f"{d}/pattern-big.bin", pattern_bytes("after-snapshot", 65536, 131072), offset=131072)
    os.unlink(f"{d}/unaligned-200000.bin")
    os.rename(f"{d}/tiny.txt", f"{d}/tiny-renamed.txt")
    note(d, "modified-after-snapshot",
         changes=["added added-after-snapshot.txt", "overwrote pattern-big.bin [131072, +65536]",
                  "deleted unaligned-200000.bin", "renamed tiny.txt -> tiny-renamed.txt"])


RECIPES = {
    "rich": recipe_rich,
    "small": recipe_small,
    "many": recipe_many,
    "holes": recipe_holes,
    "compress": recipe_compress,
    "force": recipe_force,
    "property": recipe_property,
    "default-extras": recipe_default_extras,
    "modify-subvol": recipe_modify_subvol,
}


def main():
    global MOUNT
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", help="JSON list to append notes to")
    ap.add_argument("--mount", help="mount point; report paths relative to it")
    ap.add_argument("recipe", choices=sorted(RECIPES))
    ap.add_argument("dir")
    ap.add_argument("--big", type=int, default=3 << 20)
    ap.add_argument("--random", type=int, default=0)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--alg", default="zstd")
    ap.add_argument("--tag", default="small")
    args = ap.parse_args()
    MOUNT = args.mount
    os.umask(0o022)
    RECIPES[args.recipe](args.dir, args)
    if args.report:
        old = []
        if os.path.exists(args.report):
            with open(args.report) as f:
                old = json.load(f)
        with open(args.report, "w") as f:
            json.dump(old + [dict(r, recipe=args.recipe) for r in REPORT], f, indent=1)


if __name__ == "__main__":
    main()
