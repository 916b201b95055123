#!/usr/bin/env node
// Entry point of the `snnc` command: runs the compiled CLI (built into dist/ by `npm ci` / `npm run build`).
import '../dist/cli/bin.js';
