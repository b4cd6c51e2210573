import { useState } from 'preact/hooks';
import { useSession } from '../session.js';
import { AdminGrantDelegationDocument } from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { DelegationTable } from './delegation-table.js';
import { plainLabel } from '../ui/fidelity.js';
import { instantOf, isPast, listOf, valueOf } from './fields.js';
import { Outcome, useMutation } from './mutation.js';
import { useParties, type Party } from './parties.js';

/**
 * Delegations are read where the API keeps them, on each principal: every human's list holds all
 * the delegations it granted, so the humans' lists together hold every delegation.
 */
export function DelegationsSection() {
  const humans = useParties('HUMAN');
  const agents = useParties('AGENT');
  const [showEnded, setShowEnded] = useState(false);
  const all = (humans.data?.parties ?? []).flatMap((human) => human.delegations ?? []);
  const shown = showEnded ? all : all.filter((delegation) => !delegation.revokedAt && !isPast(delegation.expiresAt));

  return (
    <>
      <section class="card" aria-labelledby="grant-heading">
        <h2 id="grant-heading">Grant a delegation</h2>
        <p class="muted">
          Lets an agent name a human as the one it acts for (onBehalfOf) on the actions the globs match. An agent's owner needs none.
        </p>
        <Problem error={humans.error ?? agents.error} prefix="The principals could not be loaded" />
        <GrantForm humans={humans.data?.parties ?? []} agents={agents.data?.parties ?? []} onGranted={humans.reload} />
      </section>
      <section class="card" aria-labelledby="delegations-heading">
        <h2 id="delegations-heading">Delegations</h2>
        {humans.data?.partial && <p class="muted">Only the delegations of the first 1,000 humans are listed.</p>}
        <label class="check" for="show-ended">
          <input
            id="show-ended"
            type="checkbox"
            checked={showEnded}
            onChange={(event) => setShowEnded((event.target as HTMLInputElement).checked)}
          />
          Show revoked and expired delegations
        </label>
        {humans.loading && !humans.data ? <p role="status">Loading…</p> : <DelegationTable delegations={shown} onChanged={humans.reload} />}
      </section>
    </>
  );
}

function PartySelect({
  id,
  label,
  parties,
  value,
  onChange,
}: {
  id: string;
  label: string;
  parties: Party[];
  value: string;
  onChange(id: string): void;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} required value={value} onChange={(event) => onChange(valueOf(event))}>
        <option value="">Choose…</option>
        {parties
          .filter((party) => !party.disabled)
          .map((party) => (
            <option key={party.id} value={party.id}>
              {plainLabel(party.name)}
            </option>
          ))}
      </select>
    </div>
  );
}

function GrantForm({ humans, agents, onGranted }: { humans: Party[]; agents: Party[]; onGranted(): void }) {
  const { run } = useSession();
  const mutation = useMutation();
  const [human, setHuman] = useState('');
  const [agent, setAgent] = useState('');
  const [actions, setActions] = useState('');
  const [expires, setExpires] = useState('');
  const [granted, setGranted] = useState(false);

  async function grant(event: Event) {
    event.preventDefault();
    setGranted(false);
    const expiresAt = instantOf(expires);
    const input = { humanId: human, agentId: agent, actions: listOf(actions), ...(expiresAt ? { expiresAt } : {}) };
    const payload = await mutation.attempt(async () => (await run(AdminGrantDelegationDocument, { input })).grantDelegation);
    if (!payload) return;
    setGranted(true);
    setActions('');
    setExpires('');
    onGranted();
  }

  return (
    <form class="inline" onSubmit={grant} aria-label="Grant a delegation">
      <PartySelect id="grant-human" label="Human" parties={humans} value={human} onChange={setHuman} />
      <PartySelect id="grant-agent" label="Agent" parties={agents} value={agent} onChange={setAgent} />
      <div class="field">
        <label for="grant-actions">Actions (comma-separated globs)</label>
        <input id="grant-actions" required value={actions} placeholder="deploy.*" onInput={(event) => setActions(valueOf(event))} />
      </div>
      <div class="field">
        <label for="grant-expires">Expires (optional)</label>
        <input id="grant-expires" type="datetime-local" value={expires} onInput={(event) => setExpires(valueOf(event))} />
      </div>
      <div class="field">
        <button type="submit" disabled={mutation.busy}>
          Grant delegation
        </button>
      </div>
      {granted && (
        <p role="status" class="muted">
          Delegation granted.
        </p>
      )}
      <Outcome mutation={mutation} prefix="The delegation was not granted" />
    </form>
  );
}
