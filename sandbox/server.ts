// The sandbox: one HTTPS server emulating Entra ID, Microsoft Graph, Dataverse, the Power
// Platform admin API and Key Vault secrets (sandbox/README.md), plus its control API.
// Every request goes through the same pipeline: lazy Entra->Dataverse sync, fault injection,
// the service handler, the request log.
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureCertificates } from './ca';
import { ensureClientCertificate } from './client-cert';
import { handleControl } from './control';
import { handleDataverse } from './dataverse';
import { ClientCredentialRegistry, seededCredentials } from './credentials';
import { handleEntra } from './entra';
import { FaultInjector, RequestLog, faultReply } from './faults';
import { FederationIssuer } from './federation';
import { handleGraph } from './graph';
import { type Ctx, HttpError, type Reply, json, parseBody, readBody } from './http';
import { handleKeyVault } from './keyvault';
import { handlePowerPlatform } from './powerplatform';
import { API_CLIENT_ID, CLIENTS, MANAGED_IDENTITY_HEADER, TENANT_ID, TENANT_NAME } from './seed';
import { Store } from './store';
import { TokenService } from './tokens';
import type { ServiceName } from './types';

export interface SandboxOptions {
  /** 0 or omitted: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Where the CA and server certificate live (created if missing). */
  certDir: string;
  /** Persist the state (and the token signing key, next to it) to this file. */
  stateFile?: string;
  /** Print one line per request. */
  logger?: boolean;
  /** Base URL used in issuers, links and ids (default https://<host>:<port>). */
  publicUrl?: string;
}

export interface Sandbox {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  caFile: string;
  /** The tenant's GUID and its verified domain name (both usable in token URLs). */
  tenantId: string;
  tenantName: string;
  /** The seeded app registrations. */
  clients: { clientId: string; secret: string; roles: Record<string, string[]> }[];
  /** Client id of the API's own app registration (the `aud` of its v2 tokens). */
  apiClientId: string;
  /** The provisioner's private key and certificate (one PEM file, for ClientCertificateCredential). */
  clientCertificateFile: string;
  /** Issuer of the federated tokens the sandbox mints (POST /_sandbox/federation/token). */
  federationIssuer: string;
  /** The App Service managed identity endpoint: IDENTITY_ENDPOINT and IDENTITY_HEADER. */
  managedIdentity: { endpoint: string; header: string };
  close(): Promise<void>;
}

export { TENANT_ID, TENANT_NAME };

function classify(pathname: string): ServiceName | 'unknown' {
  if (pathname === '/_sandbox' || pathname.startsWith('/_sandbox/')) return 'control';
  if (pathname.startsWith('/v1.0/')) return 'graph';
  if (pathname.startsWith('/dataverse/')) return 'dataverse';
  if (pathname.startsWith('/providers/')) return 'powerplatform';
  if (pathname === '/secrets' || pathname.startsWith('/secrets/')) return 'keyvault';
  if (pathname.startsWith('/deletedsecrets/')) return 'keyvault';
  if (pathname === '/' || pathname === '') return 'unknown';
  return 'entra';
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: string | undefined;
  if (reply.body !== undefined && reply.body !== '') {
    payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    headers['content-length'] = String(Buffer.byteLength(payload));
  } else {
    headers['content-length'] = '0';
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const certs = await ensureCertificates(options.certDir);
  const clientCert = await ensureClientCertificate(options.certDir, CLIENTS[0]!.clientId);
  const store = await Store.open(options.stateFile);
  const faults = new FaultInjector();
  const log = new RequestLog();
  // Set once listening (the issuer and links need the port).
  let baseUrl = '';
  let port = 0;
  let tokens: TokenService | null = null;
  let federation: FederationIssuer | null = null;
  let credentials: ClientCredentialRegistry | null = null;
  // The issuers need the URL, so the port, so they are made after listening: a request that
  // arrives in between (a caller that waited only for the port) waits for them.
  let issuersReady!: () => void;
  const ready = new Promise<void>((resolve) => (issuersReady = resolve));

  async function dispatch(ctx: Ctx, service: ServiceName | 'unknown'): Promise<Reply> {
    const t = tokens!;
    const issuers = { credentials: credentials!, federation: federation! };
    switch (service) {
      case 'control':
        return handleControl(ctx, { store, faults, log, ...issuers });
      case 'entra':
        return handleEntra(ctx, { store, tokens: t, port, ...issuers });
      case 'graph':
        return handleGraph(ctx, { store, tokens: t });
      case 'dataverse':
        return handleDataverse(ctx, { store, tokens: t, port });
      case 'powerplatform':
        return handlePowerPlatform(ctx, { store, tokens: t });
      case 'keyvault':
        return handleKeyVault(ctx, { store, tokens: t });
      default:
        return json(404, { error: { code: 'NotFound', message: 'The sandbox does not emulate this path.' } });
    }
  }

  // Ends the latency faults' waits when the sandbox closes (they may be minutes long).
  const closing = new AbortController();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await ready;
    const now = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', baseUrl);
    let pathname = url.pathname;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      // keep the raw path
    }
    const contentType = req.headers['content-type'];
    const parsed = parseBody(raw, contentType);
    const ctx: Ctx = {
      req,
      method,
      path: pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody: raw,
      body: parsed.body,
      bodyError: parsed.error,
      now,
      baseUrl,
      auth: null,
    };
    const service = classify(pathname);
    // The log and fault paths show the query decoded (form encoding: `+` is a space).
    let search = url.search;
    try {
      search = decodeURIComponent(search.replace(/\+/g, ' '));
    } catch {
      // keep it encoded
    }
    const target = `${pathname}${search}`;
    store.sync(now);

    const picked = service !== 'control' && service !== 'unknown' ? faults.pick(service, method, target) : null;
    const fault = picked?.fault;
    if (fault?.delayMs) {
      try {
        await sleep(fault.delayMs, undefined, { signal: closing.signal });
      } catch {
        return; // closing: its connection is gone
      }
    }
    let reply: Reply;
    if (fault && fault.status !== undefined && !fault.after) {
      reply = faultReply(service as ServiceName, fault);
    } else {
      try {
        reply = await dispatch(ctx, service);
      } catch (err) {
        if (err instanceof HttpError) {
          reply = err.reply;
        } else {
          process.stderr.write(`sandbox: ${method} ${target} failed: ${(err as Error).stack ?? String(err)}\n`);
          reply = json(500, { error: { code: 'InternalServerError', message: (err as Error).message } });
        }
      }
      if (fault?.after && fault.status !== undefined) reply = faultReply(service as ServiceName, fault);
    }
    send(res, reply);
    // The log records the emulated services' traffic, not the control API's own.
    if (service === 'control') return;
    const form = parsed.body as Record<string, unknown> | undefined;
    const clientId =
      ctx.auth?.appid ?? (service === 'entra' && typeof form?.client_id === 'string' ? form.client_id : null);
    const entry = log.add({
      at: new Date(now).toISOString(),
      service,
      method,
      path: target,
      status: reply.status,
      durationMs: Date.now() - now,
      clientId,
      fault: picked
        ? {
            index: picked.index,
            status: fault!.status ?? null,
            delayMs: fault!.delayMs ?? 0,
            after: fault!.after === true,
          }
        : null,
    });
    if (options.logger) {
      process.stdout.write(
        `${entry.at} ${service} ${method} ${target} -> ${reply.status} (${entry.durationMs} ms${picked ? ', fault' : ''})\n`,
      );
    }
  }

  const server = createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      process.stderr.write(`sandbox: ${(err as Error).stack ?? String(err)}\n`);
      if (!res.headersSent)
        send(res, json(500, { error: { code: 'InternalServerError', message: 'sandbox failure' } }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  baseUrl = (options.publicUrl ?? `https://${hostForUrl(host)}:${port}`).replace(/\/+$/, '');
  const keyFile = (name: string) => (options.stateFile ? path.join(path.dirname(options.stateFile), name) : undefined);
  tokens = await TokenService.create(baseUrl, keyFile('token-signing-key.json'));
  federation = await FederationIssuer.create(baseUrl, keyFile('federation-signing-key.json'));
  credentials = new ClientCredentialRegistry(store, seededCredentials(clientCert.certificate, federation.issuer));
  issuersReady();

  let closed: Promise<void> | null = null;
  return {
    url: baseUrl,
    port,
    caFile: certs.caFile,
    tenantId: TENANT_ID,
    tenantName: TENANT_NAME,
    clients: CLIENTS.map((c) => ({ clientId: c.clientId, secret: c.secret, roles: c.roles })),
    apiClientId: API_CLIENT_ID,
    clientCertificateFile: clientCert.file,
    federationIssuer: federation.issuer,
    managedIdentity: { endpoint: `${baseUrl}/msi/token`, header: MANAGED_IDENTITY_HEADER },
    close() {
      closed ??= (async () => {
        closing.abort();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await store.flush();
      })();
      return closed;
    },
  };
}
