import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortcullisError } from '../errors.js';
import type { Exchange } from '../wire/exchange.js';
import { checkReadOnlyRequest } from '../wire/request.js';

/**
 * The dashboard's built files (packages/dashboard builds them into the server package's `dashboard/`),
 * two folders up from src/http/ and dist/http/ alike.
 */
const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** Where the page's scripts, styles and images are: file names carry a hash of their content. */
export const DASHBOARD_ASSETS_PATH = '/assets';

/**
 * Every dashboard answer's security headers. The page loads nothing but its own files and talks to nothing
 * but this origin: no inline script or style, no eval, no frame may hold it, no referrer leaves it.
 */
const SECURITY_HEADERS = Object.freeze({
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

interface DashboardFile {
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string | number>>;
}

/**
 * Serves the dashboard from memory: its files are read once, when the server starts (they are small and
 * never change under a running server). `/` and `/index.html` are the page; hashed assets may be cached
 * for good, the page itself is asked for again each time. Without a build, `/` says so (404).
 */
export function dashboardHandler(): (services: unknown, exchange: Exchange) => Promise<void> {
  const files = loadDashboard();
  return async (_services, { req, res, path, query }) => {
    checkReadOnlyRequest(req, query);
    const file = files.get(path === '/' ? '/index.html' : path);
    if (file === undefined) {
      throw new PortcullisError('not_found', {
        ...(files.size === 0 && { message: 'The dashboard is not built: run npm run build.' }),
      });
    }
    res.writeHead(200, file.headers);
    res.end(file.body);
  };
}

function loadDashboard(): ReadonlyMap<string, DashboardFile> {
  const files = new Map<string, DashboardFile>();
  if (!existsSync(join(DASHBOARD_DIR, 'index.html'))) return files;
  const add = (urlPath: string, diskPath: string, cache: string) => {
    const type = CONTENT_TYPES[extname(diskPath)];
    if (type === undefined) return;
    const body = readFileSync(diskPath);
    files.set(urlPath, {
      body,
      headers: {
        ...SECURITY_HEADERS,
        'Content-Type': type,
        'Content-Length': body.length,
        'Cache-Control': cache,
      },
    });
  };
  add('/index.html', join(DASHBOARD_DIR, 'index.html'), 'no-cache');
  const assets = join(DASHBOARD_DIR, 'assets');
  if (existsSync(assets)) {
    for (const name of readdirSync(assets)) {
      add(`${DASHBOARD_ASSETS_PATH}/${name}`, join(assets, name), 'public, max-age=31536000, immutable');
    }
  }
  return files;
}
