import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { connect, GreenlightError, viewerOf, type Viewer } from './api.js';
import { forgetToken, hasRole, SessionContext, storedToken, storeToken, type Session } from './session.js';
import { SignIn } from './sign-in.js';
import { VIEWS, type ViewId } from './views.js';
import './style.css';

/** The server's words for a refused token, or a plain one when the server could not be reached. */
function refusal(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'UNAUTHENTICATED') return `This token was refused: ${message}`;
  if (code === 'RATE_LIMITED') return `Too many failed sign-ins from here; try again later. (${message})`;
  return `Greenlight could not be reached: ${message}`;
}

const SESSION_ENDED = 'Your session ended: this token was revoked or has expired, or your principal was disabled.';

/** The view named by the address (`#inbox`), if the viewer may see it; else the first one it may. */
function viewFor(viewer: Viewer): ViewId | null {
  const allowed = VIEWS.filter((view) => hasRole(viewer, ...view.roles));
  const wanted = window.location.hash.slice(1);
  return (allowed.find((view) => view.id === wanted) ?? allowed[0])?.id ?? null;
}

function App() {
  const [signedIn, setSignedIn] = useState<{ viewer: Viewer; token: string } | null>(null);
  const [checking, setChecking] = useState(storedToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const [view, setView] = useState<ViewId | null>(null);

  async function signIn(token: string): Promise<string | null> {
    try {
      const viewer = await viewerOf(connect(token));
      storeToken(token);
      setNotice(null);
      setSignedIn({ viewer, token });
      return null;
    } catch (error) {
      return refusal(error);
    }
  }

  function signOut(reason: string | null = null) {
    forgetToken();
    setSignedIn(null);
    setNotice(reason);
  }

  // A session kept in this tab is checked again on load: the token may have been revoked meanwhile.
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    viewerOf(connect(token))
      .then(
        (viewer) => setSignedIn({ viewer, token }),
        (error: unknown) => signOut(refusal(error)),
      )
      .finally(() => setChecking(false));
  }, []);

  useEffect(() => {
    if (!signedIn) return;
    const follow = () => setView(viewFor(signedIn.viewer));
    follow();
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, [signedIn]);

  const session = useMemo<Session | null>(() => {
    if (!signedIn) return null;
    const transport = connect(signedIn.token);
    const ended = (error: unknown) => error instanceof GreenlightError && error.code === 'UNAUTHENTICATED';
    return {
      viewer: signedIn.viewer,
      transport,
      async run(document, variables) {
        try {
          return await transport.execute(document, variables);
        } catch (error) {
          if (ended(error)) signOut(SESSION_ENDED);
          throw error;
        }
      },
      recheck() {
        viewerOf(transport).catch((error: unknown) => ended(error) && signOut(SESSION_ENDED));
      },
    };
  }, [signedIn]);

  // The server closes a session's sockets with 4403 when its token is revoked or its principal
  // disabled: the console then asks again, and ends the session if the token no longer stands.
  // Each session's sockets close with it.
  useEffect(() => {
    if (!session) return;
    const offClosed = session.transport.socket()?.on('closed', (event) => {
      if ((event as { code?: number }).code === 4403) session.recheck();
    });
    return () => {
      offClosed?.();
      void session.transport.close();
    };
  }, [session]);

  if (checking) return <p role="status">Checking your session…</p>;
  if (!session) return <SignIn onSignIn={signIn} notice={notice} />;
  const { viewer } = session;
  const allowed = VIEWS.filter((entry) => hasRole(viewer, ...entry.roles));
  const current = allowed.find((entry) => entry.id === view);
  return (
    <SessionContext.Provider value={session}>
      <div class="shell">
        <header>
          <span class="brand">Greenlight</span>
          <nav aria-label="Views">
            {allowed.map((entry) => (
              <a key={entry.id} href={`#${entry.id}`} aria-current={entry.id === view ? 'page' : undefined}>
                {entry.label}
              </a>
            ))}
          </nav>
          <span class="who">
            Signed in as <strong>{viewer.name}</strong>
            {viewer.roles?.length ? ` · ${viewer.roles.join(', ')}` : ''}
          </span>
          <button type="button" class="secondary" onClick={() => signOut()}>
            Sign out
          </button>
        </header>
        <main>
          {current ? (
            <current.component key={current.id} />
          ) : (
            <p>
              Your principal has no console role (REVIEWER, AUDITOR or ADMIN). Agents use the API, the SDK or MCP; ask an administrator for
              a role.
            </p>
          )}
        </main>
      </div>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
