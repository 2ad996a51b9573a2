#!/usr/bin/env node
// Launches the TypeScript fuzz harness (fuzz/run.ts) through tsx: node fuzz/run.js --seed N --cases K [--long]
import { register } from 'tsx/esm/api';

register();
await import('./run.ts');
