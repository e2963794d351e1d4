import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestClient, type TestServer } from './helpers/harness.js';

const SDK_SCRIPT = fileURLToPath(new URL('./fixtures/mangopay-sdk-client.cjs', import.meta.url));

let t: TestServer;
let client: TestClient;

beforeAll(async () => {
  t = await startTestServer();
  client = await t.createClient('mangopay-sdk');
});
afterAll(() => t.close());

function runSdk(): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SDK_SCRIPT],
      {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: t.server.tls.certPath,
          MANGOPAY_CLIENT_ID: client.clientId,
          MANGOPAY_API_KEY: client.apiKey,
          MANGOPAY_BASE_URL: t.baseUrl,
        },
      },
      (error, stdout) => {
        try {
          resolve(JSON.parse(stdout.trim()));
        } catch {
          reject(error ?? new Error(`no JSON from the SDK: ${stdout}`));
        }
      },
    );
  });
}

describe("MANGOPAY's official Node SDK (mangopay4-nodejs-sdk), unchanged", () => {
  it('gets a token, then calls Clients.get() and Clients.update() with it', async () => {
    const tokensBefore = t.server.tokensIssued();
    const result = await runSdk();
    expect(result).toEqual({
      first: { ClientId: 'mangopay-sdk', Name: 'mangopay-sdk' },
      secondClientId: 'mangopay-sdk',
      updatedDescription: 'Updated through the official SDK',
      authorization: 'Bearer',
    });
    // The SDK reuses its token across calls, as MANGOPAY's documentation asks: one token for three calls.
    expect(t.server.tokensIssued() - tokensBefore).toBe(1);
  });
});
