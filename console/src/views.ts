import type { FunctionComponent } from 'preact';
import { AdminView } from './admin/admin.js';
import { AuditLogView } from './audit/audit-log.js';
import { HistoryView } from './history/history.js';
import { InboxView } from './inbox/inbox.js';
import { StandingView } from './standing/standing.js';

export type ViewId = 'inbox' | 'standing' | 'history' | 'audit' | 'admin';

/** The console's views, each shown to the roles that may use it (the server enforces the same). */
export const VIEWS: { id: ViewId; label: string; roles: string[]; component: FunctionComponent }[] = [
  { id: 'inbox', label: 'Inbox', roles: ['REVIEWER'], component: InboxView },
  { id: 'standing', label: 'Standing approvals', roles: ['REVIEWER', 'ADMIN'], component: StandingView },
  { id: 'history', label: 'History', roles: ['REVIEWER', 'AUDITOR', 'ADMIN'], component: HistoryView },
  { id: 'audit', label: 'Audit log', roles: ['AUDITOR', 'ADMIN'], component: AuditLogView },
  { id: 'admin', label: 'Admin', roles: ['ADMIN'], component: AdminView },
];
