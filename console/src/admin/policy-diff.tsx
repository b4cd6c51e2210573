import { useRef, useState } from 'preact/hooks';
import { useSession } from '../session.js';
import { AdminPolicyDocumentDocument } from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { DiffView } from './diff-view.js';
import { valueOf } from './fields.js';
import { useLoad } from './load.js';
import type { VersionEdge } from './policies.js';
import { policyDocument } from './policy-document.js';

/** The list changed under the page (a version was published meanwhile): it must be read again. */
class StaleList extends Error {}

/**
 * A diff between any two loaded versions. The API lists versions but has no field for one version
 * by number: a version's document is read as the one page-of-one after the cursor of the version
 * listed before it, and checked to be the one asked for.
 */
export function PolicyDiff({ edges, onStale }: { edges: VersionEdge[]; onStale(): void }) {
  const { run } = useSession();
  const [from, setFrom] = useState(edges[1]?.node.version ?? edges[0]!.node.version);
  const [to, setTo] = useState(edges[0]!.node.version);
  const documents = useRef(new Map<number, string>());

  async function documentOf(version: number): Promise<string> {
    const known = documents.current.get(version);
    if (known !== undefined) return known;
    const index = edges.findIndex((edge) => edge.node.version === version);
    const data = await run(AdminPolicyDocumentDocument, { after: index > 0 ? edges[index - 1]!.cursor : null });
    const node = data.policyVersions.edges[0]?.node;
    if (node?.version !== version) throw new StaleList(`The list of versions changed meanwhile.`);
    const text = policyDocument(node);
    documents.current.set(version, text);
    return text;
  }

  const texts = useLoad(async () => ({ from, to, before: await documentOf(from), after: await documentOf(to) }), [from, to]);
  const stale = texts.error instanceof StaleList;

  return (
    <section class="card" aria-labelledby="diff-heading">
      <h2 id="diff-heading">Compare two versions</h2>
      <p class="muted">
        Each version is shown as the JSON document it was published as (default effect, redacted paths, rules), fields left unset omitted.
      </p>
      <div class="inline">
        <VersionPicker id="diff-from" label="From version" value={from} versions={edges.map(({ node }) => node)} onChange={setFrom} />
        <VersionPicker id="diff-to" label="To version" value={to} versions={edges.map(({ node }) => node)} onChange={setTo} />
      </div>
      <Problem error={texts.error} prefix="The versions could not be compared" />
      {stale && (
        <button type="button" class="secondary" onClick={onStale}>
          Reload the versions
        </button>
      )}
      {texts.loading && (
        <p role="status" class="muted">
          Loading the documents…
        </p>
      )}
      {texts.data && !texts.error && (
        <DiffView
          key={`${texts.data.from}-${texts.data.to}`}
          before={texts.data.before}
          after={texts.data.after}
          label={`Changes from version ${texts.data.from} to version ${texts.data.to}`}
        />
      )}
    </section>
  );
}

/** One side of the comparison: a labelled select of the versions loaded. */
function VersionPicker(props: {
  id: string;
  label: string;
  value: number;
  versions: { version: number; active: boolean }[];
  onChange: (version: number) => void;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(event) => props.onChange(Number(valueOf(event)))}>
        {props.versions.map((node) => (
          <option key={node.version} value={node.version}>
            v{node.version}
            {node.active ? ' (active)' : ''}
          </option>
        ))}
      </select>
    </div>
  );
}
