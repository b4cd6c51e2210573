/**
 * The load generators of `npm run bench:write` (bench/write.ts), shared by the bench process (which
 * drives Greenlight over HTTP) and the baseline child (bench/write-baseline.ts, which drives its
 * own pg or PGlite writes), so that both sides are measured by the same code:
 *
 * - closed loop: C workers, each sending its next request as soon as the previous one answered;
 *   C is the number of requests in flight. Latency: from when the worker is ready to send (the
 *   previous answer) to the answer, so that waiting anywhere (a pool, PGlite's single connection,
 *   the server's queue, an event loop) counts alike on both sides: mean latency ≈ C ÷ req/s.
 * - open loop: requests arrive at a fixed rate whatever the answers do (request k is due at
 *   t0 + k / rate); latency is from when it was DUE to the answer, so a stall that delays later
 *   sends counts against them (no coordinated omission).
 *
 * A run starts in warm-up; `measure()` opens the measured window and `finish()` closes it, stops
 * sending, waits for the requests in flight and returns the requests that ENDED inside the window.
 * Every failure (warm-up included) is counted; the caller fails the benchmark on any.
 */

/** One request: `i` numbers the run's requests from 0 (the caller makes unique keys from it). */
export type Op = (i: number) => Promise<void>;

export interface Samples {
  /** Latencies (ms) of the requests that ended inside the measured window. */
  latencies: number[];
  /** The measured window's length (ms). */
  windowMs: number;
  failures: number;
  firstError: string | null;
}

export interface LoadRun {
  /** Opens the measured window now. */
  measure(): void;
  /** Closes the window now, stops sending, waits for the requests in flight. */
  finish(): Promise<Samples>;
}

interface Recorder {
  record(dueAt: number, endedAt: number): void;
  fail(error: unknown): void;
  running: () => boolean;
  measure(): void;
  stop(): void;
  samples(): Samples;
}

function recorder(): Recorder {
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let stopped = false;
  let failures = 0;
  let firstError: string | null = null;
  const latencies: number[] = [];
  return {
    record(dueAt, endedAt) {
      if (endedAt >= windowStart && endedAt <= windowEnd) latencies.push(endedAt - dueAt);
    },
    fail(error) {
      failures++;
      firstError ??= error instanceof Error ? error.message : String(error);
    },
    running: () => !stopped,
    measure() {
      windowStart = performance.now();
    },
    stop() {
      windowEnd = performance.now();
      stopped = true;
    },
    samples: () => ({
      latencies,
      windowMs: windowStart === Infinity ? 0 : windowEnd - windowStart,
      failures,
      firstError,
    }),
  };
}

/** Runs one request, recording its latency from `dueAt` or its failure. */
async function timed(op: Op, i: number, dueAt: number, rec: Recorder): Promise<void> {
  try {
    await op(i);
    rec.record(dueAt, performance.now());
  } catch (error) {
    rec.fail(error);
  }
}

/** `concurrency` workers, each sending its next request when the previous one ended. */
export function closedLoop(op: Op, concurrency: number): LoadRun {
  const rec = recorder();
  let next = 0;
  const worker = async () => {
    while (rec.running()) {
      // The next request is due as soon as the last one answered. Before it goes, the event loop
      // gets a turn: PGlite answers without I/O, and a loop of such requests would never let IPC
      // or timers run. Waiting for that turn counts, as the wait for a socket or connection does.
      const dueAt = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      await timed(op, next++, dueAt, rec);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    measure: () => rec.measure(),
    async finish() {
      rec.stop();
      await Promise.all(workers);
      return rec.samples();
    },
  };
}

/** Requests due at a fixed rate, each sent when due (checked every millisecond or so). */
export function openLoop(op: Op, ratePerSecond: number): LoadRun {
  const rec = recorder();
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    while (rec.running() && t0 + (sent * 1_000) / ratePerSecond <= now) {
      const dueAt = t0 + (sent * 1_000) / ratePerSecond;
      const request = timed(op, sent++, dueAt, rec).finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    if (rec.running()) timer = setTimeout(tick, 1);
  };
  tick();
  return {
    measure: () => rec.measure(),
    async finish() {
      rec.stop();
      clearTimeout(timer);
      await Promise.all(inFlight);
      return rec.samples();
    },
  };
}

export interface LatencyStats {
  count: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
}

/** Nearest-rank quantile of sorted values. */
export const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

export function latencyStats(samples: Samples): LatencyStats {
  const sorted = Float64Array.from(samples.latencies).sort();
  const values = Array.from(sorted);
  return {
    count: values.length,
    rps: values.length / (samples.windowMs / 1_000),
    p50: quantile(values, 0.5),
    p99: quantile(values, 0.99),
    p999: quantile(values, 0.999),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
