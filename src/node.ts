/** Node-only byte sources: image files, block devices, runs images. */
export * from './io/node/FileSource.js';
export * from './io/node/runs.js';
export * from './io/node/openSource.js';
export { runCli } from './cli/main.js';
