// Admins (operators only, reads included): create an operator or a viewer (the token shown once), revoke.
import { useState } from 'preact/hooks';
import type { Admin, AdminRole, Schemas } from '../api.js';
import { Credentials } from '../components/credentials.js';
import { Select } from '../components/ui.js';

/** `self`: the signed-in admin, who cannot revoke itself (the API answers 409), so gets no button. */
export function AdminsPage({ self }: { readonly self: string }) {
  const [role, setRole] = useState<AdminRole>('viewer');
  return (
    <>
      <h1>Admins</h1>
      <p>
        Operators may change everything; viewers read clients, keys, introspectors and the audit trail. An
        admin cannot revoke itself.
      </p>
      <Credentials<Admin, Schemas['NewAdmin']>
        noun="Admin"
        plural="Admins"
        path="/admins"
        canChange
        revocable={(admin) => admin.name !== self}
        empty="No admins."
        columns={[{ header: 'Role', cell: (admin) => admin.role }]}
        fields={(errors) => (
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
        )}
        body={(name) => ({ name, role })}
        createdText={(created) => `Admin ${created.name} (${created.role}) created.`}
        secretLabel="Admin token"
        secret={(created) => created.token}
        revokeWarning="Its token is refused on every node within the revocation bound. This cannot be undone."
      />
    </>
  );
}
