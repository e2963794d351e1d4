import { useState } from 'preact/hooks';
import { call, type Session } from '../api.js';
import { Alert, Field, useSubmit } from '../components/ui.js';

export function SignInPage({ onSignedIn }: { readonly onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const submit = useSubmit(async () => {
    const session = await call<Session>('POST', '/session', { token });
    setToken('');
    onSignedIn(session);
  });
  return (
    <main id="main" class="sign-in">
      <h1>Portcullis</h1>
      <p>
        Sign in with an admin token (<code>pca_…</code>), from <code>portcullis admins create</code>.
      </p>
      <form onSubmit={submit.onSubmit}>
        <Field
          label="Admin token"
          type="password"
          value={token}
          onValue={setToken}
          required
          autoComplete="off"
          error={submit.errors.token}
        />
        <Alert error={submit.error} />
        <button type="submit" class="primary" disabled={submit.busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
