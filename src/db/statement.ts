import { DrizzleQueryError, getTableColumns, type InferSelectModel, type Table } from 'drizzle-orm';
import type pg from 'pg';
import { pgliteClientOf, type Database } from './client.js';
import { runPgliteStatement } from './pglite-statement.js';

/**
 * A statement written once, for the hottest paths: its text is not rebuilt per call, and it is a
 * named prepared statement, parsed once on each pooled connection (PostgreSQL) or once per
 * instance (PGlite, see `runPgliteStatement`).
 * Parameters are `$1…$n`; pass JSON as strings and cast in the text (`$3::jsonb`), so that both
 * drivers send the same thing.
 */
export interface Statement {
  /** Unique per text: node-postgres prepares it under this name on each connection. */
  name: string;
  text: string;
}

/** Runs `statement` outside any transaction (it commits on its own); rows as the driver parses them. */
export async function runStatement<Row>(db: Database, statement: Statement, values: unknown[]): Promise<Row[]> {
  const texts = values.map(textValue);
  const pglite = pgliteClientOf(db);
  try {
    if (pglite) return await runPgliteStatement<Row>(pglite, statement, texts);
    const pool = (db as unknown as { $client: pg.Pool }).$client;
    return (await pool.query<Row & pg.QueryResultRow>({ name: statement.name, text: statement.text, values: texts })).rows;
  } catch (error) {
    // As drizzle reports a failed statement, so that logs show its text and never its parameters.
    throw new DrizzleQueryError(statement.text, values, error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * A parameter in PostgreSQL's text form, the same for both drivers; the statement's text casts it
 * (see `Statement`). Anything else (a Date, an object) is a mistake in the caller: thrown before
 * any statement runs.
 */
function textValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  throw new TypeError(`A statement parameter must be a string, number, boolean or null, not ${typeof value}.`);
}

/**
 * A table's row from its `to_jsonb(row)` form (keys are column names): each column mapped as
 * drizzle maps the driver's value, so the result equals what a drizzle select returns.
 */
export function rowFromJson<T extends Table>(table: T, json: Record<string, unknown>): InferSelectModel<T> {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = json[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as InferSelectModel<T>;
}
