import { useState } from 'preact/hooks';
import { useSession } from '../session.js';
import {
  AdminPrincipalsDocument,
  type AdminPrincipalRowFragment,
  type PrincipalFilter,
  type PrincipalKind,
  type Role,
} from '../generated/graphql.js';
import { Problem } from '../ui/problem.js';
import { Text } from '../ui/text.js';
import { listOf, ROLES, valueOf } from './fields.js';
import { useLoad } from './load.js';
import { CreatePrincipal } from './principal-create.js';
import { PrincipalDetail } from './principal-detail.js';

const PAGE_SIZE = 20;

/** Principals by name, narrowed and paged; the selected one in full below; a form to create one. */
export function PrincipalsSection() {
  const { run } = useSession();
  const [filter, setFilter] = useState<PrincipalFilter>({});
  // The cursors of the pages walked so far: the last one is the page shown (null: the first).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [selected, setSelected] = useState<string | null>(null);
  const page = useLoad(() => run(AdminPrincipalsDocument, { filter, first: PAGE_SIZE, after: cursors.at(-1) ?? null }), [filter, cursors]);
  const principals = page.data?.principals;

  return (
    <>
      <section class="card" aria-labelledby="principals-heading">
        <h2 id="principals-heading">Principals</h2>
        <FilterForm
          onApply={(next) => {
            setFilter(next);
            setCursors([null]);
          }}
        />
        <Problem error={page.error} prefix="The principals could not be loaded" />
        {principals && principals.edges.length === 0 && <p>No principal matches this filter.</p>}
        {principals && principals.edges.length > 0 && (
          <table>
            <caption class="visually-hidden">Principals, page {cursors.length}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Roles</th>
                <th scope="col">Groups</th>
                <th scope="col">Labels</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {principals.edges.map(({ node }) => (
                <PrincipalRow key={node.id} principal={node} selected={node.id === selected} onSelect={() => setSelected(node.id)} />
              ))}
            </tbody>
          </table>
        )}
        <nav class="actions" aria-label="Pages of principals">
          <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
          <span class="muted">Page {cursors.length}</span>
          <button
            type="button"
            class="secondary"
            disabled={!principals?.pageInfo.hasNextPage}
            onClick={() => principals && setCursors([...cursors, principals.pageInfo.endCursor])}
          >
            Next page
          </button>
          {page.loading && (
            <span role="status" class="muted">
              Loading…
            </span>
          )}
        </nav>
      </section>
      {selected && <PrincipalDetail key={selected} id={selected} onChanged={page.reload} onClose={() => setSelected(null)} />}
      <CreatePrincipal
        onCreated={(id) => {
          page.reload();
          setSelected(id);
        }}
      />
    </>
  );
}

function PrincipalRow({ principal, selected, onSelect }: { principal: AdminPrincipalRowFragment; selected: boolean; onSelect(): void }) {
  const labels = Object.entries((principal.labels ?? {}) as Record<string, unknown>);
  return (
    <tr class={selected ? 'selected' : undefined}>
      <td data-label="Name">
        <button type="button" class="link" aria-pressed={selected} onClick={onSelect}>
          <Text value={principal.name} />
        </button>
      </td>
      <td data-label="Kind">{principal.kind}</td>
      <td data-label="Roles">{principal.roles?.join(', ')}</td>
      <td data-label="Groups">
        {principal.groups?.map((group, i) => (
          <Text key={i} value={i ? `, ${group}` : group} />
        ))}
      </td>
      <td data-label="Labels">
        {labels.map(([key, value], i) => (
          <Text key={key} value={`${i ? ', ' : ''}${key}=${String(value)}`} />
        ))}
      </td>
      <td data-label="Status">
        {principal.disabled ? (
          <>
            <strong>Disabled</strong>
            {principal.disabledReason && (
              <>
                : <Text value={principal.disabledReason} />
              </>
            )}
          </>
        ) : (
          'Enabled'
        )}
      </td>
    </tr>
  );
}

/** Narrows the list: every criterion given must hold (the `PrincipalFilter` the API takes). */
function FilterForm({ onApply }: { onApply(filter: PrincipalFilter): void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState('');
  const [role, setRole] = useState('');
  const [status, setStatus] = useState('');
  const [groups, setGroups] = useState('');

  function apply(event: Event) {
    event.preventDefault();
    onApply({
      ...(name.trim() ? { nameContains: name.trim() } : {}),
      ...(kind ? { kinds: [kind as PrincipalKind] } : {}),
      ...(role ? { roles: [role as Role] } : {}),
      ...(status ? { disabled: status === 'disabled' } : {}),
      ...(listOf(groups).length ? { groups: listOf(groups) } : {}),
    });
  }

  return (
    <form class="inline" onSubmit={apply} aria-label="Filter principals">
      <div class="field">
        <label for="filter-name">Name contains</label>
        <input id="filter-name" value={name} onInput={(event) => setName(valueOf(event))} />
      </div>
      <div class="field">
        <label for="filter-kind">Kind</label>
        <select id="filter-kind" value={kind} onChange={(event) => setKind(valueOf(event))}>
          <option value="">Any</option>
          <option value="AGENT">AGENT</option>
          <option value="HUMAN">HUMAN</option>
        </select>
      </div>
      <div class="field">
        <label for="filter-role">Role</label>
        <select id="filter-role" value={role} onChange={(event) => setRole(valueOf(event))}>
          <option value="">Any</option>
          {ROLES.map((held) => (
            <option key={held} value={held}>
              {held}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="filter-status">Status</label>
        <select id="filter-status" value={status} onChange={(event) => setStatus(valueOf(event))}>
          <option value="">Any</option>
          <option value="enabled">Enabled</option>
          <option value="disabled">Disabled</option>
        </select>
      </div>
      <div class="field">
        <label for="filter-groups">In groups (comma-separated)</label>
        <input id="filter-groups" value={groups} onInput={(event) => setGroups(valueOf(event))} />
      </div>
      <div class="field">
        <button type="submit">Apply filter</button>
      </div>
    </form>
  );
}
