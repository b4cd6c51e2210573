import type { Role } from '../generated/graphql.js';

export const ROLES: readonly Role[] = ['ADMIN', 'AGENT', 'AUDITOR', 'REVIEWER'];

/** `sre, sre-leads` → `['sre', 'sre-leads']`: the comma-separated lists the forms take. */
export const listOf = (text: string): string[] =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** A `datetime-local` field's value (the reader's time zone) as an ISO instant; undefined when empty. */
export const instantOf = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

/** Whether an instant has passed. */
export const isPast = (iso: string | null) => iso !== null && Date.parse(iso) <= Date.now();

/** The roles as checkboxes in a labelled group; `id` keeps two pickers on one page apart. */
export function RolePicker({ id, value, onChange }: { id: string; value: readonly Role[]; onChange(roles: Role[]): void }) {
  return (
    <fieldset class="roles">
      <legend>Roles</legend>
      {ROLES.map((role) => (
        <label key={role} for={`${id}-${role}`} class="check">
          <input
            id={`${id}-${role}`}
            type="checkbox"
            checked={value.includes(role)}
            onChange={(event) =>
              onChange(ROLES.filter((held) => (held === role ? (event.target as HTMLInputElement).checked : value.includes(held))))
            }
          />
          {role}
        </label>
      ))}
    </fieldset>
  );
}

/** The value of the field an input event came from. */
export const valueOf = (event: Event) => (event.target as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
