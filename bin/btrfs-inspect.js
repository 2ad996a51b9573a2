#!/usr/bin/env node
// Runs the compiled CLI (npm install builds dist/ through the "prepare" script).
import { availableParallelism } from 'node:os';

// libuv's thread pool runs extract's reads and writes. Its default of 4 threads oversubscribes a
// 2-core machine (the kernel's copies then contend with this thread's verifying); one per core,
// 2 to 4, unless the user chose. Set before anything can start the pool.
process.env.UV_THREADPOOL_SIZE ??= String(Math.min(4, Math.max(2, availableParallelism())));
import('../dist/cli/main.js')
  .then((m) => m.main())
  .catch((e) => {
    process.stderr.write(`btrfs-inspect: cannot start: ${e?.message ?? e}\n(run "npm install" in the package directory to build it)\n`);
    process.exit(2);
  });
