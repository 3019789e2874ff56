// A child process's output as lines: each one handed on as it comes (to a log, or to look for a
// readiness line), the last ones kept for the error message when the child dies before serving.
// Used by the dev server, the cluster's Temporal Server and its PostgreSQL.
import type { ChildProcess } from 'node:child_process';

/** Reads stdout and stderr line by line; returns the last `keep` lines, kept current. */
export function captureLines(child: ChildProcess, onLine?: (line: string) => void, keep = 20): string[] {
  const last: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (!line.trim()) continue;
        onLine?.(line);
        last.push(line);
        if (last.length > keep) last.shift();
      }
    });
  }
  return last;
}
