import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '../config.js';

const LOCK_FILE = 'greenlight.pid';

/** Whether a process with this id runs (on this machine). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims DATA_DIR for this process: PGlite is one process's database, and two servers on one
 * folder would each overwrite the other's writes, audit log included. The claim is a file holding
 * this process's id, made with O_EXCL; a file left by a process that no longer runs is taken
 * over. Returns the function that gives the folder up.
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
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST')
        throw new StartupError(`DATA_DIR: cannot write to ${dataDir} (${code}); give this user write access or choose another folder.`);
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && running(pid)) {
        const who = pid === process.pid ? 'this process' : `process ${pid}`;
        throw new StartupError(
          `DATA_DIR: ${dataDir} is in use by another Greenlight (${who}); stop it first, or set DATA_DIR to another folder.`,
        );
      }
      rmSync(file, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return () => {
      try {
        if (Number(readFileSync(file, 'utf8').trim()) === process.pid) rmSync(file, { force: true });
      } catch {
        // Already gone.
      }
    };
  }
  throw new StartupError(`DATA_DIR: ${dataDir} is being claimed by another process at the same moment; try again.`);
}
