import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { ByteSource } from '../../io/ByteSource.js';
import { type EwfInfo, EwfSource } from '../../io/containers/ewf.js';
import { Qcow2Source } from '../../io/containers/qcow2.js';
import { VhdDynamicSource } from '../../io/containers/vhd.js';
import { VhdxSource } from '../../io/containers/vhdx.js';
import { VmdkSource } from '../../io/containers/vmdk.js';
import { openByteSource } from '../../io/node/openSource.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, InputError } from '../context.js';
import { containerLayer } from '../layers.js';
import { addInputFormatOption, addOutputOptions, parseInputFormat } from '../options.js';
import { renderFields, renderTable } from '../table.js';

const nodeHashers = { md5: () => createHash('md5'), sha1: () => createHash('sha1') };

/** Every byte of the disk, hashed (for containers that store no hash of their own). */
function hashDisk(src: ByteSource): { md5: string; sha1: string } {
  const m = createHash('md5'),
    s = createHash('sha1');
  const buf = new Uint8Array(4 << 20);
  for (let o = 0n; o < src.size; o += BigInt(buf.length)) {
    const b = src.readInto ? buf.subarray(0, src.readInto(o, buf)) : src.read(o, buf.length);
    m.update(b);
    s.update(b);
  }
  return { md5: m.digest('hex'), sha1: s.digest('hex') };
}

/** A differencing disk's parent (a VHD's, a VHDX's, a VMDK delta's), or null. */
function parentOf(src: ByteSource): ByteSource | null {
  return src instanceof VhdDynamicSource || src instanceof VhdxSource || src instanceof VmdkSource ? src.parent : null;
}

/**
 * The parents a differencing VHD, VHDX or VMDK delta reads through, nearest first: each parent's
 * file (as opened: the locator or hint resolved) and its format, detected from its own bytes. The
 * chain is finite: opening refused loops and chains deeper than MAX_BACKING_DEPTH.
 */
function parentChain(src: ByteSource): { file: string; format: string }[] {
  const out: { file: string; format: string }[] = [];
  for (let at = parentOf(src); at; at = parentOf(at)) out.push({ file: at.name, format: containerLayer(at.name, at).format });
  return out;
}

/** A qcow2's header, backing chain and internal snapshots. */
function qcow2Facts(q: Qcow2Source) {
  const chain: { name: string; format: string | null; file: string }[] = [];
  let at: ByteSource | null = q;
  while (at instanceof Qcow2Source && at.header.backingFile !== null) {
    chain.push({ name: at.header.backingFile, format: at.header.backingFormat, file: at.backing?.name ?? '' });
    at = at.backing;
  }
  const h = q.header;
  return {
    version: h.version,
    clusterSize: h.clusterSize,
    compressionType: h.compressionType,
    extendedL2: h.extendedL2,
    backing: chain,
    // "id" is no name of the JSON vocabulary: a qcow2 snapshot's id is "snapshot".
    snapshots: q.snapshots().map(({ id, ...rest }) => ({ snapshot: id, ...rest })),
    ...(q.snapshot ? { snapshotRead: q.snapshot.id } : {}),
  };
}

export function registerImageInfo(program: Command, io: CliIO, done: (code: number) => void): void {
  addInputFormatOption(addOutputOptions(program.command('image-info').argument('<image>', 'image file, container or device')))
    .description(
      'what an image file is: its container format and disk size; EWF case metadata and stored MD5/SHA1; qcow2 header, backing chain and internal snapshots; the parent chain of a differencing VHD, VHDX or VMDK delta',
    )
    .option('--verify', 'read every byte of the disk and hash it (MD5, SHA1): compared with the hashes an EWF acquisition stored')
    .option('--json', 'machine-readable output')
    .action((image: string, opts: { verify?: boolean; json?: boolean; inputFormat?: string }) => {
      const format = parseInputFormat(opts.inputFormat);
      if (!existsSync(image)) throw new InputError(`${image}: no such file or device`);
      let src: ByteSource;
      try {
        src = openByteSource(image, format !== undefined ? { format } : {});
      } catch (e) {
        throw new InputError((e as Error).message);
      }
      const container = containerLayer(image, src, format);
      const ewf: EwfInfo | null = src instanceof EwfSource ? src.info() : null;
      const qcow2 = src instanceof Qcow2Source ? qcow2Facts(src) : null;
      const parents = parentChain(src);
      let verify: { md5: string; sha1: string; md5Matches: boolean | null; sha1Matches: boolean | null } | null = null;
      if (opts.verify) {
        verify = src instanceof EwfSource ? src.verify({ hashers: nodeHashers }) : { ...hashDisk(src), md5Matches: null, sha1Matches: null };
      }
      const mismatch = verify !== null && (verify.md5Matches === false || verify.sha1Matches === false);
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('image-info', { image, format: container.format, size: container.size, parents, ewf, qcow2, verify }), 2) + '\n');
      } else {
        const rows: [string, unknown][] = [
          ['format', container.format],
          ['disk size', container.size],
        ];
        if (parents.length) rows.push(['parent chain', parents.map((p) => `${p.file} (${p.format})`).join(' -> ')]);
        if (ewf) {
          for (const [k, v] of Object.entries(ewf)) if (k !== 'format' && k !== 'readErrors' && v !== undefined) rows.push([k, v]);
          rows.push(['readErrors', ewf.readErrors.map((e) => `${e.sector}+${e.count}`).join(', ') || 'none']);
        }
        if (qcow2) {
          rows.push(['qcow2 version', qcow2.version], ['cluster size', qcow2.clusterSize], ['compression type', qcow2.compressionType], ['extended L2', qcow2.extendedL2]);
          rows.push(['backing chain', qcow2.backing.map((b) => `${b.name}${b.format ? ` (${b.format})` : ''}`).join(' -> ') || 'none']);
        }
        if (verify) {
          const said = (m: boolean | null) => (m === null ? ' (no stored hash)' : m ? ' (matches the stored hash)' : ' (DOES NOT MATCH the stored hash)');
          rows.push(['computed MD5', verify.md5 + said(verify.md5Matches)], ['computed SHA1', verify.sha1 + said(verify.sha1Matches)]);
        }
        io.stdout.write(
          renderFields(
            rows.map(([k, v]) => [k, String(v)]),
            `${image}`,
          ) + '\n',
        );
        if (qcow2?.snapshots.length) {
          io.stdout.write(
            '\n' +
              renderTable(
                ['id', 'name', 'date', 'disk size', 'vm state'],
                qcow2.snapshots.map((s) => [s.snapshot, s.name, s.date, s.diskSize ?? container.size, s.vmStateSize]),
                { title: 'internal snapshots (read one with --snapshot ID|NAME)' },
              ) +
              '\n',
          );
        }
      }
      done(mismatch ? EXIT_DAMAGE : EXIT_OK);
    });
}
