// Command-line client of the REST API (`npm run request -- <command>`):
//   create --environment E --upn U --display-name N [--usage-location CC] [--license-sku SKU]
//          [--role R]... [--business-unit B] [--no-wait]
//   status <id> [--watch]     list [--environment E] [--status S] [--page-size N] [--all]
//   cancel <id> [--wait]
// It gets a token by client credentials (the sandbox's operator client by default), calls the
// API and, for create (and status --watch, cancel --wait), shows the steps live until the request
// ends. Exit codes: 0 succeeded / done, 1 request failed or cancelled, 2 usage, 3 API or network error.
//
// Environment overrides: NIU_API_URL (default: the API's configured public URL), NIU_TOKEN (use
// this bearer token as is), NIU_TOKEN_URL, NIU_CLIENT_ID, NIU_CLIENT_SECRET, NIU_SCOPE,
// NIU_POLL_MS, NIU_CA_FILE (extra CA for HTTPS; default: the sandbox's CA when present).
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import type { StatusDocument, StepState } from '../workflows/types';

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** One HTTP(S) request with an optional extra CA (fetch cannot take one without extra packages). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer; timeoutMs?: number },
): Promise<HttpResult> {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ...(options.ca && target.protocol === 'https:'
          ? { ca: [...tlsRootCertificates(), options.ca.toString()] }
          : {}),
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          if (/json/.test(res.headers['content-type'] ?? '') && text) {
            try {
              body = JSON.parse(text);
            } catch {
              // leave as text
            }
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.origin} in time`)));
    req.on('error', reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}

function tlsRootCertificates(): string[] {
  return [...require('node:tls').rootCertificates];
}

interface Context {
  apiUrl: string;
  ca?: Buffer;
  pollMs: number;
  token: () => Promise<string>;
  out: (line: string) => void;
}

function context(): Context {
  const config = loadConfig(process.env);
  const env = process.env;
  const caFile = env.NIU_CA_FILE ?? path.join(config.dataDir, 'sandbox', 'ca.pem');
  const ca = existsSync(caFile) ? readFileSync(caFile) : undefined;
  const tokenUrl =
    env.NIU_TOKEN_URL ?? `${config.microsoft.authorityHost}/${config.microsoft.tenantId}/oauth2/v2.0/token`;
  let cached: Promise<string> | null = null;
  const token = () => {
    if (env.NIU_TOKEN) return Promise.resolve(env.NIU_TOKEN);
    cached ??= (async () => {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: env.NIU_CLIENT_ID ?? 'operator-client',
        client_secret: env.NIU_CLIENT_SECRET ?? 'operator-secret',
        scope: env.NIU_SCOPE ?? `${config.api.audience}/.default`,
      }).toString();
      let res: HttpResult;
      try {
        res = await request(tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
          ca,
        });
      } catch (err) {
        throw new CliError(`cannot reach the token endpoint ${tokenUrl}: ${(err as Error).message}`, 3);
      }
      const doc = res.body as { access_token?: string; error?: string; error_description?: string };
      if (res.status !== 200 || !doc.access_token) {
        throw new CliError(
          `token request failed (${res.status}): ${doc.error ?? ''} ${doc.error_description ?? ''}`,
          3,
        );
      }
      return doc.access_token;
    })();
    return cached;
  };
  return {
    apiUrl: (env.NIU_API_URL ?? config.api.publicUrl).replace(/\/+$/, ''),
    ca,
    pollMs: Number(env.NIU_POLL_MS ?? 1000),
    token,
    out: (line) => process.stdout.write(`${line}\n`),
  };
}

async function api(ctx: Context, method: string, pathOrUrl: string, body?: unknown): Promise<HttpResult> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : ctx.apiUrl + pathOrUrl;
  const headers: Record<string, string> = { authorization: `Bearer ${await ctx.token()}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await request(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      ca: ctx.ca,
    });
  } catch (err) {
    throw new CliError(`cannot reach the API at ${ctx.apiUrl}: ${(err as Error).message}`, 3);
  }
}

/** Turns a problem+json answer into a readable error. */
function problemError(res: HttpResult, what: string): CliError {
  const p = res.body as { title?: string; detail?: string; errors?: { pointer: string; detail: string }[] };
  const lines = [`${what} failed: ${res.status} ${p?.title ?? ''}${p?.detail ? ` - ${p.detail}` : ''}`];
  for (const e of p?.errors ?? []) lines.push(`  ${e.pointer}: ${e.detail}`);
  return new CliError(lines.join('\n'), 3);
}

const idPath = (id: string) => `/v1/non-interactive-users/${encodeURIComponent(id)}`;
const time = () => new Date().toISOString().slice(11, 19);

function stepLine(step: StepState): string {
  const attempts = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
  const detail = step.detail ? ` - ${step.detail}` : '';
  const error = step.error ? ` - ${step.error.type}: ${step.error.message}` : '';
  return `[${time()}] ${step.name.padEnd(22)} ${step.status}${attempts}${detail}${error}`;
}

/** Polls the status document and prints every change of a step, until the request ends. */
async function follow(ctx: Context, selfUrl: string): Promise<number> {
  const seen = new Map<string, string>();
  for (;;) {
    const res = await api(ctx, 'GET', selfUrl);
    if (res.status !== 200) throw problemError(res, 'status');
    const doc = res.body as StatusDocument;
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
        if (doc.result) {
          ctx.out(`  entraObjectId ${doc.result.entraObjectId}`);
          ctx.out(`  systemUserId  ${doc.result.systemUserId}`);
          ctx.out(`  accessMode    ${doc.result.accessMode}`);
        }
        return 0;
      }
      ctx.out(`[${time()}] ${doc.status}${doc.error ? `: ${doc.error.type} - ${doc.error.message}` : ''}`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, ctx.pollMs));
  }
}

const USAGE = `usage: npm run request -- <command> [options]
  create --environment E --upn U --display-name N [--usage-location CC] [--license-sku SKU]
         [--role R]... [--business-unit B] [--no-wait]
  status <id> [--watch]
  list [--environment E] [--status running|succeeded|failed|cancelled] [--page-size N] [--all]
  cancel <id> [--wait]`;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        environment: { type: 'string' },
        upn: { type: 'string' },
        'display-name': { type: 'string' },
        'usage-location': { type: 'string' },
        'license-sku': { type: 'string' },
        role: { type: 'string', multiple: true },
        'business-unit': { type: 'string' },
        'no-wait': { type: 'boolean' },
        watch: { type: 'boolean' },
        wait: { type: 'boolean' },
        status: { type: 'string' },
        'page-size': { type: 'string' },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${USAGE}`, 2);
  }
  const { values: v, positionals } = parsed;
  const ctx = context();

  switch (command) {
    case 'create': {
      if (!v.environment || !v.upn || !v['display-name']) {
        throw new CliError(`create needs --environment, --upn and --display-name\n${USAGE}`, 2);
      }
      const body: Record<string, unknown> = {
        environment: v.environment,
        userPrincipalName: v.upn,
        displayName: v['display-name'],
      };
      if (v['usage-location']) body.usageLocation = v['usage-location'];
      if (v['license-sku']) body.licenseSku = v['license-sku'];
      if (v.role) body.securityRoles = v.role;
      if (v['business-unit']) body.businessUnit = v['business-unit'];
      const res = await api(ctx, 'POST', '/v1/non-interactive-users', body);
      if (res.status !== 202 && res.status !== 200) throw problemError(res, 'create');
      const accepted = res.body as { id: string; links: { self: string } };
      ctx.out(
        res.status === 202
          ? `accepted: ${accepted.id}`
          : `already running: ${accepted.id} (following the existing request)`,
      );
      ctx.out(`  ${accepted.links.self}`);
      if (v['no-wait']) return 0;
      return follow(ctx, String(res.headers.location ?? accepted.links.self));
    }
    case 'status': {
      const id = positionals[0];
      if (!id) throw new CliError(`status needs an id\n${USAGE}`, 2);
      if (v.watch) return follow(ctx, idPath(id));
      const res = await api(ctx, 'GET', idPath(id));
      if (res.status !== 200) throw problemError(res, 'status');
      const doc = res.body as StatusDocument;
      if (v.json) {
        ctx.out(JSON.stringify(doc, null, 2));
      } else {
        ctx.out(`${doc.id}: ${doc.status}${doc.currentStep ? ` (at ${doc.currentStep})` : ''}`);
        for (const step of doc.steps) ctx.out(stepLine(step));
        if (doc.error) ctx.out(`error: ${doc.error.type} - ${doc.error.message}`);
      }
      return doc.status === 'failed' || doc.status === 'cancelled' ? 1 : 0;
    }
    case 'list': {
      const query = new URLSearchParams();
      if (v.environment) query.set('environment', v.environment);
      if (v.status) query.set('status', v.status);
      if (v['page-size']) query.set('pageSize', v['page-size']);
      let count = 0;
      for (;;) {
        const res = await api(ctx, 'GET', `/v1/non-interactive-users?${query}`);
        if (res.status !== 200) throw problemError(res, 'list');
        const page = res.body as {
          items: { id: string; status: string; currentStep: string | null; createdAt: string }[];
          nextPageToken: string | null;
        };
        for (const item of page.items) {
          count++;
          ctx.out(`${item.createdAt}  ${item.status.padEnd(9)}  ${(item.currentStep ?? '-').padEnd(22)}  ${item.id}`);
        }
        if (!page.nextPageToken || !v.all) {
          if (page.nextPageToken) ctx.out(`(more: --all, or pageToken=${page.nextPageToken})`);
          break;
        }
        query.set('pageToken', page.nextPageToken);
      }
      if (count === 0) ctx.out('(no requests)');
      return 0;
    }
    case 'cancel': {
      const id = positionals[0];
      if (!id) throw new CliError(`cancel needs an id\n${USAGE}`, 2);
      const res = await api(ctx, 'POST', `${idPath(id)}/cancel`);
      if (res.status !== 202) throw problemError(res, 'cancel');
      ctx.out(`cancellation requested: ${id}`);
      if (!v.wait) return 0;
      const code = await follow(ctx, idPath(id));
      return code === 1 ? 0 : code; // ending cancelled is what was asked for
    }
    default:
      throw new CliError(USAGE, 2);
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(err instanceof CliError ? err.exitCode : 3);
    },
  );
}

export { run };
