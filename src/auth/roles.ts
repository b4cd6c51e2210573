import type { PrincipalRow } from '../db/schema.js';
import type { Role } from '../vocabulary.js';

/** Who is calling. The database row is the domain value: there is nothing to hide from the service layer. */
export type Principal = PrincipalRow;

export function hasRole(principal: Principal | null | undefined, ...roles: Role[]): boolean {
  return !!principal && roles.some((role) => principal.roles.includes(role));
}
