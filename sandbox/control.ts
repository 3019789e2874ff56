// The control API under /_sandbox/ (loopback only, no auth): state, reset, config, faults and
// the request log. Tests and operators use it to arrange situations (limits, seats, delays,
// outages) and to check what the clients did (retries, back-off).
import type { Ctx, Reply } from './http';
import { HttpError, empty, isObject, json } from './http';
import { CLIENT_KEYS, clientChanges, clientsView, securityGroupChange } from './control-directory';
import { handleUserControl } from './control-users';
import {
  type ClientCredentialRegistry,
  CredentialConfigError,
  parseClientsPatch,
  parseManagedIdentityPatch,
} from './credentials';
import { type FaultInjector, FaultError, type RequestLog, validateFault } from './faults';
import { type FederationIssuer, mintRequest } from './federation';
import { CLIENTS, TENANT_ID, TENANT_NAME, VERIFIED_DOMAINS } from './seed';
import type { Store } from './store';
import type { Fault, Settings } from './types';

export interface ControlDeps {
  store: Store;
  faults: FaultInjector;
  log: RequestLog;
  credentials: ClientCredentialRegistry;
  federation: FederationIssuer;
}

function bad(message: string): HttpError {
  return new HttpError(json(400, { error: { code: 'BadRequest', message } }));
}

/** Whether the peer is on the loopback interface (127.0.0.0/8 or ::1, also IPv4-mapped). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/, '');
  return a === '::1' || /^127\./.test(a);
}

export function stateView(deps: ControlDeps, baseUrl: string): Record<string, unknown> {
  const { store } = deps;
  const data = store.data;
  return {
    tenant: { id: TENANT_ID, name: TENANT_NAME, verifiedDomains: VERIFIED_DOMAINS },
    settings: data.settings,
    users: store.liveUsers().map((u) => {
      const { passwordProfile: _p, ...user } = u.user;
      return {
        ...user,
        createdDateTime: new Date(u.createdAt).toISOString(),
        passwordSet: u.password !== null,
        licensedAt: Object.fromEntries(Object.entries(u.licensedAt).map(([k, v]) => [k, new Date(v).toISOString()])),
      };
    }),
    deletedUsers: data.users
      .filter((u) => u.deletedAt !== null)
      .map((u) => ({
        id: u.user.id,
        userPrincipalName: u.user.userPrincipalName,
        deletedDateTime: new Date(u.deletedAt!).toISOString(),
      })),
    skus: data.skus.map((s) => {
      const consumed = store.consumedUnits(s.skuId);
      return {
        skuId: s.skuId,
        skuPartNumber: s.skuPartNumber,
        seats: s.seats,
        consumedUnits: consumed,
        available: s.seats + s.warning - consumed,
        grantsDataverse: s.grantsDataverse,
      };
    }),
    groups: data.groups,
    environments: Object.fromEntries(
      data.environments.map((e) => [
        e.name,
        {
          url: `${baseUrl}/dataverse/${e.name}`,
          organizationId: e.organizationId,
          nonInteractiveLimit: e.nonInteractiveLimit,
          securityGroupId: e.securityGroupId ?? null,
          nonInteractiveUsers: store.nonInteractiveCount(e),
          businessUnits: e.businessUnits,
          roles: e.roles,
          systemusers: e.systemUsers,
        },
      ]),
    ),
    secrets: Object.keys(data.secrets),
    /** Per secret, its versions (ids, never values), to see a rotation add one. */
    secretVersions: Object.fromEntries(
      Object.entries(data.secrets).map(([name, versions]) => [name, versions.map((v) => v.version)]),
    ),
    deletedSecrets: Object.keys(data.deletedSecrets ?? {}),
    clients: CLIENTS.map((c) => ({ clientId: c.clientId, roles: c.roles, ...clientsView(data)[c.clientId] })),
  };
}

const SETTING_KEYS: (keyof Settings)[] = [
  'syncDelayMs',
  'licensePropagationMs',
  'revertWindowMs',
  'replicationDelayMs',
  'groupPropagationMs',
  'tokenLifetimeSeconds',
];

function applyConfig(deps: ControlDeps, body: Record<string, unknown>): void {
  const { store } = deps;
  const known = [...SETTING_KEYS, 'environments', 'skus', 'apiTokenVersion', 'clients', 'managedIdentity'];
  for (const key of Object.keys(body)) if (!known.includes(key)) throw bad(`'${key}' is not a sandbox setting`);
  const settings = { ...store.data.settings };
  for (const key of SETTING_KEYS) {
    if (!(key in body)) continue;
    const v = body[key];
    const min = key === 'tokenLifetimeSeconds' ? 1 : 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      throw bad(`'${key}' must be a whole number >= ${min}`);
    settings[key] = v;
  }
  if ('apiTokenVersion' in body) {
    if (body.apiTokenVersion !== 1 && body.apiTokenVersion !== 2) throw bad("'apiTokenVersion' must be 1 or 2");
    settings.apiTokenVersion = body.apiTokenVersion;
  }
  const credentialChanges = credentialPatch(deps, body);
  const envChanges: [string, number][] = [];
  const groupChanges: [string, string | null][] = [];
  if ('environments' in body) {
    if (!isObject(body.environments)) throw bad("'environments' must be an object keyed by environment name");
    for (const [name, value] of Object.entries(body.environments)) {
      if (!store.environment(name)) throw bad(`environments: unknown environment '${name}'`);
      if (!isObject(value)) throw bad(`environments.${name} must be an object`);
      for (const key of Object.keys(value)) {
        if (key !== 'nonInteractiveLimit' && key !== 'securityGroupId') {
          throw bad(`environments.${name}.${key} is not a setting`);
        }
      }
      const limit = value.nonInteractiveLimit;
      if (limit !== undefined) {
        if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
          throw bad(`environments.${name}.nonInteractiveLimit must be a whole number >= 0`);
        }
        envChanges.push([name, limit]);
      }
      const group = securityGroupChange(store, name, value.securityGroupId, bad);
      if (group !== undefined) groupChanges.push([name, group]);
    }
  }
  const skuChanges: [string, number][] = [];
  if ('skus' in body) {
    if (!isObject(body.skus)) throw bad("'skus' must be an object keyed by SKU part number");
    for (const [part, value] of Object.entries(body.skus)) {
      const sku = store.data.skus.find((s) => s.skuPartNumber === part);
      if (!sku) throw bad(`skus: unknown SKU part number '${part}'`);
      if (!isObject(value)) throw bad(`skus.${part} must be an object`);
      for (const key of Object.keys(value)) if (key !== 'seats') throw bad(`skus.${part}.${key} is not a setting`);
      const seats = value.seats;
      if (seats !== undefined) {
        if (typeof seats !== 'number' || !Number.isInteger(seats) || seats < 0) {
          throw bad(`skus.${part}.seats must be a whole number >= 0`);
        }
        skuChanges.push([sku.skuId, seats]);
      }
    }
  }
  const clients = 'clients' in body ? clientChanges(store, clientsPart(body.clients, true), bad) : [];
  // Everything validated: apply all of it.
  store.data.settings = settings;
  for (const [name, limit] of envChanges) store.environment(name)!.nonInteractiveLimit = limit;
  for (const [skuId, seats] of skuChanges) store.sku(skuId)!.seats = seats;
  for (const [name, group] of groupChanges) store.environment(name)!.securityGroupId = group;
  if (clients.length) store.data.clients = { ...clientsView(store.data), ...Object.fromEntries(clients) };
  for (const apply of credentialChanges) apply(deps.credentials);
  store.changed();
}

/**
 * A client's settings in `clients` are of two kinds, each checked where it lives: its directory
 * settings (control-directory.ts: permissions, directory roles, management app) and its
 * credentials (credentials.ts: certificates, federated credentials, and whatever is not a
 * directory setting, which that checker refuses by name). Anything but an object goes to both
 * as it is, to be refused there.
 */
function clientsPart(value: unknown, directory: boolean): unknown {
  if (!isObject(value)) return value;
  const part = (fields: unknown) =>
    isObject(fields)
      ? Object.fromEntries(Object.entries(fields).filter(([key]) => CLIENT_KEYS.includes(key) === directory))
      : fields;
  return Object.fromEntries(Object.entries(value).map(([clientId, fields]) => [clientId, part(fields)]));
}

/** The `clients` (certificates, federated credentials) and `managedIdentity` parts of a PATCH, checked. */
function credentialPatch(deps: ControlDeps, body: Record<string, unknown>) {
  try {
    return [
      ...('clients' in body ? parseClientsPatch(clientsPart(body.clients, false)) : []),
      ...('managedIdentity' in body ? [parseManagedIdentityPatch(body.managedIdentity, deps.store)] : []),
    ];
  } catch (err) {
    if (err instanceof CredentialConfigError) throw bad(err.message);
    throw err;
  }
}

function mergeByClient(...views: Record<string, unknown>[]): Record<string, unknown> {
  const ids = new Set(views.flatMap((v) => Object.keys(v)));
  return Object.fromEntries([...ids].map((id) => [id, Object.assign({}, ...views.map((v) => v[id] ?? {}))]));
}

function configView(deps: ControlDeps): Record<string, unknown> {
  const data = deps.store.data;
  return {
    ...data.settings,
    environments: Object.fromEntries(
      data.environments.map((e) => [
        e.name,
        { nonInteractiveLimit: e.nonInteractiveLimit, securityGroupId: e.securityGroupId ?? null },
      ]),
    ),
    skus: Object.fromEntries(data.skus.map((s) => [s.skuPartNumber, { seats: s.seats }])),
    apiTokenVersion: data.settings.apiTokenVersion ?? 1,
    clients: mergeByClient(clientsView(data), deps.credentials.view()),
    managedIdentity: { clientId: deps.credentials.managedIdentityClientId() },
  };
}

export async function handleControl(ctx: Ctx, deps: ControlDeps): Promise<Reply> {
  if (!isLoopback(ctx.req.socket.remoteAddress)) {
    return json(403, { error: { code: 'Forbidden', message: 'The sandbox control API answers only on loopback.' } });
  }
  const name = ctx.path.replace(/^\/_sandbox\/?/, '').replace(/\/+$/, '');
  const route = `${ctx.method} ${name}`;
  const body = ctx.bodyError === null ? ctx.body : undefined;
  if (ctx.bodyError !== null) throw bad(`the body is not valid JSON: ${ctx.bodyError}`);
  const userChange = handleUserControl(deps.store, ctx.method, name, body, ctx.now);
  if (userChange) return userChange;
  switch (route) {
    case 'GET state':
      return json(200, stateView(deps, ctx.baseUrl));
    case 'POST reset':
      deps.store.reset();
      deps.faults.clear();
      deps.log.clear();
      return empty(204);
    case 'GET config':
      return json(200, configView(deps));
    case 'PATCH config':
      if (!isObject(body)) throw bad('the body must be a JSON object');
      applyConfig(deps, body);
      return json(200, configView(deps));
    case 'GET faults':
      return json(200, { faults: deps.faults.list() });
    case 'PUT faults': {
      const list = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.faults) ? body.faults : null;
      if (!list) throw bad('the body must be a list of faults (or {"faults": [...]})');
      let faults: Fault[];
      try {
        faults = list.map((f, i) => validateFault(f, i));
      } catch (err) {
        if (err instanceof FaultError) throw bad(err.message);
        throw err;
      }
      deps.faults.set(faults);
      return json(200, { faults: deps.faults.list() });
    }
    case 'DELETE faults':
      deps.faults.clear();
      return empty(204);
    case 'GET requests': {
      const q = ctx.query;
      let path: RegExp | undefined;
      try {
        path = q.get('path') ? new RegExp(q.get('path')!) : undefined;
      } catch (err) {
        throw bad(`path is not a valid regular expression: ${(err as Error).message}`);
      }
      const since = q.get('since');
      return json(200, {
        requests: deps.log.query({
          service: q.get('service') ?? undefined,
          method: q.get('method') ?? undefined,
          path,
          since: since !== null ? Number(since) : undefined,
        }),
      });
    }
    case 'DELETE requests':
      deps.log.clear();
      return empty(204);
    case 'POST federation/token': {
      const minted = await deps.federation.mint(mintRequest(body));
      return json(200, { token: minted.token, issuer: deps.federation.issuer, expiresOn: minted.expiresOn });
    }
    default:
      return json(404, { error: { code: 'NotFound', message: `No control route ${route}` } });
  }
}
