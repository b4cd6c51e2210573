import { useState } from 'preact/hooks';
import { useSession } from '../session.js';
import { AdminIssueTokenDocument, AdminRevokeTokenDocument } from '../generated/graphql.js';
import { Text } from '../ui/text.js';
import { when } from '../ui/time.js';
import { ConfirmButton } from '../ui/confirm.js';
import { instantOf, isPast, valueOf } from './fields.js';
import { Outcome, useMutation } from './mutation.js';
import type { PrincipalInFull } from './principal-detail.js';
import { SecretOnce } from './secret.js';

type Token = NonNullable<PrincipalInFull['tokens']>[number];

const statusOf = (token: Token) =>
  token.revokedAt ? `Revoked ${when(token.revokedAt)}` : isPast(token.expiresAt) ? `Expired ${when(token.expiresAt!)}` : 'Live';

/** A principal's tokens (never their secrets): issue one, its secret shown once; revoke one. */
export function Tokens({ principal, onChanged }: { principal: PrincipalInFull; onChanged(): void }) {
  const { run } = useSession();
  const revoking = useMutation();
  const tokens = principal.tokens ?? [];

  async function revoke(token: Token) {
    const input = { tokenId: token.id };
    if (await revoking.attempt(async () => (await run(AdminRevokeTokenDocument, { input })).revokeToken)) onChanged();
  }

  return (
    <>
      <h3>Tokens</h3>
      {tokens.length === 0 ? (
        <p>No tokens.</p>
      ) : (
        <table>
          <caption class="visually-hidden">
            Tokens of <Text value={principal.name} />
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Issued</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr key={token.id}>
                <td data-label="Name">
                  <Text value={token.name} />
                </td>
                <td data-label="Issued">{when(token.createdAt)}</td>
                <td data-label="Expires">{token.expiresAt ? when(token.expiresAt) : 'Never'}</td>
                <td data-label="Last used">{token.lastUsedAt ? when(token.lastUsedAt) : 'Never'}</td>
                <td data-label="Status">{statusOf(token)}</td>
                <td>
                  {statusOf(token) === 'Live' && (
                    <ConfirmButton
                      label="Revoke"
                      question={
                        <>
                          Revoke the token <Text value={token.name} />? It stops working at once, and every session signed in with it ends.
                        </>
                      }
                      confirmLabel="Yes, revoke"
                      disabled={revoking.busy}
                      onConfirm={() => revoke(token)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Outcome mutation={revoking} prefix="The token was not revoked" />
      <IssueToken principal={principal} onIssued={onChanged} />
    </>
  );
}

function IssueToken({ principal, onIssued }: { principal: PrincipalInFull; onIssued(): void }) {
  const { run } = useSession();
  const mutation = useMutation();
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [issued, setIssued] = useState<{ name: string; secret: string } | null>(null);

  async function issue(event: Event) {
    event.preventDefault();
    setIssued(null);
    const expiresAt = instantOf(expires);
    const input = { principalId: principal.id, name, ...(expiresAt ? { expiresAt } : {}) };
    const payload = await mutation.attempt(async () => (await run(AdminIssueTokenDocument, { input })).issueToken);
    if (!payload?.token || !payload.secret) return;
    setIssued({ name: payload.token.name, secret: payload.secret });
    setName('');
    setExpires('');
    onIssued();
  }

  return (
    <form onSubmit={issue} class="inline" aria-labelledby="issue-heading">
      <h4 id="issue-heading">Issue a token</h4>
      <div class="field">
        <label for="issue-name">Token name</label>
        <input id="issue-name" required value={name} placeholder="ci-deploys" onInput={(event) => setName(valueOf(event))} />
      </div>
      <div class="field">
        <label for="issue-expires">Expires (optional)</label>
        <input id="issue-expires" type="datetime-local" value={expires} onInput={(event) => setExpires(valueOf(event))} />
      </div>
      <div class="field">
        <button type="submit" disabled={mutation.busy}>
          Issue token
        </button>
      </div>
      <Outcome mutation={mutation} prefix="The token was not issued" />
      {issued && (
        <SecretOnce
          id="issued-secret"
          secret={issued.secret}
          label={
            <>
              the token <Text value={issued.name} /> of <Text value={principal.name} />
            </>
          }
          onDone={() => setIssued(null)}
        />
      )}
    </form>
  );
}
