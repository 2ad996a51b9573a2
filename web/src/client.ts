import type { Envelope, Reply, Request, SourceSpec } from './protocol.js';

type Pending = { resolve: (r: { json: string; bytes?: Uint8Array }) => void; reject: (e: Error) => void; progress?: (p: { phase: string; done: number; total: number }) => void };

/**
 * The page's side of the worker: one request at a time is answered (the
 * worker is single-threaded), each as a promise. JSON text is parsed here;
 * u64 values arrive as decimal strings.
 */
export class Inspector {
  private worker!: Worker;
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  /** The sources last opened: a restarted worker opens them again. */
  private opened: SourceSpec[] | null = null;

  constructor() {
    this.start();
  }

  /**
   * Stops whatever the worker is doing (a long check): the worker is ended, every
   * pending request fails with `why`, and a new worker opens the same sources.
   */
  async cancel(why = 'cancelled'): Promise<void> {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error(why));
    this.pending.clear();
    this.start();
    if (this.opened) await this.raw({ op: 'open', sources: this.opened });
  }

  private start(): void {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<Reply>) => {
      const r = ev.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      if ('progress' in r) return p.progress?.(r.progress);
      this.pending.delete(r.id);
      if (r.ok) p.resolve({ json: r.json, ...(r.bytes ? { bytes: r.bytes } : {}) });
      else p.reject(new Error(r.error));
    };
    this.worker.onerror = (ev) => {
      for (const p of this.pending.values()) p.reject(new Error(`the inspector stopped: ${ev.message}`));
      this.pending.clear();
    };
  }

  raw(req: Request, progress?: Pending['progress']): Promise<{ json: string; bytes?: Uint8Array }> {
    const id = this.next++;
    if (req.op === 'open') this.opened = req.sources;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(progress ? { progress } : {}) });
      this.worker.postMessage({ ...req, id } as Envelope);
    });
  }

  async json<T = Record<string, unknown>>(req: Request, progress?: Pending['progress']): Promise<T> {
    return JSON.parse((await this.raw(req, progress)).json) as T;
  }

  /** NDJSON answers (tree records): one object per line. */
  async records(req: Request): Promise<Record<string, any>[]> {
    const { json } = await this.raw(req);
    return json
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, any>);
  }
}
