/**
 * Build step (`npm run build`), not part of the library: bundles the browser demo (tools/demo/app/, with
 * the shared runtime/step-session.ts and onnxruntime-web) with esbuild into dist/demo-app/, beside the
 * page's index.html and style.css. `snnc demo` copies that folder into each site it writes. The bundle is
 * deterministic (same sources, same bytes), so a site is too.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const app = join(root, 'tools/demo/app');
const out = join(root, 'dist/demo-app');

mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(app, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) copyFileSync(join(app, file), join(out, file));
