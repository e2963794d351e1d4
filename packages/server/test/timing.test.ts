import { rmSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/admin/clients.js';
import { generateApiKey } from '../src/keys/api-key.js';
import { loadOrCreateServerSecret } from '../src/keys/server-secret.js';
import { openStore } from '../src/store/open-store.js';
import { type ServerProcess, spawnServer } from './helpers/cli.js';
import {
  basicHeader,
  httpsRequest,
  plainHttpRequest,
  startTestServer,
  type TestServer,
  tempDataDir,
} from './helpers/harness.js';
import { compareTimings, LEAK_T_THRESHOLD } from './helpers/timing.js';

/**
 * A difference is reported only when it is both statistically clear and above 1% of the answer time (a few
 * µs here): an artificial 8 µs delay on the unknown-ClientId path is caught, machine noise is not.
 */
const NEGLIGIBLE_SHARE = 0.01;

describe('the timing comparison itself', () => {
  // A deterministic generator, so that these checks of the statistic never flake.
  function noise(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      // mulberry32
      state = (state + 0x6d2b79f5) >>> 0;
      let x = Math.imul(state ^ (state >>> 15), state | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
    };
  }
  const samples = (random: () => number, base: number) =>
    Array.from(
      { length: 2000 },
      () => base + 40 * (random() + random() + random()) + (random() < 0.02 ? 900 : 0),
    );

  it('finds no difference between two samples of one distribution', () => {
    const result = compareTimings(samples(noise(1), 300), samples(noise(2), 300));
    expect(Math.abs(result.t)).toBeLessThan(LEAK_T_THRESHOLD);
  });

  it('detects a shift of 5 µs in 300 µs', () => {
    const result = compareTimings(samples(noise(3), 305), samples(noise(4), 300));
    expect(result.t).toBeGreaterThan(LEAK_T_THRESHOLD);
    expect(result.meanDifferenceUs).toBeCloseTo(5, 0);
  });
});

describe('an unknown ClientId and a wrong key cost the same', () => {
  let t: TestServer;
  beforeAll(async () => {
    // Brute-force limits would refuse these requests early, which is the point of them but not of this test.
    t = await startTestServer({ failedAuthLimitPerClient: 'off', failedAuthLimitPerAddress: 'off' });
    await t.createClient('acme');
  });
  afterAll(() => t.close());

  it('over thousands of alternated requests, the two answer times are not distinguishable', async () => {
    const agent = new https.Agent({ ca: t.server.tls.cert, keepAlive: true, maxSockets: 1 });
    const wrongKey = generateApiKey('sandbox');
    const knownClient = basicHeader('acme', wrongKey);
    const unknownClient = basicHeader('nobody', wrongKey);
    const time = async (authorization: string) => {
      const started = process.hrtime.bigint();
      const response = await httpsRequest(t.port, agent, {
        path: '/v2.01/acme/clients',
        headers: { authorization },
      });
      const elapsed = Number(process.hrtime.bigint() - started) / 1000;
      expect(response.status).toBe(401);
      return { elapsed, body: response.json<{ Type: string; Message: string }>() };
    };
    try {
      for (let i = 0; i < 200; i++) {
        await time(knownClient);
        await time(unknownClient);
      }
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 2000; i++) {
        // Alternate which goes first, so that neither always follows the other.
        if (i % 2 === 0) {
          known.push((await time(knownClient)).elapsed);
          unknown.push((await time(unknownClient)).elapsed);
        } else {
          unknown.push((await time(unknownClient)).elapsed);
          known.push((await time(knownClient)).elapsed);
        }
      }
      const result = compareTimings(known, unknown);
      console.info(
        `timing: wrong key vs unknown ClientId, ${result.pairs} pairs: mean difference ` +
          `${result.meanDifferenceUs.toFixed(2)} µs of ${result.medianUs.toFixed(0)} µs, t = ${result.t.toFixed(2)}`,
      );
      const distinguishable =
        Math.abs(result.t) > LEAK_T_THRESHOLD &&
        Math.abs(result.meanDifferenceUs) > NEGLIGIBLE_SHARE * result.medianUs;
      expect(distinguishable).toBe(false);
      // And the answers themselves are the same.
      const [a, b] = [(await time(knownClient)).body, (await time(unknownClient)).body];
      expect([a.Type, a.Message]).toEqual([b.Type, b.Message]);
    } finally {
      agent.destroy();
    }
  }, 60_000);
});

describe('over plain HTTP, a known and an unknown ClientId cost the same', () => {
  // Each probe names a ClientId the server has not looked up yet: the first lookup of a known client
  // reads its keys from the store, that of an unknown one finds nothing. The server runs in a process of
  // its own, as an attacker sees it: in this one, its work after the answer would delay the client too.
  const WARM_UP = 200;
  const PAIRS = 2000;
  const dataDir = tempDataDir();
  let server: ServerProcess;
  beforeAll(async () => {
    const store = await openStore(undefined, dataDir, 5000);
    const context = {
      store,
      serverSecret: loadOrCreateServerSecret(dataDir),
      environment: 'sandbox' as const,
    };
    for (let i = 0; i < WARM_UP + PAIRS; i++) await createClient(context, { clientId: `known${i}` });
    await store.close();
    server = await spawnServer(['--data-dir', dataDir, '--workers', '1']);
  }, 120_000);
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the 400 https_required and the closing of the connection come before any credential is looked up', async () => {
    const wrongKey = generateApiKey('sandbox');
    const time = async (clientId: string) => {
      const started = process.hrtime.bigint();
      const answer = await plainHttpRequest(server.port, basicHeader(clientId, wrongKey));
      const elapsed = Number(process.hrtime.bigint() - started) / 1000;
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      return elapsed;
    };
    for (let i = 0; i < WARM_UP; i++) {
      await time(`known${i}`);
      await time(`unknown${i}`);
    }
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = WARM_UP; i < WARM_UP + PAIRS; i++) {
      if (i % 2 === 0) {
        known.push(await time(`known${i}`));
        unknown.push(await time(`unknown${i}`));
      } else {
        unknown.push(await time(`unknown${i}`));
        known.push(await time(`known${i}`));
      }
    }
    const result = compareTimings(known, unknown);
    console.info(
      `timing: plain HTTP, known vs unknown ClientId, ${result.pairs} pairs: mean difference ` +
        `${result.meanDifferenceUs.toFixed(2)} µs of ${result.medianUs.toFixed(0)} µs, t = ${result.t.toFixed(2)}`,
    );
    const distinguishable =
      Math.abs(result.t) > LEAK_T_THRESHOLD &&
      Math.abs(result.meanDifferenceUs) > NEGLIGIBLE_SHARE * result.medianUs;
    expect(distinguishable).toBe(false);
  }, 60_000);
});
