#!/usr/bin/env node
// Runs the compiled CLI (npm install builds dist/ through the "prepare" script).
//
// CommonJS on purpose (bin/package.json): libuv's thread pool runs extract's reads and writes,
// and its size is read from UV_THREADPOOL_SIZE once, when the pool starts. The ES module loader
// starts it before an ES module's first line runs; a CommonJS entry sets the size first. The
// default of 4 threads oversubscribes a 2-core machine (the kernel's copies then contend with the
// main thread's checksumming): one per core, 2 to 4, unless the user chose.
const { availableParallelism } = require('node:os');

// `--version` alone is answered before any module loads: scripts call it to probe the tool, and the
// CLI's modules (commander, the command index) would add about 50 ms to it.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  process.env.UV_THREADPOOL_SIZE ??= String(Math.min(4, Math.max(2, availableParallelism())));
  import('../dist/cli/main.js')
    .then((m) => m.main())
    .catch((e) => {
      process.stderr.write(`btrfs-inspect: cannot start: ${e?.message ?? e}\n(run "npm install" in the package directory to build it)\n`);
      process.exit(2);
    });
}
