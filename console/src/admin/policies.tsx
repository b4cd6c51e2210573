import { useEffect, useRef, useState } from 'preact/hooks';
import { useSession } from '../session.js';
import { AdminActivatePolicyVersionDocument, AdminPolicyVersionsDocument, type AdminPolicyVersionsQuery } from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import { when } from '../ui/time.js';
import { ConfirmButton } from '../ui/confirm.js';
import { valueOf } from './fields.js';
import { Outcome, useMutation } from './mutation.js';
import { PolicyDiff } from './policy-diff.js';

export type VersionEdge = AdminPolicyVersionsQuery['policyVersions']['edges'][number];

const PAGE_SIZE = 20;

interface Versions {
  edges: VersionEdge[];
  active: number | null;
  hasMore: boolean;
}

/** The published versions, newest first: which one is active, a diff between any two, activation. */
export function PoliciesSection() {
  const { run } = useSession();
  const [versions, setVersions] = useState<Versions | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  // Each reload starts the list again; an older reload's answer is dropped.
  const [generation, setGeneration] = useState(0);
  const latest = useRef(generation);
  latest.current = generation;

  async function load(keep: VersionEdge[], after: string | null, at: number) {
    setLoading(true);
    try {
      const data = await run(AdminPolicyVersionsDocument, { first: PAGE_SIZE, after });
      if (at !== latest.current) return;
      setVersions({
        edges: [...keep, ...data.policyVersions.edges],
        active: data.activePolicy?.version ?? null,
        hasMore: data.policyVersions.pageInfo.hasNextPage,
      });
      setError(null);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => void load([], null, generation), [generation]);
  const reload = () => setGeneration((n) => n + 1);

  return (
    <>
      <section class="card" aria-labelledby="versions-heading">
        <h2 id="versions-heading">Policy versions</h2>
        <Problem error={error} prefix="The policy versions could not be loaded" />
        {versions && (
          <p role="status">
            {versions.active === null
              ? 'No policy is active: every request escalates.'
              : `Version ${versions.active} is active: it decides every new request.`}
          </p>
        )}
        {versions && versions.edges.length === 0 && <p>No version has been published yet.</p>}
        {versions && versions.edges.length > 0 && <VersionTable versions={versions} onActivated={reload} />}
        <div class="actions">
          {versions?.hasMore && (
            <button
              type="button"
              class="secondary"
              disabled={loading}
              onClick={() => void load(versions.edges, versions.edges.at(-1)!.cursor, generation)}
            >
              Show older versions
            </button>
          )}
          {loading && (
            <span role="status" class="muted">
              Loading…
            </span>
          )}
        </div>
      </section>
      {versions && versions.edges.length > 0 && <PolicyDiff key={generation} edges={versions.edges} onStale={reload} />}
    </>
  );
}

function VersionTable({ versions, onActivated }: { versions: Versions; onActivated(): void }) {
  const { run } = useSession();
  const mutation = useMutation();
  const [reason, setReason] = useState('');
  const [target, setTarget] = useState<number | null>(null);

  async function activate(version: number) {
    setTarget(version);
    const input = {
      version,
      ...(versions.active !== null ? { expectedVersion: versions.active } : {}),
      ...(reason.trim() ? { reason: reason.trim() } : {}),
    };
    const payload = await mutation.attempt(async () => (await run(AdminActivatePolicyVersionDocument, { input })).activatePolicyVersion);
    if (!payload) return;
    setReason('');
    onActivated();
  }

  return (
    <>
      <table>
        <caption class="visually-hidden">Published policy versions, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Message</th>
            <th scope="col">Published</th>
            <th scope="col">Content hash</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {versions.edges.map(({ node }) => (
            <tr key={node.id} class={node.active ? 'selected' : undefined}>
              <td data-label="Version">v{node.version}</td>
              <td data-label="Message">{node.message ? <Text value={node.message} /> : <span class="muted">No message</span>}</td>
              <td data-label="Published">
                {when(node.createdAt)}
                {node.author && (
                  <>
                    {' by '}
                    <Text value={node.author.name} />
                  </>
                )}
              </td>
              <td data-label="Content hash">
                <code title={node.contentHash}>{node.contentHash.slice(0, 12)}…</code>
              </td>
              <td data-label="Status">
                {node.active ? (
                  <strong>Active</strong>
                ) : (
                  <ConfirmButton
                    label={`Activate v${node.version}`}
                    question={`Make version ${node.version} the active policy? It decides every new request from now on.`}
                    confirmLabel={`Yes, activate v${node.version}`}
                    disabled={mutation.busy}
                    onConfirm={() => activate(node.version)}
                  >
                    <div class="field">
                      <label for={`activate-reason-${node.version}`}>Reason (for the audit log)</label>
                      <input id={`activate-reason-${node.version}`} value={reason} onInput={(event) => setReason(valueOf(event))} />
                    </div>
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Outcome mutation={mutation} prefix={`Version ${target ?? ''} was not activated`} />
    </>
  );
}
