// Printing progress: one line per change of a step, while a request runs, and its outcome.
import type { StatusDocument, StepState } from '../workflows/types';
import { api, problemError, type Context } from './http';

const time = () => new Date().toISOString().slice(11, 19);

export function stepLine(step: StepState<string>): string {
  const attempts = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
  const detail = step.detail ? ` - ${step.detail}` : '';
  const error = step.error ? ` - ${step.error.type}: ${step.error.message}` : '';
  return `[${time()}] ${step.name.padEnd(22)} ${step.status}${attempts}${detail}${error}`;
}

/** Polls the status document and prints every change of a step, until the request ends. */
export async function follow(ctx: Context, selfUrl: string): Promise<number> {
  const seen = new Map<string, string>();
  for (;;) {
    const res = await api(ctx, 'GET', selfUrl);
    if (res.status !== 200) throw problemError(res, 'status');
    const doc = res.body as StatusDocument<string, Record<string, unknown>>;
    for (const step of doc.steps) {
      const key = `${step.status}|${step.attempts}|${step.detail ?? ''}|${step.error?.type ?? ''}`;
      if (seen.get(step.name) !== key) {
        // Pending steps are only worth a line once something happened to them.
        if (!(step.status === 'pending' && !seen.has(step.name))) ctx.out(stepLine(step));
        seen.set(step.name, key);
      }
    }
    if (doc.status !== 'running') {
      if (doc.status === 'succeeded') {
        ctx.out(`[${time()}] succeeded: ${doc.userPrincipalName} in ${doc.environment}`);
        // Provisioning's, deprovisioning's or a rotation's result: whatever it has, one line each.
        for (const [key, value] of Object.entries(doc.result ?? {})) {
          if (value === null || key === 'steps') continue;
          ctx.out(`  ${key.padEnd(13)} ${Array.isArray(value) ? value.join(', ') || '-' : String(value)}`);
        }
        return 0;
      }
      ctx.out(`[${time()}] ${doc.status}${doc.error ? `: ${doc.error.type} - ${doc.error.message}` : ''}`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, ctx.pollMs));
  }
}
