// One server per data directory: a lock file holding the owner's pid and its start time (from
// /proc, so a pid reused after a reboot is not mistaken for the owner). A lock left by a process
// that is gone (kill -9, power loss) is taken over.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirError extends Error {}

/** The directory's lock is held by a live server: `pid`, which a new server may ask for a handover. */
export class DataDirInUse extends DataDirError {
  constructor(
    message: string,
    readonly pid: number,
  ) {
    super(message);
  }
}

/** The kernel's start time of `pid` (clock ticks since boot), or '' where /proc is not there. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, started: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(pid);
  return started === undefined || now === undefined || now === started;
}

export class DirLock {
  private constructor(private readonly path: string) {}

  static take(dir: string): DirLock {
    const path = join(dir, 'lock');
    const mine = `${process.pid} ${startTime(process.pid) ?? ''}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, mine, { flag: 'wx' });
        return new DirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(`DATA_DIR ${dir} is not writable: ${(err as Error).message}`);
      }
      const [pid, started] = readFileSync(path, 'utf8').trim().split(' ');
      if (Number(pid) > 0 && Number(pid) !== process.pid && alive(Number(pid), started || undefined)) {
        throw new DataDirInUse(`DATA_DIR ${dir} is in use by another server (pid ${pid}); one server per data directory`, Number(pid));
      }
      unlinkSync(path); // left by a process that is gone
    }
    throw new DataDirError(`DATA_DIR ${dir}: could not take the lock file ${path}`);
  }

  release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to release
    }
  }
}
