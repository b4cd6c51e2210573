import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvents } from '../audit/append.js';
import type { Executor } from '../db/client.js';
import type { Deps } from '../deps.js';
import { principals, tokens, type AuditEventRow } from '../db/schema.js';
import { InvalidInputError } from '../errors.js';
import { isUuid, parseInput, storableText } from '../validation.js';
import { PrincipalKind, Role, values } from '../vocabulary.js';
import type { Principal } from './roles.js';
import { generateToken, hashToken } from './tokens.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@ -]{0,199}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,99}$/;

export const CreatePrincipalInput = z
  .object({
    kind: z.enum(values(PrincipalKind)),
    name: z.string().trim().regex(NAME, 'must be 1-200 letters, digits, spaces or _ . : @ -'),
    roles: z.array(z.enum(values(Role))).min(1, 'must name at least one role'),
    groups: z.array(z.string().regex(GROUP, 'must be a group name of letters, digits and _ . : -')).max(100).default([]),
    labels: z.record(z.string().regex(LABEL_KEY, 'label keys use letters, digits and _ . / -'), storableText(200)).default({}),
    owner: z.string().nullish(),
  })
  .superRefine((input, ctx) => {
    if (input.owner != null && input.kind !== 'AGENT') {
      ctx.addIssue({ code: 'custom', path: ['owner'], message: 'only agents have an owner' });
    }
    // Separation of duties starts here: agents act, humans review and administer. An agent may
    // still be an AUDITOR, since integrators (SIEMs, dashboards) are machines.
    if (input.kind === 'AGENT' && (input.roles.includes('REVIEWER') || input.roles.includes('ADMIN'))) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'an AGENT cannot be a REVIEWER or an ADMIN' });
    }
    if (input.kind === 'HUMAN' && input.roles.includes('AGENT')) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'the AGENT role is only for principals of kind AGENT' });
    }
  });
export type CreatePrincipalInput = z.input<typeof CreatePrincipalInput>;

export interface CreatedPrincipal {
  principal: Principal;
  /** Shown once; only its hash is stored. */
  token: string;
  events: AuditEventRow[];
}

/** The id of an existing human principal, or an InvalidInputError on `owner`. */
async function humanId(tx: Executor, id: string): Promise<string> {
  const [row] = isUuid(id) ? await tx.select({ kind: principals.kind }).from(principals).where(eq(principals.id, id)) : [];
  if (row?.kind !== 'HUMAN') throw InvalidInputError.of('owner', 'must be the id of a human principal');
  return id;
}

/** Inserts a principal, its first token and the PRINCIPAL_CREATED event in the caller's transaction. */
export async function insertPrincipal(
  tx: Executor,
  actorId: string | null,
  input: CreatePrincipalInput,
  token: string = generateToken(),
): Promise<CreatedPrincipal> {
  const value = parseInput(CreatePrincipalInput, input);
  const ownerId = value.owner == null ? null : await humanId(tx, value.owner);
  const [principal] = await tx
    .insert(principals)
    .values({
      kind: value.kind,
      name: value.name,
      roles: [...new Set(value.roles)],
      groups: [...new Set(value.groups)],
      labels: value.labels,
      ownerId,
    })
    .returning();
  await tx.insert(tokens).values({ principalId: principal!.id, tokenHash: hashToken(token) });
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
      },
    },
  ]);
  return { principal: principal!, token, events };
}

/** Creates a principal with its first token; subscribers hear of it after the commit. */
export async function createPrincipal(
  deps: Pick<Deps, 'db' | 'hub'>,
  actorId: string | null,
  input: CreatePrincipalInput,
): Promise<CreatedPrincipal> {
  const created = await deps.db.transaction((tx) => insertPrincipal(tx, actorId, input));
  deps.hub.publish(created.events);
  return created;
}

/** The principal a bearer token belongs to; null for an unknown or revoked token. */
export async function authenticateToken(db: Executor, token: string): Promise<Principal | null> {
  const [row] = await db
    .select({ principal: principals })
    .from(tokens)
    .innerJoin(principals, eq(tokens.principalId, principals.id))
    .where(and(eq(tokens.tokenHash, hashToken(token)), isNull(tokens.revokedAt)))
    .limit(1);
  return row?.principal ?? null;
}

export async function getPrincipalsByIds(db: Executor, ids: readonly string[]): Promise<Principal[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(principals)
    .where(inArray(principals.id, [...ids]));
}

export async function countAdministrators(db: Executor): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(principals)
    .where(sql`'ADMIN' = ANY(${principals.roles})`);
  return row?.count ?? 0;
}
