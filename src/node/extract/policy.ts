/**
 * What an extraction takes over from the image that could hand local users
 * privileges when run as root: device nodes (a hostile image can name a raw
 * disk), setuid and setgid bits of files, the owner of every entry, and the
 * output directory's own mode (the image root's mode could make it open to
 * all). Each is off unless asked for (extract/recover --devices, --setuid,
 * --owner; --preserve-all takes all four); what is held back is listed as
 * withheld in the summary.
 */
export interface Preserve {
  /** Make character and block device nodes (as root). */
  devices: boolean;
  /** Keep the setuid and setgid bits of regular files. */
  setuid: boolean;
  /** Give every entry the image's uid and gid (as root). */
  owner: boolean;
  /** Give an output directory this run created the mode of the image's directory it stands for (else 0700). */
  outputMode: boolean;
}

export const PRESERVE_NONE: Preserve = { devices: false, setuid: false, owner: false, outputMode: false };
export const PRESERVE_ALL: Preserve = { devices: true, setuid: true, owner: true, outputMode: true };

/** The options a CLI command turns into a Preserve. */
export function preserveOf(o: { preserveAll?: boolean; devices?: boolean; setuid?: boolean; owner?: boolean }): Preserve {
  if (o.preserveAll) return PRESERVE_ALL;
  return { devices: o.devices ?? false, setuid: o.setuid ?? false, owner: o.owner ?? false, outputMode: false };
}

/** S_ISUID | S_ISGID, and the file type bits of a regular file, S_IFREG within S_IFMT (inode(7)). */
const SETID = 0o6000;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * The permission bits (07777) an entry is given. Setuid and setgid are
 * cleared on regular files only: on a file they run it with the owner's or
 * group's privileges; on a directory setgid only makes new entries inherit
 * its group, and Linux ignores setuid there.
 */
export function keptPerm(mode: number, p: Preserve): number {
  const perm = mode & 0o7777;
  return setidWithheld(mode, p) ? perm & ~SETID : perm;
}

/** Whether a regular file's setuid/setgid bits are withheld (`mode`: st_mode, type bits included). */
export function setidWithheld(mode: number, p: Preserve): boolean {
  return !p.setuid && (mode & S_IFMT) === S_IFREG && (mode & SETID) !== 0;
}

/** The mode an output directory made by this run keeps when the image root's mode is withheld. */
export const PRIVATE_DIR_MODE = 0o700;
