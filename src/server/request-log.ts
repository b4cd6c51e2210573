import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../observability/logger.js';

/** What the GraphQL layer learns of a request, for its log line. */
export interface RequestFacts {
  operationName?: string | undefined;
  principalId?: string | undefined;
}

/** One log line per HTTP request, from `createRequestLog`. */
export interface RequestLog {
  /** Starts a request's line: its id (sent back as `x-request-id`) and clock; the line is written when the response ends. */
  begin(req: IncomingMessage, res: ServerResponse): void;
  /** A Yoga plugin that notes each operation's name and caller on its request's line. */
  plugin(): Plugin;
}

/** A caller's `x-request-id` is kept when it is a plain token; anything else gets a fresh id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Probes are logged at debug: a load balancer asking every second would drown the rest. */
const QUIET_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics']);

/**
 * Logs each HTTP request once, when its response ends (or the connection closes first): request
 * id, method, path (never the query string), status, duration, and for GraphQL the operation name
 * and the authenticated principal's id. Never headers, variables or bodies.
 */
export function createRequestLog(log: Logger): RequestLog {
  const facts = new WeakMap<IncomingMessage, RequestFacts>();
  return {
    begin(req, res) {
      const started = performance.now();
      const given = req.headers['x-request-id'];
      const reqId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('x-request-id', reqId);
      const record: RequestFacts = {};
      facts.set(req, record);
      res.once('close', () => {
        const path = (req.url ?? '').split('?')[0]!.slice(0, 200);
        const line = {
          reqId,
          method: req.method,
          path,
          status: res.statusCode,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          operationName: record.operationName,
          principalId: record.principalId,
          ...(res.writableFinished ? {} : { aborted: true }),
        };
        if (QUIET_PATHS.has(path)) log.debug(line, 'request');
        else log.info(line, 'request');
      });
    },
    plugin() {
      return {
        onExecute({ args }) {
          const context = args.contextValue as { req?: IncomingMessage; viewer?: { id: string } | null };
          const record = context.req ? facts.get(context.req) : undefined;
          if (!record) return;
          record.operationName = getOperationAST(args.document, args.operationName)?.name?.value?.slice(0, 100);
          record.principalId = context.viewer?.id;
        },
      };
    },
  };
}
