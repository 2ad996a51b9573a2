import { type ResourceLimits, Worker } from 'node:worker_threads';

/**
 * Starts the worker module `name` (a sibling of `base`, given without
 * extension). From the TypeScript sources (tests, tsx) the worker registers
 * the tsx loader first, since a worker does not inherit it; from dist it is
 * plain JavaScript and gets `limits`.
 */
export function startWorker(base: string, name: string, workerData: unknown, limits: ResourceLimits = {}): Worker {
  const ts = base.endsWith('.ts');
  const url = new URL(`./${name}${ts ? '.ts' : '.js'}`, base);
  return ts
    ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, workerData })
    : new Worker(url, { workerData, resourceLimits: limits });
}
