/**
 * Section 4 of `bench/audit.ts`: requestAction latency with the audit sealer running vs stopped,
 * in one process, in interleaved rounds (see the header of bench/audit.ts).
 */
import { inputFor, MUTATION, POLICY } from './request-workload.js';
import { AUDIT, UNLIMITED, cleanups, fmt, freshDatabase, int, median, quantile, row, sortNum, summary } from './audit-support.js';
import { buildApp, type App } from '../src/app.js';
import { defaultReceiptConfig } from '../src/config.js';
import { chainHead, SEAL_BATCH, sealBatch } from '../src/audit/seal.js';
import { startSealer, type Sealer } from '../src/audit/sealer.js';
import { createPrincipal } from '../src/auth/principals.js';
import * as schema from '../src/db/schema.js';
import { publishPolicy } from '../src/policies/publish.js';

/** The target: p99 with the sealer running at most this many times p99 with it stopped. */
export const TARGET_P99_RATIO = 1.1;
/** Requests made (with the sealer running) before the measured rounds. */
export const REQUEST_WARMUP = 200;
const ADMIN_TOKEN = 'bench-admin-token-0123456789';

// --- 4. requestAction with the sealer running vs stopped ---------------------------------------

/**
 * `rounds` rounds of `requests` sequential requestAction calls per side, the sealer running on
 * one side and stopped on the other; prints p50/p99 per side and adds the p99 ratio to the summary.
 */
export async function sealerOverhead(rounds: number, requests: number): Promise<void> {
  const url = await freshDatabase('bench_audit_sealer');
  const app: App = await buildApp(
    {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: url,
      dataDir: 'memory://',
      adminToken: ADMIN_TOKEN,
      sweepIntervalMs: 1_000,
      audit: AUDIT,
      receipts: defaultReceiptConfig(),
      security: UNLIMITED,
      databaseWaitMs: 0,
    },
    { logging: 'error' },
  );
  cleanups.push(() => app.stop());
  const admin = (await app.deps.auth.authenticate(ADMIN_TOKEN, undefined)).principal;
  const agent = await createPrincipal(app.deps, admin, { kind: 'AGENT', name: 'bench-agent', roles: ['AGENT'] });
  await publishPolicy(app.deps, admin, POLICY);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${agent.token}` };
  const request = async (i: number) => {
    const body = JSON.stringify({ query: MUTATION, variables: { input: inputFor(i) } });
    const response = await app.yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body });
    const result = (await response.json()) as { data?: { requestAction?: { request?: { status: string } } } };
    const status = result.data?.requestAction?.request?.status;
    if (status !== (i % 2 === 0 ? 'APPROVED' : 'PENDING')) throw new Error(`unexpected response: ${JSON.stringify(result)}`);
  };

  const policy = { intervalMs: AUDIT.sealIntervalMs, everyEvents: AUDIT.checkpointEvents, everyMs: AUDIT.checkpointIntervalMs };
  const sealerErrors: unknown[] = [];
  const start = (): Sealer => startSealer(app.database, app.deps.auditKeys, policy, (error) => sealerErrors.push(error));
  /** Seals whatever is waiting, untimed (the backlog of a stopped round). */
  const drain = async () => {
    while ((await sealBatch(app.deps.db, app.deps.auditKeys, policy)).sealed === SEAL_BATCH) {
      // more waiting
    }
  };
  const headSeq = async () => (await chainHead(app.deps.db))?.seq ?? 0;
  const checkpointCount = async () => (await app.deps.db.select({ seq: schema.auditCheckpoints.seq }).from(schema.auditCheckpoints)).length;

  let i = 0;
  {
    const warm = start();
    for (let k = 0; k < REQUEST_WARMUP; k++) await request(i++);
    await warm.stop();
  }
  await drain();

  type Side = 'running' | 'stopped';
  const latencies: Record<Side, number[]> = { running: [], stopped: [] };
  const rps: Record<Side, number[]> = { running: [], stopped: [] };
  let sealedWhileRunning = 0;
  let runningTicksWithWork = 0;
  const checkpointsBefore = await checkpointCount();
  for (let round = 0; round < rounds; round++) {
    const sides: Side[] = round % 2 === 0 ? ['running', 'stopped'] : ['stopped', 'running'];
    for (const side of sides) {
      let sealer: Sealer | undefined;
      let before = 0;
      if (side === 'running') {
        await drain();
        before = await headSeq();
        sealer = start();
      }
      const t0 = performance.now();
      for (let k = 0; k < requests; k++) {
        const s = performance.now();
        await request(i++);
        latencies[side].push(performance.now() - s);
      }
      rps[side].push(requests / ((performance.now() - t0) / 1_000));
      if (sealer) {
        await sealer.stop();
        const sealed = (await headSeq()) - before;
        sealedWhileRunning += sealed;
        if (sealed > 0) runningTicksWithWork++;
      }
    }
  }
  const checkpoints = (await checkpointCount()) - checkpointsBefore;
  if (sealerErrors.length > 0) console.log(`  sealer errors: ${sealerErrors.length}, first: ${String(sealerErrors[0])}`);

  const widths = [18, 10, 9, 9, 9, 9];
  row(widths, ['sealer', 'requests', 'rps', 'p50 ms', 'p99 ms', 'max ms']);
  const stats = {} as Record<Side, { p50: number; p99: number }>;
  for (const side of ['running', 'stopped'] as const) {
    const sorted = sortNum(latencies[side]);
    stats[side] = { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
    row(widths, [
      side,
      String(sorted.length),
      fmt(median(rps[side]), 0),
      fmt(stats[side].p50, 2),
      fmt(stats[side].p99, 2),
      fmt(sorted.at(-1)!, 2),
    ]);
  }
  const eventsWritten = rounds * requests * 2;
  console.log(
    `  while running, the sealer sealed ${int(sealedWhileRunning)} of the ${int(eventsWritten)} events written in the running rounds ` +
      `(${runningTicksWithWork}/${rounds} rounds sealed something; the rest is sealed after each stop) and signed ${checkpoints} checkpoints overall`,
  );
  const ratio = stats.running.p99 / stats.stopped.p99;
  console.log(`  p99 ratio running/stopped: ${fmt(ratio, 3)} (${ratio >= 1 ? '+' : ''}${fmt((ratio - 1) * 100, 1)} %)`);
  const sealing = sealedWhileRunning > 0;
  summary.push({
    figure: 'requestAction p99, sealer running / stopped',
    value: `${fmt(stats.running.p99, 2)} / ${fmt(stats.stopped.p99, 2)} ms = ${fmt(ratio, 2)}`,
    target: `≤ ${fmt(TARGET_P99_RATIO, 2)}`,
    met: sealing && ratio <= TARGET_P99_RATIO,
  });
  if (!sealing) console.log('  WARNING: the sealer sealed nothing during the running rounds; the comparison is void');
}
