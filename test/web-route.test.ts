import { describe, expect, it } from 'vitest';
import { href, parseRoute, type Route } from '../web/src/route.js';

/** Every view of the web app has an address: parsing a link gives the view back, and the view gives the same link. */
describe('web routes', () => {
  const routes: [string, Route][] = [
    ['#/overview', { view: 'overview' }],
    ['#/trees', { view: 'trees' }],
    ['#/tree/5/30408704', { view: 'block', tree: '5', logical: '30408704' }],
    ['#/block/30408704', { view: 'block', tree: null, logical: '30408704' }],
    ['#/files', { view: 'files', subvol: null, path: [] }],
    ['#/files/5/rich/a%20b', { view: 'files', subvol: '5', path: ['rich', 'a b'] }],
    ['#/damage', { view: 'damage' }],
    ['#/layout', { view: 'layout', chunk: null }],
    ['#/layout/63963136', { view: 'layout', chunk: '63963136' }],
    ['#/sharing', { view: 'sharing', diff: null }],
    ['#/sharing/diff/260/261', { view: 'sharing', diff: ['260', '261'] }],
    ['#/forensics/roots', { view: 'forensics', tab: 'roots' }],
    ['#/forensics/deleted', { view: 'forensics', tab: 'deleted' }],
    ['#/forensics/timeline', { view: 'forensics', tab: 'timeline' }],
  ];
  it.each(routes)('%s', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route);
    expect(href(route)).toBe(hash);
  });

  it('a malformed address falls back to the view, not to an error', () => {
    expect(parseRoute('#/layout/0x10')).toEqual({ view: 'layout', chunk: null });
    expect(parseRoute('#/sharing/diff/260')).toEqual({ view: 'sharing', diff: null });
    expect(parseRoute('#/forensics/nonsense')).toEqual({ view: 'forensics', tab: 'roots' });
    expect(parseRoute('#/what')).toEqual({ view: 'overview' });
  });
});
