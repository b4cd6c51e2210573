import { useEffect, useState } from 'preact/hooks';
import { AuditVerifyDocument, type AuditVerifyQuery } from '../generated/graphql.js';
import { useSession } from '../session.js';
import { Problem } from '../ui/problem.js';
import { when } from '../ui/time.js';
import { BREAK_WORDS } from './audit-vocabulary.js';

type Verification = AuditVerifyQuery['verifyAuditLog'];

/**
 * The chain's state: `verifyAuditLog` recomputes every hash and checks every signed checkpoint,
 * once on opening and again on request.
 */
export function VerificationPanel() {
  const session = useSession();
  const [result, setResult] = useState<{ verification: Verification; at: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function verify() {
    setBusy(true);
    setError(null);
    try {
      const data = await session.run(AuditVerifyDocument, {});
      setResult({ verification: data.verifyAuditLog, at: new Date().toISOString() });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => {
    void verify();
  }, []);

  const v = result?.verification;
  return (
    <section class="card audit-verification" aria-labelledby="verification-title">
      <h2 id="verification-title">Chain verification</h2>
      <Problem error={error} prefix="The chain could not be verified" />
      {!v && !error && <p role="status">Verifying the chain…</p>}
      {result && v && (
        <>
          {v.ok ? (
            <p class="chain-verdict chain-ok" role="status">
              <strong>Intact.</strong> Every event from seq {v.fromSeq} to {v.toSeq} matches its hash and link, and every checkpoint
              verifies.
            </p>
          ) : (
            <p class="chain-verdict chain-broken" role="alert">
              <strong>Broken at seq {v.firstBrokenSeq ?? '?'}</strong>
              {v.reason ? `: ${BREAK_WORDS[v.reason]} (${v.reason})` : ''}.{v.message ? ` ${v.message}` : ''}
            </p>
          )}
          <dl class="audit-facts">
            <dt>Events checked</dt>
            <dd>{v.eventsChecked}</dd>
            <dt>Checkpoints checked</dt>
            <dd>{v.checkpointsChecked}</dd>
            <dt>Last checkpoint</dt>
            <dd>
              {v.lastCheckpointSeq === null ? (
                'none yet'
              ) : (
                <>
                  seq {v.lastCheckpointSeq}
                  {v.lastSeq !== null && v.lastSeq > v.lastCheckpointSeq && (
                    <span class="muted"> ({v.lastSeq - v.lastCheckpointSeq} later events chained, not yet signed)</span>
                  )}
                </>
              )}
            </dd>
            <dt>Unsealed events</dt>
            <dd>
              {v.unsealedEvents}
              {v.unsealedEvents > 0 && <span class="muted"> (sealed within about a second; not covered)</span>}
            </dd>
            <dt>Signing key</dt>
            <dd>
              <code class="audit-key-id">{v.keyId}</code>
            </dd>
            <dt>Checked</dt>
            <dd>
              <time dateTime={result.at}>{when(result.at)}</time>
            </dd>
          </dl>
        </>
      )}
      <button type="button" class="secondary" disabled={busy} onClick={() => void verify()}>
        {busy ? 'Verifying…' : 'Verify again'}
      </button>
    </section>
  );
}
