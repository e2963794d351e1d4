import { relative } from 'node:path';
import { createClient } from '../admin/clients.js';
import type { Environment } from '../domain/environment.js';
import type { Store } from '../store/store.js';
import type { TlsMaterial } from '../tls/certificate.js';

/** `serve --demo-client`: a client to try the server with, made when the store has none. */
export interface DemoClient {
  readonly clientId: string;
  readonly apiKey: string;
}

const DEMO_CLIENT_ID = 'demo';

/**
 * The demo client, created when the store has no client at all, and never again once deleted: its
 * ClientId, like every other, is not reused. Its key is hashed under `serverSecret`.
 */
export async function createDemoClient(
  store: Store,
  serverSecret: Buffer,
  environment: Environment,
): Promise<DemoClient | undefined> {
  if ((await store.listClients()).length > 0 || (await store.getClient(DEMO_CLIENT_ID)) !== undefined) {
    return undefined;
  }
  const context = { store, serverSecret, environment };
  const { client, apiKey } = await createClient(context, { clientId: DEMO_CLIENT_ID, name: 'Demo client' });
  return { clientId: client.clientId, apiKey };
}

/** How to call the server as the demo client; `--cacert` unless the operator gave the certificate. */
export function demoClientLines(
  client: DemoClient,
  tls: TlsMaterial,
  ownCertificate: boolean,
  baseUrl: string,
): string[] {
  const apiKey = client.apiKey;
  const cacert = ownCertificate ? '' : ` --cacert ${relative(process.cwd(), tls.certPath)}`;
  return [
    '',
    `Demo client created. ClientId: ${client.clientId}  API key: ${apiKey}`,
    'The API key is shown only this once. Try it:',
    '',
    `  TOKEN=$(curl -s${cacert} -u '${client.clientId}:${apiKey}' -d grant_type=client_credentials ${baseUrl}/v2.01/oauth/token \\`,
    `    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`,
    `  curl${cacert} -H "Authorization: Bearer $TOKEN" ${baseUrl}/v2.01/${client.clientId}/clients`,
    `  curl${cacert} -u '${client.clientId}:${apiKey}' ${baseUrl}/v2.01/${client.clientId}/clients`,
    '',
  ];
}
