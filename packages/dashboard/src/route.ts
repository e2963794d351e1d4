// Hash routing: the admin listener serves index.html at `/` only, so every page lives after the `#`.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'clients' }
  | { readonly page: 'client'; readonly clientId: string }
  | { readonly page: 'audit'; readonly client: string }
  | { readonly page: 'introspectors' }
  | { readonly page: 'admins' }
  | { readonly page: 'not-found' };

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter((part) => part !== '');
  const [first, second] = parts;
  if (first === undefined) return { page: 'overview' };
  if (first === 'clients' && parts.length === 1) return { page: 'clients' };
  if (first === 'clients' && second !== undefined && parts.length === 2) {
    return { page: 'client', clientId: decodeURIComponent(second) };
  }
  if (first === 'audit' && parts.length === 1) {
    return { page: 'audit', client: new URLSearchParams(search).get('client') ?? '' };
  }
  if ((first === 'introspectors' || first === 'admins') && parts.length === 1) {
    return { page: first };
  }
  return { page: 'not-found' };
}

export const href = {
  overview: '#/',
  clients: '#/clients',
  client: (clientId: string) => `#/clients/${encodeURIComponent(clientId)}`,
  audit: '#/audit',
  introspectors: '#/introspectors',
  admins: '#/admins',
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}
