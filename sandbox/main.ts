// `npm run sandbox`: runs the emulated Microsoft cloud alone on SANDBOX_PORT (default 4443).
// State is persisted to DATA_DIR/sandbox/state.json (with the token signing key next to it),
// so a restart keeps users, licenses and systemusers consistent with Temporal's own store.
// Flags: `--memory` keeps the state in memory only; `--fresh` starts from the seed (and
// overwrites the saved state); `--quiet` does not log requests.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { loadConfigOrExit } from '../config';
import { API_APP_NAME, API_AUDIENCE } from './seed';
import { startSandbox } from './server';

async function main(): Promise<void> {
  const config = loadConfigOrExit('sandbox');
  const args = new Set(process.argv.slice(2));
  const certDir = path.join(config.dataDir, 'sandbox');
  const stateFile = args.has('--memory') ? undefined : path.join(certDir, 'state.json');
  if (stateFile && args.has('--fresh')) await rm(stateFile, { force: true });
  const sandbox = await startSandbox({
    port: config.sandbox.port,
    // SANDBOX_HOST: 127.0.0.1 by default, 0.0.0.0 in a container (docker-compose.yml).
    host: config.sandbox.host,
    publicUrl: config.sandbox.url,
    certDir,
    stateFile,
    logger: !args.has('--quiet'),
  });

  const lines = [
    `Sandbox (emulated Microsoft cloud) listening at ${sandbox.url}`,
    `  tenant:        ${sandbox.tenantName} (id ${sandbox.tenantId})`,
    `  token URL:     ${sandbox.url}/${sandbox.tenantName}/oauth2/v2.0/token`,
    `  OpenID config: ${sandbox.url}/${sandbox.tenantName}/v2.0/.well-known/openid-configuration (v1.0: without /v2.0)`,
    `  API app:       ${API_APP_NAME}, App ID URI ${API_AUDIENCE}, client id ${sandbox.apiClientId}`,
    `  Graph:         ${sandbox.url}/v1.0`,
    `  Dataverse:     ${sandbox.url}/dataverse/{contoso-prod|contoso-test}/api/data/v9.2`,
    `  Power Platform admin: ${sandbox.url}/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments`,
    `  Key Vault:     ${sandbox.url} (vault URL)`,
    `  control API:   ${sandbox.url}/_sandbox/{state,reset,config,faults,requests} (loopback only)`,
    `  CA file:       ${sandbox.caFile} (export NODE_EXTRA_CA_CERTS=${sandbox.caFile})`,
    `  certificate:   ${sandbox.clientCertificateFile} (provisioner-client's key and certificate)`,
    `  federation:    ${sandbox.federationIssuer} (tokens: POST /_sandbox/federation/token)`,
    `  managed identity: IDENTITY_ENDPOINT=${sandbox.managedIdentity.endpoint} IDENTITY_HEADER=${sandbox.managedIdentity.header}`,
    `  state:         ${stateFile ?? 'in memory (lost on exit)'}`,
    '  clients:',
    ...sandbox.clients.map(
      (c) =>
        `    ${c.clientId} / ${c.secret}  roles: ${
          Object.entries(c.roles)
            .map(([aud, roles]) => `${aud} [${roles.join(', ')}]`)
            .join('; ') || '(none; Dataverse via application user)'
        }`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`Sandbox stopping (${signal})\n`);
    sandbox
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`Sandbox stop failed: ${String(err)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Sandbox failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
