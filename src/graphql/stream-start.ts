import type { AuditStreamStart } from '../audit/stream.js';
import { cursorKind, decodeCursor, decodeEventCursor } from './cursors.js';

/**
 * A subscription's `after`: an event's `cursor` (live order), a query cursor (chain order), or an
 * event cursor of an earlier version (an event id).
 */
export function streamStart(after: string | null | undefined): AuditStreamStart {
  if (after == null) return null;
  if (cursorKind(after) === 'chain') return { afterSeq: decodeCursor('chain', after)! };
  if (cursorKind(after) === 'audit') return { afterEventId: decodeCursor('audit', after)! };
  return { after: decodeEventCursor(after) };
}
