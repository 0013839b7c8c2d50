// Bundles the modeler's and the decision editor's scripts with their npm packages into app/static/build/
// (git-ignored; `make setup` runs this). NODE_ENV "production" drops the packages' development code:
// Inferno's (inside dmn-js) would otherwise warn that it is a development build.
import { build } from 'esbuild';

await build({
  entryPoints: ['frontend/modeler.js', 'frontend/decision-editor.js'],
  outdir: 'app/static/build',
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: 'es2020',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
