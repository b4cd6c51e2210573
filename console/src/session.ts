import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import type { Transport } from '../../src/client/transport.js';
import type { Viewer } from './api.js';

/** The token lives in this tab's sessionStorage only: closing the tab signs out. */
const KEY = 'greenlight.token';

export const storedToken = (): string | null => sessionStorage.getItem(KEY);
export const storeToken = (token: string): void => sessionStorage.setItem(KEY, token);
export const forgetToken = (): void => sessionStorage.removeItem(KEY);

/** The signed-in session every view works through. */
export interface Session {
  viewer: Viewer;
  transport: Transport;
  /**
   * Runs a query or mutation. A refused token (revoked, expired, principal disabled) ends the
   * session, back to the sign-in page with the reason; other errors are thrown to the caller.
   */
  run<R, V>(document: DocumentTypeDecoration<R, V>, variables: V): Promise<R>;
  /** Asks the server whether the token still stands, and ends the session if not. */
  recheck(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}

export const hasRole = (viewer: Viewer, ...roles: string[]) => roles.some((role) => viewer.roles?.includes(role as never));
