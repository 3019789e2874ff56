// Command-line client of the REST API (`npm run request -- <command>`):
//   create --environment E --upn U --display-name N [--usage-location CC] [--license-sku SKU]
//          [--role R]... [--business-unit B] [--no-wait]
//   status <id> [--watch]     list [--environment E] [--status S] [--page-size N] [--all]
//   cancel <id> [--wait]
//   deprovision <id> [--delete-account] [--no-wait]     rotate-password <id> [--no-wait]
//   inventory --environment E [--json]      audit --environment E [--run] [--json]
// It gets a token by client credentials (the sandbox's operator client by default), calls the
// API and, for create, deprovision and rotate-password (and status --watch, cancel --wait), shows
// the steps live until the request ends. Exit codes: 0 succeeded / done, 1 request failed or cancelled, 2 usage, 3 API or network error.
//
// Environment overrides: NIU_API_URL (default: the API's configured public URL), NIU_TOKEN (use
// this bearer token as is), NIU_TOKEN_URL, NIU_CLIENT_ID, NIU_CLIENT_SECRET, NIU_SCOPE,
// NIU_POLL_MS, NIU_CA_FILE (extra CA for HTTPS; default: the sandbox's CA when present).
// This file: arguments and commands; cli/http.ts: token and API calls; cli/render.ts: progress;
// cli/audit.ts: the inventory and the drift audit.
import { parseArgs } from 'node:util';
import type { StatusDocument } from '../workflows/types';
import { api, CliError, context, idPath, problemError } from './http';
import { follow, stepLine } from './render';
import { auditCommand, inventoryCommand } from './audit';

const USAGE = `usage: npm run request -- <command> [options]
  create --environment E --upn U --display-name N [--usage-location CC] [--license-sku SKU]
         [--role R]... [--business-unit B] [--no-wait]
  status <id> [--watch]
  list [--environment E] [--status running|succeeded|failed|cancelled] [--page-size N] [--all]
  cancel <id> [--wait]
  deprovision <id> [--delete-account] [--no-wait]
  rotate-password <id> [--no-wait]
  inventory --environment E [--json]
  audit --environment E [--run] [--json]`;

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
        'delete-account': { type: 'boolean' },
        run: { type: 'boolean' },
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
    case 'deprovision': {
      const id = positionals[0];
      if (!id) throw new CliError(`deprovision needs an id\n${USAGE}`, 2);
      const query = v['delete-account'] ? '?deleteAccount=true' : '';
      const res = await api(ctx, 'DELETE', `${idPath(id)}${query}`);
      if (res.status !== 202 && res.status !== 200) throw problemError(res, 'deprovision');
      ctx.out(res.status === 202 ? `deprovisioning: ${id}` : `already deprovisioned: ${id}`);
      const location = String(res.headers.location);
      ctx.out(`  ${location}`);
      return v['no-wait'] ? 0 : follow(ctx, location);
    }
    case 'rotate-password': {
      const id = positionals[0];
      if (!id) throw new CliError(`rotate-password needs an id\n${USAGE}`, 2);
      const res = await api(ctx, 'POST', `${idPath(id)}/rotate-password`);
      if (res.status !== 202) throw problemError(res, 'rotate-password');
      const { passwordSecretId } = res.body as { passwordSecretId: string | null };
      ctx.out(`rotating the password: ${id}`);
      ctx.out(`  secret ${passwordSecretId ?? '(no vault configured)'}`);
      const location = String(res.headers.location);
      return v['no-wait'] ? 0 : follow(ctx, location);
    }
    case 'inventory':
    case 'audit': {
      if (!v.environment) throw new CliError(`${command} needs --environment\n${USAGE}`, 2);
      return command === 'inventory'
        ? inventoryCommand(ctx, v.environment, !!v.json)
        : auditCommand(ctx, v.environment, { run: !!v.run, json: !!v.json });
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
