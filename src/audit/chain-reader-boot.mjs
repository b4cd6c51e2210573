// The entry of a reader thread of `verifyAuditLog` (see chain-reader-worker.ts). Node 20 does not
// hand a process's tsx loader on to its worker threads, so the thread registers tsx itself, then
// loads its TypeScript code.
import { register } from 'tsx/esm/api';

register();
await import('./chain-reader-worker.ts');
