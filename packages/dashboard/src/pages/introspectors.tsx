// Introspectors: the credentials of RFC 7662 introspection. Viewers read the list; operators create (the
// key shown once) and revoke.
import type { Introspector, Schemas } from '../api.js';
import { Credentials } from '../components/credentials.js';

export function IntrospectorsPage({ operator }: { readonly operator: boolean }) {
  return (
    <>
      <h1>Introspectors</h1>
      <p>
        Credentials that may ask RFC 7662 introspection (<code>/v2.01/oauth/introspect</code>) about tokens.
      </p>
      <Credentials<Introspector, Schemas['NewIntrospector']>
        noun="Introspector"
        plural="Introspectors"
        path="/introspectors"
        canChange={operator}
        empty="No introspectors yet."
        body={(name) => ({ name })}
        createdText={(created) => `Introspector ${created.name} created.`}
        secretLabel="API key"
        secret={(created) => created.apiKey}
        revokeWarning="Its key stops working at once. This cannot be undone."
      />
    </>
  );
}
