import { useState } from 'preact/hooks';
import { useSession } from '../session.js';
import { AdminCreatePrincipalDocument, type PrincipalKind, type Role } from '../generated/graphql.js';
import { Text } from '../ui/text.js';
import { plainLabel } from '../ui/fidelity.js';
import { listOf, RolePicker, valueOf } from './fields.js';
import { Outcome, useMutation } from './mutation.js';
import { useParties } from './parties.js';
import { SecretOnce } from './secret.js';

/** Parses the labels field: a JSON object of strings, or an error message for the form. */
function labelsOf(text: string): Record<string, string> | string {
  if (!text.trim()) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string')) {
      return value as Record<string, string>;
    }
  } catch {
    // Reported below, like any other shape.
  }
  return 'Labels must be a JSON object of strings, e.g. {"team": "payments"}.';
}

/** Creates an agent or a human, and shows its first token once. */
export function CreatePrincipal({ onCreated }: { onCreated(id: string): void }) {
  const { run } = useSession();
  const mutation = useMutation();
  const humans = useParties('HUMAN');
  const [kind, setKind] = useState<PrincipalKind>('AGENT');
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<Role[]>(['AGENT']);
  const [groups, setGroups] = useState('');
  const [labels, setLabels] = useState('');
  const [owner, setOwner] = useState('');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const parsed = labelsOf(labels);
    if (typeof parsed === 'string') return mutation.refuse(parsed);
    const input = { kind, name, roles, groups: listOf(groups), labels: parsed, ...(kind === 'AGENT' && owner ? { owner } : {}) };
    const payload = await mutation.attempt(async () => (await run(AdminCreatePrincipalDocument, { input })).createPrincipal);
    if (!payload?.principal) return;
    setCreated({ name: payload.principal.name, token: payload.token ?? '' });
    setName('');
    setGroups('');
    setLabels('');
    setOwner('');
    onCreated(payload.principal.id);
  }

  return (
    <section class="card" aria-labelledby="create-principal-heading">
      <h2 id="create-principal-heading">Create a principal</h2>
      {created && (
        <SecretOnce
          id="created-secret"
          secret={created.token}
          label={
            <>
              <Text value={created.name} />
              {"'s first token (named default)"}
            </>
          }
          onDone={() => setCreated(null)}
        />
      )}
      <form onSubmit={submit} aria-label="Create a principal">
        <div class="field">
          <label for="create-kind">Kind</label>
          <select
            id="create-kind"
            value={kind}
            onChange={(event) => {
              const next = valueOf(event) as PrincipalKind;
              setKind(next);
              setRoles(next === 'AGENT' ? ['AGENT'] : ['REVIEWER']);
            }}
          >
            <option value="AGENT">AGENT (software)</option>
            <option value="HUMAN">HUMAN (a person)</option>
          </select>
        </div>
        <div class="field">
          <label for="create-name">Name</label>
          <input id="create-name" required value={name} onInput={(event) => setName(valueOf(event))} />
        </div>
        <RolePicker id="create-role" value={roles} onChange={setRoles} />
        <div class="field">
          <label for="create-groups">Groups (comma-separated)</label>
          <input id="create-groups" value={groups} placeholder="sre, payments" onInput={(event) => setGroups(valueOf(event))} />
        </div>
        <div class="field">
          <label for="create-labels">Labels (JSON object)</label>
          <textarea
            id="create-labels"
            rows={2}
            value={labels}
            placeholder='{"team": "payments"}'
            onInput={(event) => setLabels(valueOf(event))}
          />
        </div>
        {kind === 'AGENT' && (
          <div class="field">
            <label for="create-owner">Owner (the human responsible; never its reviewer)</label>
            <select id="create-owner" value={owner} onChange={(event) => setOwner(valueOf(event))}>
              <option value="">None</option>
              {humans.data?.parties
                .filter((human) => !human.disabled)
                .map((human) => (
                  <option key={human.id} value={human.id}>
                    {plainLabel(human.name)}
                  </option>
                ))}
            </select>
          </div>
        )}
        <div class="field">
          <button type="submit" disabled={mutation.busy}>
            Create principal
          </button>
        </div>
        <Outcome mutation={mutation} prefix="The principal was not created" />
      </form>
    </section>
  );
}
