import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The build writes into the server package, which the admin listener serves from (`/` and `/assets/`)
// and which ships in its tarball. `vite dev` forwards the API to an admin listener on
// PORTCULLIS_ADMIN_URL (default https://127.0.0.1:8444), for working on the pages.
const ADMIN_URL = process.env.PORTCULLIS_ADMIN_URL ?? 'https://127.0.0.1:8444';

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
        target: ADMIN_URL,
        // The admin listener's self-signed certificate.
        secure: false,
        changeOrigin: true,
        // The listener takes a browser's change only from its own origin: the dev server stands in for it.
        configure: (proxy) => {
          proxy.on('proxyReq', (request) => {
            if (request.getHeader('origin') !== undefined) request.setHeader('origin', ADMIN_URL);
          });
        },
      },
    },
  },
});
