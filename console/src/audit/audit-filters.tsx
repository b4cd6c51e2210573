import { useEffect, useState } from 'preact/hooks';
import type { ActionStatus, AuditEventFilter, AuditEventType } from '../generated/graphql.js';
import { DECISIONS, TYPE_GROUPS_SHOWN } from './audit-vocabulary.js';

/** The text fields of the filter, as typed (dates as `datetime-local` values, in the reader's time zone). */
interface Draft {
  action: string;
  resourcePrefix: string;
  requestId: string;
  agentId: string;
  actorId: string;
  since: string;
  until: string;
  types: AuditEventType[];
  decisions: ActionStatus[];
}

const TEXT_FIELDS: { key: 'action' | 'resourcePrefix' | 'requestId' | 'agentId' | 'actorId'; label: string; hint: string }[] = [
  { key: 'action', label: 'Action', hint: 'a glob, e.g. deploy.*' },
  { key: 'resourcePrefix', label: 'Resource prefix', hint: 'e.g. prod/' },
  { key: 'requestId', label: 'Request id', hint: '' },
  { key: 'agentId', label: 'Agent id', hint: 'requests of this agent' },
  { key: 'actorId', label: 'Actor id', hint: 'who caused the event' },
];

/** A `datetime-local` value as an instant, or undefined when empty or not a date. */
function instant(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** An instant as a `datetime-local` value in the reader's time zone, to the second. */
function local(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function draftOf(filter: AuditEventFilter): Draft {
  return {
    action: filter.action ?? '',
    resourcePrefix: filter.resourcePrefix ?? '',
    requestId: filter.requestId ?? '',
    agentId: filter.agentId ?? '',
    actorId: filter.actorId ?? '',
    since: local(filter.since),
    until: local(filter.until),
    types: filter.types ?? [],
    decisions: filter.decisions ?? [],
  };
}

/** The filter the server is sent: empty fields are left out (they would narrow nothing). */
function filterOf(draft: Draft): AuditEventFilter {
  const filter: AuditEventFilter = {};
  for (const { key } of TEXT_FIELDS) if (draft[key].trim()) filter[key] = draft[key].trim();
  const since = instant(draft.since);
  const until = instant(draft.until);
  if (since) filter.since = since;
  if (until) filter.until = until;
  if (draft.types.length) filter.types = draft.types;
  if (draft.decisions.length) filter.decisions = draft.decisions;
  return filter;
}

/** How many criteria a filter holds, for the summary line. */
export const criteriaIn = (filter: AuditEventFilter) => Object.keys(filter).length;

const toggle = <T,>(list: T[], item: T, on: boolean) => (on ? [...list, item] : list.filter((entry) => entry !== item));

interface Props {
  filter: AuditEventFilter;
  onApply(filter: AuditEventFilter): void;
}

/** The criteria `auditEvents` offers, applied together on submit. */
export function AuditFilters({ filter, onApply }: Props) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(filter));
  // Open on a laptop; folded on a phone, where it would push the log a screen down.
  const [openAtFirst] = useState(() => !window.matchMedia('(max-width: 640px)').matches);
  // A filter set from elsewhere (a click on a request or an actor in the log) shows here too.
  useEffect(() => setDraft(draftOf(filter)), [filter]);
  const set = (change: Partial<Draft>) => setDraft((current) => ({ ...current, ...change }));

  const applied = criteriaIn(filter);
  return (
    <details class="card audit-filter-panel" open={openAtFirst}>
      <summary>Filters{applied ? ` (${applied} applied)` : ''}</summary>
      <form
        class="audit-filters"
        aria-label="Audit log filters"
        onSubmit={(event) => {
          event.preventDefault();
          onApply(filterOf(draft));
        }}
      >
        <div class="audit-fields">
          {TEXT_FIELDS.map(({ key, label, hint }) => (
            <div class="field" key={key}>
              <label for={`audit-filter-${key}`}>{label}</label>
              <input
                id={`audit-filter-${key}`}
                value={draft[key]}
                placeholder={hint}
                spellcheck={false}
                autocomplete="off"
                onInput={(event) => set({ [key]: event.currentTarget.value })}
              />
            </div>
          ))}
          <div class="field">
            <label for="audit-filter-since">Since</label>
            <input
              id="audit-filter-since"
              type="datetime-local"
              step={1}
              value={draft.since}
              onInput={(e) => set({ since: e.currentTarget.value })}
            />
          </div>
          <div class="field">
            <label for="audit-filter-until">Until</label>
            <input
              id="audit-filter-until"
              type="datetime-local"
              step={1}
              value={draft.until}
              onInput={(e) => set({ until: e.currentTarget.value })}
            />
          </div>
        </div>
        <fieldset class="audit-choices">
          <legend>Decisions</legend>
          {DECISIONS.map((status) => (
            <label key={status} class="choice">
              <input
                type="checkbox"
                checked={draft.decisions.includes(status)}
                onChange={(event) => set({ decisions: toggle(draft.decisions, status, event.currentTarget.checked) })}
              />
              {status}
            </label>
          ))}
        </fieldset>
        <details class="audit-types">
          <summary>Event types{draft.types.length ? ` (${draft.types.length} chosen)` : ' (all)'}</summary>
          {TYPE_GROUPS_SHOWN.map(({ group, types }) => (
            <fieldset key={group} class="audit-choices">
              <legend>{group}</legend>
              {types.map((type) => (
                <label key={type} class="choice">
                  <input
                    type="checkbox"
                    checked={draft.types.includes(type)}
                    onChange={(event) => set({ types: toggle(draft.types, type, event.currentTarget.checked) })}
                  />
                  {type}
                </label>
              ))}
            </fieldset>
          ))}
        </details>
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(draftOf({}));
              onApply({});
            }}
          >
            Clear filters
          </button>
        </div>
      </form>
    </details>
  );
}
