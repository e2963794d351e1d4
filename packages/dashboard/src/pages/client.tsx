// One client: its settings, status, keys (create, rotate with a grace period, revoke) and its recent audit
// entries. Every change asks for confirmation first when it cannot be undone or stops traffic.
import { useState } from 'preact/hooks';
import {
  ApiError,
  type AuditEntry,
  type Client,
  call,
  clientPath,
  type Key,
  type NewKey,
  query,
  type Schemas,
} from '../api.js';
import { AuditTable } from '../components/audit-table.js';
import { type ClientSettings, ClientSettingsFields } from '../components/client-settings.js';
import { Dialog } from '../components/dialogs.js';
import { SecretOnce } from '../components/secret.js';
import { Alert, Empty, Field, Notice, Select, TableRegion, useLoad, useSubmit } from '../components/ui.js';
import { optionalInteger, when } from '../format.js';
import { keyCreateScopesValues } from '../generated/admin-api.js';
import { href } from '../route.js';

const RECENT_AUDIT = 20;

type Pending =
  | { readonly kind: 'disable' | 'enable' | 'delete' }
  | { readonly kind: 'revoke'; readonly key: Key }
  | { readonly kind: 'rotate'; readonly key: Key };

export function ClientPage({
  clientId,
  operator,
}: {
  readonly clientId: string;
  readonly operator: boolean;
}) {
  const client = useLoad(() => call<Client>('GET', clientPath(clientId)), [clientId]);
  const keys = useLoad(() => call<Schemas['KeyList']>('GET', `${clientPath(clientId)}/keys`), [clientId]);
  const audit = useLoad(() => recentAudit(clientId), [clientId]);
  const [pending, setPending] = useState<Pending>();
  const [shown, setShown] = useState<NewKey>();
  const [notice, setNotice] = useState<string>();
  const [grace, setGrace] = useState('24');

  const refresh = () => {
    client.reload();
    keys.reload();
    audit.reload();
  };

  if (client.error instanceof ApiError && client.error.status === 404) {
    return (
      <>
        <h1>Client {clientId}</h1>
        <Empty>
          There is no client {clientId}. <a href={href.clients}>Back to the clients</a>.
        </Empty>
      </>
    );
  }

  const confirmPending = async () => {
    if (pending === undefined) return;
    const path = clientPath(clientId);
    switch (pending.kind) {
      case 'disable':
      case 'enable':
        await call<Client>('POST', `${path}/${pending.kind}`);
        setNotice(`Client ${clientId} ${pending.kind}d.`);
        break;
      case 'delete':
        await call<undefined>('DELETE', path);
        window.location.hash = href.clients;
        return;
      case 'revoke':
        await call<Key>('DELETE', `${path}/keys/${encodeURIComponent(pending.key.keyId)}`);
        setNotice(`Key ${pending.key.keyId} revoked.`);
        break;
      case 'rotate': {
        const body: Schemas['KeyRotate'] = {};
        const hours = optionalInteger(grace);
        if (hours !== undefined) body.graceHours = hours;
        const rotation = await call<Schemas['Rotation']>(
          'POST',
          `${path}/keys/${encodeURIComponent(pending.key.keyId)}/rotate`,
          body,
        );
        setShown(rotation.key);
        setNotice(`Key ${pending.key.keyId} rotated: it works until ${when(rotation.old.expiresAt)}.`);
        break;
      }
    }
    refresh();
  };

  const data = client.data;
  return (
    <>
      <p class="breadcrumb">
        <a href={href.clients}>Clients</a> / {clientId}
      </p>
      <h1>Client {clientId}</h1>
      <Alert error={client.error} />
      {notice !== undefined && <Notice>{notice}</Notice>}
      {data !== undefined && (
        <>
          <ClientFacts client={data} />
          {operator && (
            <>
              <Settings client={data} onSaved={refresh} />
              <section class="panel" aria-labelledby="status-title">
                <h2 id="status-title">Status</h2>
                <div class="actions">
                  {data.status === 'active' ? (
                    <button type="button" class="secondary" onClick={() => setPending({ kind: 'disable' })}>
                      Disable client
                    </button>
                  ) : (
                    <button type="button" class="secondary" onClick={() => setPending({ kind: 'enable' })}>
                      Enable client
                    </button>
                  )}
                  <button type="button" class="danger" onClick={() => setPending({ kind: 'delete' })}>
                    Delete client
                  </button>
                </div>
              </section>
            </>
          )}
        </>
      )}

      <section aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        {shown !== undefined && (
          <SecretOnce label="API key" value={shown.apiKey} onDismiss={() => setShown(undefined)} />
        )}
        <Alert error={keys.error} />
        {keys.data !== undefined &&
          (keys.data.data.length === 0 ? (
            <Empty>This client has no keys.</Empty>
          ) : (
            <KeyTable keys={keys.data.data} operator={operator} onAction={setPending} />
          ))}
        {operator && (
          <CreateKey
            clientId={clientId}
            onCreated={(key) => {
              setShown(key);
              setNotice(`Key ${key.keyId} created.`);
              keys.reload();
              audit.reload();
            }}
          />
        )}
      </section>

      <section aria-labelledby="audit-title">
        <h2 id="audit-title">Recent audit entries</h2>
        <Alert error={audit.error} />
        {audit.data !== undefined &&
          (audit.data.length === 0 ? (
            <Empty>No audit entries for this client.</Empty>
          ) : (
            <AuditTable entries={audit.data} label={`Recent audit entries of ${clientId}`} />
          ))}
        <p>
          <a href={`${href.audit}?client=${encodeURIComponent(clientId)}`}>All of this client's entries</a>
        </p>
      </section>

      {pending !== undefined && (
        <Dialog
          title={dialogTitle(pending, clientId)}
          confirmLabel={confirmLabel(pending)}
          danger={pending.kind !== 'enable' && pending.kind !== 'rotate'}
          onConfirm={confirmPending}
          onClose={() => setPending(undefined)}
        >
          <DialogBody pending={pending} clientId={clientId} grace={grace} setGrace={setGrace} />
        </Dialog>
      )}
    </>
  );
}

function dialogTitle(pending: Pending, clientId: string): string {
  switch (pending.kind) {
    case 'disable':
      return `Disable client ${clientId}?`;
    case 'enable':
      return `Enable client ${clientId}?`;
    case 'delete':
      return `Delete client ${clientId}?`;
    case 'revoke':
      return `Revoke key ${pending.key.keyId}?`;
    case 'rotate':
      return `Rotate key ${pending.key.keyId}`;
  }
}

function confirmLabel(pending: Pending): string {
  switch (pending.kind) {
    case 'disable':
      return 'Disable client';
    case 'enable':
      return 'Enable client';
    case 'delete':
      return 'Delete client';
    case 'revoke':
      return 'Revoke key';
    case 'rotate':
      return 'Rotate key';
  }
}

function DialogBody(props: {
  readonly pending: Pending;
  readonly clientId: string;
  readonly grace: string;
  readonly setGrace: (value: string) => void;
}) {
  const { pending, clientId } = props;
  switch (pending.kind) {
    case 'disable':
      return <p>Its keys and tokens are refused at once, on every node, until it is enabled again.</p>;
    case 'enable':
      return <p>Its keys work again.</p>;
    case 'delete':
      return (
        <p>
          {clientId}, its keys and their tokens stop working at once. The ClientId is never reused; its audit
          entries stay. This cannot be undone.
        </p>
      );
    case 'revoke':
      return (
        <p>
          Key <code>{pending.key.keyId}</code>
          {pending.key.alias !== null && ` (${pending.key.alias})`} and every token it obtained stop working
          at once, on every node. This cannot be undone.
        </p>
      );
    case 'rotate':
      return (
        <>
          <p>
            A new key with the same alias, scope and lifetime replaces <code>{pending.key.keyId}</code>, which
            keeps working for the grace period.
          </p>
          <Field
            label="Grace period (hours)"
            type="number"
            min={0}
            max={8760}
            value={props.grace}
            onValue={props.setGrace}
            hint="0 to 8760; 0 stops the old key now"
          />
        </>
      );
  }
}

function ClientFacts({ client }: { readonly client: Client }) {
  return (
    <dl class="facts">
      <div>
        <dt>Name</dt>
        <dd>{client.name === '' ? '—' : client.name}</dd>
      </div>
      <div>
        <dt>Status</dt>
        <dd>
          <span class={`badge ${client.status}`}>{client.status}</span>
        </dd>
      </div>
      <div>
        <dt>Token lifetime</dt>
        <dd>{client.tokenTtl === null ? 'server default' : `${client.tokenTtl} s`}</dd>
      </div>
      <div>
        <dt>Rate limits</dt>
        <dd>{client.rateLimits ?? 'server default'}</dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd>{when(client.createdAt)}</dd>
      </div>
      <div>
        <dt>Updated</dt>
        <dd>{when(client.updatedAt)}</dd>
      </div>
    </dl>
  );
}

function Settings({ client, onSaved }: { readonly client: Client; readonly onSaved: () => void }) {
  const [settings, setSettings] = useState<ClientSettings>({
    name: client.name,
    tokenTtl: client.tokenTtl === null ? '' : String(client.tokenTtl),
    rateLimits: client.rateLimits ?? '',
  });
  const [saved, setSaved] = useState(false);
  const submit = useSubmit(async () => {
    setSaved(false);
    // Empty fields return a setting to the server default (null), as the API takes it.
    const rateLimits = settings.rateLimits.trim();
    const body: Schemas['ClientUpdate'] = {
      tokenTtl: optionalInteger(settings.tokenTtl) ?? null,
      rateLimits: rateLimits === '' ? null : rateLimits,
    };
    const name = settings.name.trim();
    if (name !== '' && name !== client.name) body.name = name;
    await call<Client>('PATCH', clientPath(client.clientId), body);
    setSaved(true);
    onSaved();
  });
  return (
    <details class="panel">
      <summary>Edit settings</summary>
      <form onSubmit={submit.onSubmit}>
        <div class="grid">
          <ClientSettingsFields value={settings} onValue={setSettings} errors={submit.errors} />
        </div>
        <Alert error={submit.error} />
        {saved && <Notice>Settings saved.</Notice>}
        <button type="submit" class="primary">
          Save settings
        </button>
      </form>
    </details>
  );
}

function KeyTable(props: {
  readonly keys: readonly Key[];
  readonly operator: boolean;
  readonly onAction: (pending: Pending) => void;
}) {
  return (
    <TableRegion label="Keys">
      <table>
        <thead>
          <tr>
            <th scope="col">Key id</th>
            <th scope="col">Alias</th>
            <th scope="col">Scope</th>
            <th scope="col">Status</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Created</th>
            {props.operator && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {props.keys.map((key) => (
            <tr key={key.keyId}>
              <td>
                <code>{key.keyId}</code>
              </td>
              <td>{key.alias ?? '—'}</td>
              <td>{key.scope}</td>
              <td>
                <span class={`badge ${key.status}`}>{key.status}</span>
                {key.exposed && (
                  <span class="badge exposed" title={`Reported exposed ${when(key.exposedAt)}`}>
                    exposed
                  </span>
                )}
              </td>
              <td>{when(key.expiresAt)}</td>
              <td>{when(key.lastUsedAt)}</td>
              <td>{when(key.createdAt)}</td>
              {props.operator && (
                <td class="row-actions">
                  {key.status === 'active' && (
                    <>
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`Rotate key ${key.keyId}`}
                        onClick={() => props.onAction({ kind: 'rotate', key })}
                      >
                        Rotate
                      </button>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Revoke key ${key.keyId}`}
                        onClick={() => props.onAction({ kind: 'revoke', key })}
                      >
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}

function CreateKey({
  clientId,
  onCreated,
}: {
  readonly clientId: string;
  readonly onCreated: (key: NewKey) => void;
}) {
  const [alias, setAlias] = useState('');
  const [scopes, setScopes] = useState<Schemas['KeyCreate']['scopes']>('write');
  const [days, setDays] = useState('');
  const submit = useSubmit(async () => {
    const body: Schemas['KeyCreate'] = {};
    if (alias.trim() !== '') body.alias = alias.trim();
    if (scopes !== undefined) body.scopes = scopes;
    const expiresInDays = optionalInteger(days);
    if (expiresInDays !== undefined) body.expiresInDays = expiresInDays;
    const key = await call<NewKey>('POST', `${clientPath(clientId)}/keys`, body);
    setAlias('');
    setDays('');
    onCreated(key);
  });
  const errors = submit.errors;
  return (
    <details class="panel">
      <summary>Create a key</summary>
      <form onSubmit={submit.onSubmit}>
        <div class="grid">
          <Field label="Alias" value={alias} onValue={setAlias} error={errors.alias} />
          <Select
            label="Scope"
            value={scopes ?? 'write'}
            onValue={(value) => setScopes(keyCreateScopesValues.find((scope) => scope === value))}
            options={[
              { value: 'write', label: 'write (every method)' },
              { value: 'read', label: 'read (GET and HEAD only)' },
            ]}
            error={errors.scopes}
          />
          <Field
            label="Expires in (days)"
            type="number"
            min={1}
            max={3650}
            value={days}
            onValue={setDays}
            hint="1 to 3650; empty: never"
            error={errors.expiresInDays}
          />
        </div>
        <Alert error={submit.error} />
        <button type="submit" class="primary">
          Create key
        </button>
      </form>
    </details>
  );
}

/** The client's newest entries, newest first. */
async function recentAudit(clientId: string): Promise<AuditEntry[]> {
  const answer = await call<Schemas['AuditPage']>(
    'GET',
    `/audit${query({ client: clientId, order: 'newest', limit: RECENT_AUDIT })}`,
  );
  return answer.data;
}
