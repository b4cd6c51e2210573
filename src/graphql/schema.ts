import { lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './errors.js';
import './types/enums.js';
import './types/principal.js';
import './types/principal-admin.js';
import './types/token.js';
import './types/delegation.js';
import './types/policy-rule.js';
import './types/policy-input.js';
import './types/policy.js';
import './types/evaluation.js';
import './types/simulation.js';
import './types/action-request.js';
import './types/receipt.js';
import './types/review.js';
import './types/batch-decision.js';
import './types/standing-approval.js';
import './types/review-requirement.js';
import './types/override-decision.js';
import './types/extend-action.js';
import './types/outcome.js';
import './types/approval-queue.js';
import './types/audit-event.js';
import './types/audit-verification.js';
import './types/webhook.js';

let schema: GraphQLSchema | undefined;

/** The executable schema; built once per process (it holds no state, only type definitions). */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}

/** The schema in a stable order, as printed to schema/schema.graphql. */
export function buildSortedSchema(): GraphQLSchema {
  return lexicographicSortSchema(buildSchema());
}
