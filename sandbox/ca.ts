// The sandbox's own certificate authority and its HTTPS server certificate. Created once in
// `dir` and reused while valid; every process that talks to the sandbox trusts `ca.pem`
// through NODE_EXTRA_CA_CERTS, so the real client libraries run with TLS verification on.
//
// Several processes (the test runner, `npm start`, the sandbox itself) may call this at the
// same moment: a lock directory (mkdir is atomic) serialises generation, and every file is
// written to a temporary name and renamed, so a reader never sees half a PEM file.
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface SandboxCertificates {
  /** Path of the CA certificate, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** CA certificate (PEM). */
  ca: string;
  /** Server certificate for 127.0.0.1, ::1, localhost and `sandbox` (PEM). */
  cert: string;
  /** Server private key (PKCS#8 PEM). */
  key: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 60 * 60 * 1000;
/** Regenerate when less than this is left, so a long test run never crosses the expiry. */
const MIN_REMAINING_MS = 7 * DAY;
const LOCK_STALE_MS = 60_000;
/** Host names of the server certificate: loopback, and `sandbox`, the docker-compose service name. */
const SERVER_HOSTS = ['localhost', 'sandbox'];

function files(dir: string) {
  return {
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server-key.pem'),
  };
}

/** Reads the four files and returns them only if they form a valid, current chain. */
async function readValid(dir: string): Promise<SandboxCertificates | null> {
  const f = files(dir);
  try {
    const [ca, caKey, cert, key] = await Promise.all([
      readFile(f.ca, 'utf8'),
      readFile(f.caKey, 'utf8'),
      readFile(f.cert, 'utf8'),
      readFile(f.key, 'utf8'),
    ]);
    const caCert = new X509Certificate(ca);
    const serverCert = new X509Certificate(cert);
    const soon = Date.now() + MIN_REMAINING_MS;
    if (new Date(caCert.validTo).getTime() < soon || new Date(serverCert.validTo).getTime() < soon) return null;
    if (!serverCert.verify(caCert.publicKey)) return null;
    if (!serverCert.checkPrivateKey(createPrivateKey(key))) return null;
    if (!caCert.checkPrivateKey(createPrivateKey(caKey))) return null;
    if (!serverCert.checkIP('127.0.0.1') || !SERVER_HOSTS.every((h) => serverCert.checkHost(h))) return null;
    return { caFile: f.ca, ca, cert, key };
  } catch {
    return null;
  }
}

export async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, file);
}

export function pkcs8Pem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Points @peculiar/x509 at Node's WebCrypto (once per process is enough; repeating is harmless). */
export function useNodeCrypto(): void {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
}

async function generate(dir: string): Promise<void> {
  const crypto = webcrypto;
  useNodeCrypto();
  const now = new Date(Date.now() - 60_000); // tolerate small clock skew between processes
  const caKeys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=noninteractive-users sandbox CA, O=Sandbox',
    keys: caKeys,
    signingAlgorithm: ALG,
    notBefore: now,
    notAfter: new Date(now.getTime() + 3650 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const serverKeys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serverCert = await x509.X509CertificateGenerator.create({
    subject: 'CN=localhost, O=Sandbox',
    issuer: caCert.subject,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    notBefore: now,
    // Browsers and some TLS stacks reject leaf certificates valid for more than ~13 months.
    notAfter: new Date(now.getTime() + 397 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...SERVER_HOSTS.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const f = files(dir);
  // Keys first, CA certificate last: readValid checks that all four belong together anyway.
  await writeAtomic(f.caKey, pkcs8Pem(await crypto.subtle.exportKey('pkcs8', caKeys.privateKey)), 0o600);
  await writeAtomic(f.key, pkcs8Pem(await crypto.subtle.exportKey('pkcs8', serverKeys.privateKey)), 0o600);
  await writeAtomic(f.cert, serverCert.toString('pem') + '\n', 0o644);
  await writeAtomic(f.ca, caCert.toString('pem') + '\n', 0o644);
}

/** Runs `fn` holding the certificate directory's lock (one generator at a time, across processes). */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, '.ca.lock');
  const deadline = Date.now() + 2 * LOCK_STALE_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A process that died while holding the lock leaves it behind: take it over when old.
      const info = await stat(lock).catch(() => null);
      if (info && Date.now() - info.mtimeMs > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`sandbox CA: timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * What `read` finds valid in `dir`, else what `generate` makes there (under the directory's lock,
 * once across processes); `what` names it in the error when even that does not read back valid.
 */
export async function ensureInDir<T>(
  dir: string,
  read: () => Promise<T | null>,
  generate: () => Promise<void>,
  what: string,
): Promise<T> {
  const existing = await read();
  if (existing) return existing;
  await mkdir(dir, { recursive: true });
  return withLock(dir, async () => {
    // Another process may have generated them while this one waited for the lock.
    const again = await read();
    if (again) return again;
    await generate();
    const made = await read();
    if (!made) throw new Error(`sandbox: ${what} generated in ${dir} do not verify`);
    return made;
  });
}

/** Creates (once) the sandbox CA and server certificate in `dir` and returns them. */
export function ensureCertificates(dir: string): Promise<SandboxCertificates> {
  return ensureInDir(
    dir,
    () => readValid(dir),
    () => generate(dir),
    'the CA and server certificate',
  );
}
