import { describe, expect, it } from 'vitest';
import { href, parseRoute, placesOf, type Route } from '../web/src/route.js';

/** Every view of the web app has an address: parsing a link gives the view back, and the view gives the same link. */
describe('web routes', () => {
  const routes: [string, Route][] = [
    ['#/overview', { view: 'overview' }],
    ['#/trees', { view: 'trees' }],
    ['#/tree/5/30408704', { view: 'block', tree: '5', logical: '30408704' }],
    ['#/block/30408704', { view: 'block', tree: null, logical: '30408704' }],
    ['#/tree/5/30408704/12', { view: 'block', tree: '5', logical: '30408704', slot: 12 }],
    ['#/block/30408704/0', { view: 'block', tree: null, logical: '30408704', slot: 0 }],
    ['#/inode/256/257', { view: 'inode', subvol: '256', ino: '257' }],
    ['#/device/1/22020096', { view: 'device', devid: '1', offset: '22020096' }],
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
    [
      '#/forensics/timeline/path%3D%252Frich%252Fa%252Bb%26macb%3Dm%26deleted%3D1%26from%3D2024-01-02T03%253A04%253A05',
      { view: 'forensics', tab: 'timeline', filters: { text: '/rich/a+b', macb: 'm', deleted: true, from: '2024-01-02T03:04:05', to: '' } },
    ],
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
    expect(parseRoute('#/inode/5')).toEqual({ view: 'files', subvol: null, path: [] });
    expect(parseRoute('#/device/1/-4')).toEqual({ view: 'layout', chunk: null });
    expect(parseRoute('#/block/30408704/x')).toEqual({ view: 'block', tree: null, logical: '30408704' });
  });

  it("a finding's location links to its block and slot, its inode, the chunk of its address, its device offset", () => {
    const links = (loc: Record<string, unknown>) => placesOf(loc).map((p) => href(p.route));
    // An item of a subvolume tree: the block at the slot, and the inode its key names.
    expect(links({ tree: '256', block: '30425088', slot: 7, key: { objectid: '259', type: 1, offset: '0' } })).toEqual(['#/tree/256/30425088/7', '#/inode/256/259']);
    // Keys of other trees, or object ids below the first inode (the root dir 256 is one), are no inode.
    expect(links({ tree: '2', block: '30425088', slot: 1, key: { objectid: '13631488', type: 168, offset: '4096' } })).toEqual(['#/tree/2/30425088/1']);
    expect(links({ tree: '5', block: '1', key: { objectid: '5', type: 132, offset: '0' } })).toEqual(['#/tree/5/1']);
    // A data address (a checksum mismatch) without a block: its chunk (where the files using it are listed), and the device copy.
    expect(links({ logical: '13631488', devid: '1', physical: '13631488', copy: 0 })).toEqual(['#/layout/13631488', '#/device/1/13631488']);
    expect(links({ device: 'dev1.img' })).toEqual([]);
  });
});
