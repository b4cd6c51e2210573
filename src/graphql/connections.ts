import type { ObjectRef } from '@pothos/core';
import { builder } from './builder.js';

/** The shape every connection resolver returns (see `toConnection` in ./cursors.ts). */
export interface ConnectionShape<T> {
  edges: { node: T; cursor: string }[];
  pageInfo: PageInfoShape;
  /** Stream position at which the page was read, for connections that can be followed live. */
  streamCursor?: string;
}

interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

const PageInfo = builder.objectRef<PageInfoShape>('PageInfo').implement({
  description: 'Relay page information. Pages are keyset-based: a cursor stays valid however the list grows.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'Whether more items follow; fetch them with `after: endCursor`.' }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', { description: 'Whether this page was reached with an `after` cursor.' }),
    startCursor: t.exposeString('startCursor', { nullable: true, description: 'Cursor of the first item; null on an empty page.' }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Cursor of the last item; null on an empty page.' }),
  }),
});

/** Declares `<Name>Connection` and `<Name>Edge` for a node type, following the Relay spec. */
export function connectionOf<T>(name: string, node: ObjectRef<any, T>, what: string) {
  const Edge = builder.objectRef<{ node: T; cursor: string }>(`${name}Edge`).implement({
    description: `One ${what} in a page, with its cursor.`,
    fields: (t) => ({
      node: t.field({ type: node, description: `The ${what}.`, resolve: (edge) => edge.node as never }),
      cursor: t.exposeString('cursor', { description: 'Opaque position of this item; pass it as `after` to continue.' }),
    }),
  });
  return builder.objectRef<ConnectionShape<T>>(`${name}Connection`).implement({
    description: `A page of ${what}s.`,
    fields: (t) => ({
      edges: t.field({ type: [Edge], description: `The ${what}s of this page, in order.`, resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfo, description: 'Where this page sits in the list.', resolve: (c) => c.pageInfo }),
    }),
  });
}
