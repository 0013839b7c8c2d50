// Bundles the modeler's, the decision editor's and the drawn forms' scripts (and the drawn forms' CSS) with their npm packages into app/static/build/
// (git-ignored; `make setup` runs this). NODE_ENV "production" drops the packages' development code:
// Inferno's (inside dmn-js) would otherwise warn that it is a development build.
import { build } from 'esbuild';

await build({
  entryPoints: ['frontend/modeler.js', 'frontend/decision-editor.js', 'frontend/drawn-form.js'],
  outdir: 'app/static/build',
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: 'es2020',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
