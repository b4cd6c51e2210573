/**
 * Greenlight policy engine benchmark: `npm run bench:policy` (env: BENCH_DECISIONS, BENCH_SEED).
 *
 * For policies of 10, 100, 1,000 and 10,000 rules it measures `evaluatePolicy` alone (pure, in
 * memory: what `requestAction` spends deciding) on a realistic request mix, and the time to
 * validate and compile 1,000 rules.
 *
 * The policies look like an operations team's: many action namespaces (`billing.invoice.*`,
 * `payments-api.deploy`), resources under `env/service/...`, one rule in ten with an agent selector,
 * one in ten with a CEL condition (params, labels, context, reason, business hours in a time
 * zone), a few rate limits, and a constant handful of policy-wide rules (`*` actions) that every
 * request meets. Requests draw from the same namespaces (and 10% from unknown ones), 60 agents
 * with groups and labels, realistic params and context.
 *
 * A last section times the worst case an agent can provoke: adversarial globs and CEL patterns
 * that backtracking matchers took seconds to minutes on, met by a request of the largest sizes.
 *
 * Per-decision latency is timed call by call (hrtime, ~30 ns overhead included); decisions/s is
 * a separate untimed loop. Targets (issue 3): at 1,000 rules p50 ≤ 10 µs, p99 ≤ 50 µs and ≤ 2×
 * the 10-rule figure; compile ≤ 50 ms.
 */
import { prng } from '../test/support/prng.js';
import {
  compilePolicy,
  evaluatePolicy,
  type EvaluationInput,
  type PolicyDocument,
  type PolicyRule,
  type PolicySubject,
} from '../src/policy/index.js';

const DECISIONS = Number(process.env['BENCH_DECISIONS'] ?? 200_000);
const SEED = Number(process.env['BENCH_SEED'] ?? 42);
const SIZES = [10, 100, 1_000, 10_000];
const COMPILE_RUNS = 9;
const REQUEST_POOL = 4_096;

const WORDS = [
  'billing',
  'payments',
  'ledger',
  'search',
  'catalog',
  'orders',
  'users',
  'auth',
  'mail',
  'cdn',
  'dns',
  'db',
  'cache',
  'queue',
  'ml',
  'infra',
  'k8s',
  'vault',
  'logs',
  'metrics',
];
const VERBS = ['create', 'update', 'delete', 'read', 'deploy', 'rollback', 'scale', 'restart', 'migrate', 'rotate'];
const ENVS = ['prod', 'staging', 'dev', 'sandbox'];
const TEAMS = ['payments', 'search', 'platform', 'data', 'security', 'growth'];
const GROUPS = ['bots', 'deployers', 'sre', 'data-eng', 'ci'];
const CONDITIONS = [
  'params.replicas > 10',
  'agent.labels.team == "payments"',
  'now.getHours("Europe/Paris") >= 9 && now.getHours("Europe/Paris") < 18 && now.getDayOfWeek("Europe/Paris") >= 1 && now.getDayOfWeek("Europe/Paris") <= 5',
  '"hotfix" in context && context.hotfix == "true"',
  'size(reason) > 10',
  'resource.endsWith("-canary")',
  'onBehalfOf.id != ""',
];

/** `count` action namespaces like `billing-17` and services like `payments-api-3`. */
const namespaces = (count: number) => Array.from({ length: count }, (_, i) => `${WORDS[i % WORDS.length]}-${Math.floor(i / WORDS.length)}`);

function generatePolicy(size: number, seed: number): { document: PolicyDocument; spaces: string[] } {
  const r = prng(seed);
  const spaces = namespaces(Math.max(4, Math.ceil(size / 5)));
  const rules: PolicyRule[] = [
    // Policy-wide rules every request meets (constant in number, as in real policies).
    {
      id: 'block-prod-deletes',
      effect: 'BLOCK',
      actions: ['*.delete', '*.drop'],
      resources: ['prod/**'],
      reason: 'Deleting in production is never automated.',
    },
    { id: 'escalate-prod', effect: 'ESCALATE', actions: ['*'], resources: ['prod/**'], review: { groups: ['sre'], timeoutSeconds: 1_800 } },
    { id: 'allow-reads', effect: 'ALLOW', actions: ['*.read', '*.list'], resources: ['**'] },
    {
      id: 'night-freeze',
      effect: 'ESCALATE',
      actions: ['*'],
      resources: ['prod/**'],
      when: 'now.getHours("Europe/Paris") >= 22 || now.getHours("Europe/Paris") < 6',
    },
  ];
  for (let i = rules.length; i < size; i++) {
    const space = r.pick(spaces);
    const env = r.pick(ENVS);
    const roll = r.next();
    const rule: PolicyRule = {
      id: `r${i}-${space}`,
      effect: roll < 0.55 ? 'ALLOW' : roll < 0.85 ? 'ESCALATE' : 'BLOCK',
      actions: r.chance(0.4)
        ? [`${space}.*`]
        : r.chance(0.5)
          ? [`${space}.${r.pick(VERBS)}`]
          : [`${space}.{${r.pick(VERBS)},${r.pick(VERBS)}}`],
      resources: r.chance(0.5) ? [`${env}/${space}/**`] : r.chance(0.5) ? [`${env}/**`] : [`${env}/${space}-api`, `${env}/${space}-worker`],
    };
    if (r.chance(0.1)) rule.agents = r.chance(0.5) ? { labels: { team: r.pick(TEAMS) } } : { groups: [r.pick(GROUPS)] };
    if (r.chance(0.1)) rule.when = r.pick(CONDITIONS);
    if (rule.effect === 'ALLOW' && r.chance(0.1)) rule.limit = { count: 3, windowSeconds: 3_600, per: 'AGENT' };
    if (rule.effect === 'ESCALATE' && r.chance(0.5)) rule.review = { groups: [r.pick(GROUPS)], approvals: 1 + r.int(2) };
    if (r.chance(0.05)) rule.requireReason = true;
    rules.push(rule);
  }
  return { document: { defaultEffect: 'ESCALATE', rules: rules.slice(0, Math.max(size, 0)) }, spaces };
}

function generateRequests(spaces: string[], seed: number): EvaluationInput[] {
  const r = prng(seed);
  const agents: PolicySubject[] = Array.from({ length: 60 }, (_, i) => ({
    id: `agent-${i}`,
    name: `bot ${i}`,
    groups: [r.pick(GROUPS), r.pick(GROUPS)],
    labels: { team: r.pick(TEAMS), env: r.pick(ENVS) },
  }));
  const human: PolicySubject = { id: 'human-1', name: 'Ada', groups: ['sre'], labels: {} };
  const start = Date.UTC(2025, 0, 6); // a Monday
  return Array.from({ length: REQUEST_POOL }, () => {
    const space = r.chance(0.9) ? r.pick(spaces) : `unknown-${r.int(1_000)}`;
    const env = r.pick(ENVS);
    return {
      action: `${space}.${r.pick(VERBS)}`,
      resource: r.chance(0.5) ? `${env}/${space}-api` : `${env}/${space}/${r.pick(['eu', 'us'])}/${r.int(10)}`,
      agent: r.pick(agents),
      onBehalfOf: r.chance(0.2) ? human : null,
      params: { replicas: r.int(20), image: `registry/app:${r.int(100)}`, dryRun: r.chance(0.1) },
      reason: r.chance(0.7) ? 'Rolling out the fix for INC-4242' : null,
      context: r.chance(0.2) ? { hotfix: 'true', ticket: 'INC-4242' } : ({ ticket: 'CHG-1' } as Record<string, string>),
      now: new Date(start + r.int(7 * 24 * 3_600) * 1_000),
    };
  });
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

function measure(size: number) {
  const { document, spaces } = generatePolicy(size, SEED + size);
  const policy = compilePolicy(document, 1);
  const requests = generateRequests(spaces, SEED * 7 + size);
  const usage = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) evaluatePolicy(policy, requests[i % REQUEST_POOL]!, usage); // warm-up
  const samples = new Float64Array(DECISIONS);
  let candidates = 0;
  for (let i = 0; i < DECISIONS; i++) {
    const input = requests[i % REQUEST_POOL]!;
    const t0 = process.hrtime.bigint();
    const evaluation = evaluatePolicy(policy, input, usage);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    candidates += evaluation.trace.length;
  }
  samples.sort();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS; i++) evaluatePolicy(policy, requests[i % REQUEST_POOL]!, usage);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    rules: size,
    'decisions/s': Math.round(DECISIONS / seconds),
    'p50 µs': percentile(samples, 0.5),
    'p99 µs': percentile(samples, 0.99),
    'p99.9 µs': percentile(samples, 0.999),
    'rules looked at (avg)': candidates / DECISIONS,
  };
}

function compileTime(size: number): number {
  const times: number[] = [];
  for (let run = 0; run < COMPILE_RUNS; run++) {
    // A fresh document each run (distinct CEL strings and globs are not shared across compiles anyway).
    const { document } = generatePolicy(size, SEED + run);
    const t0 = process.hrtime.bigint();
    compilePolicy(document, 1);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

const ADVERSARIAL_RULES = 20;
const WORST_DECISIONS = 200;

/**
 * The slowest decisions an agent can ask for: globs and CEL patterns that make backtracking
 * matchers explode, all of them met by a request of the largest accepted sizes (resource of 1,000
 * characters, action of 200, reason of 2,000, 64 KiB of params). Every rule is looked at.
 */
function worstCase(): { median: number; max: number } {
  const { document } = generatePolicy(1_000, SEED + 1_000);
  const hostile: PolicyRule[] = Array.from({ length: ADVERSARIAL_RULES }, (_, i) => ({
    id: `hostile-${i}`,
    effect: 'ESCALATE',
    actions: ['*a*a*a*a*a*ab', `{*a,a*}{*a,a*}{*a,a*}{*a,a*}${i}`],
    resources: ['prod/*-*-*-*', `prod/**/a/**/a/**/b${i}`, `prod/{*-,-*}{*-,-*}{*-,-*}{*-,-*}${i}`],
    when: i % 2 ? 'reason.matches("^([0-9]+\\\\.?)+$")' : 'params.s.matches("^(a|aa)+$")',
  }));
  const policy = compilePolicy({ ...document, rules: [...hostile, ...document.rules] }, 1);
  const input: EvaluationInput = {
    // Both are matched (in linear time), so every hostile rule's CEL condition runs too.
    action: `${'a'.repeat(199)}b`,
    resource: `prod/${'-'.repeat(994)}x`,
    agent: { id: 'agent-0', name: 'bot 0', groups: [], labels: {} },
    onBehalfOf: null,
    params: { s: `${'a'.repeat(64 * 1_024 - 20)}!` },
    reason: `${'1'.repeat(1_999)}!`,
    context: {},
    now: new Date(Date.UTC(2025, 0, 6, 12)),
  };
  for (let i = 0; i < 20; i++) evaluatePolicy(policy, input); // warm-up
  const samples = Array.from({ length: WORST_DECISIONS }, () => {
    const t0 = process.hrtime.bigint();
    evaluatePolicy(policy, input);
    return Number(process.hrtime.bigint() - t0) / 1_000;
  }).sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)]!, max: samples.at(-1)! };
}

const rows = SIZES.map(measure);
console.log(`evaluatePolicy, ${DECISIONS} decisions per size (seed ${SEED}), Node ${process.version}`);
console.log('| rules | decisions/s | p50 µs | p99 µs | p99.9 µs | rules looked at (avg) |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  console.log(
    `| ${row.rules} | ${row['decisions/s']} | ${fmt(row['p50 µs'])} | ${fmt(row['p99 µs'])} | ${fmt(row['p99.9 µs'])} | ${fmt(row['rules looked at (avg)'], 1)} |`,
  );
}
const at = (size: number) => rows.find((row) => row.rules === size)!;
const worst = worstCase();
console.log(
  `\nworst case at 1,000 rules + ${ADVERSARIAL_RULES} adversarial ones, largest hostile request: ` +
    `median ${fmt(worst.median)} µs, max ${fmt(worst.max)} µs per decision over ${WORST_DECISIONS} decisions ` +
    `(typical p50 ${fmt(at(1_000)['p50 µs'])} µs)`,
);
const compileMs = compileTime(1_000);
console.log(`\ncompile (validate + CEL + globs + index) of 1,000 rules: median ${fmt(compileMs)} ms over ${COMPILE_RUNS} runs`);
const checks = [
  ['p50 at 1,000 rules ≤ 10 µs', at(1_000)['p50 µs'] <= 10],
  ['p99 at 1,000 rules ≤ 50 µs', at(1_000)['p99 µs'] <= 50],
  ['p50 at 1,000 rules ≤ 2 × p50 at 10 rules', at(1_000)['p50 µs'] <= 2 * at(10)['p50 µs']],
  ['compile 1,000 rules ≤ 50 ms', compileMs <= 50],
] as const;
console.log('');
for (const [label, ok] of checks) console.log(`${ok ? 'ok  ' : 'MISS'} ${label}`);
