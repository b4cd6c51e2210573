import { useSession } from '../session.js';
import { AdminRevokeDelegationDocument, type AdminDelegationRowFragment } from '../generated/graphql.js';
import { Text } from '../ui/text.js';
import { when } from '../ui/time.js';
import { ConfirmButton } from '../ui/confirm.js';
import { isPast } from './fields.js';
import { Outcome, useMutation } from './mutation.js';

const statusOf = (delegation: AdminDelegationRowFragment) =>
  delegation.revokedAt
    ? `Revoked ${when(delegation.revokedAt)}`
    : isPast(delegation.expiresAt)
      ? `Expired ${when(delegation.expiresAt!)}`
      : 'Live';

/** Delegations with who lets whom do what, until when; a live one can be revoked (after a confirmation). */
export function DelegationTable({ delegations, onChanged }: { delegations: readonly AdminDelegationRowFragment[]; onChanged(): void }) {
  const { run } = useSession();
  const revoking = useMutation();

  async function revoke(delegation: AdminDelegationRowFragment) {
    const input = { delegationId: delegation.id };
    if (await revoking.attempt(async () => (await run(AdminRevokeDelegationDocument, { input })).revokeDelegation)) onChanged();
  }

  if (delegations.length === 0) return <p>No delegations.</p>;
  return (
    <>
      <table>
        <thead>
          <tr>
            <th scope="col">Human</th>
            <th scope="col">Agent acting for them</th>
            <th scope="col">Actions</th>
            <th scope="col">Granted</th>
            <th scope="col">Expires</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="visually-hidden">Actions on the delegation</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {delegations.map((delegation) => (
            <tr key={delegation.id}>
              <td data-label="Human">
                <Text value={delegation.human.name} />
              </td>
              <td data-label="Agent">
                <Text value={delegation.agent.name} />
              </td>
              <td data-label="Actions">
                <code>
                  <Text value={delegation.actions.join(', ')} />
                </code>
              </td>
              <td data-label="Granted">
                {when(delegation.createdAt)}
                {delegation.grantedBy && (
                  <>
                    {' by '}
                    <Text value={delegation.grantedBy.name} />
                  </>
                )}
              </td>
              <td data-label="Expires">{delegation.expiresAt ? when(delegation.expiresAt) : 'Never'}</td>
              <td data-label="Status">{statusOf(delegation)}</td>
              <td>
                {statusOf(delegation) === 'Live' && (
                  <ConfirmButton
                    label="Revoke"
                    question={
                      <>
                        Revoke the delegation letting <Text value={delegation.agent.name} /> act for <Text value={delegation.human.name} />?
                      </>
                    }
                    confirmLabel="Yes, revoke"
                    disabled={revoking.busy}
                    onConfirm={() => revoke(delegation)}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Outcome mutation={revoking} prefix="The delegation was not revoked" />
    </>
  );
}
