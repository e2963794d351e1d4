// The shell: the session (read at load, kept in memory; the cookie itself is HttpOnly), the navigation and
// the page of the current route.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, call, type Session, useSession } from './api.js';
import { Alert } from './components/ui.js';
import { AdminsPage } from './pages/admins.js';
import { AuditPage } from './pages/audit.js';
import { ClientPage } from './pages/client.js';
import { ClientsPage } from './pages/clients.js';
import { IntrospectorsPage } from './pages/introspectors.js';
import { OverviewPage } from './pages/overview.js';
import { SignInPage } from './pages/sign-in.js';
import { href, type Route, useRoute } from './route.js';

type SessionState =
  | { readonly state: 'loading' }
  | { readonly state: 'out' }
  | { readonly state: 'in'; readonly session: Session };

export function App() {
  const [current, setCurrent] = useState<SessionState>({ state: 'loading' });
  const [loadError, setLoadError] = useState<unknown>();
  const signedOut = useCallback(() => setCurrent({ state: 'out' }), []);
  const signedIn = useCallback((session: Session) => setCurrent({ state: 'in', session }), []);
  useSession(current.state === 'in' ? current.session : undefined, signedOut);

  useEffect(() => {
    call<Session>('GET', '/session').then(signedIn, (error: unknown) => {
      if (!(error instanceof ApiError && error.status === 401)) setLoadError(error);
      setCurrent({ state: 'out' });
    });
  }, [signedIn]);

  if (current.state === 'loading') {
    return (
      <main id="main" class="loading">
        <p>Loading…</p>
      </main>
    );
  }
  if (current.state === 'out') {
    return (
      <>
        <Alert error={loadError} />
        <SignInPage onSignedIn={signedIn} />
      </>
    );
  }
  return <SignedIn session={current.session} onSignedOut={signedOut} />;
}

const PAGES = [
  { page: 'overview', label: 'Overview', href: href.overview, operatorOnly: false },
  { page: 'clients', label: 'Clients', href: href.clients, operatorOnly: false },
  { page: 'audit', label: 'Audit', href: href.audit, operatorOnly: false },
  { page: 'introspectors', label: 'Introspectors', href: href.introspectors, operatorOnly: true },
  { page: 'admins', label: 'Admins', href: href.admins, operatorOnly: true },
] as const;

function SignedIn({ session, onSignedOut }: { readonly session: Session; readonly onSignedOut: () => void }) {
  const route = useRoute();
  const [signOutError, setSignOutError] = useState<unknown>();
  const operator = session.role === 'operator';
  const signOut = async () => {
    try {
      await call<undefined>('DELETE', '/session');
      onSignedOut();
    } catch (error) {
      setSignOutError(error);
    }
  };
  const active = route.page === 'client' ? 'clients' : route.page;
  return (
    <>
      <button type="button" class="skip secondary" onClick={skipToMain}>
        Skip to the page
      </button>
      <header class="top">
        <span class="brand">Portcullis</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.filter((page) => operator || !page.operatorOnly).map((page) => (
              <li key={page.page}>
                <a href={page.href} aria-current={active === page.page ? 'page' : undefined}>
                  {page.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.name} <span class="role">({session.role})</span>
          </span>
          <button type="button" class="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Alert error={signOutError} />
        <Page route={route} operator={operator} self={session.name} />
      </main>
    </>
  );
}

/** A button, not a `#main` link: the hash is the route. */
function skipToMain() {
  document.getElementById('main')?.focus();
}

function Page(props: { readonly route: Route; readonly operator: boolean; readonly self: string }) {
  const { route, operator } = props;
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'clients':
      return <ClientsPage operator={operator} />;
    case 'client':
      return <ClientPage clientId={route.clientId} operator={operator} />;
    case 'audit':
      return <AuditPage key={route.client} client={route.client} />;
    case 'introspectors':
      return <IntrospectorsPage operator={operator} />;
    case 'admins':
      return operator ? <AdminsPage self={props.self} /> : <OperatorsOnly />;
    case 'not-found':
      return (
        <>
          <h1>Not found</h1>
          <p>
            There is no such page. <a href={href.overview}>Go to the overview</a>.
          </p>
        </>
      );
  }
}

function OperatorsOnly() {
  return (
    <>
      <h1>Admins</h1>
      <p class="empty">This page is for operators only.</p>
    </>
  );
}
