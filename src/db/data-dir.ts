import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '../config.js';

const LOCK_FILE = 'greenlight.pid';
/**
 * This process's identity in a claim: its pid alone is not enough, since a restarted container
 * gets the pid its crashed predecessor had (often 1), and must not mistake that one's claim for
 * its own.
 */
const INCARNATION = randomUUID();

/** Whether a process with this id runs (on this machine). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds a claim, if anyone still does: "this process", "process 42", or null for a stale claim. */
function holder(file: string): string | null {
  const [pidText, incarnation] = readFileSync(file, 'utf8').trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (pid === process.pid) return incarnation === INCARNATION ? 'this process' : null;
  return running(pid) ? `process ${pid}` : null;
}

/**
 * Claims DATA_DIR for this process: PGlite is one process's database, and two servers on one
 * folder would each overwrite the other's writes, audit log included. The claim is a file holding
 * this process's id, made with O_EXCL. A claim left by a process that no longer runs is taken
 * over by renaming it away first: of two processes doing so at once, only one rename succeeds.
 * Returns the function that gives the folder up.
 */
export function claimDataDir(dataDir: string): () => void {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new StartupError(
      `DATA_DIR: cannot create ${dataDir} (${(error as NodeJS.ErrnoException).code}); choose a folder this user may write to.`,
    );
  }
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new StartupError(`DATA_DIR: cannot write to ${dataDir} (${code}); give this user write access or choose another folder.`);
      let who: string | null;
      try {
        who = holder(file);
      } catch {
        continue; // It went away meanwhile: try again.
      }
      if (who)
        throw new StartupError(
          `DATA_DIR: ${dataDir} is in use by another Greenlight (${who}); stop it first, or set DATA_DIR to another folder.`,
        );
      const stale = `${file}.stale-${INCARNATION}`;
      try {
        renameSync(file, stale);
        rmSync(stale, { force: true });
      } catch {
        // Another process took the stale claim over first; its fresh claim is judged next time round.
      }
      continue;
    }
    writeSync(fd, `${process.pid} ${INCARNATION}\n`);
    closeSync(fd);
    return () => {
      try {
        if (readFileSync(file, 'utf8').includes(INCARNATION)) rmSync(file, { force: true });
      } catch {
        // Already gone.
      }
    };
  }
  throw new StartupError(`DATA_DIR: ${dataDir} is being claimed by another process at the same moment; try again.`);
}
