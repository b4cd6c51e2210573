import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

interface Props {
  /** The field's id, unique on the page. */
  id: string;
  secret: string;
  /** Whose token, for the field's label. */
  label: ComponentChildren;
  onDone(): void;
}

/**
 * A token's secret, shown this once: Greenlight stores only its hash. Focus moves here so the
 * admin cannot miss it; the field is read-only and selected whole for copying.
 */
export function SecretOnce({ id, secret, label, onDone }: Props) {
  const [copied, setCopied] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);
  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, [secret]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      field.current?.select();
      setCopied('This browser refused the clipboard: the secret is selected, copy it with your keyboard.');
    }
  }

  return (
    <div class="secret-once">
      <p>
        <strong>Copy this token now: you will not see it again.</strong> Greenlight keeps only its hash; if it is lost, issue another.
      </p>
      <label for={id}>Secret of {label}</label>
      <div class="actions">
        <input id={id} class="secret-value" readOnly value={secret} onFocus={(event) => (event.target as HTMLInputElement).select()} />
        <button type="button" class="secondary" onClick={copy}>
          Copy
        </button>
        <button type="button" class="secondary" onClick={onDone}>
          I have stored it
        </button>
      </div>
      {copied && (
        <p role="status" class="muted">
          {copied}
        </p>
      )}
    </div>
  );
}
