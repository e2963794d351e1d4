import { useState } from 'preact/hooks';
import { call, type Session } from '../api.js';
import { Alert, Field, fieldErrors, onSubmit } from '../components/ui.js';

export function SignInPage({ onSignedIn }: { readonly onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const session = await call<Session>('POST', '/session', { token });
      setToken('');
      onSignedIn(session);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Portcullis</h1>
      <p>
        Sign in with an admin token (<code>pca_…</code>), from <code>portcullis admins create</code>.
      </p>
      <form onSubmit={onSubmit(() => void submit())}>
        <Field
          label="Admin token"
          type="password"
          value={token}
          onValue={setToken}
          required
          autoComplete="off"
          error={fieldErrors(error).token}
        />
        <Alert error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
