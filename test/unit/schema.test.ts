import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  parse,
  printSchema,
  validate,
  type GraphQLField,
  type GraphQLInputField,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema, buildSortedSchema } from '../../src/graphql/schema.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

describe('the GraphQL schema', () => {
  it('matches the checked-in schema/schema.graphql (run `npm run schema` after changing it)', () => {
    const printed = `${printSchema(buildSortedSchema())}\n`;
    expect(readFileSync(root('schema/schema.graphql'), 'utf8')).toBe(printed);
  });

  it('validates every documented operation in schema/operations', () => {
    const files = readdirSync(root('schema/operations')).filter((file) => file.endsWith('.graphql'));
    expect(files.sort()).toEqual(['admin.graphql', 'agent.graphql', 'auditor.graphql', 'reviewer.graphql', 'tokens.graphql']);
    for (const file of files) {
      const document = parse(readFileSync(root(`schema/operations/${file}`), 'utf8'));
      expect(validate(buildSchema(), document).map((error) => `${file}: ${error.message}`)).toEqual([]);
      expect(document.definitions.length).toBeGreaterThan(0);
    }
  });

  it('describes every type, field, argument and enum value', () => {
    const missing: string[] = [];
    const check = (name: string, description: string | null | undefined) => {
      if (!description?.trim()) missing.push(name);
    };
    for (const type of Object.values(buildSchema().getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      check(type.name, type.description);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields()) as (GraphQLField<unknown, unknown> | GraphQLInputField)[]) {
          check(`${type.name}.${field.name}`, field.description);
          for (const arg of 'args' in field ? field.args : []) check(`${type.name}.${field.name}(${arg.name})`, arg.description);
        }
      }
      if (isEnumType(type)) for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
    }
    expect(missing).toEqual([]);
  });

  it('keeps the fixed contract names of the design', () => {
    const schema = buildSchema();
    const fields = (typeName: string) => Object.keys((schema.getType(typeName) as { getFields(): object }).getFields());
    expect(fields('Mutation')).toEqual(expect.arrayContaining(['requestAction', 'decideAction', 'createPrincipal', 'publishPolicy']));
    expect(fields('Query')).toEqual(
      expect.arrayContaining(['viewer', 'actionRequest', 'actionRequests', 'pendingApprovals', 'auditEvents', 'activePolicy']),
    );
    expect(fields('Subscription')).toEqual(expect.arrayContaining(['pendingApprovals', 'actionDecided', 'auditEvents']));
    const mutation = schema.getMutationType()!.getFields();
    for (const name of ['requestAction', 'decideAction', 'createPrincipal', 'publishPolicy']) {
      expect(getNamedType(mutation[name]!.type).name).toBe(`${name[0]!.toUpperCase()}${name.slice(1)}Payload`);
    }
    expect(fields('ActionRequest')).toEqual(
      expect.arrayContaining([
        'id',
        'agent',
        'onBehalfOf',
        'action',
        'resource',
        'params',
        'reason',
        'status',
        'evaluation',
        'reviews',
        'requiredApprovals',
        'expiresAt',
        'decidedAt',
        'decidedBy',
        'decisionReason',
        'createdAt',
      ]),
    );
  });
});
