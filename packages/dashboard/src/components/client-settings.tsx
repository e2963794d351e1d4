// The settings a client has besides its ClientId (name, token lifetime, rate limits), as form fields: the
// create form and the edit form show the same ones. Values are the fields' text; the forms turn them into
// their request bodies, which differ in what an empty field means.
import { Field } from './ui.js';

export interface ClientSettings {
  readonly name: string;
  readonly tokenTtl: string;
  readonly rateLimits: string;
}

export const noClientSettings: ClientSettings = { name: '', tokenTtl: '', rateLimits: '' };

export function ClientSettingsFields({
  value,
  onValue,
  errors,
}: {
  readonly value: ClientSettings;
  readonly onValue: (value: ClientSettings) => void;
  readonly errors: Readonly<Record<string, string>>;
}) {
  const set = (field: keyof ClientSettings) => (text: string) => onValue({ ...value, [field]: text });
  return (
    <>
      <Field label="Name" value={value.name} onValue={set('name')} error={errors.name} />
      <Field
        label="Token lifetime (seconds)"
        type="number"
        min={1}
        max={86400}
        value={value.tokenTtl}
        onValue={set('tokenTtl')}
        hint="1 to 86400; empty: the server default"
        error={errors.tokenTtl}
      />
      <Field
        label="Rate limits"
        value={value.rateLimits}
        onValue={set('rateLimits')}
        placeholder="100/1s,5000/1h"
        hint="Empty: the server default"
        error={errors.rateLimits}
      />
    </>
  );
}
