import { useState } from 'preact/hooks';
import { useSession } from '../session.js';
import {
  AdminDisablePrincipalDocument,
  AdminEnablePrincipalDocument,
  AdminPrincipalDocument,
  AdminUpdatePrincipalDocument,
  type AdminPrincipalQuery,
  type Role,
} from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import { when } from '../ui/time.js';
import { ConfirmButton } from '../ui/confirm.js';
import { DelegationTable } from './delegation-table.js';
import { listOf, RolePicker, valueOf } from './fields.js';
import { useLoad } from './load.js';
import { Outcome, useMutation } from './mutation.js';
import { Tokens } from './tokens.js';

export type PrincipalInFull = NonNullable<AdminPrincipalQuery['principal']>;

interface Props {
  id: string;
  /** Something changed: the list reloads too. */
  onChanged(): void;
  onClose(): void;
}

/** One principal: its access (roles, groups), whether it may sign in at all, its tokens and delegations. */
export function PrincipalDetail({ id, onChanged, onClose }: Props) {
  const { run } = useSession();
  const detail = useLoad(() => run(AdminPrincipalDocument, { id }), [id]);
  const principal = detail.data?.principal;
  const changed = () => {
    detail.reload();
    onChanged();
  };

  return (
    <section class="card" aria-labelledby="principal-heading">
      <div class="heading-row">
        <h2 id="principal-heading">{principal ? <Text value={principal.name} /> : 'Principal'}</h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <Problem error={detail.error} prefix="This principal could not be loaded" />
      {detail.data && !principal && <p>There is no principal with this id.</p>}
      {principal && (
        <>
          <p class="muted">
            {principal.kind} · created {when(principal.createdAt)} · id <code>{principal.id}</code>
            {principal.owner && (
              <>
                {' '}
                · owned by <Text value={principal.owner.name} />
              </>
            )}
          </p>
          <Access key={`${principal.roles?.join()}|${principal.groups?.join()}`} principal={principal} onSaved={changed} />
          <Availability principal={principal} onChanged={changed} />
          <Tokens principal={principal} onChanged={changed} />
          <h3>Delegations</h3>
          <DelegationTable delegations={principal.delegations ?? []} onChanged={changed} />
        </>
      )}
    </section>
  );
}

/** Roles and groups: the complete new lists replace the old ones. */
function Access({ principal, onSaved }: { principal: PrincipalInFull; onSaved(): void }) {
  const { run } = useSession();
  const mutation = useMutation();
  const [roles, setRoles] = useState<Role[]>(principal.roles ?? []);
  const [groups, setGroups] = useState((principal.groups ?? []).join(', '));
  const [saved, setSaved] = useState(false);

  async function save(event: Event) {
    event.preventDefault();
    setSaved(false);
    const input = { principalId: principal.id, roles, groups: listOf(groups) };
    const payload = await mutation.attempt(async () => (await run(AdminUpdatePrincipalDocument, { input })).updatePrincipal);
    if (!payload) return;
    setSaved(true);
    onSaved();
  }

  return (
    <form onSubmit={save} aria-labelledby="access-heading">
      <h3 id="access-heading">Roles and groups</h3>
      <RolePicker id="edit-role" value={roles} onChange={setRoles} />
      <div class="field">
        <label for="edit-groups">Groups (comma-separated)</label>
        <input id="edit-groups" value={groups} onInput={(event) => setGroups(valueOf(event))} />
      </div>
      <div class="actions">
        <button type="submit" disabled={mutation.busy}>
          Save roles and groups
        </button>
        {saved && (
          <span role="status" class="muted">
            Saved. Open connections follow the new roles within about a second.
          </span>
        )}
      </div>
      <Outcome mutation={mutation} prefix="Roles and groups were not saved" />
    </form>
  );
}

/** Disable (its tokens stop working, its sockets close, an agent's pending requests are cancelled) or enable again. */
function Availability({ principal, onChanged }: { principal: PrincipalInFull; onChanged(): void }) {
  const { run } = useSession();
  const mutation = useMutation();
  const [reason, setReason] = useState('');

  async function disable() {
    const input = { principalId: principal.id, ...(reason.trim() ? { reason: reason.trim() } : {}) };
    if (await mutation.attempt(async () => (await run(AdminDisablePrincipalDocument, { input })).disablePrincipal)) onChanged();
  }
  async function enable() {
    const input = { principalId: principal.id };
    if (await mutation.attempt(async () => (await run(AdminEnablePrincipalDocument, { input })).enablePrincipal)) onChanged();
  }

  return (
    <div>
      <h3 id="availability-heading">Status</h3>
      {principal.disabled ? (
        <>
          <p>
            <strong>Disabled</strong>
            {principal.disabledAt && ` since ${when(principal.disabledAt)}`}
            {principal.disabledReason && (
              <>
                : <Text value={principal.disabledReason} />
              </>
            )}
            . None of its tokens works.
          </p>
          <ConfirmButton
            label="Enable"
            question={
              <>
                Enable <Text value={principal.name} /> again? Its live tokens work again at once.
              </>
            }
            confirmLabel="Yes, enable"
            disabled={mutation.busy}
            onConfirm={enable}
          />
        </>
      ) : (
        <>
          <p>Enabled: its live tokens work.</p>
          <ConfirmButton
            label="Disable"
            question={
              <>
                Disable <Text value={principal.name} />? Its tokens stop working, its open connections close
                {principal.kind === 'AGENT' ? ' and its pending requests are cancelled' : ''}.
              </>
            }
            confirmLabel="Yes, disable"
            disabled={mutation.busy}
            onConfirm={disable}
          >
            <div class="field">
              <label for="disable-reason">Reason (for the audit log)</label>
              <input id="disable-reason" value={reason} onInput={(event) => setReason(valueOf(event))} />
            </div>
          </ConfirmButton>
        </>
      )}
      <Outcome mutation={mutation} prefix={principal.disabled ? 'It was not enabled' : 'It was not disabled'} />
    </div>
  );
}
