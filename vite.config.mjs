// Builds the dashboard (src/dashboard/ui) into dist/dashboard, served by Herald at /dashboard/
// (src/dashboard/static-files.ts). JSX goes through esbuild with Preact's automatic runtime.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./src/dashboard/ui/', import.meta.url)),
  base: '/dashboard/',
  publicDir: false,
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('./dist/dashboard/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    // No source maps in the served folder: smaller, and nothing to configure in the static handler.
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
});
