/** The keywords a manifest comparison knows, in mtree's names (mtree(5)). */
export type ManifestField = 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'link' | 'md5digest' | 'sha1digest' | 'sha256digest' | 'time' | 'nlink' | 'device';

/**
 * A file of a manifest, or of the image, reduced to canonical strings per
 * keyword: the same file described by two tools gives equal strings.
 */
export interface ManifestRecord {
  /** The path in mtree's form: "." for the start, "./etc/hostname" below it. */
  key: string;
  fields: Partial<Record<ManifestField, string>>;
  /** mtree "optional": the entry may be absent. */
  optional?: boolean;
  /** mtree "ignore": nothing below this directory is compared. */
  ignoreBelow?: boolean;
  /** Line of the manifest it came from. */
  line?: number;
}

export type ManifestDifference =
  | { kind: 'missing'; key: string; line?: number }
  | { kind: 'extra'; key: string; type?: string }
  | { kind: 'different'; key: string; line?: number; field: ManifestField; expected: string; found: string | null };

/**
 * What differs between a manifest and the image: entries the manifest names
 * and the image lacks, entries of the image the manifest does not name
 * (within its scope: a list of regular files says nothing of directories),
 * and every keyword the manifest gives whose value the image does not have.
 * Only the keywords a manifest gives are compared, so a manifest without
 * times says nothing of times.
 */
export function compareManifest(expected: readonly ManifestRecord[], scope: 'all' | 'files', actual: Iterable<ManifestRecord>): ManifestDifference[] {
  const want = new Map<string, ManifestRecord>();
  for (const r of expected) want.set(r.key, r);
  const ignored = expected.filter((r) => r.ignoreBelow).map((r) => r.key + '/');
  const below = (key: string) => ignored.some((p) => key.startsWith(p));
  const out: ManifestDifference[] = [];
  const seen = new Set<string>();
  for (const a of actual) {
    const w = want.get(a.key);
    if (!w) {
      if (below(a.key)) continue;
      if (scope === 'files' && a.fields.type !== 'file') continue;
      out.push({ kind: 'extra', key: a.key, ...(a.fields.type !== undefined ? { type: a.fields.type } : {}) });
      continue;
    }
    seen.add(a.key);
    for (const [f, v] of Object.entries(w.fields) as [ManifestField, string][]) {
      const found = a.fields[f] ?? null;
      if (found !== v) out.push({ kind: 'different', key: a.key, ...(w.line !== undefined ? { line: w.line } : {}), field: f, expected: v, found });
    }
  }
  for (const w of expected) {
    if (seen.has(w.key) || w.optional || below(w.key)) continue;
    out.push({ kind: 'missing', key: w.key, ...(w.line !== undefined ? { line: w.line } : {}) });
  }
  return out;
}
