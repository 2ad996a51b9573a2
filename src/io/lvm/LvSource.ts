import type { LvmLogicalVolume, LvmSegment, LvmVolumeGroupMetadata } from '../../format/lvm/metadata.js';
import { type ByteSource, SourceError } from '../ByteSource.js';

/**
 * A logical volume read as one disk: each segment's extents mapped to its PV areas. A linear
 * segment (one area) is contiguous on its PV; a striped one (n areas) deals chunks of
 * `stripeBytes` to its areas in turn, each area holding extent_count / n extents:
 * chunk c of the segment lies in area c mod n, at row floor(c / n) of that area.
 * PVs the VG needs but nobody gave read as a SourceError naming the PV (the volume layer reports
 * it and goes on).
 */
export class LvSource implements ByteSource {
  readonly name: string;
  readonly size: bigint;
  private readonly segs: LvmSegment[];

  constructor(
    readonly vg: LvmVolumeGroupMetadata,
    readonly lv: LvmLogicalVolume,
    private readonly pvs: ReadonlyMap<string, ByteSource>,
  ) {
    this.name = `${vg.name}/${lv.name}`;
    this.segs = lv.segments;
    this.size = lv.extents * vg.extentBytes;
  }

  /** Where LV offset `o` lies: the PV name, the byte offset on it, and how many bytes follow there contiguously. */
  locate(o: bigint): { pv: string; offset: bigint; run: bigint } {
    const ext = this.vg.extentBytes;
    const e = o / ext;
    let lo = 0,
      hi = this.segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segs[mid]!.startExtent <= e) lo = mid;
      else hi = mid - 1;
    }
    const s = this.segs[lo];
    if (!s || e < s.startExtent || e >= s.startExtent + s.extentCount) throw new SourceError(this.name, o, `no segment maps extent ${e}`);
    if (s.type !== 'striped' || s.areas.length === 0)
      throw new SourceError(this.name, o, `segment at extent ${s.startExtent} is of type "${s.type || 'none'}", which is not read (linear and striped are)`);
    const inSeg = o - s.startExtent * ext;
    const segEnd = s.extentCount * ext;
    const pvOf = (pvName: string) => this.vg.pvs.find((p) => p.name === pvName);
    if (s.areas.length > 1 && s.stripeBytes <= 0n) throw new SourceError(this.name, o, `segment at extent ${s.startExtent} has ${s.areas.length} stripes but no stripe_size`);
    if (s.areas.length === 1) {
      const a = s.areas[0]!;
      const p = pvOf(a.pv);
      if (!p) throw new SourceError(this.name, o, `segment names PV "${a.pv}", which the VG does not list`);
      return { pv: a.pv, offset: p.peStart + a.pe * ext + inSeg, run: segEnd - inSeg };
    }
    const n = BigInt(s.areas.length);
    const chunk = inSeg / s.stripeBytes;
    const within = inSeg % s.stripeBytes;
    const a = s.areas[Number(chunk % n)]!;
    const p = pvOf(a.pv);
    if (!p) throw new SourceError(this.name, o, `segment names PV "${a.pv}", which the VG does not list`);
    const left = segEnd - inSeg;
    const run = s.stripeBytes - within < left ? s.stripeBytes - within : left;
    return { pv: a.pv, offset: p.peStart + a.pe * ext + (chunk / n) * s.stripeBytes + within, run };
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const n = BigInt(length) > this.size - offset ? Number(this.size - offset) : length;
    const out = new Uint8Array(n);
    const got = this.readInto(offset, out);
    return got === n ? out : out.subarray(0, got);
  }

  readInto(offset: bigint, into: Uint8Array): number {
    if (offset < 0n || offset >= this.size || into.length === 0) return 0;
    const n = BigInt(into.length) > this.size - offset ? Number(this.size - offset) : into.length;
    let done = 0;
    while (done < n) {
      const pos = offset + BigInt(done);
      const { pv, offset: at, run } = this.locate(pos);
      const src = this.pvs.get(pv);
      if (!src) {
        const p = this.vg.pvs.find((x) => x.name === pv);
        throw new SourceError(this.name, pos, `lies on PV ${pv} (uuid ${p?.id ?? '?'}), which was not given; add it with --device`);
      }
      const take = BigInt(n - done) > run ? Number(run) : n - done;
      const target = into.subarray(done, done + take);
      let got: number;
      if (src.readInto) got = src.readInto(at, target);
      else {
        const b = src.read(at, take);
        target.set(b);
        got = b.length;
      }
      if (got < take) throw new SourceError(this.name, pos, `PV ${pv} (${src.name}) ends at ${at + BigInt(got)}, inside the LV`);
      done += take;
    }
    return done;
  }

  close(): void {
    for (const s of new Set(this.pvs.values())) s.close?.();
  }
}
