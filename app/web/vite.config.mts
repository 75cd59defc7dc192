import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    rolldownOptions: {
      treeshake: {
        // The realtime client (app/src/realtime/client.ts) shares modules with the service that
        // also build zod schemas at their top level (protocol.ts, stream-ids.ts). The client uses
        // none of them, but a bundler must keep a call it cannot prove pure, and zod would cost
        // the guest page about 25 KB gzip. Calls through `z` have no side effects.
        manualPureFunctions: ['z'],
      },
    },
  },
  // JSX through Vite's own oxc transform (no React plugin: Fast Refresh is for the dev server).
  oxc: { jsx: { runtime: 'automatic' } },
});
