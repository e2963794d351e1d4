import type { ClientSettings } from '../admin/clients.js';
import {
  createClient,
  deleteClient,
  setClientStatus,
  showClient,
  updateClientSettings,
} from '../admin/clients.js';
import { clientSummary, keySummary } from '../admin/views.js';
import type { ClientRecord } from '../domain/records.js';
import { isValidClientId } from '../keys/client-id.js';
import { FieldReader, readJsonObject } from './admin-input.js';
import { pageOf, pageSize, readCursor } from './paging.js';
import type { AdminCall, AdminResource } from './router.js';

/** The longest access-token lifetime a client may have, as the CLI allows (a day). */
const MAX_TOKEN_TTL_SECONDS = 86_400;

/** A client as the admin API shows it: `tokenTtl`, as it is set, in seconds; null for the server's. */
export function clientView(client: ClientRecord) {
  const { tokenTtlSeconds, ...summary } = clientSummary(client);
  return { ...summary, tokenTtl: tokenTtlSeconds, updatedAt: new Date(client.updatedAt).toISOString() };
}

/** `/clients` and `/clients/{clientId}`: the same operations as `portcullis clients`. */
export const clientResources: readonly AdminResource[] = [
  {
    name: 'clients.list',
    method: 'GET',
    path: '/clients',
    role: 'viewer',
    query: ['limit', 'cursor', 'q'],
    async handle({ context, query }) {
      const size = pageSize(query);
      const after = readCursor(query, (clientId) => (isValidClientId(clientId) ? clientId : undefined));
      const prefix = query.get('q');
      const clients = await context.store.listClients({
        limit: size + 1,
        ...(after !== undefined && { after }),
        ...(prefix !== null && { prefix }),
      });
      return { status: 200, body: pageOf(clients, size, clientView, (client) => client.clientId) };
    },
  },
  {
    name: 'clients.create',
    method: 'POST',
    path: '/clients',
    role: 'operator',
    async handle({ context, exchange }) {
      const fields = new FieldReader(
        await readJsonObject(exchange, ['clientId', 'name', 'tokenTtl', 'rateLimits']),
      );
      const clientId = fields.string('clientId', { required: true });
      const settings = readSettings(fields);
      fields.done();
      const created = await createClient(context, { clientId: clientId as string, ...settings });
      return {
        status: 201,
        body: {
          client: clientView(created.client),
          key: { ...keySummary(created.key, exchange.now), apiKey: created.apiKey },
        },
      };
    },
  },
  {
    name: 'clients.get',
    method: 'GET',
    path: '/clients/{clientId}',
    role: 'viewer',
    async handle({ context, params }) {
      const { client } = await showClient(context.store, params.clientId as string);
      return { status: 200, body: clientView(client) };
    },
  },
  {
    name: 'clients.update',
    method: 'PATCH',
    path: '/clients/{clientId}',
    role: 'operator',
    async handle({ context, exchange, params }) {
      const fields = new FieldReader(await readJsonObject(exchange, ['name', 'tokenTtl', 'rateLimits']));
      const settings = readSettings(fields);
      fields.done();
      const outcome = await updateClientSettings(context.store, params.clientId as string, settings);
      return { status: 200, body: clientView(outcome.record) };
    },
  },
  {
    name: 'clients.delete',
    method: 'DELETE',
    path: '/clients/{clientId}',
    role: 'operator',
    async handle({ context, params }) {
      await deleteClient(context.store, params.clientId as string);
      return { status: 204 };
    },
  },
  statusChange('disable', 'disabled'),
  statusChange('enable', 'active'),
];

function statusChange(action: 'disable' | 'enable', status: 'disabled' | 'active'): AdminResource {
  return {
    name: `clients.${action}`,
    method: 'POST',
    path: `/clients/{clientId}/${action}`,
    role: 'operator',
    async handle({ context, params }: AdminCall) {
      const outcome = await setClientStatus(context.store, params.clientId as string, status);
      return { status: 200, body: clientView(outcome.record) };
    },
  };
}

/** `name`, `tokenTtl` (null: the server's) and `rateLimits` (null: the server's), checked as the CLI does. */
function readSettings(fields: FieldReader): ClientSettings {
  return {
    name: fields.string('name'),
    tokenTtlSeconds: fields.integer('tokenTtl', 1, MAX_TOKEN_TTL_SECONDS, true),
    rateLimits: fields.nullableString('rateLimits'),
  };
}
