import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The reviewer console: built by `npm run build:console` (and by `npm install`) into console/dist,
 * which the server serves at /console. Everything it loads comes from that folder: no CDN, no
 * remote fonts.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  // Preact's JSX, without a Babel preset.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  logLevel: 'warn',
});
