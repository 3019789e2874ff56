// `npm run doctor [-- --environment <name>] [--json]`: the preflight checks
// (activities/preflight.ts, the same as GET /v1/environments/{environment}/readiness) run here,
// in-process, with the worker's configuration and identity: every configured environment, or one.
// Prints a table (✓/✗, the check, what was found, and for each failure the fix) or, with --json,
// `{ready, checks: [{name, environment, ok, detail, fix}]}`. Never prints a secret or a token.
// Exit codes: 0 every check passed, 1 one failed, 2 usage (an unknown option or environment),
// 78 a configuration the worker would refuse (config/index.ts).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { runPreflight } from '../activities/preflight';
import { loadConfigOrExit, type Config } from '../config';
import { besideDevStack } from '../config/dev-stack';
import type { PreflightCheck, PreflightReport } from '../workflows/types';

const USAGE = 'usage: npm run doctor [-- --environment <name>] [--json]';

export interface DoctorOptions {
  /** Default: the worker's configuration from the environment (exits 78 if the worker would refuse it). */
  config?: Config;
  write?: (text: string) => void;
  /** Columns to wrap the table at (default: the terminal's, or 110). */
  width?: number;
}

/** Runs the doctor with command-line arguments; resolves to its exit code. */
export async function doctor(argv: string[], options: DoctorOptions = {}): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  let values: { environment?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { environment: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    write(`${USAGE}\n`);
    return 0;
  }
  const config = options.config ?? loadConfigOrExit('worker');
  if (values.environment && !config.environments.some((e) => e.name === values.environment)) {
    const known = config.environments.map((e) => e.name).join(', ') || 'none';
    write(`unknown environment "${values.environment}" (configured: ${known})\n${USAGE}\n`);
    return 2;
  }
  const report = await runPreflight(config, { environment: values.environment });
  write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(config, report, options.width));
  return report.ready ? 0 : 1;
}

/** The report as a table: tenant-wide checks, then each environment's; under each failure its fix. */
export function renderReport(config: Config, report: PreflightReport, width = process.stdout.columns || 110): string {
  const m = config.microsoft;
  const lines = [
    `noninteractive-users doctor: cloud ${m.cloud}, tenant ${m.tenantId ?? '(managed identity)'}, ` +
      `credential ${m.credential?.kind ?? 'none'}, Key Vault ${m.keyVaultUrl ?? 'not configured'}`,
  ];
  const nameWidth = Math.max(...report.checks.map((c) => c.name.length));
  const groups = new Map<string | null, PreflightCheck[]>();
  for (const check of report.checks) groups.set(check.environment, [...(groups.get(check.environment) ?? []), check]);
  for (const [environment, checks] of groups) {
    lines.push('', environment === null ? 'tenant and identity' : `environment ${environment}`);
    for (const check of checks) {
      const lead = `  ${check.ok ? '✓' : '✗'} ${check.name.padEnd(nameWidth)}  `;
      lines.push(...wrap(check.detail, lead, width));
      if (check.fix) lines.push(...wrap(check.fix, `${' '.repeat(lead.length - 5)}fix: `, width));
    }
  }
  const failed = report.checks.filter((c) => !c.ok);
  lines.push(
    '',
    failed.length === 0
      ? `all ${report.checks.length} checks passed`
      : `${failed.length} of ${report.checks.length} checks failed: ` +
          failed.map((c) => (c.environment ? `${c.name} (${c.environment})` : c.name)).join(', '),
  );
  return `${lines.join('\n')}\n`;
}

/** `text` after `lead`, wrapped at `width` with the continuation lines indented under the text. */
function wrap(text: string, lead: string, width: number): string[] {
  const room = Math.max(40, width - lead.length);
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > room) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  out.push(line);
  return out.map((l, i) => (i === 0 ? lead : ' '.repeat(lead.length)) + l);
}

/**
 * On the sandbox, its CA (made by `npm start` in DATA_DIR/sandbox) is trusted as the dev stack's
 * processes trust it through NODE_EXTRA_CA_CERTS, so `NIU_SANDBOX=true npm run doctor` needs nothing else.
 */
function trustSandboxCa(config: Config): void {
  const caFile = path.join(config.dataDir, 'sandbox', 'ca.pem');
  if (!config.sandbox.enabled || !existsSync(caFile)) return;
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), readFileSync(caFile, 'utf8')]);
}

if (require.main === module) {
  // Beside `npm start`, its sandbox settings (config/dev-stack.ts); elsewhere the worker's own.
  const { env, devStackPid } = besideDevStack();
  if (devStackPid) process.stderr.write(`checking the dev stack of npm start (pid ${devStackPid}): the sandbox\n`);
  const config = loadConfigOrExit('worker', env);
  trustSandboxCa(config);
  doctor(process.argv.slice(2), { config }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`doctor failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
