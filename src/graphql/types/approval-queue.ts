import { listPendingApprovals } from '../../approvals/queries.js';
import { ApprovalQueueEventKind, streamApprovalQueue, type ApprovalQueueEvent } from '../../approvals/streams.js';
import { Permission } from '../../auth/permissions.js';
import { positionOf, settledHead } from '../../events/log.js';
import { builder } from '../builder.js';
import { decodeCursor, encodeCursor, encodeEventCursor, pageSize, toConnection } from '../cursors.js';
import { streamStart } from '../stream-start.js';
import { ActionRequestConnection, ActionRequestRef } from './action-request.js';
import { viewerOf } from './viewer.js';

const ApprovalQueueEventKindEnum = builder.enumType('ApprovalQueueEventKind', {
  description: "How a reviewer's queue changed.",
  values: {
    [ApprovalQueueEventKind.ADDED]: { description: 'A request you may decide is waiting for review.' },
    [ApprovalQueueEventKind.UPDATED]: {
      description:
        'A request in your queue changed while it waits: a review short of quorum (see `reviewRequirements`), params changed by an approval with changes (a new `revision`: earlier approvals no longer count), or a longer deadline.',
    },
    [ApprovalQueueEventKind.REMOVED]: { description: 'A request left your queue: decided (by anyone), expired or cancelled.' },
  } as const,
});

const ApprovalQueueEventRef = builder.objectRef<ApprovalQueueEvent>('ApprovalQueueEvent').implement({
  description: "A change to the caller's review queue.",
  fields: (t) => ({
    kind: t.expose('kind', { type: ApprovalQueueEventKindEnum, description: 'ADDED, UPDATED or REMOVED.' }),
    cursor: t.string({
      description: 'Stream position of this change; resubscribe with `after: cursor` to resume without a gap.',
      resolve: (e) => encodeEventCursor(positionOf(e.event)),
    }),
    request: t.field({ type: ActionRequestRef, description: 'The request, as it is now.', resolve: (e) => e.request }),
  }),
});

builder.queryField('pendingApprovals', (t) =>
  t.field({
    type: ActionRequestConnection,
    description:
      'PENDING requests the caller may decide, oldest first. Use `streamCursor` with the `pendingApprovals` subscription to follow the queue live from this snapshot.',
    authScopes: { can: Permission.ReviewAction },
    args: {
      first: t.arg.int({ required: false, description: 'Page size, 0-100 (default 20).' }),
      after: t.arg.string({ required: false, description: 'Return the items after this cursor.' }),
    },
    resolve: async (_root, args, ctx) => {
      const limit = pageSize(args.first);
      // Read the stream position before the page: every change after it is then replayable.
      const position = await settledHead(ctx.deps.db);
      const rows = await listPendingApprovals(ctx.deps.db, viewerOf(ctx), {
        afterPosition: decodeCursor('request', args.after),
        limit: limit + 1,
      });
      return {
        ...toConnection(rows, limit, (row) => encodeCursor('request', row.position), !!args.after),
        streamCursor: encodeEventCursor(position),
      };
    },
  }),
);

builder.subscriptionField('pendingApprovals', (t) =>
  t.field({
    type: ApprovalQueueEventRef,
    description: 'Live changes to the review queue: only requests the caller may decide. REVIEWER only.',
    authScopes: { can: Permission.ReviewAction },
    args: {
      after: t.arg.string({
        required: false,
        description: 'A cursor from an earlier event or `streamCursor`: changes after it are replayed first, then the stream goes live.',
      }),
    },
    subscribe: (_root, { after }, ctx) => streamApprovalQueue(ctx.deps, viewerOf(ctx), streamStart(after)),
    resolve: (event: ApprovalQueueEvent) => event,
  }),
);
