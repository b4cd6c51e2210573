import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

interface Props {
  /** The button's text, e.g. `Revoke`. */
  label: string;
  /** What will happen, asked before it does. */
  question: ComponentChildren;
  /** The confirming button's text, e.g. `Yes, revoke`. */
  confirmLabel: string;
  onConfirm(): void | Promise<void>;
  disabled?: boolean;
  /** Extra fields asked with the question (e.g. a reason). */
  children?: ComponentChildren;
}

/**
 * A button for an action that cannot simply be undone: it first asks, in place, and acts only on
 * a second, explicit click. Focus moves to the question's confirming button, and back on cancel.
 */
export function ConfirmButton({ label, question, confirmLabel, onConfirm, disabled, children }: Props) {
  const [asking, setAsking] = useState(false);
  const confirm = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);
  useEffect(() => {
    if (asking) confirm.current?.focus();
    else if (asked.current) opener.current?.focus();
    asked.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button ref={opener} type="button" class="secondary" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <div class="confirm" role="group" aria-label={`Confirm: ${label}`}>
      <p>{question}</p>
      {children}
      <div class="actions">
        <button
          ref={confirm}
          type="button"
          class="danger"
          onClick={async () => {
            setAsking(false);
            await onConfirm();
          }}
        >
          {confirmLabel}
        </button>
        <button type="button" class="secondary" onClick={() => setAsking(false)}>
          Cancel
        </button>
      </div>
    </div>
  );
}
