import type { AuditEntry } from '../api.js';
import { when } from '../format.js';
import { href } from '../route.js';
import { TableRegion } from './ui.js';

/** Audit entries, newest first as given. `detail` is shown as compact JSON: it never holds a secret. */
export function AuditTable({
  entries,
  label,
}: {
  readonly entries: readonly AuditEntry[];
  readonly label: string;
}) {
  return (
    <TableRegion label={label}>
      <table class="audit">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Type</th>
            <th scope="col">Client</th>
            <th scope="col">Key</th>
            <th scope="col">Actor</th>
            <th scope="col">Source</th>
            <th scope="col">Count</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr key={entry.id}>
              <td>{when(entry.at)}</td>
              <td>
                <code>{entry.type}</code>
              </td>
              <td>
                {entry.clientId === null ? '—' : <a href={href.client(entry.clientId)}>{entry.clientId}</a>}
              </td>
              <td>{entry.keyId ?? '—'}</td>
              <td>{entry.actor ?? 'server'}</td>
              <td>{entry.source ?? '—'}</td>
              <td>{entry.count}</td>
              <td class="detail">{entry.detail === null ? '—' : JSON.stringify(entry.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}
