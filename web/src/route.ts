/**
 * Every view has an address in the URL hash, so a view (a tree block, a
 * file, a finding's place) can be shared as a link:
 *   #/overview · #/trees · #/tree/<tree id>/<block logical> · #/block/<logical>
 *   #/files · #/files/<subvol>/<path in the subvolume> · #/damage
 *   #/layout · #/layout/<logical in a chunk> · #/sharing · #/sharing/diff/<subvol a>/<subvol b>
 *   #/forensics/<roots|deleted|timeline>
 */
export type ForensicsTab = 'roots' | 'deleted' | 'timeline';
export type Route =
  | { view: 'overview' }
  | { view: 'trees' }
  | { view: 'block'; tree: string | null; logical: string }
  | { view: 'files'; subvol: string | null; path: string[] }
  | { view: 'damage' }
  | { view: 'layout'; chunk: string | null }
  | { view: 'sharing'; diff: [string, string] | null }
  | { view: 'forensics'; tab: ForensicsTab };

const TABS: readonly ForensicsTab[] = ['roots', 'deleted', 'timeline'];

const U64 = /^\d+$/;

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
      if (rest.length >= 2 && U64.test(rest[0]!) && U64.test(rest[1]!)) return { view: 'block', tree: rest[0]!, logical: rest[1]! };
      return { view: 'trees' };
    case 'block':
      if (rest.length >= 1 && U64.test(rest[0]!)) return { view: 'block', tree: null, logical: rest[0]! };
      return { view: 'trees' };
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
    case 'forensics':
      return { view: 'forensics', tab: TABS.find((t) => t === rest[0]) ?? 'roots' };
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
    case 'block':
      return r.tree !== null ? `#/tree/${r.tree}/${r.logical}` : `#/block/${r.logical}`;
    case 'files':
      return r.subvol === null ? '#/files' : `#/files/${r.subvol}/${r.path.map(encodeURIComponent).join('/')}`;
    case 'damage':
      return '#/damage';
    case 'layout':
      return r.chunk === null ? '#/layout' : `#/layout/${r.chunk}`;
    case 'sharing':
      return r.diff === null ? '#/sharing' : `#/sharing/diff/${r.diff[0]}/${r.diff[1]}`;
    case 'forensics':
      return `#/forensics/${r.tab}`;
  }
}
