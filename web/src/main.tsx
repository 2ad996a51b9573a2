import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Inspector } from './client.js';
import type { SourceSpec } from './protocol.js';
import { href, parseRoute, type Route } from './route.js';
import { Damage } from './views/Damage.js';
import { Device } from './views/Device.js';
import { Files, InodeView } from './views/Files.js';
import { Forensics } from './views/Forensics.js';
import { Layout } from './views/Layout.js';
import { Overview } from './views/Overview.js';
import { Sharing } from './views/Sharing.js';
import { Block, TreeList } from './views/Trees.js';
import './style.css';

type Opened = { label: string; fsid: string; devices: { name: string; size: string }[] };

/**
 * Two ways in: served by `btrfs-inspect serve` (the page's URL carries the
 * token; the devices are read from the server by range), or as a static page
 * where the user picks or drops the image files (read in place, never sent).
 */
async function servedSources(): Promise<SourceSpec[] | null> {
  const token = new URLSearchParams(location.search).get('token');
  if (!token) return null;
  const res = await fetch(`api/images?token=${encodeURIComponent(token)}`);
  if (!res.ok) throw new Error(`the server refused the image list (${res.status}): open the exact URL "btrfs-inspect serve" printed`);
  const images = (await res.json()) as { name: string; size: string }[];
  return images.map((im, i) => ({ kind: 'http', name: im.name, size: im.size, url: new URL(`image/${i}?token=${encodeURIComponent(token)}`, location.href).href }));
}

function useRoute(): Route {
  const [r, set] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => set(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return r;
}

function Picker({ onPick, error }: { onPick: (files: File[]) => void; error: string | null }) {
  const [over, setOver] = useState(false);
  return (
    <div
      class={`picker${over ? ' over' : ''}`}
      data-testid="picker"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const f = [...(e.dataTransfer?.files ?? [])];
        if (f.length) onPick(f);
      }}
    >
      <h2>Open a btrfs image</h2>
      <p>Pick or drop the image file (all devices of a multi-device filesystem at once). It is read in place, lazily: nothing leaves this machine.</p>
      <input
        type="file"
        multiple
        data-testid="file-input"
        onChange={(e) => {
          const f = [...((e.target as HTMLInputElement).files ?? [])];
          if (f.length) onPick(f);
        }}
      />
      <p class="muted">
        Raw images, block-device dumps and the samples' <code>*.runs.gz</code> form. For block devices and huge images, run <code>btrfs-inspect serve IMAGE</code>.
      </p>
      {error && (
        <p class="error" data-testid="error">
          {error}
        </p>
      )}
    </div>
  );
}

function App() {
  const [api] = useState(() => new Inspector());
  const [fs, setFs] = useState<Opened | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [served, setServed] = useState<boolean | null>(null);
  const route = useRoute();

  const open = (sources: SourceSpec[]) => {
    setError(null);
    api.json<Opened>({ op: 'open', sources }).then(
      (o) => {
        setFs(o);
        if (!location.hash) location.hash = href({ view: 'overview' });
      },
      (e: Error) => setError(e.message),
    );
  };

  useEffect(() => {
    servedSources().then(
      (s) => {
        setServed(s !== null);
        if (s) open(s);
      },
      (e: Error) => {
        setServed(true);
        setError(e.message);
      },
    );
  }, []);

  if (!fs) {
    if (served === null || (served && !error)) return <p class="muted">opening…</p>;
    if (served)
      return (
        <p class="error" data-testid="error">
          {error}
        </p>
      );
    return <Picker error={error} onPick={(files) => open(files.map((file) => ({ kind: 'file', file })))} />;
  }
  const tab = (r: Route, label: string, active: boolean) => (
    <a href={href(r)} class={active ? 'active' : ''} data-testid={`tab-${r.view}`}>
      {label}
    </a>
  );
  return (
    <div>
      <header>
        <h1>btrfs-inspect</h1>
        <span class="fs" data-testid="fs-label">
          {fs.label || '(no label)'} · {fs.fsid} · {fs.devices.map((d) => d.name).join(', ')}
        </span>
        <nav>
          {tab({ view: 'overview' }, 'Overview', route.view === 'overview')}
          {tab({ view: 'trees' }, 'Trees', route.view === 'trees' || route.view === 'block')}
          {tab({ view: 'files', subvol: null, path: [] }, 'Files', route.view === 'files' || route.view === 'inode')}
          {tab({ view: 'layout', chunk: null }, 'Layout', route.view === 'layout' || route.view === 'device')}
          {tab({ view: 'sharing', diff: null }, 'Sharing', route.view === 'sharing')}
          {tab({ view: 'forensics', tab: 'roots' }, 'Forensics', route.view === 'forensics')}
          {tab({ view: 'damage' }, 'Damage', route.view === 'damage')}
        </nav>
      </header>
      <main data-testid={`view-${route.view}`}>
        {route.view === 'overview' && <Overview api={api} />}
        {route.view === 'trees' && <TreeList api={api} />}
        {route.view === 'block' && <Block api={api} tree={route.tree} logical={route.logical} slot={route.slot} />}
        {route.view === 'files' && <Files api={api} subvol={route.subvol} path={route.path} />}
        {route.view === 'inode' && <InodeView api={api} subvol={route.subvol} ino={route.ino} />}
        {route.view === 'device' && <Device api={api} devid={route.devid} offset={route.offset} />}
        {route.view === 'damage' && <Damage api={api} />}
        {route.view === 'layout' && <Layout api={api} chunk={route.chunk} />}
        {route.view === 'sharing' && <Sharing api={api} diff={route.diff} />}
        {route.view === 'forensics' && <Forensics api={api} tab={route.tab} filters={route.filters} />}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
