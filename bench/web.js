#!/usr/bin/env node
// The web inspector on a large image through `serve`, in Chromium (the system's, via
// puppeteer-core): time from navigation to the Overview painted, and from a click to a
// leaf of the largest fs tree shown (its first leaf reached through the nodes, cold, and
// a sibling leaf), and the forensics view's metadata scan (SKIP_SCAN=1 leaves it out). Wall times in the browser, with the serve process's CPU time (user+sys
// from /proc) beside them, since wall time on a shared machine is noisy.
//
//   node bench/web.js [IMAGE]     (default: bench/.cache/large-300000-12.img, from bench/build-large.sh)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const image = process.argv[2] ?? join(here, '.cache', 'large-300000-12.img');
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(image)) {
  console.error(`no image at ${image}: run bench/build-large.sh (root), or name one`);
  process.exit(2);
}
if (!existsSync(chromium)) {
  console.error(`no Chromium at ${chromium} (apt-get install chromium, or set CHROMIUM)`);
  process.exit(2);
}

const { build } = await import('vite');
await build({ configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'error' });

const server = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cliEntry.ts', 'serve', image, '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const first = await new Promise((resolve, reject) => {
  createInterface({ input: server.stdout }).once('line', resolve);
  server.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
});
const { url } = JSON.parse(first);
/** CPU seconds (user+sys) the serve process has used so far. */
const cpu = () => {
  const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const puppeteer = (await import('puppeteer-core')).default;
const browser = await puppeteer.launch({ protocolTimeout: 1_800_000, executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const results = [];
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 760 });
  // Where the time goes: the page's requests to the worker (sent → answered, the worker's reads
  // included) against the whole step; the rest is the page's own work (parse, render, paint).
  await page.evaluateOnNewDocument(() => {
    const spent = { workerMs: 0, painted: null };
    globalThis.__bench = spent;
    // The Overview painted: the first frame after its subvolume rows appear, from navigation start.
    const watch = new MutationObserver(() => {
      if (!document.querySelector('[data-testid=subvolumes] tbody tr')) return;
      watch.disconnect();
      requestAnimationFrame(() => setTimeout(() => (spent.painted = performance.now()), 0));
    });
    document.addEventListener('DOMContentLoaded', () => watch.observe(document.body, { childList: true, subtree: true }));
    const Real = globalThis.Worker;
    globalThis.Worker = class extends Real {
      constructor(...a) {
        super(...a);
        const sent = new Map();
        const post = this.postMessage.bind(this);
        this.postMessage = (m, t) => {
          if (m && typeof m.id === 'number') sent.set(m.id, performance.now());
          return post(m, t);
        };
        this.addEventListener('message', (ev) => {
          const t = sent.get(ev.data?.id);
          if (t !== undefined && !('progress' in ev.data)) {
            spent.workerMs += performance.now() - t;
            sent.delete(ev.data.id);
          }
        });
      }
    };
  });
  let ranges = 0;
  page.on('request', (r) => {
    if (r.url().includes('/image/')) ranges++;
  });
  const timed = async (what, act, ready) => {
    const c0 = cpu();
    const r0 = ranges;
    const w0 = await page.evaluate(() => globalThis.__bench?.workerMs ?? 0).catch(() => 0);
    const m0 = await page.metrics();
    const t0 = performance.now();
    // In the page: from the navigation or the hash change to the first frame after `ready` appeared
    // (the harness's own round trips to the browser are left out; they are `harnessMs`).
    const inPage = await act(ready);
    await page.waitForSelector(ready, { timeout: 1_200_000 });
    const harnessMs = performance.now() - t0;
    const ms = inPage ?? (await page.evaluate(() => globalThis.__bench.painted));
    const w = (await page.evaluate(() => globalThis.__bench.workerMs)) - (what === 'overview painted' ? 0 : w0);
    const m1 = await page.metrics();
    // The page's main thread (Chromium's own counters, seconds): script, style, layout.
    const d = (k) => Math.round(((m1[k] ?? 0) - (what === 'overview painted' ? 0 : (m0[k] ?? 0))) * 1000);
    const r = {
      what,
      ms: Math.round(ms),
      harnessMs: Math.round(harnessMs),
      workerMs: Math.round(w),
      rangeRequests: ranges - r0,
      pageScriptMs: d('ScriptDuration'),
      pageStyleMs: d('RecalcStyleDuration'),
      pageLayoutMs: d('LayoutDuration'),
      serveCpuS: Number((cpu() - c0).toFixed(2)),
    };
    results.push(r);
    console.log(
      `${what}: ${r.ms} ms in the page (${r.harnessMs} ms as the harness saw it; worker round trips ${r.workerMs} ms, ${r.rangeRequests} range requests; page script ${r.pageScriptMs} ms, style ${r.pageStyleMs} ms, layout ${r.pageLayoutMs} ms; serve CPU ${r.serveCpuS} s)`,
    );
  };
  const hash = (h) => (ready) =>
    page.evaluate(
      (x, sel) =>
        new Promise((done) => {
          const t0 = performance.now();
          const seen = () => {
            mo.disconnect();
            requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
          };
          const mo = new MutationObserver(() => document.querySelector(sel) && seen());
          mo.observe(document.body, { childList: true, subtree: true });
          globalThis.location.hash = x;
        }),
      h,
      ready,
    );
  await timed(
    'overview painted',
    async () => {
      await page.goto(url);
      return undefined;
    },
    '[data-testid=subvolumes] tbody tr',
  );
  await timed('tree list', hash('#/trees'), '[data-testid=trees] tbody tr');
  const trees = await page.$$eval('[data-testid=trees] tbody tr', (els) =>
    els.map((e) => ({ tree: e.getAttribute('data-tree'), href: e.querySelector('a').getAttribute('href'), level: Number(e.children[3].textContent) })),
  );
  // The fs tree with the most levels: the largest subvolume.
  const fsTrees = trees.filter((t) => t.tree === '5' || Number(t.tree) >= 256);
  const big = fsTrees.sort((a, b) => b.level - a.level)[0];
  let at = big.href;
  for (let level = big.level; ; level--) {
    const bytenr = at.split('/').pop();
    await timed(level > 0 ? `node at level ${level}` : 'leaf (the middle one, cold)', hash(at), `[data-testid=block][data-bytenr="${bytenr}"] [data-testid=items] tbody tr`);
    if (level === 0) break;
    // Down the middle pointer: a leaf nothing above has read yet.
    const ptrs = await page.$$eval('[data-testid=items] tbody tr td a', (els) => els.map((a) => a.getAttribute('href')));
    at = ptrs[ptrs.length >> 1];
    if (level === 1) {
      const sibling = ptrs[(ptrs.length >> 1) + 1] ?? ptrs[0];
      const leaf = at;
      at = sibling;
      const sb = sibling.split('/').pop();
      await timed('leaf (a sibling, cold)', hash(sibling), `[data-testid=block][data-bytenr="${sb}"] [data-testid=items] tbody tr`);
      at = leaf;
    }
  }
  // The forensics metadata scan (every block of every copy of the metadata chunks), then the roots.
  if (!process.env.SKIP_SCAN) await timed('forensics: roots (metadata scan)', hash('#/forensics/roots'), '[data-testid=roots-table] tbody tr');
  console.log(JSON.stringify({ image, results }));
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
