import type { Command } from 'commander';
import { fileByteRuns } from '../../analysis/byteRuns.js';
import { type DigestAlgorithm, manifestEntries } from '../../analysis/manifest.js';
import { displayPath } from '../../fs/names.js';
import { dfxmlFileObject, dfxmlHead, dfxmlTail } from '../../report/dfxml.js';
import { ndjsonHeader, toJson, writeJsonStream } from '../../report/json.js';
import { entryJsonRecord, entryRecord, hashdeepHeader, hashdeepLine, mtreeLine, sha256sumLine } from '../../report/manifestFormats.js';
import { worst } from '../batch.js';
import { ByteWriter, type CliIO, EXIT_DAMAGE, LineWriter, TextOut, UsageError } from '../context.js';
import { dfxmlImage } from '../dfxmlFile.js';
import { finish } from '../findings.js';
import { nodeHasher } from '../hashers.js';
import { addImageOptions, type CommonOptions } from '../options.js';
import { parseByteCount } from '../parse.js';
import { openTarget } from '../target.js';
import { VERSION } from '../version.js';

const FORMATS = ['mtree', 'sha256sum', 'hashdeep', 'dfxml', 'json'];

interface ManifestOptions extends CommonOptions {
  format?: string;
  digests?: string;
  maxHashSize?: string;
  content?: boolean;
  times?: boolean;
  xdev?: boolean;
  subvol?: string;
  inode?: string;
}

const ALGORITHMS: readonly DigestAlgorithm[] = ['md5', 'sha1', 'sha256'];

function parseDigests(s: string | undefined, format: string): DigestAlgorithm[] {
  // hashdeep's own default is md5 and sha256 (and DFXML's readers expect md5); every other form carries sha256.
  if (s === undefined) return format === 'hashdeep' || format === 'dfxml' ? ['md5', 'sha256'] : ['sha256'];
  const list = s
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter((x) => x !== '');
  for (const a of list) if (!ALGORITHMS.includes(a as DigestAlgorithm)) throw new UsageError(`--digests: unknown algorithm "${a}" (${ALGORITHMS.join(', ')})`);
  if (list.length === 0) throw new UsageError('--digests: name at least one algorithm');
  // In the order hashdeep writes its columns, whatever order they were given in.
  return ALGORITHMS.filter((a) => list.includes(a));
}

export function registerManifest(program: Command, io: CliIO, done: (code: number) => void): void {
  addImageOptions(program.command('manifest').argument('[image]', 'image file or device').argument('[path]', 'directory to describe, as a mount of subvolume 5 shows it (default /)'))
    .description("a content manifest of every file below PATH: type, mode, owner, size, link target, mtime and sha256, as BSD mtree (default), sha256sum's list or NDJSON")
    .option(
      '--format <format>',
      '"mtree" (as bsdtar --format=mtree writes it), "sha256sum" (regular files, as sha256sum writes them), "hashdeep" (regular files, as hashdeep writes them), "dfxml" (Digital Forensics XML, as fiwalk writes it, with byte runs) or "json" (NDJSON, as --json)',
    )
    .option('--digests <list>', 'content digests, a comma list of md5, sha1, sha256 (default sha256; hashdeep and dfxml: md5,sha256)')
    .option('--no-content', 'no content digests (no file data is read)')
    .option('--max-hash-size <bytes>', 'hash files up to this size (default 64 GiB; a larger file is named on stderr and gets no digest)')
    .option('--no-times', 'leave out mtimes (for reproducible builds, where only content and metadata matter)')
    .option('--xdev', "stay in PATH's subvolume: do not descend into subvolumes and snapshots linked below it")
    .option('--subvol <id|path>', 'PATH is in this subvolume')
    .option('--inode <subvol:ino>', 'describe this directory instead of a path')
    .option('--json-bigint <mode>', 'with --json: u64 values as "number" (default) or "string"')
    .action((image: string | undefined, path: string | undefined, opts: ManifestOptions) => {
      const format = opts.json ? 'json' : (opts.format ?? 'mtree');
      if (opts.json && opts.format !== undefined && opts.format !== 'json') throw new UsageError(`--json and --format ${opts.format} ask for two formats; give one`);
      if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.map((f) => `"${f}"`).join(', ')}, got "${format}"`);
      if ((format === 'sha256sum' || format === 'hashdeep') && opts.content === false) throw new UsageError(`--format ${format} is a list of content digests; --no-content leaves nothing to list`);
      if (opts.content === false && opts.digests !== undefined) throw new UsageError('--digests and --no-content contradict each other');
      if (format === 'sha256sum' && opts.digests !== undefined) throw new UsageError('--format sha256sum carries sha256 only; --digests is for mtree, hashdeep and json');
      const algorithms = parseDigests(opts.digests, format);
      const { fs, view, loc } = openTarget(image, path, opts, io, { defaultPath: '/' });
      if (!loc.ok) return;
      const entries = manifestEntries(view, loc.ref, {
        ...(opts.content !== false ? { hasher: nodeHasher(algorithms) } : {}),
        crossSubvolumes: !opts.xdev,
        ...(opts.maxHashSize !== undefined ? { maxHashSize: parseByteCount(opts.maxHashSize, '--max-hash-size') } : {}),
      });
      const withTimes = opts.times !== false;
      let unreadable = 0;
      const lines = new LineWriter(io.stdout);
      const bytes = new ByteWriter(io.stdout);
      if (format === 'mtree') lines.line('#mtree');
      if (format === 'hashdeep') lines.line(hashdeepHeader(algorithms, `btrfs-inspect manifest ${displayPath(loc.path ?? [])} --format hashdeep --digests ${algorithms.join(',')}`));
      if (format === 'json') lines.line(ndjsonHeader('manifest').slice(0, -1));
      const image0 = dfxmlImage(fs, image);
      if (format === 'dfxml') {
        lines.line(
          dfxmlHead({
            images: [...fs.volume.devices.values()].map((d) => d.name),
            program: 'btrfs-inspect',
            version: VERSION,
            commandLine: `btrfs-inspect manifest ${process.argv.slice(3).join(' ')}`.trim(),
            sectorSize: fs.superblock.sectorsize,
            blockSize: fs.superblock.sectorsize,
            volumeOffset: image0.offset,
          }),
        );
      }
      // Sorted by path (byte order of the mtree form), so that two images with the same content give
      // the same manifest whatever order their directories were filled in: held until the walk ends.
      const out: { key: string; text?: string; bytes?: Uint8Array; record?: Record<string, unknown> }[] = [];
      for (const e of entries) {
        if (e.contentError !== undefined || e.type === 'missing') {
          unreadable++;
          io.stderr.write(`btrfs-inspect: ${displayPath([...(loc.path ?? []), ...e.path])}: ${e.contentError ?? 'inode item unreadable'}; left out of the digests\n`);
        }
        const r = entryRecord(e, withTimes);
        if (format === 'mtree') out.push({ key: r.key, text: mtreeLine(r) });
        else if (format === 'json') {
          const j = entryJsonRecord(e);
          if (!withTimes) {
            delete j['mtime'];
            delete j['mtimeNs'];
          }
          // An entry with xattrs is kept as its record (its xattrs read again, one value at a time,
          // when it is written in its turn): its text would hold every value (16,000 x 64 KB).
          if (e.xattrs === undefined || e.xattrs[Symbol.iterator]().next().done) {
            if (j['xattrs'] !== undefined) j['xattrs'] = [];
            out.push({ key: r.key, text: toJson(j) });
          } else out.push({ key: r.key, record: j });
        } else if (e.type === 'file' && e.digests?.sha256 !== undefined && format === 'sha256sum') out.push({ key: r.key, bytes: sha256sumLine(e.digests.sha256, e.path) });
        else if (e.type === 'file' && e.digests !== undefined && format === 'hashdeep') out.push({ key: r.key, bytes: hashdeepLine(e.size, e.digests, algorithms, e.path) });
        else if (format === 'dfxml') {
          const runs = e.type === 'file' || e.type === 'symlink' ? fileByteRuns(view, e.ref).runs : null;
          out.push({ key: r.key, text: dfxmlFileObject(e, runs, image0.devid, image0.offset) });
        }
      }
      out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const records = new TextOut(io.stdout);
      for (const o of out) {
        if (o.bytes) bytes.write(o.bytes);
        else if (o.record) {
          lines.flush();
          writeJsonStream(o.record, records.write, 0);
          records.write('\n');
          records.flush();
        } else lines.line(o.text!);
      }
      if (format === 'dfxml') lines.line(dfxmlTail().trimEnd());
      lines.flush();
      bytes.flush();
      done(worst(finish(fs, io), unreadable > 0 ? EXIT_DAMAGE : 0));
    });
}
