#!/usr/bin/env node
// Runs the compiled CLI (npm install builds dist/ through the "prepare" script).
import('../dist/cli/main.js')
  .then((m) => m.main())
  .catch((e) => {
    process.stderr.write(`btrfs-inspect: cannot start: ${e?.message ?? e}\n(run "npm install" in the package directory to build it)\n`);
    process.exit(2);
  });
