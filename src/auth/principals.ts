import { eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import type { Executor } from '../db/client.js';
import type { Deps } from '../deps.js';
import { principals, tokens, type AuditEventRow } from '../db/schema.js';
import { InvalidInputError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { PrincipalKind, Role, values } from '../vocabulary.js';
import { authorize, Permission } from './permissions.js';
import type { Principal } from './roles.js';
import { generateToken, hashToken } from './tokens.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@ -]{0,199}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,99}$/;

/** The fields a principal's creation and its updates share, each checked the same way. */
export const PrincipalFields = {
  name: z.string().trim().regex(NAME, 'must be 1-200 letters, digits, spaces or _ . : @ -'),
  roles: z
    .array(z.enum(values(Role)))
    .min(1, 'must name at least one role')
    .max(4)
    .transform((roles) => [...new Set(roles)]),
  groups: z
    .array(z.string().regex(GROUP, 'must be a group name of letters, digits and _ . : -'))
    .max(100, 'must list at most 100 groups')
    .transform((groups) => [...new Set(groups)]),
  labels: z
    .record(z.string().regex(LABEL_KEY, 'label keys use letters, digits and _ . / -'), storableText(200))
    .refine((labels) => Object.keys(labels).length <= 100, 'must hold at most 100 labels'),
} as const;

/**
 * Separation of duties starts with who a principal is: agents act, humans review and administer.
 * An agent may still be an AUDITOR, since integrators (SIEMs, dashboards) are machines.
 */
export function kindProblems(
  kind: PrincipalKind,
  roles: readonly Role[],
  ownerId: string | null | undefined,
): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  if (ownerId != null && kind !== 'AGENT') problems.push({ field: 'owner', message: 'only agents have an owner' });
  if (kind === 'AGENT' && (roles.includes('REVIEWER') || roles.includes('ADMIN'))) {
    problems.push({ field: 'roles', message: 'an AGENT cannot be a REVIEWER or an ADMIN' });
  }
  if (kind === 'HUMAN' && roles.includes('AGENT')) {
    problems.push({ field: 'roles', message: 'the AGENT role is only for principals of kind AGENT' });
  }
  return problems;
}

export const CreatePrincipalInput = z
  .object({
    kind: z.enum(values(PrincipalKind)),
    name: PrincipalFields.name,
    roles: PrincipalFields.roles,
    groups: PrincipalFields.groups.default([]),
    labels: PrincipalFields.labels.default({}),
    owner: z.string().nullish(),
  })
  .superRefine((input, ctx) => {
    for (const { field, message } of kindProblems(input.kind, input.roles, input.owner))
      ctx.addIssue({ code: 'custom', path: [field], message });
  });
export type CreatePrincipalInput = z.input<typeof CreatePrincipalInput>;

export interface CreatedPrincipal {
  principal: Principal;
  /** Shown once; only its hash is stored. */
  token: string;
  events: AuditEventRow[];
}

/** The id of an existing human principal, or an InvalidInputError on `field`. */
export async function humanId(tx: Executor, id: string, field = 'owner'): Promise<string> {
  const [row] = isUuid(id) ? await tx.select({ kind: principals.kind }).from(principals).where(eq(principals.id, id)) : [];
  if (row?.kind !== 'HUMAN') throw InvalidInputError.of(field, 'must be the id of a human principal');
  return id;
}

/**
 * Inserts a principal, its first token (named `tokenName`) and the PRINCIPAL_CREATED event in the
 * caller's transaction. No permission check: for the bootstrap and for
 * `createPrincipal`, which checks.
 */
export async function insertPrincipal(
  tx: Executor,
  actorId: string | null,
  input: CreatePrincipalInput,
  token: string = generateToken(),
  tokenName = 'default',
): Promise<CreatedPrincipal> {
  const value = parseInput(CreatePrincipalInput, input);
  const ownerId = value.owner == null ? null : await humanId(tx, value.owner);
  const [principal] = await tx
    .insert(principals)
    .values({ kind: value.kind, name: value.name, roles: value.roles, groups: value.groups, labels: value.labels, ownerId })
    .returning();
  const [issued] = await tx
    .insert(tokens)
    .values({ principalId: principal!.id, name: tokenName, tokenHash: hashToken(token) })
    .returning();
  const events = await appendAuditEvents(tx, [
    {
      type: 'PRINCIPAL_CREATED',
      actorId,
      data: {
        principalId: principal!.id,
        kind: principal!.kind,
        name: principal!.name,
        roles: principal!.roles,
        groups: principal!.groups,
        ownerId: principal!.ownerId,
        tokenId: issued!.id,
        tokenName,
      },
    },
  ]);
  return { principal: principal!, token, events };
}

/** Creates a principal with its first token (ADMIN); subscribers hear of it after the commit. */
export async function createPrincipal(
  deps: Pick<Deps, 'db' | 'hub'>,
  actor: Principal,
  input: CreatePrincipalInput,
): Promise<CreatedPrincipal> {
  authorize(actor, Permission.ManagePrincipals);
  const created = await deps.db.transaction((tx) => insertPrincipal(tx, actor.id, input));
  deps.hub.publish(created.events);
  return created;
}

export async function getPrincipalsByIds(db: Executor, ids: readonly string[]): Promise<Principal[]> {
  const valid = ids.filter(isUuid);
  if (valid.length === 0) return [];
  return db.select().from(principals).where(inArray(principals.id, valid));
}

/** Enabled principals holding ADMIN: the bootstrap creates one when there is none. */
export async function countAdministrators(db: Executor): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(principals)
    .where(sql`'ADMIN' = ANY(${principals.roles}) AND ${principals.disabledAt} IS NULL`);
  return row?.count ?? 0;
}
