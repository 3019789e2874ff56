// The provisioner's client certificate: an RSA key and a self-signed certificate (as an app
// registration's certificate credential usually is), created once beside the sandbox's CA and
// reused while valid. The sandbox registers the certificate on the provisioner; the file holds
// the private key and the certificate in one PEM, the form @azure/identity's
// ClientCertificateCredential reads (AZURE_CLIENT_CERTIFICATE_PATH), so tests and the dev stack
// can sign client assertions with it.
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { ensureInDir, pkcs8Pem, useNodeCrypto, writeAtomic } from './ca';

export interface ClientCertificate {
  /** The PEM file with the private key and the certificate. */
  file: string;
  /** The certificate alone (PEM), as registered on the client. */
  certificate: string;
}

// RSA, since MSAL signs with PS256 (or RS256 with a SHA-1 thumbprint).
const ALG = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const DAY = 24 * 60 * 60 * 1000;
const MIN_REMAINING_MS = 7 * DAY;
const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The certificate in `file` when the file also holds its private key and it is valid for a while yet. */
async function readValid(file: string): Promise<ClientCertificate | null> {
  try {
    const pem = await readFile(file, 'utf8');
    const certificate = CERTIFICATE.exec(pem)?.[0];
    if (!certificate) return null;
    const cert = new X509Certificate(certificate);
    if (new Date(cert.validTo).getTime() < Date.now() + MIN_REMAINING_MS) return null;
    if (!cert.checkPrivateKey(createPrivateKey(pem))) return null;
    return { file, certificate: `${certificate}\n` };
  } catch {
    return null;
  }
}

async function generate(file: string, clientId: string): Promise<void> {
  useNodeCrypto();
  const now = new Date(Date.now() - 60_000);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${clientId}, O=Sandbox`,
    keys,
    signingAlgorithm: ALG,
    notBefore: now,
    notAfter: new Date(now.getTime() + 730 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const key = pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  await writeAtomic(file, `${key}\n${cert.toString('pem')}\n`, 0o600);
}

/** Creates (once) `<dir>/<clientId>.pem` with a key and its certificate, and returns them. */
export function ensureClientCertificate(dir: string, clientId: string): Promise<ClientCertificate> {
  const file = path.join(dir, `${clientId}.pem`);
  return ensureInDir(
    dir,
    () => readValid(file),
    () => generate(file, clientId),
    `the key and certificate ${file}`,
  );
}
