// The CLI as the bin runs it (main(): process stdout and stderr), from the TypeScript sources.
import { main } from '../../src/cli/main.js';

await main();
