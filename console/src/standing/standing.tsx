import { useEffect, useState } from 'preact/hooks';
import { StandingListDocument, StandingRevokeDocument, type StandingListQuery } from '../generated/graphql.js';
import { errorText } from '../ui/errors.js';
import { useSession } from '../session.js';
import { ConfirmButton } from '../ui/confirm.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import { duration, useNow, when } from '../ui/time.js';

type Standing = StandingListQuery['standingApprovals'][number];

/** A standing approval's scope in words: what the server covers with it. */
function scopeOf(standing: Standing): string {
  const where = standing.resourceGlob ? `resources matching ${standing.resourceGlob}` : `exactly ${standing.resource}`;
  const forWhom = standing.onBehalfOf ? `acting for ${standing.onBehalfOf.name}` : 'acting for nobody';
  const rules = standing.ruleIds.length ? `escalated only by ${standing.ruleIds.join(', ')}` : "escalated by the policy's default";
  const params = standing.sameParams ? 'with the same params only' : 'with any params';
  return `${standing.action} by ${standing.agent.name} ${forWhom} on ${where}, ${params}, ${rules}`;
}

/** Standing approvals: yours (everyone's for an ADMIN), each revocable until it ends. */
export function StandingView() {
  const session = useSession();
  const now = useNow();
  const [includeEnded, setIncludeEnded] = useState(false);
  const [list, setList] = useState<Standing[] | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setProblem(null);
    session.run(StandingListDocument, { includeEnded }).then((data) => setList(data.standingApprovals), setProblem);
  }, [includeEnded, attempt]);

  async function revoke(standing: Standing) {
    setProblem(null);
    try {
      const { revokeStandingApproval } = await session.run(StandingRevokeDocument, { input: { standingApprovalId: standing.id } });
      const refused = errorText(revokeStandingApproval.errors);
      if (refused) setProblem(new Error(refused));
      setAttempt((n) => n + 1);
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <section aria-labelledby="standing-title">
      <h1 id="standing-title">Standing approvals</h1>
      <p class="muted">
        A standing approval counts as its reviewer's approval of each later matching request until it expires or is revoked. Grant one from
        the inbox when approving.
      </p>
      <label class="inline">
        <input type="checkbox" checked={includeEnded} onChange={(event) => setIncludeEnded((event.target as HTMLInputElement).checked)} />{' '}
        Show revoked and expired ones
      </label>
      <Problem error={problem} />
      {list && list.length === 0 && <p class="empty">No standing approvals.</p>}
      {list && list.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Covers</th>
              <th scope="col">Reviewer</th>
              <th scope="col">Ends</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((standing) => {
              const ended = standing.revokedAt !== null || Date.parse(standing.expiresAt) <= now;
              return (
                <tr key={standing.id}>
                  <td>
                    <Text value={scopeOf(standing)} />
                  </td>
                  <td>
                    <Text value={standing.reviewer.name} />
                  </td>
                  <td>
                    {standing.revokedAt ? (
                      <Text value={`revoked ${when(standing.revokedAt)}${standing.revokedBy ? ` by ${standing.revokedBy.name}` : ''}`} />
                    ) : ended ? (
                      `expired ${when(standing.expiresAt)}`
                    ) : (
                      `in ${duration(Date.parse(standing.expiresAt) - now)} (${when(standing.expiresAt)})`
                    )}
                  </td>
                  <td>
                    {!ended && (
                      <ConfirmButton
                        label="Revoke"
                        confirmLabel="Yes, revoke"
                        question={
                          <>
                            Revoke the standing approval for <Text value={scopeOf(standing)} />? Matching requests will wait for reviewers
                            again.
                          </>
                        }
                        onConfirm={() => revoke(standing)}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
