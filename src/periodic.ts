/** A job run again and again on this instance, from `every`. */
export interface Periodic {
  /** Stops scheduling and waits for the run under way. */
  stop(): Promise<void>;
}

/**
 * Runs `job` every `intervalMs` (counted from the end of the previous run, so runs never
 * overlap) until stopped. A failed run is reported to `onError` and the next one comes as usual.
 * The timer does not keep the process alive.
 */
export function every(intervalMs: number, job: () => Promise<unknown>, onError: (error: unknown) => void): Periodic {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const run = async () => {
    try {
      if (!stopped) await job();
    } catch (error) {
      onError(error);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().then(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
