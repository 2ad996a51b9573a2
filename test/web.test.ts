import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { filesTruth } from './helpers/fsTruth.js';
import { ROOT, truthText } from './helpers/samples.js';

/**
 * The web inspector in a real browser: Chromium from the system's packages
 * (no browser download), driven by puppeteer-core. The app is built from
 * web/ first, `serve` runs from the sources, and each view is read back from
 * the page and compared with the CLI's --json and with the kernel's truth
 * recorded beside the demo image. Screenshots go to .cache/web/ (artifacts).
 */
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const HAVE = existsSync(CHROMIUM);
if (!HAVE) console.warn(`web inspector browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=/path)`);

const DEMO = join(ROOT, 'sample-images', 'default', 'dev1.runs.gz');
/** The name serve is given (cwd is ROOT): what the page shows as the device's name. */
const DEMO_NAME = join('sample-images', 'default', 'dev1.runs.gz');
const SHOTS = join(ROOT, '.cache', 'web');

type Browser = import('puppeteer-core').Browser;
type Page = import('puppeteer-core').Page;

const json = async (...args: string[]) => JSON.parse((await cli(...args, '--json', '--json-bigint=string')).stdout) as Record<string, any>;

describe.skipIf(!HAVE)('web inspector (Chromium)', () => {
  let server: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const { build } = await import('vite');
    await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'error' });
    server = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cliEntry.ts', 'serve', DEMO_NAME, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const doc = JSON.parse(first) as Record<string, any>;
    // serve --json: one object in the vocabulary of docs/json.md, written once it is listening.
    expect(doc).toMatchObject({ version: 3, command: 'serve', label: 'default', devices: [{ name: DEMO_NAME, size: 536870912 }] });
    expect(doc['url']).toBe(`http://127.0.0.1:${doc['port']}/?token=${new URL(doc['url']).searchParams.get('token')}#/overview`);
    url = doc['url'];
    const puppeteer = (await import('puppeteer-core')).default;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 760 });
    page.on('pageerror', (e) => console.error('page error:', e));
    mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
      server.kill('SIGTERM');
      // serve stops on SIGTERM (and Ctrl-C) by closing its server: a clean exit.
      expect(await exited).toBe(0);
    }
  });

  const go = async (hash: string, ready: string) => {
    // A test run alone (-t) finds the page blank: open the app first.
    if (!page.url().startsWith('http')) {
      await page.goto(url);
      await page.waitForSelector('[data-testid=subvolumes] tbody tr', { timeout: 30_000 });
    }
    await page.evaluate((h) => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = h;
    }, hash);
    await page.waitForSelector(ready, { timeout: 20_000 });
  };
  const cells = (sel: string, attr: string) => page.$$eval(sel, (els, a) => els.map((e) => e.getAttribute(a)!), attr);

  it('serve: the Overview shows the subvolumes, superblock and usage of the CLI and the kernel', async () => {
    const t0 = performance.now();
    await page.goto(url);
    await page.waitForSelector('[data-testid=subvolumes] tbody tr', { timeout: 30_000 });
    // Reported, not asserted (no wall-clock assertions): the page, the worker, the image through serve, the overview painted.
    console.log(`web inspector: overview of the demo image painted ${Math.round(performance.now() - t0)} ms after navigation`);
    const subvols = await json('subvolumes', DEMO);
    const shown = await cells('[data-testid=subvolumes] tbody tr', 'data-subvol');
    expect(shown).toEqual(subvols['subvolumes'].map((s: Record<string, string>) => s['subvol']));
    // The kernel's list (btrfs subvolume list) has every subvolume but the top one, 5.
    const kernel = (JSON.parse(truthText('default', 'subvolumes.json')) as { list: { id: number }[] }).list.map((s) => String(s.id));
    expect(shown.filter((id) => id !== '5').sort()).toEqual(kernel.sort());

    const sb = (await json('super', DEMO))['superblock'];
    const field = (k: string) => page.$eval(`[data-testid=superblock] tr[data-field="${k}"] td`, (e) => e.textContent);
    expect(await field('fsid')).toBe(sb['fsid']);
    expect(await field('generation')).toBe(sb['generation']);
    expect(await field('label')).toBe(sb['label']);

    const usage = await json('usage', DEMO);
    expect(await cells('[data-testid=usage] tbody tr', 'data-group')).toEqual(usage['groups'].map((g: Record<string, string>) => `${g['type']},${g['profile']}`));
    await page.screenshot({ path: join(SHOTS, 'overview.png') });
  }, 60_000);

  it('Trees: the tree list and a leaf decoded as `tree --json` decodes them', async () => {
    await go('#/trees', '[data-testid=trees] tbody tr');
    const records = (await cli('tree', DEMO, '--json', '--json-bigint=string')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const trees = records.filter((r) => r['record'] === 'tree');
    expect(await cells('[data-testid=trees] tbody tr', 'data-tree')).toEqual(trees.map((t) => t['tree']));

    // The root tree's root block, opened by its link.
    const root = trees[0]!;
    const cliRoot = (await cli('tree', DEMO, '--block', String(root['bytenr']), '--json', '--json-bigint=string')).stdout;
    const items0 = (t: string) => t.split('\n').filter((l) => l.startsWith('{"record":"item"')).length;
    const t0 = performance.now();
    await page.click(`[data-testid=trees] tr[data-tree="${root['tree']}"] a`);
    await page.waitForSelector(`[data-testid=block][data-bytenr="${root['bytenr']}"] [data-testid=items] tbody tr`);
    console.log(`web inspector: a leaf of ${items0(cliRoot)} items shown ${Math.round(performance.now() - t0)} ms after the click`);
    const cliBlock = cliRoot
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const items = cliBlock.filter((r) => r['record'] === 'item');
    const keys = await page.$$eval('[data-testid=items] tbody tr td.key', (els) => els.map((e) => e.textContent));
    expect(keys).toEqual(items.map((i) => `(${i['key'].objectid} ${i['key'].typeName} ${i['key'].offset})`));
    // Every decoded item, as the page holds it, is the CLI's.
    const decoded = await page.$$eval('[data-testid=items] pre.item-json', (els) => els.map((e) => JSON.parse(e.textContent!)));
    expect(decoded).toEqual(items.map((i) => i['item']));
    // Slot 2 selected: its key entry and item data are marked in the raw bytes where dump-tree puts them
    // (btrfs_header is 101 bytes, a leaf's btrfs_item 25; dump-tree's itemoff counts from the header's end).
    const dump = truthText('default', 'dump-tree.txt');
    const leaf = dump.slice(dump.indexOf(`leaf ${root['bytenr']} `));
    const m = /\titem 2 key \([^)]*\) itemoff (\d+) itemsize (\d+)/.exec(leaf)!;
    await page.click('[data-testid=items] tr[data-slot="2"] td.key');
    await page.waitForSelector('[data-testid=hex] .hl-data');
    const marked = (cls: string) => page.$$eval(`[data-testid=hex] .${cls}`, (els) => els.map((e) => Number(e.getAttribute('data-off'))));
    const data = await marked('hl-data');
    expect([data[0], data.length]).toEqual([101 + Number(m[1]), Number(m[2])]);
    const key = await marked('hl-key');
    expect([key[0], key.length]).toEqual([101 + 2 * 25, 25]);
    await page.screenshot({ path: join(SHOTS, 'tree-leaf.png') });

    // Jump to a logical address: the chunk tree's root.
    const chunk = trees.find((t) => t['tree'] === '3')!;
    await page.type('[data-testid=jump-input]', String(chunk['bytenr']));
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-testid=block][data-bytenr="${chunk['bytenr']}"] [data-testid=items] tbody tr`);
    expect(await page.$eval('[data-testid=block-header] tr[data-field=owner] td', (e) => e.textContent)).toBe('3');
  }, 60_000);

  it("Trees: a key found where progs' dump-tree has it; who uses a block as `resolve`; an inode by number; a device offset as `map --physical`", async () => {
    // The fs tree's INODE_ITEM of inode 257 (/rich): the leaf and slot progs printed it in.
    const dump = truthText('default', 'dump-tree.txt');
    const fsPart = dump.slice(dump.indexOf('fs tree key (FS_TREE ROOT_ITEM 0)'));
    const at = fsPart.search(/\titem \d+ key \(257 INODE_ITEM 0\)/);
    const leaf = /^leaf (\d+) /m.exec(fsPart.slice(fsPart.lastIndexOf('\nleaf ', at) + 1))![1]!;
    const slot = /\titem (\d+) key/.exec(fsPart.slice(at))![1]!;
    await go('#/trees', '[data-testid=trees] tbody tr');
    await page.$eval('[data-testid=key-tree]', (e) => {
      (e as unknown as { value: string }).value = '';
    });
    await page.type('[data-testid=key-tree]', '5');
    await page.type('[data-testid=key-objectid]', '257');
    await page.type('[data-testid=key-type]', 'INODE_ITEM');
    await page.click('[data-testid=key-go]');
    await page.waitForSelector(`[data-testid=block][data-bytenr="${leaf}"] [data-testid=items] tr.selected[data-slot="${slot}"]`);
    expect(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).toBe(`#/tree/5/${leaf}/${slot}`);
    // The selected slot's item data is marked in the hex view (the link names the slot).
    await page.waitForSelector('[data-testid=hex] .hl-data');

    // Who uses this leaf: the trees that reach it, as `resolve --logical` says.
    const res = await json('resolve', DEMO, '--logical', leaf);
    await page.click('[data-testid=who-uses-block]');
    await page.waitForSelector('[data-testid=tree-block-users]');
    const users = await page.$eval('[data-testid=tree-block-users]', (e) => e.textContent!);
    expect(users).toContain(`owned by tree ${res['treeBlock'].owner}`);
    expect(users).toContain((res['treeBlock'].trees as unknown[]).map(String).join(', '));
    expect(await cells('[data-testid=backrefs] li', 'data-kind')).toEqual(res['backrefs'].map((b: Record<string, string>) => b['kind']));
    await page.screenshot({ path: join(SHOTS, 'tree-key.png') });

    // An inode by number (where a finding names one): its paths, as `stat --inode`.
    const st = await json('stat', DEMO, '--inode', '5:257');
    await go('#/inode/5/257', '[data-testid=inode-paths] li a');
    expect(await page.$$eval('[data-testid=inode-paths] li a', (els) => els.map((e) => e.textContent))).toEqual(st['paths']);
    expect(await page.$eval('[data-testid=stat] tr[data-field=ino] td', (e) => e.textContent)).toBe('257');

    // A device offset: the superblock's magic "_BHRfS_M" at 64 KiB + 0x40 (outside every chunk), then
    // the first byte of the metadata chunk's first stripe, mapped back as `map --physical` maps it.
    await go('#/device/1/65600', '[data-testid=device-mark]');
    expect(await page.$eval('[data-testid=device-mark]', (e) => e.textContent)).toContain('_BHRfS_M');
    expect(await page.$('[data-testid=device-unallocated]')).not.toBeNull();
    const chunks = await json('chunks', DEMO);
    const meta = (chunks['chunks'] as Record<string, any>[]).find((c) => String(c['type']).includes('METADATA'))!;
    const phys = String(meta['stripes'][0]['physical']);
    const back = await json('map', DEMO, '--physical', phys, '--devid', String(meta['stripes'][0]['devid']));
    await go(`#/device/${meta['stripes'][0]['devid']}/${phys}`, '[data-testid=device-map] tbody tr');
    expect(await cells('[data-testid=device-map] tbody tr', 'data-logical')).toEqual(back['logical'].map((h: Record<string, string>) => h['logical'] ?? ''));
    expect(await cells('[data-testid=device-map] tbody tr', 'data-chunk')).toEqual(back['logical'].map((h: Record<string, string>) => h['chunk']));
    await page.screenshot({ path: join(SHOTS, 'device.png') });
  }, 60_000);

  it("Files: a directory listing, a text file, and a 2 MiB download match the kernel's files", async () => {
    await go('#/files/5/rich', '[data-testid=listing] tbody tr');
    const ls = await json('ls', DEMO, '/rich');
    expect(await cells('[data-testid=listing] tbody tr', 'data-name')).toEqual(ls['entries'].map((e: Record<string, string>) => e['name']));
    const truth = filesTruth('default');
    const kernelNames = truth
      .filter((e) => /^rich\/[^/]+$/.test(e.path))
      .map((e) => e.path.slice(5))
      .sort();
    expect((await cells('[data-testid=listing] tbody tr', 'data-name')).sort()).toEqual(kernelNames);
    await page.screenshot({ path: join(SHOTS, 'files-dir.png') });

    await page.click('[data-testid=listing] tr[data-name="tiny.txt"] a');
    await page.waitForSelector('[data-testid=preview]');
    const text = await page.$eval('[data-testid=preview]', (e) => e.textContent!);
    const tiny = truth.find((e) => e.path === 'rich/tiny.txt')!;
    expect(createHash('sha256').update(text).digest('hex')).toBe(tiny.sha256);
    expect(await page.$eval('[data-testid=stat] tr[data-field=ino] td', (e) => e.textContent)).toBe(String(tiny.ino));

    // A subvolume's link in its parent's listing leads into that subvolume's own tree.
    await go('#/files/5/', '[data-testid=listing] tr[data-name="subvol-a"]');
    await page.click('[data-testid=listing] tr[data-name="subvol-a"] a');
    await page.waitForFunction(() => (globalThis as unknown as { location: { hash: string } }).location.hash === '#/files/256/');
    await page.waitForSelector('[data-testid=listing] tbody tr');
    const inSub = await json('ls', DEMO, '--subvol', '256', '/');
    expect(await cells('[data-testid=listing] tbody tr', 'data-ino')).toEqual(inSub['entries'].map((e: Record<string, string>) => e['ino']));

    // Names that are not UTF-8, or hold a line break: reached by their links, the kernel's inode each.
    for (const path of ['rich/names/latin1-caf\\xe9-\\xff\\xfe.bin', 'rich/names/new\nline']) {
      await go('#/files/5/rich/names', '[data-testid=listing] tbody tr');
      const name = path.slice('rich/names/'.length);
      // The listing may still be the previous directory's for a moment: wait for this directory's row.
      await page.waitForFunction(
        (n: string) =>
          [
            ...(globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ getAttribute(a: string): string | null }> } }).document.querySelectorAll(
              '[data-testid=listing] tbody tr',
            ),
          ].some((r) => r.getAttribute('data-name') === n),
        {},
        name,
      );
      await page.$$eval('[data-testid=listing] tbody tr', (rows, n) => (rows.find((r) => r.getAttribute('data-name') === n)!.querySelector('a') as unknown as { click(): void }).click(), name);
      await page.waitForSelector('[data-testid=entry][data-type=file] [data-testid=stat]');
      expect(await page.$eval('[data-testid=stat] tr[data-field=ino] td', (e) => e.textContent), path).toBe(String(truth.find((e) => e.path === path)!.ino));
    }

    // A binary file: hex preview, then the whole file downloaded through the page.
    await go('#/files/5/rich/random-2m.bin', '[data-testid=preview][data-kind=hex]');
    const dir = mkdtempSync(join(tmpdir(), 'btrfs-inspect-web-'));
    try {
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
      await page.click('[data-testid=download]');
      const file = join(dir, 'random-2m.bin');
      for (let i = 0; i < 200 && !(existsSync(file) && readdirSync(dir).length === 1); i++) await new Promise((r) => setTimeout(r, 100));
      const big = truth.find((e) => e.path === 'rich/random-2m.bin')!;
      expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(big.sha256);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await page.screenshot({ path: join(SHOTS, 'files-file.png') });
  }, 60_000);

  it("Files: the snapshot lineage graph has the kernel's parent_uuid and received_uuid links", async () => {
    await go('#/files', '[data-testid=lineage] g[data-subvol]');
    const list = (JSON.parse(truthText('default', 'subvolumes.json')) as { list: { id: number; uuid: string; parent_uuid: string | null; received_uuid: string | null }[] }).list;
    const idOf = new Map(list.map((s) => [s.uuid, String(s.id)]));
    const expected = (kind: 'parent_uuid' | 'received_uuid') =>
      list
        .filter((s) => s[kind] !== null && idOf.has(s[kind]!))
        .map((s) => `${idOf.get(s[kind]!)}>${s.id}`)
        .sort();
    const edges = (kind: string) => page.$$eval(`[data-testid=lineage] path.edge[data-kind=${kind}]`, (els) => els.map((e) => `${e.getAttribute('data-from')}>${e.getAttribute('data-to')}`).sort());
    expect(expected('parent_uuid').length).toBeGreaterThan(2);
    expect(await edges('snapshot')).toEqual(expected('parent_uuid'));
    expect(expected('received_uuid').length).toBeGreaterThan(0);
    expect(await edges('received')).toEqual(expected('received_uuid'));
    await page.screenshot({ path: join(SHOTS, 'files-lineage.png') });
  }, 60_000);

  it("Files: a directory downloaded as tar, extracted by bsdtar, holds the kernel's files, names, symlinks and mtimes", async () => {
    await go('#/files/5/rich', '[data-testid=download-tar]');
    const dir = mkdtempSync(join(tmpdir(), 'btrfs-inspect-webtar-'));
    try {
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
      await page.click('[data-testid=download-tar]');
      const file = join(dir, 'rich.tar');
      for (let i = 0; i < 600 && !(existsSync(file) && readdirSync(dir).length === 1); i++) await new Promise((r) => setTimeout(r, 100));
      const status = await page.$eval('[data-testid=tar-status]', (e) => e.textContent!);
      const out = join(dir, 'x');
      mkdirSync(out);
      const { execFileSync } = await import('node:child_process');
      execFileSync('bsdtar', ['-xf', file, '-C', out]);
      const truth = filesTruth('default').filter((e) => e.path.startsWith('rich/') || e.path === 'rich');
      const at = (e: (typeof truth)[number]) => Buffer.concat([Buffer.from(`${out}/`), Buffer.from(e.path_b64, 'base64')]);
      const { lstatSync, readlinkSync } = await import('node:fs');
      let files = 0;
      for (const e of truth) {
        if (e.type === 'file') {
          expect(
            createHash('sha256')
              .update(readFileSync(at(e)))
              .digest('hex'),
            e.path,
          ).toBe(e.sha256);
          // pax mtime: the kernel's, to the nanosecond (bsdtar sets it with utimensat).
          expect(lstatSync(at(e), { bigint: true }).mtimeNs, e.path).toBe(BigInt(e.mtime_ns));
          files++;
        } else if (e.type === 'symlink') expect(readlinkSync(at(e), { encoding: 'buffer' }).toString('base64'), e.path).toBe(e.symlink_target_b64);
        else if (e.type === 'dir' || e.type === 'fifo') expect(lstatSync(at(e)).isDirectory() || lstatSync(at(e)).isFIFO(), e.path).toBe(true);
      }
      expect(files).toBeGreaterThan(1000);
      // Device nodes and the socket are named as skipped, the rest counted.
      const special = truth.filter((e) => e.type === 'chr' || e.type === 'blk' || e.type === 'sock').length;
      expect(status).toContain(`${truth.length - special} entries`);
      expect(status).toContain(`skipped ${special}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('Damage: the check in the worker gives the verdict of `check --data`; the Overview shows its status', async () => {
    await go('#/overview', '[data-testid=check-status] [data-testid=run-check]');
    // Cancelled: the worker is ended and a new one opens the image again; the check can run anew.
    await page.click('[data-testid=run-check]');
    await page.click('[data-testid=cancel-check]');
    await page.waitForSelector('[data-testid=run-check]:not([disabled])');
    expect(await page.$('[data-testid=check-progress]')).toBeNull();
    await page.click('[data-testid=run-check]');
    await page.waitForSelector('[data-testid=verdict]', { timeout: 30_000 });
    const r = await cli('check', DEMO, '--data', '--json');
    const report = JSON.parse(r.stdout) as { verdict: string; findings: unknown[] };
    const verdict = await page.$eval('[data-testid=verdict]', (e) => e.textContent!);
    expect(verdict.startsWith(report.verdict === 'clean' ? 'clean' : 'DAMAGED'), verdict).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'overview-check.png') });
    // The same check, its findings listed in the Damage view without running it again.
    await go('#/damage', '[data-testid=check-result]');
    expect(await page.$eval('[data-testid=verdict]', (e) => e.textContent!)).toBe(verdict);
    expect(await page.$$eval('[data-testid=findings] tbody tr', (els) => els.length)).toBe(report.findings.length);
    await page.screenshot({ path: join(SHOTS, 'damage.png') });
  }, 60_000);

  it("Layout: the chunk map's device extents and a chunk's stripes are the chunk tree's (progs dump-tree), its extents and users the CLI's", async () => {
    await go('#/layout', '[data-testid=chunkmap] g.ext');
    // progs' dump-tree of the chunk tree: each CHUNK_ITEM's key offset (logical) and its stripes' devid and offset.
    const dump = truthText('default', 'dump-tree.txt');
    const progs: string[] = [];
    for (const m of dump.matchAll(/key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)[^\n]*\n([\s\S]*?)(?=\n\titem |\n\S)/g))
      for (const s of m[2]!.matchAll(/stripe \d+ devid (\d+) offset (\d+)/g)) progs.push(`${m[1]}:${s[1]}:${s[2]}`);
    expect(progs.length).toBeGreaterThan(3);
    const shown = await page.$$eval('[data-testid=chunkmap] g.ext', (els) =>
      els.map((e) => `${e.getAttribute('data-chunk')}:${e.closest('[data-devid]')!.getAttribute('data-devid')}:${e.getAttribute('data-physical')}`),
    );
    expect(shown.sort()).toEqual(progs.sort());
    await page.screenshot({ path: join(SHOTS, 'layout.png') });

    // Zoom: the window narrows around the middle, and back.
    const whole = await page.$eval('[data-testid=window]', (e) => e.textContent);
    await page.click('[data-testid=zoom-in]');
    expect(await page.$eval('[data-testid=window]', (e) => e.textContent)).not.toBe(whole);
    await page.click('[data-testid=zoom-reset]');
    expect(await page.$eval('[data-testid=window]', (e) => e.textContent)).toBe(whole);

    // Click the largest data chunk: its link, stripes as `chunks --json`, used bytes, extents.
    const chunks = (await json('chunks', DEMO))['chunks'] as Record<string, any>[];
    const data = chunks.filter((c) => c['type'] === 'DATA').sort((a, b) => Number(b['used']) - Number(a['used']))[0]!;
    await page.click(`[data-testid=chunkmap] g.ext[data-chunk="${data['logical']}"] rect`);
    await page.waitForSelector(`[data-testid=chunk][data-logical="${data['logical']}"] [data-testid=stripes] tbody tr`);
    expect(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).toBe(`#/layout/${data['logical']}`);
    expect(await page.$$eval('[data-testid=stripes] tbody tr', (els) => els.map((e) => `${e.getAttribute('data-devid')}:${e.getAttribute('data-physical')}`))).toEqual(
      data['stripes'].map((s: Record<string, string>) => `${s['devid']}:${s['physical']}`),
    );
    expect(await page.$('[data-testid=bg-heatmap] svg')).not.toBeNull();
    // What lives there: the extent tree's EXTENT_ITEMs in the chunk's range, as `tree --tree extent --json` has them.
    const end = BigInt(data['logical']) + BigInt(data['length']);
    const items = (await cli('tree', DEMO, '--tree', 'extent', '--json', '--json-bigint=string')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>)
      .filter((r) => r['record'] === 'item' && (r['key'].typeName === 'EXTENT_ITEM' || r['key'].typeName === 'METADATA_ITEM'))
      .map((r) => r['key'].objectid as string)
      .filter((o) => BigInt(o) >= BigInt(data['logical']) && BigInt(o) < end);
    expect(items.length).toBeGreaterThan(0);
    expect(await cells('[data-testid=bg-extents] tbody tr', 'data-bytenr')).toEqual(items.slice(0, 500));
    // Who uses the first extent: the files `resolve --logical --json` names.
    await page.click('[data-testid=bg-extents] tbody tr:first-child [data-testid=who]');
    await page.waitForSelector(`[data-testid=users][data-logical="${items[0]}"]`);
    const users = (await json('resolve', DEMO, '--logical', items[0]!))['files'] as Record<string, string>[];
    expect(users.length).toBeGreaterThan(0);
    expect(await page.$$eval('[data-testid=users] li', (els) => els.map((e) => `${e.getAttribute('data-subvol')}:${e.getAttribute('data-ino')}`))).toEqual(
      users.map((f) => `${f['subvol']}:${f['ino']}`),
    );
    await page.screenshot({ path: join(SHOTS, 'layout-chunk.png'), fullPage: true });
  }, 60_000);

  it("Sharing: referenced/exclusive are the kernel's qgroups; matrix, a deletion set and a diff are the CLI's", async () => {
    await go('#/sharing', '[data-testid=sharing-table] tbody tr');
    const qgroups = JSON.parse(truthText('default', 'qgroups.json')) as { qgroupid: string; rfer: number; excl: number }[];
    const shown = await page.$$eval('[data-testid=sharing-table] tbody tr', (els) =>
      els.map((e) => [e.getAttribute('data-subvol'), Number(e.getAttribute('data-referenced')), Number(e.getAttribute('data-exclusive'))]),
    );
    // Every level-0 qgroup of the kernel is a subvolume the page shows, with the kernel's rfer and excl.
    const level0 = qgroups.filter((q) => q.qgroupid.startsWith('0/'));
    expect(level0.length).toBeGreaterThan(3);
    for (const q of level0)
      expect(
        shown.find((r) => r[0] === q.qgroupid.slice(2)),
        q.qgroupid,
      ).toEqual([q.qgroupid.slice(2), q.rfer, q.excl]);
    expect(await page.$$eval('[data-testid=sharing-chart] g[data-subvol]', (els) => els.length)).toBe(shown.length);

    const cliDoc = await json('sharing', DEMO, '--matrix');
    const cells2 = await page.$$eval('[data-testid=matrix] tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.getAttribute('data-bytes'))));
    expect(cells2).toEqual(cliDoc['matrix'].bytes);
    await page.screenshot({ path: join(SHOTS, 'sharing.png'), fullPage: true });

    // Deleting subvol-a and its snapshots together: what `sharing --free` says.
    const set = ['256', '259', '260', '261'];
    for (const id of set) await page.click(`[data-testid=free-set] input[data-subvol="${id}"]`);
    const freeDoc = await json('sharing', DEMO, '--free', set.join(','));
    await page.waitForSelector(`[data-testid=freed][data-total="${freeDoc['free'].total}"]`);

    // Diff of the two read-only snapshots, picked in the form: the CLI's changes, inode by inode.
    await page.select('[data-testid=diff-a]', '260');
    await page.select('[data-testid=diff-b]', '261');
    await page.click('[data-testid=diff-run]');
    await page.waitForSelector('[data-testid=diff][data-a="260"][data-b="261"] [data-testid=changes] tbody tr');
    expect(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).toBe('#/sharing/diff/260/261');
    const diffDoc = await json('diff', DEMO, '260', '261');
    expect(diffDoc['changes'].length).toBeGreaterThan(0);
    expect(await page.$$eval('[data-testid=changes] tbody tr', (els) => els.map((e) => `${e.getAttribute('data-ino')}:${e.getAttribute('data-kind')}`))).toEqual(
      diffDoc['changes'].map((c: Record<string, string>) => `${c['ino']}:${c['kind']}`),
    );
    await page.screenshot({ path: join(SHOTS, 'sharing-diff.png'), fullPage: true });
  }, 90_000);

  it('Forensics: surviving roots, deleted files and the timeline are those of `roots`, `recover` and `timeline --json`', async () => {
    const t0 = performance.now();
    // The metadata scan reads every block of every copy of the metadata chunks (80 MiB here) through serve.
    await go('#/forensics/roots', '[data-testid=forensics-progress]');
    await page.waitForSelector('[data-testid=roots-table] tbody tr', { timeout: 90_000 });
    console.log(`web inspector: metadata scan and roots survey shown ${Math.round(performance.now() - t0)} ms after navigation`);
    const rootsDoc = await json('roots', DEMO);
    const key = (r: Record<string, string>) => `${r['tree']}:${r['generation']}:${r['bytenr']}`;
    expect(
      await page.$$eval('[data-testid=roots-table] tbody tr', (els) => els.map((e) => `${e.getAttribute('data-tree')}:${e.getAttribute('data-generation')}:${e.getAttribute('data-bytenr')}`)),
    ).toEqual(rootsDoc['roots'].map(key));
    // The chart has a dot per root, at its tree and generation; the current root tree is the superblock's (dump-super).
    expect(await page.$$eval('[data-testid=roots-chart] circle.root-dot', (els) => els.length)).toBe(rootsDoc['roots'].length);
    const sbRoot = /\nroot\t\t\t(\d+)/.exec(truthText('default', 'dump-super.txt'))![1];
    expect(rootsDoc['roots'].some((r: Record<string, unknown>) => r['tree'] === '1' && r['bytenr'] === sbRoot && r['current'] === true)).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'forensics-roots.png') });

    await page.click('[data-testid=ftab-deleted]');
    await page.waitForSelector('[data-testid=deleted-table] tbody tr');
    const rec = await json('recover', DEMO);
    expect(rec['files'].length).toBeGreaterThan(0);
    expect(
      await page.$$eval('[data-testid=deleted-table] tbody tr', (els) => els.map((e) => `${e.getAttribute('data-subvol')}:${e.getAttribute('data-ino')}:${e.getAttribute('data-confidence')}`)),
    ).toEqual(rec['files'].map((f: Record<string, string>) => `${f['subvol']}:${f['ino']}:${f['confidence']}`));
    await page.screenshot({ path: join(SHOTS, 'forensics-deleted.png') });

    await page.click('[data-testid=ftab-timeline]');
    await page.waitForSelector('[data-testid=tl-table] tbody tr', { timeout: 30_000 });
    const events = (await cli('timeline', DEMO, '--json', '--json-bigint=string')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>)
      .filter((r) => r['record'] === 'event');
    const count = () => page.$eval('[data-testid=tl-count]', (e) => Number(e.getAttribute('data-count')));
    expect(await count()).toBe(events.length);
    const firstRows = await page.$$eval('[data-testid=tl-table] tbody tr', (els) =>
      els.slice(0, 50).map((e) => `${e.getAttribute('data-time-ns')}:${e.getAttribute('data-macb')}:${e.getAttribute('data-ino')}`),
    );
    expect(firstRows).toEqual(events.slice(0, 50).map((e) => `${e['timeNs']}:${e['macb']}:${e['ino']}`));
    // Filters: deleted only, then a path substring.
    await page.click('[data-testid=tl-deleted]');
    await page.waitForFunction(
      (n: number) => Number((globalThis as any).document.querySelector('[data-testid=tl-count]').getAttribute('data-count')) === n,
      {},
      events.filter((e) => e['deleted']).length,
    );
    await page.click('[data-testid=tl-deleted]');
    await page.type('[data-testid=tl-text]', 'tiny');
    const tiny = events.filter((e) => String(e['path'] ?? '').includes('tiny')).length;
    expect(tiny).toBeGreaterThan(0);
    await page.waitForFunction((n: number) => Number((globalThis as any).document.querySelector('[data-testid=tl-count]').getAttribute('data-count')) === n, {}, tiny);
    await page.screenshot({ path: join(SHOTS, 'forensics-timeline.png') });
    // The filters are in the address: opened as a link (a new page, a new worker), the same events.
    const link = await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash);
    expect(link).toBe('#/forensics/timeline/path%3Dtiny');
    const other = await browser.newPage();
    try {
      await other.goto(url.replace(/#.*$/, link));
      await other.waitForFunction((n: number) => Number((globalThis as any).document.querySelector('[data-testid=tl-count]')?.getAttribute('data-count')) === n, { timeout: 60_000 }, tiny);
      expect(await other.$eval('[data-testid=tl-text]', (e) => (e as unknown as { value: string }).value)).toBe('tiny');
    } finally {
      await other.close();
    }
  }, 180_000);

  it('the static page: the image picked from disk is read in the browser, nothing through the server', async () => {
    const p = await browser.newPage();
    try {
      const requests: string[] = [];
      p.on('request', (r) => requests.push(new URL(r.url()).pathname));
      await p.goto(url.replace(/\?token=[^#]*/, '').replace(/#.*$/, ''));
      const input = await p.waitForSelector('[data-testid=file-input]');
      await (input as unknown as { uploadFile(...paths: string[]): Promise<void> }).uploadFile(DEMO);
      await p.waitForSelector('[data-testid=subvolumes] tbody tr', { timeout: 30_000 });
      const subvols = await json('subvolumes', DEMO);
      expect(await p.$$eval('[data-testid=subvolumes] tbody tr', (els) => els.map((e) => e.getAttribute('data-subvol')))).toEqual(
        subvols['subvolumes'].map((s: Record<string, string>) => s['subvol']),
      );
      expect(requests.filter((r) => r.startsWith('/image') || r.startsWith('/api'))).toEqual([]);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('the static page, several devices picked at once: a RAID5 filesystem assembled in the browser', async () => {
    const devs = [1, 2, 3].map((n) => join(ROOT, 'sample-images', 'raid5', `dev${n}.runs.gz`));
    const p = await browser.newPage();
    try {
      await p.goto(url.replace(/\?token=[^#]*/, '').replace(/#.*$/, ''));
      const input = await p.waitForSelector('[data-testid=file-input]');
      await (input as unknown as { uploadFile(...paths: string[]): Promise<void> }).uploadFile(...devs);
      await p.waitForSelector('[data-testid=usage] tbody tr', { timeout: 30_000 });
      const usage = await json('usage', devs[0]!, '--device', devs[1]!, '--device', devs[2]!);
      expect(await p.$$eval('[data-testid=usage] tbody tr', (els) => els.map((e) => e.getAttribute('data-group')))).toEqual(
        usage['groups'].map((g: Record<string, string>) => `${g['type']},${g['profile']}`),
      );
      expect(usage['groups'].some((g: Record<string, string>) => g['profile'] === 'RAID5')).toBe(true);
      // Every device's superblock copies are listed, by the name of its file.
      const names = await p.$$eval('[data-testid=devices] tbody tr td:first-child', (els) => [...new Set(els.map((e) => e.textContent))]);
      expect(names.sort()).toEqual(['dev1.runs.gz', 'dev2.runs.gz', 'dev3.runs.gz']);
    } finally {
      await p.close();
    }
  }, 60_000);
});
