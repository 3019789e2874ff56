// Generates the sandbox's CA and server certificate once (in DATA_DIR/sandbox) and prints the
// CA file's path, for NODE_EXTRA_CA_CERTS.
import path from 'node:path';
import { ensureCertificates } from '../sandbox/ca';
import { loadConfigOrExit } from '../config';

async function main(): Promise<void> {
  const config = loadConfigOrExit('sandbox');
  const { caFile } = await ensureCertificates(path.join(config.dataDir, 'sandbox'));
  process.stdout.write(`${caFile}\n`);
}

void main();
