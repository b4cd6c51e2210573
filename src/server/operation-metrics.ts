import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../observability/metrics.js';

/**
 * Times each GraphQL request over HTTP, from its arrival to its response, labelled with the
 * operation name it asked for (the metrics bound the names; see `observeOperation`).
 */
export function useOperationMetrics(metrics: Metrics): Plugin {
  const started = new WeakMap<Request, number>();
  const names = new WeakMap<Request, string | undefined>();
  return {
    onRequest({ request }) {
      started.set(request, performance.now());
    },
    // Named only once the operation passed validation and the caller authenticated: nobody else
    // may spend the bounded set of labels.
    onExecute({ args }) {
      const context = args.contextValue as { request?: Request; viewer?: unknown };
      if (context.request && context.viewer) names.set(context.request, getOperationAST(args.document, args.operationName)?.name?.value);
    },
    onResponse({ request }) {
      const start = started.get(request);
      if (start === undefined) return;
      metrics.observeOperation(names.get(request), (performance.now() - start) / 1_000);
    },
  };
}
