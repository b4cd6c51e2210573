import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';

/** The largest GraphQL request body accepted over HTTP (a WebSocket message has the same limit). */
export const MAX_BODY_BYTES = 1_024 * 1_024; // 1 MiB

function httpError(status: number, message: string, headers: Record<string, string> = {}) {
  return createGraphQLError(message, {
    extensions: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', http: { status, headers } },
  });
}

/** The body as text, refused with 413 as soon as it grows past MAX_BODY_BYTES, whatever Content-Length says. */
async function boundedText(request: Request): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  // The rest of the body is not read: the connection is closed after the answer, not reused.
  const tooLarge = () => httpError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`, { connection: 'close' });
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The HTTP surface's limits, as a Yoga plugin:
 * - a POST must be JSON (`application/json`, or `application/graphql-response+json`): form posts and
 *   other types are refused with 415, so a browser form on another site cannot post a mutation
 *   without a CORS preflight;
 * - its body is at most MAX_BODY_BYTES (413), read with a running count rather than trusting
 *   Content-Length;
 * - every response says `Cache-Control: no-store`: answers depend on the bearer token, and no
 *   shared cache may keep one.
 */
export function useHttpLimits(): Plugin {
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method !== 'POST') return;
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json' && type !== 'application/graphql-response+json') {
        throw httpError(415, 'POST a JSON body with Content-Type: application/json.');
      }
      setRequestParser(async (req) => {
        const text = await boundedText(req);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw httpError(400, 'The request body is not valid JSON.');
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw httpError(400, 'The request body must be a JSON object.');
        // Handed on whole: Yoga refuses unknown or mistyped parameters itself (400).
        return body as GraphQLParams;
      });
    },
    onResponse({ response }) {
      response.headers.set('cache-control', 'no-store');
    },
  };
}
