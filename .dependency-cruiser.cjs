/**
 * `npm run deps` (part of `npm test`): the import rules of the packages' sources (docs/architecture.md).
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle makes layers meaningless: every module in it depends on every other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'wire-is-a-leaf',
      comment: 'Reading requests and writing answers (wire/) builds on the error catalogue alone.',
      severity: 'error',
      from: { path: '^packages/server/src/wire/' },
      to: { path: '^packages/server/src/', pathNot: '^packages/server/src/(wire/|errors\\.ts$)' },
    },
    {
      name: 'domain-is-a-leaf',
      comment:
        'The domain records (client, key, scope, environment) are what store/ and keys/ share: they import nothing.',
      severity: 'error',
      from: { path: '^packages/server/src/domain/' },
      to: { path: '^packages/server/src/', pathNot: '^packages/server/src/domain/' },
    },
    {
      name: 'store-below-keys',
      comment: 'keys/ builds on the store; the store keeps records and does not call back into keys/.',
      severity: 'error',
      from: { path: '^packages/server/src/store/' },
      to: { path: '^packages/server/src/keys/' },
    },
    {
      name: 'router-on-top',
      comment: 'The router (http/) serves the route table; only the server, the CLI and the entry import it.',
      severity: 'error',
      from: {
        path: '^packages/server/src/',
        pathNot: '^packages/server/src/(http/|cli/|server\\.ts$|index\\.ts$)',
      },
      to: { path: '^packages/server/src/http/' },
    },
    {
      name: 'net-is-connections-only',
      comment:
        'Connections, addresses and proxies (net/) build on the wire helpers and the error catalogue alone.',
      severity: 'error',
      from: { path: '^packages/server/src/net/' },
      to: { path: '^packages/server/src/', pathNot: '^packages/server/src/(net/|wire/|errors\\.ts$)' },
    },
    {
      name: 'endpoints-above-services',
      comment:
        'Endpoints (api/, oauth/, admin-api/) take services; the services, their parts and the options never import an endpoint.',
      severity: 'error',
      from: {
        path: '^packages/server/src/(keys|limits|store|audit|cache|cluster|tls|net|wire|domain|options)/|^packages/server/src/(services|config)\\.ts$',
      },
      to: { path: '^packages/server/src/(api|oauth|admin-api)/' },
    },
    {
      name: 'surfaces-apart',
      comment:
        'The public API (api/, oauth/) and the admin API (admin-api/) are separate surfaces: neither imports the other, except the admin API reusing the Bearer parser and the brute-force step of oauth/.',
      severity: 'error',
      from: { path: '^packages/server/src/(api|oauth)/' },
      to: { path: '^packages/server/src/admin-api/' },
    },
    {
      name: 'admin-below-the-surfaces',
      comment:
        "The operators' operations (admin/) are used by the CLI and the admin API; they know nothing of HTTP, endpoints, options or the server.",
      severity: 'error',
      from: { path: '^packages/server/src/admin/' },
      to: {
        path: '^packages/server/src/(http|net|api|oauth|cli|cluster|options)/|^packages/server/src/(config|server|services)\\.ts$',
      },
    },
    {
      name: 'admin-is-called-not-calling',
      comment: 'Only the surfaces (CLI, router, server) call the admin layer; nothing below it does.',
      severity: 'error',
      from: {
        path: '^packages/server/src/(store|keys|domain|limits|audit|cache|tls|net|wire|options|api|oauth)/',
      },
      to: { path: '^packages/server/src/admin/' },
    },
    {
      name: 'store-below-the-wire',
      comment:
        'The store keeps records; it knows nothing of HTTP, endpoints, the CLI, options or the server.',
      severity: 'error',
      from: { path: '^packages/server/src/store/' },
      to: {
        path: '^packages/server/src/(http|net|api|oauth|cli|cluster)/|^packages/server/src/(config|server|services)\\.ts$',
      },
    },
    {
      name: 'sdk-stands-alone',
      comment: 'The SDK ships on its own, with no runtime dependency: it imports nothing of the server.',
      severity: 'error',
      from: { path: '^packages/sdk/src/' },
      to: { path: '^packages/server/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
};
