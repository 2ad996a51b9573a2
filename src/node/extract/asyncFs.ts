import * as nodeFs from 'node:fs';

/**
 * The few fs calls extract issues per file, as promises over Node's callback
 * API (each runs on libuv's thread pool; the callback form skips the
 * FileHandle bookkeeping of fs/promises). Paths are Buffers: names from the
 * image are bytes, not necessarily UTF-8.
 */
type Cb<T> = (e: NodeJS.ErrnoException | null, v?: T) => void;

function call<T>(f: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((e, v) => (e ? reject(e) : resolve(v as T))));
}

export const open = (p: Buffer, flags: number, mode: number) => call<number>((cb) => nodeFs.open(p, flags, mode, cb));
export const close = (fd: number) => call<void>((cb) => nodeFs.close(fd, cb));
export const write = (fd: number, b: Uint8Array, off: number, len: number, pos: number) => call<number>((cb) => nodeFs.write(fd, b, off, len, pos, cb));
export const ftruncate = (fd: number, len: number) => call<void>((cb) => nodeFs.ftruncate(fd, len, cb));
export const fchmod = (fd: number, mode: number) => call<void>((cb) => nodeFs.fchmod(fd, mode, cb));
export const fchown = (fd: number, uid: number, gid: number) => call<void>((cb) => nodeFs.fchown(fd, uid, gid, cb));
export const futimes = (fd: number, a: number | string, m: number | string) => call<void>((cb) => nodeFs.futimes(fd, a, m, cb));
export const mkdir = (p: Buffer, mode: number) => call<string | undefined>((cb) => nodeFs.mkdir(p, { mode }, cb));
export const symlink = (target: Buffer, p: Buffer) => call<void>((cb) => nodeFs.symlink(target, p, cb));
export const link = (from: Buffer, to: Buffer) => call<void>((cb) => nodeFs.link(from, to, cb));
export const lchown = (p: Buffer, uid: number, gid: number) => call<void>((cb) => nodeFs.lchown(p, uid, gid, cb));
export const lutimes = (p: Buffer, a: number | string, m: number | string) => call<void>((cb) => nodeFs.lutimes(p, a, m, cb));
export const unlink = (p: Buffer) => call<void>((cb) => nodeFs.unlink(p, cb));
export const lstat = (p: Buffer) => call<nodeFs.Stats | undefined>((cb) => nodeFs.lstat(p, (e, st) => (e?.code === 'ENOENT' ? cb(null, undefined) : cb(e, st))));
export const chmod = (p: Buffer, mode: number) => call<void>((cb) => nodeFs.chmod(p, mode, cb));
