import { PGlite, parse, protocol } from '@electric-sql/pglite';
import type { Statement } from './statement.js';

/**
 * A statement run on PGlite as a named prepared statement, as node-postgres runs it on
 * PostgreSQL. `PGlite.query` parses and plans its text on every call and enters the database six
 * times (parse, describe, bind, describe, execute, sync); for the request statement that is most
 * of the database's time. Here the text is parsed once per PGlite instance and each call is one
 * message (bind, describe, execute, sync), holding the same locks as `query`: PGlite's transaction
 * lock (no transaction is open meanwhile) and its query lock. It commits on its own and is
 * synced to the data folder before it returns, as `query` outside a transaction is.
 */
export async function runPgliteStatement<Row>(pglite: PGlite, statement: Statement, values: (string | null)[]): Promise<Row[]> {
  const message = Buffer.concat([
    protocol.serialize.bind({ statement: statement.name, values }),
    protocol.serialize.describe({ type: 'P' }),
    protocol.serialize.execute({}),
    protocol.serialize.sync(),
  ]);
  return pglite._runExclusiveTransaction(() =>
    pglite._runExclusiveQuery(async () => {
      const prepared = preparedOn(pglite);
      if (!prepared.has(statement.name)) {
        await pglite.execProtocol(prepareMessage(statement));
        prepared.add(statement.name);
      }
      const { messages } = await pglite.execProtocol(message);
      return parse.parseResults(messages, pglite.parsers)[0]?.rows as Row[];
    }),
  );
}

// The statements prepared on each instance (a closed instance's set goes with it).
const preparedByInstance = new WeakMap<PGlite, Set<string>>();

function preparedOn(pglite: PGlite): Set<string> {
  let prepared = preparedByInstance.get(pglite);
  if (!prepared) preparedByInstance.set(pglite, (prepared = new Set()));
  return prepared;
}

/** Parses `statement` under its name; closing the name first makes a retry after a failed parse safe. */
function prepareMessage(statement: Statement): Uint8Array {
  return Buffer.concat([
    protocol.serialize.close({ type: 'S', name: statement.name }),
    protocol.serialize.parse({ name: statement.name, text: statement.text }),
    protocol.serialize.sync(),
  ]);
}
