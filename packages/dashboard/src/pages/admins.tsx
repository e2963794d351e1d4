// Admins (operators only, reads included): create an operator or a viewer (the token shown once), revoke.
import { useState } from 'preact/hooks';
import { type Admin, type AdminRole, call, type Schemas } from '../api.js';
import { Dialog } from '../components/dialogs.js';
import { SecretOnce } from '../components/secret.js';
import {
  Alert,
  Empty,
  Field,
  fieldErrors,
  Notice,
  onSubmit,
  Select,
  TableRegion,
  useLoad,
} from '../components/ui.js';
import { when } from '../format.js';

/** `self`: the signed-in admin, who cannot revoke itself (the API answers 409), so gets no button. */
export function AdminsPage({ self }: { readonly self: string }) {
  const list = useLoad(() => call<Schemas['AdminList']>('GET', '/admins'), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState<AdminRole>('viewer');
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<Schemas['NewAdmin']>();
  const [revoking, setRevoking] = useState<Admin>();
  const [notice, setNotice] = useState<string>();
  const create = async () => {
    setError(undefined);
    try {
      setCreated(await call<Schemas['NewAdmin']>('POST', '/admins', { name: name.trim(), role }));
      setName('');
      list.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  const errors = fieldErrors(error);
  return (
    <>
      <h1>Admins</h1>
      <p>
        Operators may change everything; viewers read clients, keys, introspectors and the audit trail. An
        admin cannot revoke itself.
      </p>
      {notice !== undefined && <Notice>{notice}</Notice>}
      {created !== undefined ? (
        <div class="panel">
          <p>
            Admin {created.name} ({created.role}) created.
          </p>
          <SecretOnce label="Admin token" value={created.token} onDismiss={() => setCreated(undefined)} />
        </div>
      ) : (
        <form class="inline-form panel" onSubmit={onSubmit(() => void create())}>
          <Field label="Admin name" value={name} onValue={setName} required error={errors.name} />
          <Select
            label="Role"
            value={role}
            onValue={(value) => setRole(value === 'operator' ? 'operator' : 'viewer')}
            options={[
              { value: 'viewer', label: 'viewer (read only)' },
              { value: 'operator', label: 'operator' },
            ]}
            error={errors.role}
          />
          <button type="submit" class="primary">
            Create admin
          </button>
          <Alert error={error} />
        </form>
      )}
      <Alert error={list.error} />
      {list.data !== undefined &&
        (list.data.data.length === 0 ? (
          <Empty>No admins.</Empty>
        ) : (
          <TableRegion label="Admins">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Revoked</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((admin) => (
                  <tr key={admin.name}>
                    <td>{admin.name}</td>
                    <td>{admin.role}</td>
                    <td>
                      <span class={`badge ${admin.status}`}>{admin.status}</span>
                    </td>
                    <td>{when(admin.createdAt)}</td>
                    <td>{when(admin.revokedAt)}</td>
                    <td>
                      {admin.status === 'active' && admin.name !== self && (
                        <button
                          type="button"
                          class="danger"
                          aria-label={`Revoke admin ${admin.name}`}
                          onClick={() => setRevoking(admin)}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        ))}
      {revoking !== undefined && (
        <Dialog
          title={`Revoke admin ${revoking.name}?`}
          confirmLabel="Revoke admin"
          danger
          onConfirm={async () => {
            await call<Admin>('DELETE', `/admins/${encodeURIComponent(revoking.name)}`);
            setNotice(`Admin ${revoking.name} revoked.`);
            list.reload();
          }}
          onClose={() => setRevoking(undefined)}
        >
          <p>Its token is refused on every node within the revocation bound. This cannot be undone.</p>
        </Dialog>
      )}
    </>
  );
}
