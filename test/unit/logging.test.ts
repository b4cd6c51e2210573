import { DrizzleQueryError } from 'drizzle-orm/errors';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loggableError } from '../../src/logging.js';

describe('loggableError', () => {
  it("keeps a failed statement's text and the database error's code and constraint, never its bind parameters or detail", () => {
    const database = Object.assign(new Error('duplicate key value violates unique constraint "tokens_token_hash_key"'), {
      code: '23505',
      constraint: 'tokens_token_hash_key',
      detail: 'Key (token_hash)=(5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8) already exists.',
    });
    const failed = new DrizzleQueryError(
      'insert into "tokens" ("token_hash") values ($1)',
      ['gl_secret-token-value', { password: 'hunter2' }],
      database,
    );
    const logged = loggableError(failed) as Error & { cause: Error & Record<string, unknown> };
    const text = `${logged.message}\n${logged.stack}\n${JSON.stringify(logged.cause)}\n${logged.cause.message}\n${logged.cause.stack}`;
    expect(logged.message).toBe('Failed query: insert into "tokens" ("token_hash") values ($1) (2 parameters not logged)');
    expect(logged.cause).toMatchObject({ code: '23505', constraint: 'tokens_token_hash_key' });
    expect(text).not.toContain('gl_secret-token-value');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('5e884898');
    expect(logged.cause.detail).toBeUndefined();
  });

  it('logs the failed statement under a GraphQL error that wraps it, not the wrapper repeating its parameters', () => {
    const failed = new DrizzleQueryError('select $1', ['gl_secret-token-value'], new Error('connection lost'));
    const wrapped = new GraphQLError(failed.message, { originalError: failed });
    const logged = loggableError(wrapped) as Error;
    expect(`${logged.message}\n${logged.stack}`).not.toContain('gl_secret-token-value');
    expect(logged.message).toBe('Failed query: select $1 (1 parameters not logged)');
    // Any other error whose message carries Drizzle's parameters loses them too.
    expect((loggableError(new Error(failed.message)) as Error).message).toBe('Failed query: select $1\n(parameters not logged)');
  });

  it('keeps a thrown string (without parameters) and names any other thrown value without writing it', () => {
    expect(loggableError('text')).toBe('text');
    expect((loggableError({ token: 'gl_secret-token-value' }) as Error).message).toBe('A thrown object (not logged)');
    expect((loggableError(42) as Error).message).toBe('A thrown number (not logged)');
  });

  it('stops at five causes, and cuts the value a data error quotes', () => {
    let deep: Error = new Error('params: gl_secret-token-value');
    for (let i = 0; i < 8; i++) deep = new Error(`level ${i}`, { cause: deep });
    const logged = JSON.stringify(loggableError(deep), (key, value) =>
      value instanceof Error ? { message: value.message, cause: value.cause } : value,
    );
    expect(logged).not.toContain('gl_secret-token-value');
    expect(logged).toContain('further causes not logged');
    const invalid = Object.assign(new Error('invalid input syntax for type uuid: "gl_secret-token-value"'), { code: '22P02' });
    expect((loggableError(invalid) as Error).message).toBe('invalid input syntax for type uuid: "…"');
  });
});
