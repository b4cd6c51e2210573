import { createTransport, type Transport } from '../../src/client/transport.js';
import { GreenlightError } from '../../src/client/errors.js';
import { ViewerDocument, type ViewerQuery } from '../../src/client/generated/graphql.js';

export type Viewer = NonNullable<ViewerQuery['viewer']>;

/** The console talks to the server that serves it, with the signed-in token: the public GraphQL API only. */
export function connect(token: string): Transport {
  return createTransport({ url: window.location.origin, token, webSocketImpl: window.WebSocket });
}

/** Who the token belongs to; throws a GreenlightError UNAUTHENTICATED for a bad, revoked or expired token. */
export async function viewerOf(transport: Transport): Promise<Viewer> {
  const data = await transport.execute(ViewerDocument, {});
  if (!data.viewer) {
    throw new GreenlightError('it is unknown, revoked or expired, or its principal is disabled.', 'UNAUTHENTICATED');
  }
  return data.viewer;
}
