import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { builder } from './builder.js';

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'An instant in time as an ISO 8601 string with a time zone, e.g. "2026-11-24T09:30:00.000Z".',
});
builder.addScalarType('JSON', JSONResolver, {
  description: 'Any JSON value, e.g. the parameters of an action.',
});
