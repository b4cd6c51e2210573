import { EXIT, server, whole, text, type CliCommand } from './command.js';
import { callGraphQL } from './graphql-client.js';
import { diffPolicy, formatPolicyDiff } from './policy-diff.js';
import { formatIssue, loadPolicyFile } from './policy-file.js';
import { runPolicyTests } from './policy-test.js';

// `greenlight policy …`: validate and test a policy file locally, publish it, replay it over the
// server's history, or compare it with a published version.

const EDITOR = 'an ADMIN (or AUDITOR, for replay and diff)';
const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

/** Prints a file's problems (or, with --json, all of it); null when the file is a valid policy. */
function refuseInvalid(file: string, json: boolean) {
  const { document, issues } = loadPolicyFile(file);
  if (issues.length === 0 && document) return { document };
  if (json) print({ file, ok: false, issues });
  else {
    for (const issue of issues) console.error(`✗ ${formatIssue(issue)}`);
    console.error(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`);
  }
  return null;
}

async function validate(file: string, json: boolean): Promise<number> {
  const valid = refuseInvalid(file, json);
  if (!valid) return EXIT.failed;
  const { document } = valid;
  if (json) print({ file, ok: true, rules: document.rules.length, defaultEffect: document.defaultEffect, issues: [] });
  else console.log(`✓ ${file}: ${document.rules.length} rules, default ${document.defaultEffect}`);
  return EXIT.ok;
}

async function test(file: string, json: boolean): Promise<number> {
  const run = runPolicyTests(file);
  const failed = run.results.filter((r) => !r.passed).length;
  if (json) {
    print({ file, fileProblems: run.fileProblems, passed: run.results.length - failed, failed, results: run.results });
    return run.fileProblems.length > 0 || failed > 0 ? EXIT.failed : EXIT.ok;
  }
  for (const problem of run.fileProblems) console.error(`✗ ${problem}`);
  if (run.fileProblems.length > 0) return EXIT.failed;
  for (const result of run.results) {
    if (result.passed) {
      console.log(`✓ ${result.name}`);
    } else {
      console.log(`✗ ${result.name}`);
      for (const problem of result.problems) console.log(`    ${problem}`);
      console.log(`    explanation: ${result.evaluation.explanation}`);
    }
  }
  console.log(`${run.results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

async function publish(file: string, options: { message?: string | undefined; expectedVersion?: number | undefined }, json: boolean) {
  const valid = refuseInvalid(file, json);
  if (!valid) return EXIT.failed;
  const data = await callGraphQL<{
    publishPolicy: { policy: { version: number } | null; errors: { __typename: string; message: string }[] };
  }>(
    server(EDITOR),
    `mutation($input: PublishPolicyInput!) { publishPolicy(input: $input) { policy { version } errors { __typename message } } }`,
    { input: { ...valid.document, message: options.message, expectedVersion: options.expectedVersion } },
  );
  const { policy, errors } = data.publishPolicy;
  if (json) print(data.publishPolicy);
  else {
    for (const error of errors) console.error(`✗ ${error.__typename}: ${error.message}`);
    if (policy) console.log(`✓ published version ${policy.version}`);
  }
  return policy ? EXIT.ok : EXIT.failed;
}

async function replay(
  file: string,
  options: { since?: string | undefined; until?: string | undefined; limit?: number | undefined },
  json: boolean,
): Promise<number> {
  const valid = refuseInvalid(file, json);
  if (!valid) return EXIT.failed;
  const { document } = valid;
  const data = await callGraphQL<{ replayPolicy: Record<string, unknown> & { changes: { from: string; to: string; count: number }[] } }>(
    server(EDITOR),
    `query($input: ReplayPolicyInput!) {
      replayPolicy(input: $input) {
        evaluated truncated changed reviewerLoadChange escalationsBefore escalationsAfter
        changes { from to count }
        samples { from to request { id action resource createdAt } }
      }
    }`,
    // Redaction does not change decisions; the draft input has no place for it.
    {
      input: {
        rules: document.rules,
        defaultEffect: document.defaultEffect,
        since: options.since,
        until: options.until,
        limit: options.limit,
      },
    },
  );
  const result = data.replayPolicy;
  if (json) {
    print(result);
    return EXIT.ok;
  }
  console.log(
    `replayed ${result['evaluated']} requests${result['truncated'] ? ' (truncated by --limit)' : ''}: ${result['changed']} decisions change`,
  );
  for (const change of result.changes) console.log(`  ${change.from} → ${change.to}: ${change.count}`);
  console.log(
    `reviewer load: ${result['escalationsBefore']} → ${result['escalationsAfter']} escalations (${Number(result['reviewerLoadChange']) >= 0 ? '+' : ''}${result['reviewerLoadChange']})`,
  );
  console.log(JSON.stringify(result['samples'], null, 2));
  return EXIT.ok;
}

async function diff(file: string, version: number | undefined, json: boolean): Promise<number> {
  const valid = refuseInvalid(file, json);
  if (!valid) return EXIT.failed;
  const result = await diffPolicy(server(EDITOR), valid.document, version);
  if (json) print(result);
  else for (const line of formatPolicyDiff(file, result)) console.log(line);
  return result.changed ? EXIT.failed : EXIT.ok;
}

export const POLICY_COMMANDS: Record<string, CliCommand> = {
  validate: {
    usage: 'FILE',
    summary: 'Check a policy file (YAML or JSON) exactly as publishing would.',
    positionals: 1,
    options: {},
    run: ({ args, json }) => validate(args[0]!, json),
  },
  test: {
    usage: 'FILE',
    summary: 'Run a file of test cases against the policy it names; exits 1 on a failure.',
    positionals: 1,
    options: {},
    run: ({ args, json }) => test(args[0]!, json),
  },
  publish: {
    usage: 'FILE [--message TEXT] [--expected-version N]',
    summary: 'Publish the policy to the server (GREENLIGHT_URL, GREENLIGHT_TOKEN of an ADMIN).',
    details: ['--expected-version N  refuse (ConflictError) unless N is the active version: no lost update'],
    positionals: 1,
    options: { message: { type: 'string' }, 'expected-version': { type: 'string' } },
    run: ({ args, values, json }) =>
      publish(args[0]!, { message: text(values['message']), expectedVersion: whole(values['expected-version'], 'expected-version') }, json),
  },
  replay: {
    usage: 'FILE [--since ISO] [--until ISO] [--limit N]',
    summary: 'Replay the policy as a draft over recorded requests on the server: which decisions change.',
    positionals: 1,
    options: { since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' } },
    run: ({ args, values, json }) =>
      replay(args[0]!, { since: text(values['since']), until: text(values['until']), limit: whole(values['limit'], 'limit') }, json),
  },
  diff: {
    usage: 'FILE [--version N]',
    summary: 'Compare the file with the active policy (or version N), rule by rule; exits 1 when they differ.',
    details: ['Defaults are filled in on both sides, so a rule that spells out a default is not a change.'],
    positionals: 1,
    options: { version: { type: 'string' } },
    run: ({ args, values, json }) => diff(args[0]!, whole(values['version'], 'version'), json),
  },
};
