import { useState } from 'preact/hooks';

interface Props {
  /** Checks the token with the server; resolves with an error message to show, or null once signed in. */
  onSignIn: (token: string) => Promise<string | null>;
  /** A message to show on arrival, e.g. why the previous session ended. */
  notice: string | null;
}

export function SignIn({ onSignIn, notice }: Props) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const trimmed = token.trim();
    if (!trimmed) return setError('Paste your Greenlight token.');
    setBusy(true);
    setError(await onSignIn(trimmed));
    setBusy(false);
  }

  return (
    <main class="sign-in">
      <h1>Greenlight</h1>
      <p>Sign in with your Greenlight token.</p>
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(event) => setToken((event.target as HTMLInputElement).value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'token-error' : undefined}
        />
        {error && (
          <p id="token-error" role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
