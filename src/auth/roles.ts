import type { PrincipalRow } from '../db/schema.js';

/**
 * Who is calling. The database row is the domain value: there is nothing to hide from the service
 * layer. What a principal may do is decided by `can` (permissions.ts), from its kind, roles and state.
 */
export type Principal = PrincipalRow;
