/** A minimal GraphQL-over-HTTP client for the CLI commands that talk to a running server. */
export interface ServerOptions {
  /** Base URL, e.g. http://127.0.0.1:4000 (GREENLIGHT_URL). */
  url: string;
  /** Bearer token (GREENLIGHT_TOKEN). */
  token: string;
}

export class ServerError extends Error {
  override name = 'ServerError';
}

/** The server answered and refused (GraphQL errors: not allowed, not found, invalid): exit 1, not 2. */
export class RefusedError extends ServerError {
  override name = 'RefusedError';
}

export async function callGraphQL<T>(server: ServerOptions, query: string, variables: Record<string, unknown>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${server.url.replace(/\/+$/, '')}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ServerError(`Cannot reach Greenlight at ${server.url}: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => null)) as { data?: T; errors?: { message: string }[] } | null;
  if (!body) throw new ServerError(`Greenlight answered ${response.status} without a GraphQL response.`);
  if (body.errors?.length) throw new RefusedError(body.errors.map((e) => e.message).join('; '));
  return body.data as T;
}
