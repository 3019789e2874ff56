// The command-line client's side of HTTP: where the API is and how to trust it (from the
// configuration and NIU_* overrides), a token by client credentials, one request, and problem+json
// answers turned into errors that carry the exit code.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { loadConfig } from '../config';
import { besideDevStack } from '../config/dev-stack';

/** An error the client reports on stderr, exiting with its code (2 usage, 3 API or network). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface HttpResult {
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
        ...(options.ca && target.protocol === 'https:' ? { ca: [...rootCertificates, options.ca.toString()] } : {}),
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

export interface Context {
  apiUrl: string;
  ca?: Buffer;
  pollMs: number;
  token: () => Promise<string>;
  out: (line: string) => void;
}

/** What every command needs, from the configuration and the NIU_* overrides (see cli/main.ts). */
export function context(): Context {
  // Beside `npm start`, its sandbox settings (config/dev-stack.ts).
  const { env } = besideDevStack();
  const config = loadConfig(env, 'cli');
  const caFile = env.NIU_CA_FILE ?? path.join(config.dataDir, 'sandbox', 'ca.pem');
  const ca = existsSync(caFile) ? readFileSync(caFile) : undefined;
  // The sandbox's operator client by default; elsewhere nothing is assumed (config/required.ts).
  const setting = (name: string, derived: string | null, sandbox: string): string => {
    const value = env[name] || derived || (config.sandbox.enabled ? sandbox : undefined);
    if (!value) throw new CliError(`${name} is not set (or NIU_TOKEN; NIU_SANDBOX=true for the sandbox's)`, 2);
    return value;
  };
  const { authorityHost, tenantId } = config.microsoft;
  let cached: Promise<string> | null = null;
  const token = () => {
    if (env.NIU_TOKEN) return Promise.resolve(env.NIU_TOKEN);
    const tokenUrl = setting('NIU_TOKEN_URL', tenantId && `${authorityHost}/${tenantId}/oauth2/v2.0/token`, '');
    cached ??= (async () => {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: setting('NIU_CLIENT_ID', null, 'operator-client'),
        client_secret: setting('NIU_CLIENT_SECRET', null, 'operator-secret'),
        scope: setting('NIU_SCOPE', config.api.audience && `${config.api.audience}/.default`, ''),
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

/** One call to the API with the token (a URL from a Location header works too); no answer: exit code 3. */
export async function api(ctx: Context, method: string, pathOrUrl: string, body?: unknown): Promise<HttpResult> {
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
export function problemError(res: HttpResult, what: string): CliError {
  const p = res.body as { title?: string; detail?: string; errors?: { pointer: string; detail: string }[] };
  const lines = [`${what} failed: ${res.status} ${p?.title ?? ''}${p?.detail ? ` - ${p.detail}` : ''}`];
  for (const e of p?.errors ?? []) lines.push(`  ${e.pointer}: ${e.detail}`);
  return new CliError(lines.join('\n'), 3);
}

export const idPath = (id: string) => `/v1/non-interactive-users/${encodeURIComponent(id)}`;
