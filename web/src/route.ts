/**
 * Every view has an address in the URL hash, so a view (a tree block, a
 * file, a finding's place) can be shared as a link:
 *   #/overview · #/trees · #/tree/<tree id>/<block logical> · #/block/<logical>
 *   #/files · #/files/<subvol>/<path in the subvolume> · #/damage
 */
export type Route = { view: 'overview' } | { view: 'trees' } | { view: 'block'; tree: string | null; logical: string } | { view: 'files'; subvol: string | null; path: string[] } | { view: 'damage' };

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
  }
}
