import type { Session } from '../session.js';
import { AdminDelegationPartiesDocument, type AdminDelegationPartiesQuery, type PrincipalKind } from '../generated/graphql.js';
import { useSession } from '../session.js';
import { useLoad, type Loaded } from './load.js';

export type Party = AdminDelegationPartiesQuery['principals']['edges'][number]['node'];

/** Pages read before the lists say they are partial: 1,000 principals of a kind. */
const PAGE_SIZE = 100;
const MAX_PAGES = 10;

/** Every principal of a kind (up to 1,000), with the delegations each granted or holds. */
async function partiesOf(run: Session['run'], kind: PrincipalKind): Promise<{ parties: Party[]; partial: boolean }> {
  const parties: Party[] = [];
  let after: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const { principals }: AdminDelegationPartiesQuery = await run(AdminDelegationPartiesDocument, { kind, first: PAGE_SIZE, after });
    parties.push(...principals.edges.map((edge) => edge.node));
    if (!principals.pageInfo.hasNextPage) return { parties, partial: false };
    after = principals.pageInfo.endCursor;
  }
  return { parties, partial: true };
}

/** The principals of a kind, for a form's choices (enabled ones) and the delegation list. */
export function useParties(kind: PrincipalKind): Loaded<{ parties: Party[]; partial: boolean }> {
  const { run } = useSession();
  return useLoad(() => partiesOf(run, kind), [kind]);
}
