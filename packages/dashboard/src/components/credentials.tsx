// A list of named credentials (admins, introspectors): a create form whose secret is shown once, a table
// with status and dates, and a revoke button behind a confirmation dialog. The pages give their words,
// endpoint and any extra fields or columns.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { call } from '../api.js';
import { when } from '../format.js';
import { Dialog } from './dialogs.js';
import { SecretOnce } from './secret.js';
import { Alert, Empty, Field, Notice, TableRegion, useLoad, useSubmit } from './ui.js';

/** What every named credential of the admin API has. */
export interface Credential {
  readonly name: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface Column<Item> {
  readonly header: string;
  readonly cell: (item: Item) => ComponentChildren;
}

interface CredentialsProps<Item extends Credential, Created extends Credential> {
  /** Capitalised singular, e.g. "Admin": labels read "Admin name", "Create admin", "Revoke admin x". */
  readonly noun: string;
  /** Capitalised plural: the table's label. */
  readonly plural: string;
  /** The collection in the admin API, e.g. "/admins". */
  readonly path: string;
  /** Whether the create form and revoke buttons are shown at all (operators). */
  readonly canChange: boolean;
  /** Which active items get a revoke button; all by default. */
  readonly revocable?: (item: Item) => boolean;
  readonly empty: string;
  /** Columns between Name and Status. */
  readonly columns?: readonly Column<Item>[];
  /** Fields of the create form after the name, given the refusal's field errors. */
  readonly fields?: (errors: Readonly<Record<string, string>>) => ComponentChildren;
  /** The body of the create request for this (trimmed) name. */
  readonly body: (name: string) => object;
  /** The sentence shown above the secret once created. */
  readonly createdText: (created: Created) => string;
  readonly secretLabel: string;
  readonly secret: (created: Created) => string;
  /** What revoking does, in the confirmation dialog. */
  readonly revokeWarning: string;
}

export function Credentials<Item extends Credential, Created extends Credential>(
  props: CredentialsProps<Item, Created>,
) {
  const { noun, path } = props;
  const lower = noun.toLowerCase();
  const list = useLoad(() => call<{ readonly data: readonly Item[] }>('GET', path), [path]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<Created>();
  const [revoking, setRevoking] = useState<Item>();
  const [notice, setNotice] = useState<string>();
  const create = useSubmit(async () => {
    setCreated(await call<Created>('POST', path, props.body(name.trim())));
    setName('');
    list.reload();
  });
  const columns = props.columns ?? [];
  const revocable = (item: Item) => item.status === 'active' && (props.revocable?.(item) ?? true);
  return (
    <>
      {notice !== undefined && <Notice>{notice}</Notice>}
      {props.canChange &&
        (created !== undefined ? (
          <div class="panel">
            <p>{props.createdText(created)}</p>
            <SecretOnce
              label={props.secretLabel}
              value={props.secret(created)}
              onDismiss={() => setCreated(undefined)}
            />
          </div>
        ) : (
          <form class="inline-form panel" onSubmit={create.onSubmit}>
            <Field
              label={`${noun} name`}
              value={name}
              onValue={setName}
              required
              error={create.errors.name}
            />
            {props.fields?.(create.errors)}
            <button type="submit" class="primary">
              Create {lower}
            </button>
            <Alert error={create.error} />
          </form>
        ))}
      <Alert error={list.error} />
      {list.data !== undefined &&
        (list.data.data.length === 0 ? (
          <Empty>{props.empty}</Empty>
        ) : (
          <TableRegion label={props.plural}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  {columns.map((column) => (
                    <th key={column.header} scope="col">
                      {column.header}
                    </th>
                  ))}
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Revoked</th>
                  {props.canChange && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((item) => (
                  <tr key={item.name}>
                    <td>{item.name}</td>
                    {columns.map((column) => (
                      <td key={column.header}>{column.cell(item)}</td>
                    ))}
                    <td>
                      <span class={`badge ${item.status}`}>{item.status}</span>
                    </td>
                    <td>{when(item.createdAt)}</td>
                    <td>{when(item.revokedAt)}</td>
                    {props.canChange && (
                      <td>
                        {revocable(item) && (
                          <button
                            type="button"
                            class="danger"
                            aria-label={`Revoke ${lower} ${item.name}`}
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
          title={`Revoke ${lower} ${revoking.name}?`}
          confirmLabel={`Revoke ${lower}`}
          danger
          onConfirm={async () => {
            await call<Item>('DELETE', `${path}/${encodeURIComponent(revoking.name)}`);
            setNotice(`${noun} ${revoking.name} revoked.`);
            list.reload();
          }}
          onClose={() => setRevoking(undefined)}
        >
          <p>{props.revokeWarning}</p>
        </Dialog>
      )}
    </>
  );
}
