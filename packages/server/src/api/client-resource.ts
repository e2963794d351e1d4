import type { IncomingMessage } from 'node:http';
import type { ClientProfile, ClientRecord } from '../domain/records.js';
import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { mediaType, readBody } from '../wire/request.js';
import { sendJsonText } from '../wire/respond.js';
import type { Admission } from './admission.js';

const CLIENT_BODY_LIMIT = 64 * 1024;

/** A field's validation: undefined when the value is acceptable, else what is wrong with it. */
type FieldCheck = (value: unknown) => string | undefined;

const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/;
const COLOUR_PATTERN = /^#[0-9A-Fa-f]{6}$/;

const emailList: FieldCheck = (value) =>
  Array.isArray(value) &&
  value.length <= 10 &&
  value.every((v) => typeof v === 'string' && EMAIL_PATTERN.test(v))
    ? undefined
    : 'must be a list of at most 10 email addresses';

const text =
  (maxLength: number): FieldCheck =>
  (value) =>
    typeof value === 'string' && value.length <= maxLength
      ? undefined
      : `must be text of at most ${maxLength} characters`;

const colour: FieldCheck = (value) =>
  typeof value === 'string' && COLOUR_PATTERN.test(value) ? undefined : 'must be a colour such as #1A2B3C';

const webUrl: FieldCheck = (value) => {
  if (typeof value !== 'string' || value.length > 255 || !URL.canParse(value))
    return 'must be an http(s) URL';
  return /^https?:$/.test(new URL(value).protocol) ? undefined : 'must be an http(s) URL';
};

const record =
  (members: readonly string[]): FieldCheck =>
  (value) => {
    const message = `must be an object with text members among ${members.join(', ')}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return message;
    return Object.entries(value).every(
      ([name, member]) =>
        members.includes(name) && (member === null || (typeof member === 'string' && member.length <= 255)),
    )
      ? undefined
      : message;
  };

/**
 * The fields of MANGOPAY's Client object that Portcullis keeps and a client may edit with PUT, each with
 * its validation. Read-only fields (ClientId, Name, CreationDate, ...) and fields we do not keep are
 * ignored in a PUT body, as official SDKs send their whole model back; null leaves a field unchanged.
 */
const EDITABLE_FIELDS: Readonly<Record<string, FieldCheck>> = {
  TechEmails: emailList,
  AdminEmails: emailList,
  BillingEmails: emailList,
  FraudEmails: emailList,
  PlatformDescription: text(1000),
  PlatformURL: webUrl,
  PlatformCategorization: record(['BusinessType', 'Sector']),
  HeadquartersAddress: record(['AddressLine1', 'AddressLine2', 'City', 'Region', 'PostalCode', 'Country']),
  HeadquartersPhoneNumber: text(32),
  TaxNumber: text(64),
  PrimaryThemeColour: colour,
  PrimaryButtonColour: colour,
};

const EMPTY_LISTS = ['TechEmails', 'AdminEmails', 'BillingEmails', 'FraudEmails'];

/** `GET|PUT /v2.01/{ClientId}/clients`: the authenticated client's own record. */
export async function handleClientResource(
  services: Pick<Services, 'store'>,
  { req, res, now }: Exchange,
  { principal, limitHeaders: responseHeaders }: Admission,
): Promise<void> {
  if (req.method === 'GET' || req.method === 'HEAD') {
    sendJsonText(res, 200, serializedClientView(principal.client), responseHeaders);
    return;
  }
  if (req.method !== 'PUT') {
    throw new PortcullisError('method_not_allowed', { headers: { Allow: 'GET, HEAD, PUT' } });
  }
  const changes = await readProfileChanges(req);
  const profile = { ...principal.client.profile, ...changes };
  const updated = await services.store.updateClient(principal.client.clientId, { profile }, now);
  if (updated === undefined) throw new PortcullisError('not_found');
  sendJsonText(res, 200, serializedClientView(updated), responseHeaders);
}

async function readProfileChanges(req: IncomingMessage): Promise<ClientProfile> {
  if (mediaType(req) !== 'application/json') {
    throw new PortcullisError('invalid_request', { message: 'The request body must be application/json.' });
  }
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, CLIENT_BODY_LIMIT)).toString('utf8'));
  } catch (error) {
    if (error instanceof PortcullisError) throw error;
    throw new PortcullisError('invalid_request', { message: 'The request body is not valid JSON.' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PortcullisError('param_error', { message: 'The request body must be a JSON object.' });
  }
  const changes: Record<string, unknown> = {};
  const fieldErrors: Record<string, string> = {};
  for (const [field, check] of Object.entries(EDITABLE_FIELDS)) {
    const value = (body as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    const problem = check(value);
    if (problem === undefined) changes[field] = value;
    else fieldErrors[field] = `${field} ${problem}.`;
  }
  if (Object.keys(fieldErrors).length > 0) throw new PortcullisError('param_error', { fieldErrors });
  return changes;
}

/**
 * Client records are immutable and replaced on every change, so each one's JSON is made once: GET is the
 * route benchmarks and health checks hit.
 */
const serializedViews = new WeakMap<ClientRecord, string>();

function serializedClientView(client: ClientRecord): string {
  let serialized = serializedViews.get(client);
  if (serialized === undefined) {
    serialized = JSON.stringify(clientView(client));
    serializedViews.set(client, serialized);
  }
  return serialized;
}

function clientView(client: ClientRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ClientId: client.clientId,
    Name: client.name,
    RegisteredName: client.name,
    Logo: null,
    CreationDate: Math.floor(client.createdAt / 1000),
  };
  for (const field of Object.keys(EDITABLE_FIELDS)) {
    view[field] = client.profile[field] ?? (EMPTY_LISTS.includes(field) ? [] : null);
  }
  return view;
}
