#!/usr/bin/env python3
"""Scenario steps for the forensics images (deleted, generations, log-tree).

usage:
  forensics.py deleted MNT BACKING_FILE TRUTH_DIR
  forensics.py generations MNT BACKING_FILE TRUTH_DIR
  forensics.py log-tree MNT BACKING_FILE COPY_FILE TRUTH_DIR

MNT is the top-level (subvolid=5) mount of the filesystem whose single device
is backed by BACKING_FILE (a loop device). The filesystem must be mounted with
nodiscard (so freed blocks keep their old content) and noatime (so reading
files for checksums changes nothing on disk); log-tree also needs commit=300.
Generation numbers are read with `btrfs inspect-internal dump-super` from the
backing file right after sync(2), which commits a btrfs transaction.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fill import pattern_bytes, rand_bytes, text_bytes, write  # noqa: E402
from record_truth import record_mounted, walk_files, write_json, sha256_file  # noqa: E402


def sync():
    os.sync()


def super_fields(backing):
    out = subprocess.run(["btrfs", "inspect-internal", "dump-super", backing],
                         check=True, stdout=subprocess.PIPE).stdout.decode()

    def f(name):
        m = re.search(r"^" + re.escape(name) + r"\s+(\d+)", out, re.M)
        return int(m.group(1)) if m else None
    return {"generation": f("generation"), "root": f("root"), "root_level": f("root_level"),
            "log_root": f("log_root"), "log_root_level": f("log_root_level"),
            "chunk_root_generation": f("chunk_root_generation")}


def state(mnt, paths):
    """{path: {sha256, size, ino}} for the given relative paths (None if absent)."""
    out = {}
    for p in paths:
        full = os.path.join(mnt, p)
        if os.path.lexists(full):
            st = os.lstat(full)
            out[p] = {"sha256": sha256_file(full), "size": st.st_size, "ino": st.st_ino,
                      "mtime_ns": st.st_mtime_ns}
        else:
            out[p] = None
    return out


def by_path(walk):
    return {e["path"]: e for e in walk["entries"]}


# ---------------------------------------------------------------------------
def scenario_deleted(mnt, backing, truth):
    keep = f"{mnt}/keep"
    vic = f"{mnt}/victims"
    os.makedirs(keep)
    os.makedirs(f"{vic}/subdir/deeper")
    write(f"{keep}/kept.txt", b"this file stays\n")
    write(f"{keep}/kept-pattern-300k.bin", pattern_bytes("kept-300k", 300000))
    files = {
        "victims/inline-small.txt": text_bytes(700, "deleted-inline"),
        "victims/exact-4096.bin": pattern_bytes("deleted-4096", 4096),
        "victims/pattern-300k.bin": pattern_bytes("deleted-300k", 300000),
        "victims/random-512k.bin": rand_bytes("deleted-random-512k", 512 * 1024),
        "victims/with-xattr.txt": b"has an xattr\n",
        "victims/subdir/one.bin": pattern_bytes("deleted-subdir-one", 20000),
        "victims/subdir/deeper/two.txt": text_bytes(1000, "deleted-two"),
        "victims/hardlinked.bin": pattern_bytes("deleted-hardlinked", 50000),
        "victims/reused-name.txt": text_bytes(5000, "deleted-old-content"),
    }
    for p, data in files.items():
        write(f"{mnt}/{p}", data)
    p = f"{mnt}/victims/sparse.bin"
    write(p, pattern_bytes("deleted-sparse", 65536, 1 << 20), offset=1 << 20)
    files["victims/sparse.bin"] = None
    os.setxattr(f"{mnt}/victims/with-xattr.txt", "user.note", b"deleted with its file")
    os.link(f"{mnt}/victims/hardlinked.bin", f"{keep}/hardlink-survivor.bin")
    sync()
    before = walk_files(mnt)
    gen_before = super_fields(backing)
    write_json(os.path.join(truth, "files-before-delete.json.gz"), before, gz=True)
    # delete
    for p in files:
        os.unlink(f"{mnt}/{p}")
    os.rmdir(f"{vic}/subdir/deeper")
    os.rmdir(f"{vic}/subdir")
    # the name is reused by a new file in the same transaction
    write(f"{mnt}/victims/reused-name.txt", text_bytes(3000, "new-content-same-name"))
    sync()
    gen_after = super_fields(backing)
    bp = by_path(before)
    deleted = []
    for p in files:
        e = bp[p]
        deleted.append({
            "path": p, "ino": e["ino"], "size": e["size"], "sha256": e["sha256"],
            "mode": e["mode"], "nlink_before": e["nlink"], "mtime_ns": e["mtime_ns"],
            "xattrs": e["xattrs"], "extents": e["filefrag"]["extents"],
            "fully_deleted": e["nlink"] == 1,
        })
    write_json(os.path.join(truth, "deleted.json"), {
        "note": "Files written and committed (generation_before), then unlinked and committed "
                "(generation_after); mounted nodiscard so data blocks were not trimmed. "
                "extents are filefrag -v -b1 extents before deletion (physical = btrfs "
                "logical address). victims/hardlinked.bin keeps a second name "
                "keep/hardlink-survivor.bin so its inode and data still exist. "
                "victims/reused-name.txt was deleted and a new file with the same name "
                "created in the same transaction. files-before-delete.json.gz is the full "
                "files view before deletion.",
        "generation_before": gen_before["generation"],
        "generation_after": gen_after["generation"],
        "super_before": gen_before,
        "super_after": gen_after,
        "deleted": deleted,
        "deleted_dirs": [{"path": d, "ino": bp[d]["ino"]}
                         for d in ("victims/subdir", "victims/subdir/deeper")],
        "recreated": [{"path": "victims/reused-name.txt",
                       "sha256": sha256_file(f"{mnt}/victims/reused-name.txt")}],
    })


# ---------------------------------------------------------------------------
def scenario_generations(mnt, backing, truth):
    g = f"{mnt}/gen"
    os.makedirs(g)
    write(f"{g}/modified.bin", pattern_bytes("gen-modified-v1", 1 << 20))
    write(f"{g}/renamed.txt", text_bytes(1500, "gen-renamed"))
    write(f"{g}/unchanged.bin", pattern_bytes("gen-unchanged", 200000))
    write(f"{g}/appended.txt", text_bytes(100000, "gen-appended"))
    write(f"{g}/truncated.bin", pattern_bytes("gen-truncated", 300000))
    tracked = ["gen/modified.bin", "gen/renamed.txt", "gen/unchanged.bin", "gen/appended.txt",
               "gen/truncated.bin", "gen/moved/renamed-new-name.txt"]
    commits = []
    sync()
    s = super_fields(backing)
    commits.append({"commit": 1, "generation": s["generation"], "super": s,
                    "changes": ["created all files"], "files": state(mnt, tracked)})
    write_json(os.path.join(truth, "files-commit1.json.gz"), walk_files(mnt), gz=True)
    # commit 2: partial rewrite, rename into a new dir, append
    write(f"{g}/modified.bin", pattern_bytes("gen-modified-v2", 65536, 256 * 1024),
          offset=256 * 1024)
    os.makedirs(f"{g}/moved")
    os.rename(f"{g}/renamed.txt", f"{g}/moved/renamed-new-name.txt")
    with open(f"{g}/appended.txt", "ab") as f:
        f.write(text_bytes(50000, "gen-appended-more"))
    sync()
    s = super_fields(backing)
    commits.append({"commit": 2, "generation": s["generation"], "super": s,
                    "changes": ["gen/modified.bin: bytes [262144, 327680) rewritten",
                                "gen/renamed.txt renamed to gen/moved/renamed-new-name.txt",
                                "gen/appended.txt: 50000 bytes appended"],
                    "files": state(mnt, tracked)})
    write_json(os.path.join(truth, "files-commit2.json.gz"), walk_files(mnt), gz=True)
    # commit 3: truncate, second rewrite
    os.truncate(f"{g}/truncated.bin", 100000)
    write(f"{g}/modified.bin", pattern_bytes("gen-modified-v3", 4096, 0), offset=0)
    sync()
    s = super_fields(backing)
    commits.append({"commit": 3, "generation": s["generation"], "super": s,
                    "changes": ["gen/truncated.bin truncated 300000 -> 100000",
                                "gen/modified.bin: bytes [0, 4096) rewritten"],
                    "files": state(mnt, tracked)})
    write_json(os.path.join(truth, "generations.json"), {
        "note": "Three commits (sync) with changes between them; files maps path -> "
                "{sha256,size,ino,mtime_ns} or null if absent at that commit. Mounted "
                "nodiscard: old data extents are freed but not trimmed. "
                "files-commit1/2.json.gz are the full files view at commits 1 and 2; "
                "files.json.gz is the final (commit 3) view. The superblock backup roots "
                "hold the tree roots of the last commits.",
        "commits": commits,
    })


# ---------------------------------------------------------------------------
def scenario_log_tree(mnt, backing, copy, truth):
    d = f"{mnt}/lt"
    os.makedirs(d)
    write(f"{d}/committed-only.txt", text_bytes(3000, "lt-committed"))
    write(f"{d}/append-me.txt", pattern_bytes("lt-append", 100000))
    write(f"{d}/overwrite-me.bin", pattern_bytes("lt-overwrite-v1", 256 * 1024))
    write(f"{d}/small-inline.txt", b"inline before\n")
    tracked = ["lt/committed-only.txt", "lt/append-me.txt", "lt/overwrite-me.bin",
               "lt/small-inline.txt", "lt/new-fsynced.bin"]
    sync()
    committed_super = super_fields(backing)
    committed = state(mnt, tracked)
    # changes made durable only through the log tree (fsync, no commit)
    write(f"{d}/new-fsynced.bin", pattern_bytes("lt-new", 80000), fsync=True)
    fd = os.open(f"{d}/append-me.txt", os.O_WRONLY | os.O_APPEND)
    os.write(fd, pattern_bytes("lt-append", 20000, 100000))
    os.fsync(fd)
    os.close(fd)
    write(f"{d}/overwrite-me.bin", pattern_bytes("lt-overwrite-v2", 8192, 65536),
          offset=65536, fsync=True)
    write(f"{d}/small-inline.txt", b"inline after, fsynced\n", fsync=True)
    fsynced = state(mnt, tracked)
    # the kernel's view (no sync: that would commit and drop the log)
    record_mounted(mnt, truth, do_sync=False)
    pre = super_fields(backing)
    if not pre["log_root"]:
        sys.exit("log-tree: superblock has no log_root after fsync")
    subprocess.run(["cp", "--sparse=always", backing, copy], check=True)
    copied = super_fields(copy)
    write_json(os.path.join(truth, "log-tree.json"), {
        "note": "The stored image is a copy of the device taken while mounted, after fsync "
                "of the files below and without a transaction commit (commit=300). "
                "'committed' is the state at the last commit (superblock generation); "
                "'after_log_replay' is what a log replay must produce (the kernel's view at "
                "copy time, same as files.json.gz). null = file absent.",
        "committed_generation": committed_super["generation"],
        "super_at_commit": committed_super,
        "super_of_copy": copied,
        "log_root": copied["log_root"],
        "log_root_level": copied["log_root_level"],
        "fsynced_changes": [
            "lt/new-fsynced.bin created (80000 bytes) + fsync",
            "lt/append-me.txt: 20000 bytes appended + fsync",
            "lt/overwrite-me.bin: bytes [65536, 73728) rewritten + fsync",
            "lt/small-inline.txt rewritten (inline) + fsync",
        ],
        "committed": committed,
        "after_log_replay": fsynced,
    })


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    kind = argv[0]
    os.umask(0o022)
    if kind == "deleted":
        scenario_deleted(*argv[1:4])
    elif kind == "generations":
        scenario_generations(*argv[1:4])
    elif kind == "log-tree":
        scenario_log_tree(*argv[1:5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
