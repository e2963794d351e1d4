import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The build writes into the server package, which the admin listener serves from (`/` and `/assets/`)
// and which ships in its tarball. `vite dev` forwards the API to an admin listener on
// PORTCULLIS_ADMIN_URL (default https://127.0.0.1:8444), for working on the pages.
export default defineConfig({
  plugins: [preact()],
  base: '/',
  build: {
    outDir: '../server/dashboard',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Every asset as a file: the Content-Security-Policy allows data: images only.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/admin/v1': {
        target: process.env.PORTCULLIS_ADMIN_URL ?? 'https://127.0.0.1:8444',
        secure: false,
      },
    },
  },
});
