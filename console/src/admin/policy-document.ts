import type { AdminPolicyDocumentQuery } from '../generated/graphql.js';

export type PolicyDocumentNode = AdminPolicyDocumentQuery['policyVersions']['edges'][number]['node'];

/** A value with its null fields left out (an unset `when` or `limit` says nothing worth a line). */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null && item !== undefined)
      .map(([key, item]) => [key, compact(item)]),
  );
}

/**
 * A version as the document an admin publishes (`PublishPolicyInput`'s default effect, redact
 * list and rules), pretty-printed JSON, one field a line, keys in the API's order: two versions'
 * documents differ line by line where the policies differ.
 */
export function policyDocument(node: PolicyDocumentNode): string {
  return JSON.stringify(compact({ defaultEffect: node.defaultEffect, redact: node.redact, rules: node.rules }), null, 2);
}
