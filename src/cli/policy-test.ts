import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { compilePolicy, evaluatePolicy, POLICY_EFFECTS, type Evaluation, type EvaluationInput } from '../policy/index.js';
import { formatIssue, loadPolicyFile, readDataFile } from './policy-file.js';

const Subject = z.object({
  id: z.string().default('agent'),
  name: z.string().default('agent'),
  groups: z.array(z.string()).default([]),
  labels: z.record(z.string(), z.string()).default({}),
});

/** One case: a request and what the policy must decide for it (like a row of `opa test`). */
const TestCase = z.object({
  name: z.string().min(1),
  request: z.object({
    action: z.string(),
    resource: z.string(),
    agent: Subject.default({ id: 'agent', name: 'agent', groups: [], labels: {} }),
    onBehalfOf: Subject.nullish(),
    params: z.record(z.string(), z.unknown()).nullish(),
    reason: z.string().nullish(),
    context: z.record(z.string(), z.string()).default({}),
    now: z.iso.datetime({ offset: true }).default('2026-01-05T10:00:00Z'),
  }),
  /** Earlier matches per rate-limited rule, as the service would count them. */
  usage: z.record(z.string(), z.number().int().min(0)).default({}),
  expect: z.object({
    effect: z.enum(POLICY_EFFECTS as [string, ...string[]]),
    /** A rule that must be among the deciding rules. */
    rule: z.string().optional(),
    /** The exact list of matched rules. */
    matchedRules: z.array(z.string()).optional(),
    reasonRequired: z.boolean().optional(),
  }),
});

const TestFile = z.object({
  /** The policy under test, relative to the test file. */
  policy: z.string().min(1),
  cases: z.array(TestCase).min(1),
});

export interface CaseResult {
  name: string;
  passed: boolean;
  /** What differed, for a failed case. */
  problems: string[];
  evaluation: Evaluation;
}

export interface TestRun {
  policyPath: string;
  /** Problems with the files themselves; no case ran when there are any. */
  fileProblems: string[];
  results: CaseResult[];
}

function check(testCase: z.output<typeof TestCase>, evaluation: Evaluation): string[] {
  const problems: string[] = [];
  const { expect } = testCase;
  if (evaluation.effect !== expect.effect) problems.push(`effect: expected ${expect.effect}, got ${evaluation.effect}`);
  if (expect.rule && !evaluation.decidingRules.includes(expect.rule)) {
    problems.push(`deciding rule: expected "${expect.rule}", got ${JSON.stringify(evaluation.decidingRules)}`);
  }
  if (expect.matchedRules && JSON.stringify(expect.matchedRules) !== JSON.stringify(evaluation.matchedRules)) {
    problems.push(`matched rules: expected ${JSON.stringify(expect.matchedRules)}, got ${JSON.stringify(evaluation.matchedRules)}`);
  }
  if (expect.reasonRequired !== undefined && expect.reasonRequired !== evaluation.reasonRequiredBy.length > 0) {
    problems.push(`reason required: expected ${expect.reasonRequired}, got ${evaluation.reasonRequiredBy.length > 0}`);
  }
  return problems;
}

/** Runs a file of test cases against the policy it names. Pure apart from reading the files. */
export function runPolicyTests(testFilePath: string): TestRun {
  const parsed = TestFile.safeParse(readDataFile(testFilePath));
  if (!parsed.success) {
    return {
      policyPath: '',
      fileProblems: parsed.error.issues.map((issue) => `${testFilePath}: ${issue.path.join('.') || 'file'}: ${issue.message}`),
      results: [],
    };
  }
  const policyPath = resolve(dirname(testFilePath), parsed.data.policy);
  const { document, issues } = loadPolicyFile(policyPath);
  if (!document || issues.length > 0) return { policyPath, fileProblems: issues.map(formatIssue), results: [] };
  const policy = compilePolicy(document, null);
  const results = parsed.data.cases.map((testCase): CaseResult => {
    const { request } = testCase;
    const input: EvaluationInput = {
      action: request.action,
      resource: request.resource,
      agent: request.agent,
      onBehalfOf: request.onBehalfOf ?? null,
      params: request.params ?? null,
      reason: request.reason ?? null,
      context: request.context,
      now: new Date(request.now),
    };
    const evaluation = evaluatePolicy(policy, input, new Map(Object.entries(testCase.usage)));
    const problems = check(testCase, evaluation);
    return { name: testCase.name, passed: problems.length === 0, problems, evaluation };
  });
  return { policyPath, fileProblems: [], results };
}
