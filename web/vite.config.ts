import { defineConfig } from 'vite';

// The bundle is embedded into the okno binary (crates/okno-server/build.rs reads web/dist).
// Nothing is inlined into index.html, so the server's Content-Security-Policy can forbid inline
// scripts and styles; `npm run dev` proxies the API to a local `okno serve`.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
    sourcemap: false,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/open311': 'http://127.0.0.1:8080' },
  },
});
