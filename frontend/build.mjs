// Bundles the modeler's, the decision editor's and the drawn forms' scripts (and the drawn forms' CSS) with their npm packages into app/static/build/
// (git-ignored; `make setup` runs this). NODE_ENV "production" drops the packages' development code:
// Inferno's (inside dmn-js) would otherwise warn that it is a development build.
// One Preact for all: form-js's editor imports `preact` (its own older copy, nested) while the
// properties panel it renders uses the copy @bpmn-io/properties-panel ships; two copies break the
// panel's hooks ("Cannot read properties of undefined (reading 'context')").
import { build } from 'esbuild';

await build({
  entryPoints: ['frontend/modeler.js', 'frontend/decision-editor.js', 'frontend/drawn-form.js'],
  alias: { preact: '@bpmn-io/properties-panel/preact' },
  outdir: 'app/static/build',
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: 'es2020',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
