// The cost of sealing a token and of opening it on first use (no memo: every token opened once), in one
// process, for one or more builds side by side, interleaved round by round so that machine noise hits
// all alike; medians over the rounds. Compares the sealing of two commits:
//
//   node bench/token-sealing.js [--rounds 9] [--tokens 20000] [dist …]   (default: this checkout's dist)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '9' }, tokens: { type: 'string', default: '20000' } },
});
const rounds = Number(args.rounds);
const count = Number(args.tokens);
const dists =
  positionals.length > 0 ? positionals : [new URL('../packages/server/dist', import.meta.url).pathname];

const serverSecret = Buffer.alloc(32, 7);
const key = {
  keyId: 'key_AbCdEfGhIjKl',
  clientId: 'acme-payments',
  alias: null,
  keyHash: '',
  environment: 'production',
  scope: 'write',
  createdAt: 0,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  exposedAt: null,
  replacedBy: null,
};

const builds = [];
for (const dist of dists) {
  const { AccessTokens } = await import(pathToFileURL(resolve(dist, 'keys/access-tokens.js')).href);
  // Builds since server secrets for clusters take the secrets, current first; older ones, one secret.
  const { ServerSecrets } = await import(pathToFileURL(resolve(dist, 'keys/server-secret.js')).href);
  const secret =
    ServerSecrets === undefined ? { serverSecret } : { secrets: new ServerSecrets([serverSecret], 'bench') };
  builds.push({ dist, AccessTokens, secret, issue: [], open: [], length: 0 });
}

/** Microseconds per call of `fn` over `count` calls. */
function time(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1000 / count;
}

const now = Date.now();
for (let round = 0; round < rounds + 1; round++) {
  for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
    // A fresh instance per round: its memo of opened tokens starts empty, so every open is a first use.
    const tokens = new build.AccessTokens({
      directory: { get: async () => null },
      ...build.secret,
      environment: 'production',
      maxCachedTokens: count,
    });
    const issued = new Array(count);
    const issue = time((i) => {
      issued[i] = tokens.issue(key, 'write', 3600, now).accessToken;
    });
    const open = time((i) => {
      if (tokens.open(issued[i]) === undefined) throw new Error('a token did not open');
    });
    build.length = issued[0].length;
    // Round 0 warms the JIT and is not counted.
    if (round > 0) {
      build.issue.push(issue);
      build.open.push(open);
    }
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`node ${process.version}, ${count} tokens per round, ${rounds} rounds (medians, µs per token)`);
console.table(
  builds.map((build) => ({
    build: build.dist,
    'token chars': build.length,
    'issue µs': median(build.issue).toFixed(2),
    'first open µs': median(build.open).toFixed(2),
  })),
);
