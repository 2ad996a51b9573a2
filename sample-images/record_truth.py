#!/usr/bin/env python3
"""Record the kernel's and btrfs-progs' view of a sample image as truth files.

usage:
  record_truth.py mounted MNT TRUTH_DIR [--files-only] [--no-files] [--no-sync]
      While mounted (subvolid=5, noatime): subvolumes.txt/.json, du.txt,
      df.txt, usage.txt, qgroups.txt/.json (if quotas are on), mount.json,
      and last files.json.gz.
  record_truth.py files MNT OUT.json.gz [--no-sync]
      Only the files walk (used for extra snapshots of the file view).
  record_truth.py unmounted TRUTH_DIR DEV1 [DEV2 ...] [--check-data-csum]
      On the unmounted devices (given in devid order): dump-super*.txt,
      dump-tree.txt.gz, map-logical.json, check.txt.
  record_truth.py manifest TRUTH_DIR STATE_DIR
      Combine build.sh's facts (small files in STATE_DIR: name, description,
      mkfs.cmd, mounts.log, devices.tsv, partition.json, special.json,
      notes.txt) with dump-super / chunk facts into manifest.json.

All JSON is written with sorted keys where order doesn't matter. See README.md
for the schema.
"""
import base64
import ctypes
import ctypes.util
import fcntl
import gzip
import hashlib
import json
import os
import re
import stat
import struct
import subprocess
import sys

# ----------------------------------------------------------------------------
# small utils


def sh(cmd, check=True, **kw):
    """Run a command, return (rc, stdout bytes, stderr bytes)."""
    p = subprocess.run([c if isinstance(c, bytes) else str(c) for c in cmd],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if check and p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(map(str, cmd))}")
    return p.returncode, p.stdout, p.stderr


def sh_merged(cmd):
    """Run a command with stderr merged into stdout; return (rc, bytes)."""
    p = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    return p.returncode, p.stdout


def write_text(path, data):
    if isinstance(data, str):
        data = data.encode()
    with open(path, "wb") as f:
        f.write(data)


def write_json(path, obj, gz=False):
    data = (json.dumps(obj, indent=1, sort_keys=False, ensure_ascii=False) + "\n").encode()
    if gz:
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    compresslevel=9, mtime=0) as f:
            f.write(data)
    else:
        write_text(path, data)


def write_gz(path, data):
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                compresslevel=9, mtime=0) as f:
        f.write(data)


def readable(b):
    """bytes -> str for humans: UTF-8 where valid, \\xNN escapes otherwise."""
    return b.decode("utf-8", errors="backslashreplace")


def b64(b):
    return base64.b64encode(b).decode()


def cmd_header(cmd):
    return "$ " + " ".join(str(c) for c in cmd) + "\n"


# ----------------------------------------------------------------------------
# statx (birth time) via ctypes


class StatxTs(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_int64), ("tv_nsec", ctypes.c_uint32),
                ("reserved", ctypes.c_int32)]


class Statx(ctypes.Structure):
    _fields_ = [("stx_mask", ctypes.c_uint32), ("stx_blksize", ctypes.c_uint32),
                ("stx_attributes", ctypes.c_uint64), ("stx_nlink", ctypes.c_uint32),
                ("stx_uid", ctypes.c_uint32), ("stx_gid", ctypes.c_uint32),
                ("stx_mode", ctypes.c_uint16), ("spare0", ctypes.c_uint16),
                ("stx_ino", ctypes.c_uint64), ("stx_size", ctypes.c_uint64),
                ("stx_blocks", ctypes.c_uint64), ("stx_attributes_mask", ctypes.c_uint64),
                ("stx_atime", StatxTs), ("stx_btime", StatxTs),
                ("stx_ctime", StatxTs), ("stx_mtime", StatxTs),
                ("stx_rdev_major", ctypes.c_uint32), ("stx_rdev_minor", ctypes.c_uint32),
                ("stx_dev_major", ctypes.c_uint32), ("stx_dev_minor", ctypes.c_uint32),
                ("spare2", ctypes.c_uint64 * 14)]


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_statx = getattr(_libc, "statx", None)
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
STATX_BASIC_STATS = 0x7FF
STATX_BTIME = 0x800
STATX_ATTRS = {0x4: "compressed", 0x10: "immutable", 0x20: "append", 0x40: "nodump",
               0x800: "encrypted", 0x1000: "automount", 0x2000: "mount_root",
               0x100000: "verity", 0x200000: "dax"}


def statx_info(path):
    if _statx is None:
        return None
    buf = Statx()
    rc = _statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
                ctypes.byref(buf))
    if rc != 0:
        return None
    out = {}
    if buf.stx_mask & STATX_BTIME:
        out["btime_ns"] = buf.stx_btime.tv_sec * 10**9 + buf.stx_btime.tv_nsec
    attrs = [n for bit, n in STATX_ATTRS.items() if buf.stx_attributes & bit]
    out["statx_attributes"] = attrs
    return out


# ----------------------------------------------------------------------------
# inode flags (lsattr)

FS_IOC_GETFLAGS = 0x80086601
FS_FLAGS = {0x1: "secrm", 0x2: "unrm", 0x4: "compr", 0x8: "sync", 0x10: "immutable",
            0x20: "append", 0x40: "nodump", 0x80: "noatime", 0x400: "nocompress",
            0x4000: "index", 0x10000: "dirsync", 0x20000: "topdir",
            0x800000: "nocow", 0x20000000: "projinherit"}


def fs_flags(path, is_dir):
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOATIME", 0)
    if is_dir:
        flags |= os.O_DIRECTORY
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        buf = bytearray(8)
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf)
        v = struct.unpack("<i", bytes(buf[:4]))[0] & 0xFFFFFFFF
        return v
    except OSError:
        return None
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------
# filefrag

FRAG_RE = re.compile(
    rb"^\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+):\s*(?:(\d+):)?\s*(\S*)\s*$")


def filefrag(path, mnt_b=None):
    rc, out, err = sh(["filefrag", "-v", "-b1", "-s", path], check=False)
    if mnt_b:  # the work-dir mount point is noise: show it as <mnt>
        out = out.replace(mnt_b + b"/", b"<mnt>/")
        err = err.replace(mnt_b + b"/", b"<mnt>/")
    extents = []
    for line in out.split(b"\n"):
        m = FRAG_RE.match(line)
        if not m:
            continue
        ext = {
            "index": int(m.group(1)),
            "logical": int(m.group(2)),
            "logical_end": int(m.group(3)),
            "physical": int(m.group(4)),
            "physical_end": int(m.group(5)),
            "length": int(m.group(6)),
            "flags": [f for f in m.group(8).decode().split(",") if f],
        }
        if m.group(7):
            ext["expected"] = int(m.group(7))
        extents.append(ext)
    return {"rc": rc, "extents": extents, "raw": readable(out + err)}


# ----------------------------------------------------------------------------
# files walk


TYPES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
         stat.S_IFIFO: "fifo", stat.S_IFCHR: "chr", stat.S_IFBLK: "blk",
         stat.S_IFSOCK: "sock"}


def sha256_file(path):
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
    finally:
        os.close(fd)
    return h.hexdigest()


class RootIds:
    """st_dev -> subvolume id (every btrfs subvolume has its own st_dev)."""

    def __init__(self):
        self.by_dev = {}

    def get(self, path, st, parent_id):
        if st.st_dev in self.by_dev:
            return self.by_dev[st.st_dev]
        if stat.S_ISDIR(st.st_mode):
            rc, out, _ = sh(["btrfs", "inspect-internal", "rootid", path], check=False)
            if rc == 0:
                self.by_dev[st.st_dev] = int(out.strip())
                return self.by_dev[st.st_dev]
        return parent_id


def walk_files(mnt):
    mnt_b = os.fsencode(mnt)
    rootids = RootIds()
    entries = []

    def visit(relpath, parent_id, parent_dev):
        full = os.path.join(mnt_b, relpath) if relpath else mnt_b
        st = os.lstat(full)
        ftype = TYPES.get(stat.S_IFMT(st.st_mode), "unknown")
        subvol = rootids.get(full, st, parent_id)
        e = {
            "path": readable(relpath) if relpath else ".",
            "path_b64": b64(relpath) if relpath else "",
            "type": ftype,
            "mode": st.st_mode,
            "mode_octal": oct(st.st_mode)[2:],
            "ino": st.st_ino,
            "nlink": st.st_nlink,
            "uid": st.st_uid,
            "gid": st.st_gid,
            "size": st.st_size,
            "blocks": st.st_blocks,
            "atime_ns": st.st_atime_ns,
            "mtime_ns": st.st_mtime_ns,
            "ctime_ns": st.st_ctime_ns,
            "subvol_id": subvol,
            "subvol_root": ftype == "dir" and (not relpath or st.st_dev != parent_dev)
            and st.st_ino == 256,
        }
        sx = statx_info(full)
        if sx:
            e.update(sx)
        if ftype in ("chr", "blk"):
            e["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        if ftype in ("file", "dir"):
            fl = fs_flags(full, ftype == "dir")
            if fl is not None:
                e["fsflags"] = fl
                e["fsflags_names"] = [n for bit, n in FS_FLAGS.items() if fl & bit]
        try:
            names = sorted(os.listxattr(full, follow_symlinks=False))
        except OSError:
            names = []
        xattrs = {}
        for n in names:
            try:
                xattrs[n] = b64(os.getxattr(full, n, follow_symlinks=False))
            except OSError as ex:
                xattrs[n] = None
                e.setdefault("xattr_errors", {})[n] = str(ex)
        e["xattrs"] = xattrs
        if ftype == "symlink":
            t = os.readlink(full)
            e["symlink_target"] = readable(t)
            e["symlink_target_b64"] = b64(t)
        if ftype == "file":
            e["sha256"] = sha256_file(full)
            e["filefrag"] = filefrag(full, mnt_b)
        entries.append(e)
        if ftype == "dir":
            try:
                names = sorted(os.listdir(full))
            except OSError as ex:
                e["listdir_error"] = str(ex)
                names = []
            for n in names:
                visit(os.path.join(relpath, n) if relpath else n, subvol, st.st_dev)

    visit(b"", 5, None)
    return {
        "format": 1,
        "mount": "subvolid=5 (top-level), noatime while recording",
        "path_note": "path: UTF-8 with \\xNN for invalid bytes (may contain newlines); "
                     "path_b64: exact bytes, base64. Root is '.' with empty path_b64.",
        "symlink_note": "symlink_target is readable form, symlink_target_b64 exact bytes",
        "xattr_note": "xattrs: name -> base64(value)",
        "filefrag_note": "filefrag -v -b1 -s: units are bytes; the mount point is shown as <mnt> in raw; physical = btrfs logical address; "
                         "inline extents show physical 0 and flag 'inline'; FIEMAP merges "
                         "adjacent file extents that are physically contiguous",
        "entries": entries,
    }


# ----------------------------------------------------------------------------
# mounted truth


SUBVOL_RE = re.compile(
    r"^ID (\d+) gen (\d+) cgen (\d+) parent (\d+) top level (\d+) parent_uuid (\S+)\s+"
    r"received_uuid (\S+)\s+uuid (\S+) path (.*)$")


def parse_subvol_list(text):
    out = []
    for line in text.splitlines():
        m = SUBVOL_RE.match(line)
        if not m:
            continue
        g = m.groups()
        out.append({
            "id": int(g[0]), "gen": int(g[1]), "cgen": int(g[2]), "parent": int(g[3]),
            "top_level": int(g[4]),
            "parent_uuid": None if g[5] == "-" else g[5],
            "received_uuid": None if g[6] == "-" else g[6],
            "uuid": None if g[7] == "-" else g[7],
            "path": g[8],
            "path_from_top": g[8][len("<FS_TREE>/"):] if g[8].startswith("<FS_TREE>/") else g[8],
        })
    return out


def parse_subvol_show(text):
    d = {}
    snaps = None
    for line in text.splitlines()[1:]:
        s = line.strip()
        if not s:
            continue
        if snaps is not None and ":" not in s:
            snaps.append(s)
            continue
        if ":" in s:
            k, v = s.split(":", 1)
            k, v = k.strip(), v.strip()
            if k == "Snapshot(s)":
                snaps = []
                d[k] = snaps
                continue
            snaps = None
            d[k] = v
    return d


def parse_qgroups(text):
    lines = text.splitlines()
    out = []
    for line in lines:
        parts = line.split()
        if not parts or not re.match(r"^\d+/\d+$", parts[0]):
            continue
        q = {"qgroupid": parts[0]}
        vals = parts[1:]

        def num(v):
            return None if v == "none" else int(v)
        q["rfer"], q["excl"] = int(vals[0]), int(vals[1])
        q["max_rfer"], q["max_excl"] = num(vals[2]), num(vals[3])
        q["parent"] = [] if vals[4] == "-" else vals[4].split(",")
        q["child"] = [] if vals[5] == "-" else vals[5].split(",")
        q["path"] = " ".join(vals[6:]) if len(vals) > 6 else None
        out.append(q)
    return out


def mount_info(mnt):
    real = os.path.realpath(mnt)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            p = line.split()
            if p[4] == real:
                sep = p.index("-")
                return {"mount_point": real, "mount_options": p[5],
                        "super_options": p[sep + 3], "source": p[sep + 2],
                        "fstype": p[sep + 1]}
    return None


def record_mounted(mnt, truth, files=True, others=True, do_sync=True):
    os.makedirs(truth, exist_ok=True)
    if do_sync:
        subprocess.run(["sync"], check=True)
    if others:
        mi = mount_info(mnt)
        write_json(os.path.join(truth, "mount.json"), mi)
        # subvolumes
        txt = ""
        cmd = ["btrfs", "subvolume", "list", "-a", "-p", "-c", "-g", "-u", "-q", "-R", "-t",
               "--sort=rootid", mnt]
        txt += cmd_header(cmd) + readable(sh(cmd)[1]) + "\n"
        cmd2 = ["btrfs", "subvolume", "list", "-a", "-p", "-c", "-g", "-u", "-q", "-R",
                "--sort=rootid", mnt]
        lst_txt = readable(sh(cmd2)[1])
        txt += cmd_header(cmd2) + lst_txt + "\n"
        cmd = ["btrfs", "subvolume", "get-default", mnt]
        gd = readable(sh(cmd)[1])
        txt += cmd_header(cmd) + gd + "\n"
        subvols = parse_subvol_list(lst_txt)
        shows = {}
        for sv in [{"id": 5, "path": "", "path_from_top": ""}] + subvols:
            p = os.path.join(mnt, sv["path_from_top"]) if sv["path"] else mnt
            cmd = ["btrfs", "subvolume", "show", p]
            rc, out, err = sh(cmd, check=False)
            t = readable(out + err)
            txt += cmd_header(cmd) + t + "\n"
            shows[str(sv["id"])] = parse_subvol_show(t)
        write_text(os.path.join(truth, "subvolumes.txt"), txt)
        m = re.match(r"ID (\d+)", gd)
        write_json(os.path.join(truth, "subvolumes.json"), {
            "default_subvolume_id": int(m.group(1)) if m else None,
            "get_default_raw": gd,
            "list": subvols,
            "show": shows,
        })
        # du
        txt = ""
        for sv in [{"path_from_top": ""}] + subvols:
            p = os.path.join(mnt, sv["path_from_top"]) if sv["path_from_top"] else mnt
            cmd = ["btrfs", "filesystem", "du", "--raw", "-s", p]
            txt += cmd_header(cmd) + readable(sh_merged(cmd)[1]) + "\n"
        cmd = ["btrfs", "filesystem", "du", "--raw", mnt]
        txt += cmd_header(cmd) + readable(sh_merged(cmd)[1]) + "\n"
        write_text(os.path.join(truth, "du.txt"), txt)
        # df / usage
        cmd = ["btrfs", "filesystem", "df", "--raw", mnt]
        write_text(os.path.join(truth, "df.txt"), cmd_header(cmd) + readable(sh_merged(cmd)[1]))
        txt = ""
        for cmd in (["btrfs", "filesystem", "usage", "--raw", mnt],
                    ["btrfs", "device", "usage", "--raw", mnt],
                    ["btrfs", "filesystem", "show", "--raw", mnt]):
            txt += cmd_header(cmd) + readable(sh_merged(cmd)[1]) + "\n"
        write_text(os.path.join(truth, "usage.txt"), txt)
        # qgroups
        cmd = ["btrfs", "qgroup", "show", "-p", "-c", "-r", "-e", "--raw", mnt]
        rc, out, err = sh(cmd, check=False)
        if rc == 0:
            t = readable(out)
            write_text(os.path.join(truth, "qgroups.txt"), cmd_header(cmd) + t)
            write_json(os.path.join(truth, "qgroups.json"), parse_qgroups(t))
    if files:
        write_json(os.path.join(truth, "files.json.gz"), walk_files(mnt), gz=True)
    if do_sync:
        subprocess.run(["sync"], check=True)


# ----------------------------------------------------------------------------
# unmounted truth


CHUNK_RE = re.compile(r"item \d+ key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)")


def parse_chunks(text):
    chunks = []
    cur = None
    for line in text.splitlines():
        m = CHUNK_RE.search(line)
        if m:
            cur = {"logical": int(m.group(1)), "stripes": []}
            chunks.append(cur)
            continue
        if cur is None:
            continue
        s = line.strip()
        m = re.match(r"length (\d+) owner (\d+) stripe_len (\d+) type (\S+)", s)
        if m:
            cur.update(length=int(m.group(1)), owner=int(m.group(2)),
                       stripe_len=int(m.group(3)), type=m.group(4))
        m = re.match(r"num_stripes (\d+) sub_stripes (\d+)", s)
        if m:
            cur.update(num_stripes=int(m.group(1)), sub_stripes=int(m.group(2)))
        m = re.match(r"stripe (\d+) devid (\d+) offset (\d+)", s)
        if m:
            cur["stripes"].append({"stripe": int(m.group(1)), "devid": int(m.group(2)),
                                   "offset": int(m.group(3))})
        if s.startswith("item ") and "CHUNK_ITEM" not in s:
            cur = None
    return chunks


# a tree section header of the default dump-tree output, e.g. "extent tree key
# (EXTENT_TREE ROOT_ITEM 0) " or "root tree" (names with newlines in the dump
# can start lines with anything, so be strict)
SECTION_RE = re.compile(r"^[a-z][a-z ]* tree( key \([^)]*\))?\s*$")
EXT_RE = re.compile(r"item \d+ key \((\d+) (EXTENT_ITEM|METADATA_ITEM) (\d+)\)")


def parse_extents(dump, nodesize):
    exts = []
    in_extent_tree = False
    for line in dump.splitlines():
        if SECTION_RE.match(line):
            in_extent_tree = line.startswith("extent tree")
            continue
        if not in_extent_tree:
            continue
        m = EXT_RE.search(line)
        if m:
            start, kind, off = int(m.group(1)), m.group(2), int(m.group(3))
            exts.append((start, off if kind == "EXTENT_ITEM" else nodesize, kind))
    return sorted(set(exts))


MAP_RE = re.compile(r"^mirror (\d+) logical (\d+) physical (\d+) device (.+)$")


def map_logical(dev, addr, devpaths):
    cmd = ["btrfs-map-logical", "-l", str(addr), "-b", "4096", dev]
    rc, out = sh_merged(cmd)
    text = readable(out)
    mirrors = []
    for line in text.splitlines():
        m = MAP_RE.match(line.strip())
        if m:
            path = m.group(4)
            mirrors.append({"mirror": int(m.group(1)), "logical": int(m.group(2)),
                            "physical": int(m.group(3)), "device_path": path,
                            "devid": devpaths.get(os.path.realpath(path), devpaths.get(path))})
    return {"rc": rc, "ok": bool(mirrors), "mirrors": mirrors, "raw": text}


def dump_super_field(text, name):
    m = re.search(r"^" + re.escape(name) + r"\s+(\S+)", text, re.M)
    return m.group(1) if m else None


def record_unmounted(truth, devs, check_data_csum=False):
    os.makedirs(truth, exist_ok=True)
    multi = len(devs) > 1
    devpaths = {}
    supers = []
    for i, dev in enumerate(devs, 1):
        cmd = ["btrfs", "inspect-internal", "dump-super", "-f", "-a", dev]
        rc, out = sh_merged(cmd)
        text = readable(out)
        name = f"dump-super-dev{i}.txt" if multi else "dump-super.txt"
        write_text(os.path.join(truth, name), cmd_header(cmd) + text)
        devid = dump_super_field(text, "dev_item.devid")
        devpaths[os.path.realpath(dev)] = int(devid) if devid else i
        devpaths[dev] = int(devid) if devid else i
        supers.append(text)
    nodesize = int(dump_super_field(supers[0], "nodesize"))
    # The device btrfs-progs opens: the first, except for a sprouted filesystem, where the
    # seed is devid 1 but opening it opens the seed's own (older) filesystem.
    opened = devs[int(os.environ.get("TRUTH_OPEN_DEV", "0"))]
    # full dump
    cmd = ["btrfs", "inspect-internal", "dump-tree", opened]
    rc, out, err = sh(cmd)
    dump = out.decode("utf-8", errors="surrogateescape")
    write_gz(os.path.join(truth, "dump-tree.txt.gz"), out)
    # log tree, if any: the default dump prints the log root tree (one ROOT_ITEM
    # per logged subvolume) but not the log trees those items point to
    log_root = dump_super_field(supers[0], "log_root")
    if log_root and log_root != "0":
        cmd = ["btrfs", "inspect-internal", "dump-tree", "-t", "TREE_LOG", opened]
        rc, out, err = sh(cmd, check=False)
        blob = cmd_header(cmd).encode() + out + err
        for bytenr in re.findall(rb"\bbytenr (\d+)", out):
            cmd = ["btrfs", "inspect-internal", "dump-tree", "-b", bytenr.decode(), "--follow",
                   opened]
            rc, o2, e2 = sh(cmd, check=False)
            blob += b"\n" + cmd_header(cmd).encode() + o2 + e2
        write_gz(os.path.join(truth, "dump-tree-log.txt.gz"), blob)
    # chunks and map-logical
    rc, out, err = sh(["btrfs", "inspect-internal", "dump-tree", "-t", "chunk", opened])
    chunks = parse_chunks(readable(out))
    extents = parse_extents(dump, nodesize)
    lookups = []
    for c in chunks:
        start, length = c["logical"], c["length"]
        cands = [(start, "chunk-start", None),
                 (start + 65536 + 123 * 4096, "chunk-start+64K+123*4096", None),
                 (start + length - 4096, "chunk-last-sector", None)]
        inchunk = [e for e in extents if start <= e[0] < start + length]
        # first / last / spread extents, plus 64 KiB steps inside big extents
        picks = []
        if inchunk:
            n = len(inchunk)
            idx = sorted(set([0, n - 1] + [n * k // 8 for k in range(1, 8)]))
            picks = [inchunk[i] for i in idx]
            big = sorted(inchunk, key=lambda e: -e[1])[:2]
            for e in big:
                if e not in picks:
                    picks.append(e)
        seen = set(a for a, _, _ in cands)
        for (es, el, kind) in picks:
            cands.append((es, f"{kind}-start", [es, el]))
            seen.add(es)
            steps = 0
            a = es + 65536
            while a < es + el and steps < 8:
                a4 = a - a % 4096
                if a4 not in seen:
                    cands.append((a4, f"{kind}+{a4 - es}", [es, el]))
                    seen.add(a4)
                a += 65536
                steps += 1
            last = es + el - 4096
            if el > 4096 and last not in seen:
                cands.append((last, f"{kind}-last-sector", [es, el]))
                seen.add(last)
        for addr, why, ext in cands:
            r = map_logical(opened, addr, devpaths)
            r.update(logical=addr, chunk=start, why=why, extent=ext)
            lookups.append(r)
    write_json(os.path.join(truth, "map-logical.json"), {
        "note": "btrfs-map-logical -l ADDR -b 4096 DEV; it only maps addresses inside an "
                "allocated extent, so chunk-* lookups of unused space have ok=false and "
                "the error text in raw. physical is a byte offset on the device (for "
                "partitioned images: on the partition). devid is derived from device_path.",
        "device_paths": {p: d for p, d in devpaths.items()},
        "chunks": chunks,
        "lookups": lookups,
    })
    # check
    txt = ""
    cmd = ["btrfs", "check", "--readonly", opened]
    rc, out = sh_merged(cmd)
    txt += cmd_header(cmd) + readable(out) + f"# exit code {rc}\n"
    results = {"check_readonly_rc": rc}
    if check_data_csum:
        cmd = ["btrfs", "check", "--readonly", "--check-data-csum", opened]
        rc2, out = sh_merged(cmd)
        txt += "\n" + cmd_header(cmd) + readable(out) + f"# exit code {rc2}\n"
        results["check_data_csum_rc"] = rc2
    write_text(os.path.join(truth, "check.txt"), txt)
    write_json(os.path.join(truth, "check.json"), results)
    if rc != 0:
        print(f"WARNING: btrfs check --readonly exit code {rc} for {truth}", file=sys.stderr)


# ----------------------------------------------------------------------------
# manifest


def parse_flags(text, name):
    m = re.search(r"^" + name + r"\s+(0x[0-9a-f]+)\s*\n((?:\s+[(|]?.*\n)*)", text, re.M)
    if not m:
        return None, []
    names = re.findall(r"([A-Z0-9_]+)", m.group(2))
    return int(m.group(1), 16), names


def read_state(state):
    """build.sh leaves small files in STATE_DIR; turn them into a dict."""
    def rd(name, default=None):
        p = os.path.join(state, name)
        if not os.path.exists(p):
            return default
        with open(p) as f:
            return f.read()
    man = {"name": rd("name").strip(), "description": rd("description", "").strip()}
    man["mkfs_command"] = rd("mkfs.cmd", "").strip()
    man["mount_options_used"] = [l for l in rd("mounts.log", "").splitlines() if l.strip()]
    man["devices"] = []
    for line in rd("devices.tsv", "").splitlines():
        f, size = line.split("\t")
        man["devices"].append({"file": f, "size": int(size)})
    p = rd("partition.json")
    man["partition"] = json.loads(p) if p else None
    p = rd("special.json")
    man["special"] = json.loads(p) if p else []
    man["notes"] = [l for l in rd("notes.txt", "").splitlines() if l.strip()]
    return man


def record_manifest(truth, state):
    man = read_state(state)
    multi = len(man["devices"]) > 1
    supers = []
    for i, dev in enumerate(man["devices"], 1):
        name = f"dump-super-dev{i}.txt" if multi else "dump-super.txt"
        with open(os.path.join(truth, name)) as f:
            t = f.read()
        supers.append(t)
        dev["devid"] = int(dump_super_field(t, "dev_item.devid"))
        dev["dev_uuid"] = dump_super_field(t, "dev_item.uuid")
        dev["dev_total_bytes"] = int(dump_super_field(t, "dev_item.total_bytes"))
        dev["superblock_mirrors"] = [int(x) for x in re.findall(
            r"^superblock: bytenr=(\d+)", t, re.M)]
    s = supers[0]
    man["fsid"] = dump_super_field(s, "fsid")
    man["metadata_uuid"] = dump_super_field(s, "metadata_uuid")
    label = re.search(r"^label\s*(.*)$", s, re.M)
    man["label"] = label.group(1).strip() if label else None
    m = re.search(r"^csum_type\s+(\d+)\s+\((\S+)\)", s, re.M)
    man["csum_type"], man["csum_type_id"] = m.group(2), int(m.group(1))
    man["csum_size"] = int(dump_super_field(s, "csum_size"))
    man["nodesize"] = int(dump_super_field(s, "nodesize"))
    man["sectorsize"] = int(dump_super_field(s, "sectorsize"))
    man["generation"] = int(dump_super_field(s, "generation"))
    man["num_devices"] = int(dump_super_field(s, "num_devices"))
    man["total_bytes"] = int(dump_super_field(s, "total_bytes"))
    man["bytes_used"] = int(dump_super_field(s, "bytes_used"))
    man["log_root"] = int(dump_super_field(s, "log_root"))
    feats = {}
    for fl in ("flags", "compat_flags", "compat_ro_flags", "incompat_flags"):
        v, names = parse_flags(s, fl)
        feats[fl] = {"value": v, "names": names}
    man["features"] = feats
    with open(os.path.join(truth, "map-logical.json")) as f:
        chunks = json.load(f)["chunks"]
    prof = {}
    for c in chunks:
        parts = c["type"].split("|")
        kind = "+".join(p for p in parts if p in ("DATA", "METADATA", "SYSTEM"))
        profile = [p for p in parts if p not in ("DATA", "METADATA", "SYSTEM")]
        prof.setdefault(kind, set()).add(profile[0] if profile else "single")
    man["profiles"] = {k: sorted(v) for k, v in prof.items()}
    man["chunk_count"] = len(chunks)
    with open(os.path.join(truth, "check.json")) as f:
        man["check"] = json.load(f)
    order = ["name", "description", "devices", "partition", "mkfs_command", "mount_options_used",
             "mount_options_at_recording", "profiles", "csum_type", "csum_type_id", "csum_size", "nodesize", "sectorsize",
             "features", "fsid", "metadata_uuid", "label", "generation", "num_devices",
             "total_bytes", "bytes_used", "log_root", "chunk_count", "check", "special", "notes"]
    mj = os.path.join(truth, "mount.json")
    if os.path.exists(mj):
        with open(mj) as f:
            man["mount_options_at_recording"] = json.load(f)
    out = {k: man[k] for k in order if k in man}
    out.update({k: v for k, v in man.items() if k not in out})
    write_json(os.path.join(truth, "manifest.json"), out)


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, rest = argv[0], argv[1:]
    if cmd == "mounted":
        flags = [a for a in rest if a.startswith("--")]
        pos = [a for a in rest if not a.startswith("--")]
        record_mounted(pos[0], pos[1], files="--no-files" not in flags,
                       others="--files-only" not in flags, do_sync="--no-sync" not in flags)
    elif cmd == "files":
        pos = [a for a in rest if not a.startswith("--")]
        if "--no-sync" not in rest:
            subprocess.run(["sync"], check=True)
        write_json(pos[1], walk_files(pos[0]), gz=pos[1].endswith(".gz"))
    elif cmd == "unmounted":
        flags = [a for a in rest if a.startswith("--")]
        pos = [a for a in rest if not a.startswith("--")]
        record_unmounted(pos[0], pos[1:], check_data_csum="--check-data-csum" in flags)
    elif cmd == "manifest":
        record_manifest(rest[0], rest[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
