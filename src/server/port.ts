import { createServer } from 'node:net';
import { StartupError } from '../config.js';

/**
 * Fails at once, before migrations and the rest of start-up, when `host:port` cannot be listened
 * on (another process holds it, or the address is not this machine's). Port 0 is always free.
 */
export async function ensurePortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new StartupError(
          error.code === 'EADDRINUSE'
            ? `PORT: ${host}:${port} is already in use; stop what holds it, or set PORT to another port.`
            : `HOST: cannot listen on ${host}:${port} (${error.code}); set HOST to an address of this machine.`,
        ),
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
