/**
 * Every view has an address in the URL hash, so a view (a tree block, a
 * file, a finding's place) can be shared as a link:
 *   #/overview · #/trees · #/tree/<tree id>/<block logical>[/<slot>] · #/block/<logical>[/<slot>]
 *   #/files · #/files/<subvol>/<path in the subvolume> · #/inode/<subvol>/<ino> · #/damage
 *   #/device/<devid>/<byte offset>
 *   #/layout · #/layout/<logical in a chunk> · #/sharing · #/sharing/diff/<subvol a>/<subvol b>
 *   #/forensics/<roots|deleted|timeline>[/<filters>] (the timeline's filters, as URL query text)
 */
export type ForensicsTab = 'roots' | 'deleted' | 'timeline';
export type Route =
  | { view: 'overview' }
  | { view: 'trees' }
  | { view: 'block'; tree: string | null; logical: string; slot?: number }
  | { view: 'files'; subvol: string | null; path: string[] }
  | { view: 'inode'; subvol: string; ino: string }
  | { view: 'device'; devid: string; offset: string }
  | { view: 'damage' }
  | { view: 'layout'; chunk: string | null }
  | { view: 'sharing'; diff: [string, string] | null }
  | { view: 'forensics'; tab: ForensicsTab; filters?: TimelineFilters };

/** The timeline's filters: path text, a MACB letter, deleted only, a UTC time range (datetime-local text). */
export interface TimelineFilters {
  text: string;
  macb: string;
  deleted: boolean;
  from: string;
  to: string;
}

export const NO_FILTERS: TimelineFilters = { text: '', macb: '', deleted: false, from: '', to: '' };

function filtersOf(p: string | undefined): { filters?: TimelineFilters } {
  if (p === undefined || p.length === 0) return {};
  const q = new URLSearchParams(p);
  const macb = q.get('macb') ?? '';
  return { filters: { text: q.get('path') ?? '', macb: /^[macb]$/.test(macb) ? macb : '', deleted: q.get('deleted') === '1', from: q.get('from') ?? '', to: q.get('to') ?? '' } };
}

function filtersText(f: TimelineFilters): string {
  const q = new URLSearchParams();
  if (f.text) q.set('path', f.text);
  if (f.macb) q.set('macb', f.macb);
  if (f.deleted) q.set('deleted', '1');
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  return q.toString();
}

const TABS: readonly ForensicsTab[] = ['roots', 'deleted', 'timeline'];

const U64 = /^\d+$/;

/** A slot number in an address, when there is one (a block opened at an item). */
function slotOf(p: string | undefined): { slot?: number } {
  return p !== undefined && /^\d{1,6}$/.test(p) ? { slot: Number(p) } : {};
}

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .map((p) => decodeURIComponent(p));
  const [head, ...rest] = parts;
  switch (head) {
    case 'trees':
      return { view: 'trees' };
    case 'tree':
      if (rest.length >= 2 && U64.test(rest[0]!) && U64.test(rest[1]!)) return { view: 'block', tree: rest[0]!, logical: rest[1]!, ...slotOf(rest[2]) };
      return { view: 'trees' };
    case 'block':
      if (rest.length >= 1 && U64.test(rest[0]!)) return { view: 'block', tree: null, logical: rest[0]!, ...slotOf(rest[1]) };
      return { view: 'trees' };
    case 'inode':
      if (rest.length >= 2 && U64.test(rest[0]!) && U64.test(rest[1]!)) return { view: 'inode', subvol: rest[0]!, ino: rest[1]! };
      return { view: 'files', subvol: null, path: [] };
    case 'device':
      if (rest.length >= 2 && U64.test(rest[0]!) && U64.test(rest[1]!)) return { view: 'device', devid: rest[0]!, offset: rest[1]! };
      return { view: 'layout', chunk: null };
    case 'files':
      if (rest.length >= 1 && U64.test(rest[0]!)) return { view: 'files', subvol: rest[0]!, path: rest.slice(1).filter((p) => p.length > 0) };
      return { view: 'files', subvol: null, path: [] };
    case 'damage':
      return { view: 'damage' };
    case 'layout':
      return { view: 'layout', chunk: rest[0] !== undefined && U64.test(rest[0]) ? rest[0] : null };
    case 'sharing':
      if (rest[0] === 'diff' && rest.length >= 3 && U64.test(rest[1]!) && U64.test(rest[2]!)) return { view: 'sharing', diff: [rest[1]!, rest[2]!] };
      return { view: 'sharing', diff: null };
    case 'forensics': {
      const tab = TABS.find((t) => t === rest[0]) ?? 'roots';
      // The filters' text may hold "/" (a path): everything after the tab is theirs.
      return { view: 'forensics', tab, ...(tab === 'timeline' ? filtersOf(rest.slice(1).join('/')) : {}) };
    }
    default:
      return { view: 'overview' };
  }
}

export function href(r: Route): string {
  switch (r.view) {
    case 'overview':
      return '#/overview';
    case 'trees':
      return '#/trees';
    case 'block': {
      const slot = r.slot !== undefined ? `/${r.slot}` : '';
      return r.tree !== null ? `#/tree/${r.tree}/${r.logical}${slot}` : `#/block/${r.logical}${slot}`;
    }
    case 'inode':
      return `#/inode/${r.subvol}/${r.ino}`;
    case 'device':
      return `#/device/${r.devid}/${r.offset}`;
    case 'files':
      return r.subvol === null ? '#/files' : `#/files/${r.subvol}/${r.path.map(encodeURIComponent).join('/')}`;
    case 'damage':
      return '#/damage';
    case 'layout':
      return r.chunk === null ? '#/layout' : `#/layout/${r.chunk}`;
    case 'sharing':
      return r.diff === null ? '#/sharing' : `#/sharing/diff/${r.diff[0]}/${r.diff[1]}`;
    case 'forensics': {
      const f = r.filters ? filtersText(r.filters) : '';
      return `#/forensics/${r.tab}${f ? `/${encodeURIComponent(f)}` : ''}`;
    }
  }
}

/** Where a finding's location (`Location` of src/findings.ts, u64 values as decimal strings) leads. */
export type Place = { label: string; route: Route };

/** The first object id of a subvolume tree (BTRFS_FS_TREE_OBJECTID) and of user subvolumes (BTRFS_FIRST_FREE_OBJECTID), and the last (BTRFS_LAST_FREE_OBJECTID). */
const FS_TREE = 5n;
const FIRST_FREE = 256n;
const LAST_FREE = 2n ** 64n - 256n;

const isSubvolTree = (t: bigint) => t === FS_TREE || (t >= FIRST_FREE && t <= LAST_FREE);

/**
 * The places a finding names, each as a link: the tree block (at its slot), the inode its key
 * names in a subvolume tree, the chunk holding a logical address, the device offset.
 */
export function placesOf(loc: Record<string, unknown>): Place[] {
  const s = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  const tree = s(loc['tree']);
  const block = s(loc['block']);
  const logical = s(loc['logical']);
  const slot = typeof loc['slot'] === 'number' ? loc['slot'] : undefined;
  const out: Place[] = [];
  if (block !== undefined && U64.test(block))
    out.push({ label: `block ${block}${slot !== undefined ? ` slot ${slot}` : ''}`, route: { view: 'block', tree: tree ?? null, logical: block, ...(slot !== undefined ? { slot } : {}) } });
  const key = loc['key'] as Record<string, unknown> | undefined;
  const ino = s(key?.['objectid']);
  if (tree !== undefined && U64.test(tree) && isSubvolTree(BigInt(tree)) && ino !== undefined && U64.test(ino) && BigInt(ino) >= FIRST_FREE && BigInt(ino) <= LAST_FREE)
    out.push({ label: `inode ${tree}:${ino}`, route: { view: 'inode', subvol: tree, ino } });
  if (logical !== undefined && U64.test(logical)) {
    if (block === undefined) out.push({ label: `logical ${logical}`, route: { view: 'layout', chunk: logical } });
  }
  const devid = s(loc['devid']);
  const physical = s(loc['physical']);
  if (devid !== undefined && physical !== undefined && U64.test(devid) && U64.test(physical)) out.push({ label: `device ${devid} @ ${physical}`, route: { view: 'device', devid, offset: physical } });
  return out;
}
