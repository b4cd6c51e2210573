import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { connect, viewerOf, type Viewer } from './api.js';
import { forgetToken, storedToken, storeToken } from './session.js';
import { SignIn } from './sign-in.js';
import './style.css';

/** The server's words for a refused token, or a plain one when the server could not be reached. */
function refusal(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'UNAUTHENTICATED') return `This token was refused: ${message}`;
  if (code === 'RATE_LIMITED') return `Too many failed sign-ins from here; try again later. (${message})`;
  return `Greenlight could not be reached: ${message}`;
}

function App() {
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [checking, setChecking] = useState(storedToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);

  async function signIn(token: string): Promise<string | null> {
    try {
      setViewer(await viewerOf(connect(token)));
      storeToken(token);
      setNotice(null);
      return null;
    } catch (error) {
      return refusal(error);
    }
  }

  function signOut(reason: string | null = null) {
    forgetToken();
    setViewer(null);
    setNotice(reason);
  }

  // A session kept in this tab is checked again on load: the token may have been revoked meanwhile.
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    viewerOf(connect(token))
      .then(setViewer, (error: unknown) => signOut(refusal(error)))
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p role="status">Checking your session…</p>;
  if (!viewer) return <SignIn onSignIn={signIn} notice={notice} />;
  return (
    <div class="shell">
      <header>
        <span class="brand">Greenlight</span>
        <span class="who">
          Signed in as <strong>{viewer.name}</strong>
          {viewer.roles?.length ? ` · ${viewer.roles.join(', ')}` : ''}
        </span>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main>
        <h1>Welcome, {viewer.name}</h1>
        <p>Your roles: {viewer.roles?.length ? viewer.roles.join(', ') : 'none'}.</p>
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
