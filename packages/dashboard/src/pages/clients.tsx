// Clients: search by ClientId or name prefix, pages through next_cursor, and (operators) create a client,
// whose first key is shown once.
import { useState } from 'preact/hooks';
import { type Client, call, type NewKey, query, type Schemas } from '../api.js';
import { ClientSettingsFields, noClientSettings } from '../components/client-settings.js';
import { SecretOnce } from '../components/secret.js';
import {
  Alert,
  Empty,
  Field,
  fieldErrors,
  onSubmit,
  TableRegion,
  useLoad,
  useSubmit,
} from '../components/ui.js';
import { optionalInteger, when } from '../format.js';
import { href } from '../route.js';

const PAGE_SIZE = 50;

export function ClientsPage({ operator }: { readonly operator: boolean }) {
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  // The cursors of the pages before this one, to go back; undefined: the first page.
  const [cursors, setCursors] = useState<readonly (string | undefined)[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const clients = useLoad(
    () => call<Schemas['ClientPage']>('GET', `/clients${query({ q, limit: PAGE_SIZE, cursor })}`),
    [q, cursor],
  );
  const next = clients.data?.next_cursor ?? null;

  return (
    <>
      <h1>Clients</h1>
      {operator && <CreateClient onCreated={clients.reload} />}
      <search>
        <form
          class="inline-form"
          onSubmit={onSubmit(() => {
            setQ(search.trim());
            setCursors([]);
            setCursor(undefined);
          })}
        >
          <Field
            label="Search"
            type="search"
            value={search}
            onValue={setSearch}
            hint="ClientId or name, from its start"
            error={fieldErrors(clients.error).q}
          />
          <button type="submit" class="secondary">
            Search
          </button>
        </form>
      </search>
      <Alert error={clients.error} />
      {clients.data !== undefined &&
        (clients.data.data.length === 0 ? (
          <Empty>{q === '' ? 'No clients yet.' : `No client starts with “${q}”.`}</Empty>
        ) : (
          <ClientTable clients={clients.data.data} />
        ))}
      <div class="pager">
        <button
          type="button"
          class="secondary"
          disabled={cursors.length === 0}
          onClick={() => {
            setCursor(cursors.at(-1));
            setCursors(cursors.slice(0, -1));
          }}
        >
          Previous page
        </button>
        <button
          type="button"
          class="secondary"
          disabled={next === null}
          onClick={() => {
            setCursors([...cursors, cursor]);
            setCursor(next ?? undefined);
          }}
        >
          Next page
        </button>
      </div>
    </>
  );
}

function ClientTable({ clients }: { readonly clients: readonly Client[] }) {
  return (
    <TableRegion label="Clients">
      <table>
        <thead>
          <tr>
            <th scope="col">ClientId</th>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {clients.map((client) => (
            <tr key={client.clientId}>
              <td>
                <a href={href.client(client.clientId)}>{client.clientId}</a>
              </td>
              <td>{client.name}</td>
              <td>
                <span class={`badge ${client.status}`}>{client.status}</span>
              </td>
              <td>{when(client.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}

function CreateClient({ onCreated }: { readonly onCreated: () => void }) {
  const [clientId, setClientId] = useState('');
  const [settings, setSettings] = useState(noClientSettings);
  const [created, setCreated] = useState<{ clientId: string; key: NewKey }>();
  const submit = useSubmit(async () => {
    const body: Schemas['ClientCreate'] = { clientId: clientId.trim() };
    const name = settings.name.trim();
    if (name !== '') body.name = name;
    const ttl = optionalInteger(settings.tokenTtl);
    if (ttl !== undefined) body.tokenTtl = ttl;
    const rateLimits = settings.rateLimits.trim();
    if (rateLimits !== '') body.rateLimits = rateLimits;
    const answer = await call<Schemas['CreatedClient']>('POST', '/clients', body);
    setCreated({ clientId: answer.client.clientId, key: answer.key });
    setClientId('');
    setSettings(noClientSettings);
    onCreated();
  });
  if (created !== undefined) {
    return (
      <div class="panel">
        <p>
          Client <a href={href.client(created.clientId)}>{created.clientId}</a> created with key{' '}
          <code>{created.key.keyId}</code>.
        </p>
        <SecretOnce label="API key" value={created.key.apiKey} onDismiss={() => setCreated(undefined)} />
      </div>
    );
  }
  return (
    <details class="panel">
      <summary>Create a client</summary>
      <form onSubmit={submit.onSubmit}>
        <div class="grid">
          <Field
            label="ClientId"
            value={clientId}
            onValue={setClientId}
            required
            hint="1 to 64 of A–Z, a–z, 0–9, _ and -"
            error={submit.errors.clientId}
          />
          <ClientSettingsFields value={settings} onValue={setSettings} errors={submit.errors} />
        </div>
        <Alert error={submit.error} />
        <button type="submit" class="primary">
          Create client
        </button>
      </form>
    </details>
  );
}
