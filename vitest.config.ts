import { defineConfig } from 'vitest/config';
import { servicesReachable } from './packages/server/test/helpers/backends.js';

/**
 * The behaviour suite: what a client of the server sees, run once per deployment shape. Every file runs
 * against one in-process server on SQLite; these run again against PostgreSQL + Redis
 * (PORTCULLIS_TEST_BACKEND=postgres), and against `portcullis serve --workers 2` processes
 * (PORTCULLIS_TEST_WORKERS=2, which runs the built CLI).
 */
const BEHAVIOUR_SUITE = [
  'packages/server/test/token-endpoint.test.ts',
  'packages/server/test/protected-api.test.ts',
  'packages/server/test/key-lifecycle.test.ts',
  'packages/server/test/client-deletion.test.ts',
  'packages/server/test/fresh-keys.test.ts',
  'packages/server/test/audit-trail.test.ts',
  'packages/server/test/audit-retention.test.ts',
  'packages/server/test/abuse.test.ts',
  'packages/server/test/secrets-in-logs.test.ts',
  'packages/server/test/gateway.test.ts',
  'packages/server/test/gateway-paths.test.ts',
  'packages/server/test/gateway-headers.test.ts',
  'packages/server/test/gateway-smuggling.test.ts',
  'packages/server/test/forward-auth.test.ts',
  'packages/server/test/fuzz.test.ts',
  'packages/server/test/mangopay-sdk.test.ts',
  'packages/server/test/mangopay-recorded-requests.test.ts',
  'packages/server/test/crash.test.ts',
  'packages/server/test/token-sealing.test.ts',
  'packages/server/test/health.test.ts',
  'packages/server/test/openapi.test.ts',
  'packages/server/test/admin-api.test.ts',
];

/**
 * Not with PORTCULLIS_TEST_WORKERS: the mangopay-sdk test counts tokens with an in-process counter, which
 * worker processes do not expose, and the crash test starts `serve` processes itself (with its default
 * of one worker per CPU) whatever the setting.
 */
const WORKERS_SUITE = BEHAVIOUR_SUITE.filter(
  (file) => !file.endsWith('mangopay-sdk.test.ts') && !file.endsWith('crash.test.ts'),
);

/** Suites that need PostgreSQL and Redis themselves, whatever the backend. */
const SERVICE_SUITES = [
  'packages/server/test/multi-node.test.ts',
  'packages/server/test/fresh-keys-nodes.test.ts',
  'packages/server/test/faults.test.ts',
  'packages/server/test/server-secrets-nodes.test.ts',
];

export default defineConfig(async () => {
  // In CI the services must be there, and their suites run (and fail loudly without them). Elsewhere
  // they are skipped, with one line that says so.
  const services = process.env.CI === 'true' ? { ok: true, detail: '' } : await servicesReachable();
  if (!services.ok) {
    process.stderr.write(
      `\n*** SKIPPING the PostgreSQL + Redis suites: ${services.detail} (set PORTCULLIS_TEST_PG_URL / PORTCULLIS_TEST_REDIS_URL) ***\n\n`,
    );
  }
  const shared = {
    // Each file starts real servers over real sockets: give them room on a loaded two-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks' as const,
    globalSetup: ['packages/sdk/test/global-setup.ts'],
    // Files run side by side, and many start `serve` processes: each admin listener on a free port, not on
    // the default 8444 that all of them would ask for.
    env: { PORTCULLIS_ADMIN_PORT: '0' },
  };
  return {
    test: {
      projects: [
        {
          test: {
            ...shared,
            name: 'sqlite',
            include: ['packages/*/test/**/*.test.ts'],
            exclude: SERVICE_SUITES,
          },
        },
        {
          test: {
            ...shared,
            name: 'workers',
            include: WORKERS_SUITE,
            env: { ...shared.env, PORTCULLIS_TEST_WORKERS: '2' },
          },
        },
        ...(services.ok
          ? [
              {
                test: {
                  ...shared,
                  name: 'postgres+redis',
                  include: [...BEHAVIOUR_SUITE, ...SERVICE_SUITES],
                  env: { ...shared.env, PORTCULLIS_TEST_BACKEND: 'postgres' },
                },
              },
            ]
          : []),
      ],
    },
  };
});
