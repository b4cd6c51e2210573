import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { readPolicyDocument, type PolicyDocument, type PolicyIssue } from '../policy/index.js';

/** Reads YAML or JSON (JSON is YAML) from disk; a syntax error names the file and line. */
export function readDataFile(path: string): unknown {
  return parse(readFileSync(path, 'utf8'), { prettyErrors: true });
}

export interface LoadedPolicy {
  document: PolicyDocument | null;
  issues: PolicyIssue[];
}

/** Loads a policy file and checks it exactly as publishing would (plus unknown fields). */
export function loadPolicyFile(path: string): LoadedPolicy {
  return readPolicyDocument(readDataFile(path));
}

export function formatIssue(issue: PolicyIssue): string {
  return `${issue.ruleId ? `rule ${issue.ruleId}` : 'policy'}: ${issue.field}: ${issue.message}`;
}
