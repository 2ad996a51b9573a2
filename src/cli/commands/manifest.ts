import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { manifestEntries, type ContentHasher } from '../../analysis/manifest.js';
import { entryJsonRecord, entryRecord, mtreeLine, sha256sumLine } from '../../report/manifestFormats.js';
import { ndjsonHeader, toJson } from '../../report/json.js';
import { displayPath } from '../../fs/names.js';
import { ByteWriter, EXIT_DAMAGE, LineWriter, UsageError, type CliIO } from '../context.js';
import { finish } from '../findings.js';
import { addImageOptions, type CommonOptions } from '../options.js';
import { openTarget } from '../target.js';
import { worst } from '../batch.js';

interface ManifestOptions extends CommonOptions {
  format?: string;
  content?: boolean;
  times?: boolean;
  xdev?: boolean;
  subvol?: string;
  inode?: string;
}

/** sha256 through Node's crypto (native, several times the JS implementation's speed). */
export const sha256Hasher = (): ContentHasher => {
  const h = createHash('sha256');
  return { update: (b) => { h.update(b); }, digest: () => h.digest('hex') };
};

export function registerManifest(program: Command, io: CliIO, done: (code: number) => void): void {
  addImageOptions(program.command('manifest').argument('[image]', 'image file or device').argument('[path]', 'directory to describe, as a mount of subvolume 5 shows it (default /)'))
    .description('a content manifest of every file below PATH: type, mode, owner, size, link target, mtime and sha256, as BSD mtree (default), sha256sum\'s list or NDJSON')
    .option('--format <format>', '"mtree" (as bsdtar --format=mtree writes it), "sha256sum" (regular files, as sha256sum writes them) or "json" (NDJSON, as --json)')
    .option('--no-content', 'no content digests (no file data is read)')
    .option('--no-times', 'leave out mtimes (for reproducible builds, where only content and metadata matter)')
    .option('--xdev', 'stay in PATH\'s subvolume: do not descend into subvolumes and snapshots linked below it')
    .option('--subvol <id|path>', 'PATH is in this subvolume')
    .option('--inode <subvol:ino>', 'describe this directory instead of a path')
    .option('--json-bigint <mode>', 'with --json: u64 values as "number" (default) or "string"')
    .action((image: string | undefined, path: string | undefined, opts: ManifestOptions) => {
      const format = opts.json ? 'json' : opts.format ?? 'mtree';
      if (opts.json && opts.format !== undefined && opts.format !== 'json') throw new UsageError(`--json and --format ${opts.format} ask for two formats; give one`);
      if (format !== 'mtree' && format !== 'sha256sum' && format !== 'json') throw new UsageError(`--format must be "mtree", "sha256sum" or "json", got "${format}"`);
      if (format === 'sha256sum' && opts.content === false) throw new UsageError('--format sha256sum is a list of content digests; --no-content leaves nothing to list');
      const { fs, view, loc } = openTarget(image, path, opts, io, { defaultPath: '/' });
      if (!loc.ok) return;
      const entries = manifestEntries(view, loc.ref, {
        ...(opts.content !== false ? { hasher: sha256Hasher } : {}),
        crossSubvolumes: !opts.xdev,
      });
      const withTimes = opts.times !== false;
      let unreadable = 0;
      const lines = new LineWriter(io.stdout);
      const bytes = new ByteWriter(io.stdout);
      if (format === 'mtree') lines.line('#mtree');
      if (format === 'json') lines.line(ndjsonHeader('manifest').slice(0, -1));
      // Sorted by path (byte order of the mtree form), so that two images with the same content give
      // the same manifest whatever order their directories were filled in: held until the walk ends.
      const out: { key: string; text?: string; bytes?: Uint8Array }[] = [];
      for (const e of entries) {
        if (e.contentError !== undefined || e.type === 'missing') {
          unreadable++;
          io.stderr.write(`btrfs-inspect: ${displayPath([...(loc.path ?? []), ...e.path], { controls: true })}: ${e.contentError ?? 'inode item unreadable'}; left out of the digests\n`);
        }
        const r = entryRecord(e, withTimes);
        if (format === 'mtree') out.push({ key: r.key, text: mtreeLine(r) });
        else if (format === 'json') {
          const j = entryJsonRecord(e);
          if (!withTimes) { delete j['mtime']; delete j['mtimeNs']; }
          out.push({ key: r.key, text: toJson(j) });
        } else if (e.type === 'file' && e.digest !== undefined) out.push({ key: r.key, bytes: sha256sumLine(e.digest, e.path) });
      }
      out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const o of out) {
        if (o.bytes) bytes.write(o.bytes);
        else lines.line(o.text!);
      }
      lines.flush();
      bytes.flush();
      done(worst(finish(fs, io), unreadable > 0 ? EXIT_DAMAGE : 0));
    });
}
