// Introspectors: the credentials of RFC 7662 introspection. Viewers read the list; operators create (the
// key shown once) and revoke.
import { useState } from 'preact/hooks';
import { call, type Introspector, type Schemas } from '../api.js';
import { Dialog } from '../components/dialogs.js';
import { SecretOnce } from '../components/secret.js';
import {
  Alert,
  Empty,
  Field,
  fieldErrors,
  Notice,
  onSubmit,
  TableRegion,
  useLoad,
} from '../components/ui.js';
import { when } from '../format.js';

export function IntrospectorsPage({ operator }: { readonly operator: boolean }) {
  const list = useLoad(() => call<Schemas['IntrospectorList']>('GET', '/introspectors'), []);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<Schemas['NewIntrospector']>();
  const [revoking, setRevoking] = useState<Introspector>();
  const [notice, setNotice] = useState<string>();
  const create = async () => {
    setError(undefined);
    try {
      setCreated(await call<Schemas['NewIntrospector']>('POST', '/introspectors', { name: name.trim() }));
      setName('');
      list.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <>
      <h1>Introspectors</h1>
      <p>
        Credentials that may ask RFC 7662 introspection (<code>/v2.01/oauth/introspect</code>) about tokens.
      </p>
      {notice !== undefined && <Notice>{notice}</Notice>}
      {operator &&
        (created !== undefined ? (
          <div class="panel">
            <p>Introspector {created.name} created.</p>
            <SecretOnce label="API key" value={created.apiKey} onDismiss={() => setCreated(undefined)} />
          </div>
        ) : (
          <form class="inline-form panel" onSubmit={onSubmit(() => void create())}>
            <Field
              label="Introspector name"
              value={name}
              onValue={setName}
              required
              error={fieldErrors(error).name}
            />
            <button type="submit" class="primary">
              Create introspector
            </button>
            <Alert error={error} />
          </form>
        ))}
      <Alert error={list.error} />
      {list.data !== undefined &&
        (list.data.data.length === 0 ? (
          <Empty>No introspectors yet.</Empty>
        ) : (
          <TableRegion label="Introspectors">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Revoked</th>
                  {operator && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((item) => (
                  <tr key={item.name}>
                    <td>{item.name}</td>
                    <td>
                      <span class={`badge ${item.status}`}>{item.status}</span>
                    </td>
                    <td>{when(item.createdAt)}</td>
                    <td>{when(item.revokedAt)}</td>
                    {operator && (
                      <td>
                        {item.status === 'active' && (
                          <button
                            type="button"
                            class="danger"
                            aria-label={`Revoke introspector ${item.name}`}
                            onClick={() => setRevoking(item)}
                          >
                            Revoke
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        ))}
      {revoking !== undefined && (
        <Dialog
          title={`Revoke introspector ${revoking.name}?`}
          confirmLabel="Revoke introspector"
          danger
          onConfirm={async () => {
            await call<Introspector>('DELETE', `/introspectors/${encodeURIComponent(revoking.name)}`);
            setNotice(`Introspector ${revoking.name} revoked.`);
            list.reload();
          }}
          onClose={() => setRevoking(undefined)}
        >
          <p>Its key stops working at once. This cannot be undone.</p>
        </Dialog>
      )}
    </>
  );
}
