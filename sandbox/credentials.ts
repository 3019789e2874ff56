// The credentials registered on the clients besides their secrets: certificates (whose keys sign
// client assertions) and federated identity credentials (which external tokens stand for the
// client), and which client the managed identity endpoint speaks for. The seed registers the
// provisioner's certificate (sandbox/client-cert.ts) and a federated credential at the sandbox's
// own federation issuer; `PATCH /_sandbox/config {"clients": {...}}` replaces them per client,
// `reset` brings the seed back.
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { CLIENTS, PROVISIONER_FEDERATED_SUBJECT, TOKEN_EXCHANGE_AUDIENCE, findClient } from './seed';
import type { Store } from './store';
import type { ClientCredentials, FederatedCredential } from './types';

/** A registered certificate, parsed. */
export interface RegisteredCertificate {
  /** SHA-1 of the DER encoding, upper-case hex (what `x5t` carries, base64url-encoded). */
  thumbprint: string;
  /** SHA-256 of the DER encoding, upper-case hex (`x5t#S256`). */
  thumbprintSha256: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
}

/** A bad value in a PATCH of the credentials; the control API answers 400 with its message. */
export class CredentialConfigError extends Error {}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** Entra's limit of federated identity credentials per application. */
const MAX_FEDERATED = 20;

export function parseCertificate(pem: string): RegisteredCertificate {
  const cert = new X509Certificate(pem);
  const hash = (alg: string) => createHash(alg).update(cert.raw).digest('hex').toUpperCase();
  return {
    thumbprint: hash('sha1'),
    thumbprintSha256: hash('sha256'),
    subject: cert.subject.replace(/\n/g, ', '),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    publicKey: cert.publicKey,
  };
}

/** The seeded registrations: the provisioner's certificate and its federated credential at `issuer`. */
export function seededCredentials(certificate: string, issuer: string): Record<string, ClientCredentials> {
  const provisioner = CLIENTS[0]!.clientId;
  return {
    [provisioner]: {
      certificates: [certificate],
      federatedCredentials: [
        {
          name: 'sandbox-worker',
          issuer,
          subject: PROVISIONER_FEDERATED_SUBJECT,
          audiences: [TOKEN_EXCHANGE_AUDIENCE],
        },
      ],
    },
  };
}

export class ClientCredentialRegistry {
  private readonly parsed = new Map<string, RegisteredCertificate>();

  constructor(
    private readonly store: Store,
    private readonly seed: Record<string, ClientCredentials>,
  ) {}

  /** A client's credentials: as set through the control API, else as seeded. */
  get(clientId: string): ClientCredentials {
    return (
      this.store.data.credentials?.[clientId] ?? this.seed[clientId] ?? { certificates: [], federatedCredentials: [] }
    );
  }

  /** Replaces the given kinds of a client's credentials (the others stay). */
  set(clientId: string, change: Partial<ClientCredentials>): void {
    const credentials = (this.store.data.credentials ??= {});
    credentials[clientId] = { ...this.get(clientId), ...change };
    this.store.changed();
  }

  certificates(clientId: string): RegisteredCertificate[] {
    return this.get(clientId).certificates.map((pem) => {
      let cert = this.parsed.get(pem);
      if (!cert) this.parsed.set(pem, (cert = parseCertificate(pem)));
      return cert;
    });
  }

  /** The client the managed identity endpoint issues tokens as (default: the provisioner). */
  managedIdentityClientId(): string {
    return this.store.data.managedIdentityClientId ?? CLIENTS[0]!.clientId;
  }

  /** For GET /_sandbox/config: each client's certificates (thumbprints, not PEM) and federated credentials. */
  view(): Record<string, unknown> {
    return Object.fromEntries(
      CLIENTS.map((c) => [
        c.clientId,
        {
          certificates: this.certificates(c.clientId).map(({ publicKey: _key, ...info }) => info),
          federatedCredentials: this.get(c.clientId).federatedCredentials,
        },
      ]),
    );
  }
}

// ---- PATCH /_sandbox/config ----

function fail(message: string): never {
  throw new CredentialConfigError(message);
}

/** `certificates`: PEM public certificates, one per entry. */
export function parseCertificateList(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) fail(`${where} must be a list of PEM certificates`);
  return value.map((pem, i) => {
    const at = `${where}[${i}]`;
    if (typeof pem !== 'string') fail(`${at} must be a PEM certificate (text)`);
    if (/PRIVATE KEY/.test(pem)) fail(`${at} holds a private key: register the public certificate only`);
    const blocks = pem.match(CERTIFICATE) ?? [];
    if (blocks.length !== 1) fail(`${at} must hold exactly one PEM certificate (found ${blocks.length})`);
    try {
      parseCertificate(blocks[0]!);
    } catch (err) {
      fail(`${at} is not a valid certificate: ${(err as Error).message}`);
    }
    return `${blocks[0]!}\n`;
  });
}

function text(value: unknown, at: string, max = 600): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    fail(`${at} must be a non-empty string of at most ${max} characters`);
  }
  return value;
}

/** `federatedCredentials`: `{name?, issuer, subject, audiences}` each, as Graph's federatedIdentityCredential. */
export function parseFederatedCredentials(value: unknown, where: string): FederatedCredential[] {
  if (!Array.isArray(value)) fail(`${where} must be a list of {issuer, subject, audiences}`);
  if (value.length > MAX_FEDERATED) fail(`${where}: at most ${MAX_FEDERATED} federated credentials per application`);
  const list = value.map((entry, i): FederatedCredential => {
    const at = `${where}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`${at} must be an object`);
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!['name', 'issuer', 'subject', 'audiences'].includes(key)) fail(`${at}.${key} is not a field`);
    }
    const issuer = text(e.issuer, `${at}.issuer`);
    if (!URL.canParse(issuer) || new URL(issuer).protocol !== 'https:') fail(`${at}.issuer must be an https URL`);
    const audiences = e.audiences ?? [TOKEN_EXCHANGE_AUDIENCE];
    if (!Array.isArray(audiences) || audiences.length !== 1) fail(`${at}.audiences must hold exactly one audience`);
    return {
      name: e.name === undefined ? `credential-${i + 1}` : text(e.name, `${at}.name`, 120),
      issuer,
      subject: text(e.subject, `${at}.subject`),
      audiences: [text(audiences[0], `${at}.audiences[0]`)],
    };
  });
  const seen = new Set<string>();
  for (const [i, c] of list.entries()) {
    const key = JSON.stringify([c.issuer, c.subject]);
    if (seen.has(key)) fail(`${where}[${i}]: another federated credential has the same issuer and subject`);
    if (seen.has(c.name)) fail(`${where}[${i}]: another federated credential is named '${c.name}'`);
    seen.add(key).add(c.name);
  }
  return list;
}

type Apply = (registry: ClientCredentialRegistry) => void;

/**
 * The fields of one client under `clients` that this module owns, each checked into a change
 * applied once the whole PATCH is valid. Other per-client settings slot in beside them.
 */
const CLIENT_FIELDS: Record<string, (value: unknown, where: string, clientId: string) => Apply> = {
  certificates: (value, where, clientId) => {
    const certificates = parseCertificateList(value, where);
    return (registry) => registry.set(clientId, { certificates });
  },
  federatedCredentials: (value, where, clientId) => {
    const federatedCredentials = parseFederatedCredentials(value, where);
    return (registry) => registry.set(clientId, { federatedCredentials });
  },
};

/** Checks `{"<client id>": {certificates?, federatedCredentials?}}`; returns the changes to apply. */
export function parseClientsPatch(value: unknown): Apply[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail("'clients' must be an object keyed by client id");
  }
  const changes: Apply[] = [];
  for (const [clientId, fields] of Object.entries(value)) {
    if (!findClient(clientId)) fail(`clients: unknown client '${clientId}'`);
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      fail(`clients.${clientId} must be an object`);
    }
    for (const [key, field] of Object.entries(fields as Record<string, unknown>)) {
      const parse = CLIENT_FIELDS[key];
      if (!parse) fail(`clients.${clientId}.${key} is not a setting`);
      changes.push(parse(field, `clients.${clientId}.${key}`, clientId));
    }
  }
  return changes;
}

/** Checks `{"clientId": "<client id>"}` for `managedIdentity`; returns the change to apply. */
export function parseManagedIdentityPatch(value: unknown, store: Store): Apply {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('\'managedIdentity\' must be an object: {"clientId": ...}');
  }
  const { clientId, ...rest } = value as Record<string, unknown>;
  for (const key of Object.keys(rest)) fail(`managedIdentity.${key} is not a setting`);
  if (typeof clientId !== 'string' || !findClient(clientId)) {
    fail(`managedIdentity.clientId must be a seeded client's id`);
  }
  return () => {
    store.data.managedIdentityClientId = clientId;
    store.changed();
  };
}
