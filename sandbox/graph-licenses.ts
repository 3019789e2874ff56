// Graph v1.0 licensing: POST /users/{id}/assignLicense (adds and removes in one call, seats
// counted against prepaid plus warning units, usage location required, as Graph checks them)
// and GET /subscribedSkus[/{id}] with $select. Removing a Dataverse-granting license starts the
// store's revert window, the platform quirk the provisioner has to survive.
import type * as Graph from '@microsoft/microsoft-graph-types';
import {
  ASSIGN_LICENSES,
  type GraphDeps,
  READ_SKUS,
  context,
  invalidValue,
  notFound,
  queryError,
  readBodyObject,
  requireRole,
} from './graph-shared';
import { renderUser } from './graph-user-schema';
import { getUser } from './graph-users';
import type { Ctx, Reply } from './http';
import { GUID_RE, graphError, isObject, json } from './http';
import { type EntitySchema, parseSelect, project } from './odata';
import { TENANT_DISPLAY_NAME, TENANT_ID } from './seed';

export function assignLicense(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, ASSIGN_LICENSES);
  const u = getUser(ctx, deps, key);
  const body = readBodyObject(ctx);
  const missing = ['addLicenses', 'removeLicenses'].filter((p) => !Array.isArray(body[p]));
  if (missing.length) {
    throw graphError(
      ctx,
      400,
      'Request_BadRequest',
      `One or more parameters of the function import 'assignLicense' are missing from the request payload. The missing parameters are: ${missing.join(', ')}.`,
    );
  }
  const adds = body.addLicenses as unknown[];
  const removes = body.removeLicenses as unknown[];
  const addIds: { skuId: string; disabledPlans: string[] }[] = [];
  for (const item of adds) {
    if (!isObject(item) || typeof item.skuId !== 'string' || !GUID_RE.test(item.skuId)) {
      throw invalidValue(ctx, 'addLicenses', 'assignLicense');
    }
    const sku = deps.store.sku(item.skuId);
    if (!sku) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        `License ${item.skuId} does not correspond to a valid company License.`,
      );
    }
    const disabled = Array.isArray(item.disabledPlans) ? (item.disabledPlans as string[]) : [];
    addIds.push({ skuId: sku.skuId, disabledPlans: disabled });
  }
  const removeIds: string[] = [];
  for (const id of removes) {
    if (typeof id !== 'string' || !GUID_RE.test(id)) throw invalidValue(ctx, 'removeLicenses', 'assignLicense');
    removeIds.push(id.toLowerCase());
  }
  const current = u.user.assignedLicenses ?? [];
  const has = (skuId: string) => current.some((l) => l.skuId === skuId);
  if (addIds.length && !u.user.usageLocation) {
    throw graphError(
      ctx,
      400,
      'Request_BadRequest',
      'License assignment cannot be done for user with invalid usage location.',
    );
  }
  for (const add of addIds) {
    if (has(add.skuId)) continue; // assigning a license the user already has changes nothing
    const sku = deps.store.sku(add.skuId)!;
    if (sku.seats + sku.warning - deps.store.consumedUnits(sku.skuId) < 1) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        `Subscription with SKU ${sku.skuId} (${sku.skuPartNumber}) does not have any available licenses.`,
      );
    }
  }
  for (const id of removeIds) {
    if (!has(id)) throw graphError(ctx, 400, 'Request_BadRequest', 'User does not have a corresponding license.');
  }
  const next = current.filter((l) => !removeIds.includes(l.skuId ?? ''));
  for (const add of addIds) {
    const existing = next.find((l) => l.skuId === add.skuId);
    if (existing) {
      existing.disabledPlans = add.disabledPlans;
    } else {
      next.push({ skuId: add.skuId, disabledPlans: add.disabledPlans });
      u.licensedAt[add.skuId] = ctx.now;
    }
  }
  for (const id of removeIds) delete u.licensedAt[id];
  u.user.assignedLicenses = next;
  u.changedAt = ctx.now;
  if (removeIds.some((id) => deps.store.sku(id)?.grantsDataverse)) deps.store.applyRevertWindow(u, ctx.now);
  deps.store.changed();
  return json(200, { '@odata.context': context(ctx, 'users', null, true), ...renderUser(u, null) });
}

function skuView(ctx: Ctx, deps: GraphDeps, skuId: string): Record<string, unknown> {
  const sku = deps.store.sku(skuId)!;
  const resource: Graph.SubscribedSku & { accountId: string; accountName: string; subscriptionIds: string[] } = {
    accountId: TENANT_ID,
    accountName: TENANT_DISPLAY_NAME,
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    consumedUnits: deps.store.consumedUnits(sku.skuId),
    id: `${TENANT_ID}_${sku.skuId}`,
    prepaidUnits: { enabled: sku.seats, lockedOut: 0, suspended: 0, warning: sku.warning },
    servicePlans: sku.servicePlans,
    skuId: sku.skuId,
    skuPartNumber: sku.skuPartNumber,
    subscriptionIds: [stableSubscription(sku.skuId)],
  };
  void ctx;
  return resource as unknown as Record<string, unknown>;
}

function stableSubscription(skuId: string): string {
  return `${skuId.slice(0, 8)}-0000-4000-8000-${skuId.slice(-12)}`;
}

const SKU_SCHEMA: EntitySchema = {
  accountId: 'string',
  accountName: 'string',
  appliesTo: 'string',
  capabilityStatus: 'string',
  consumedUnits: 'int',
  id: 'string',
  prepaidUnits: 'collection',
  servicePlans: 'collection',
  skuId: 'guid',
  skuPartNumber: 'string',
  subscriptionIds: 'collection',
};

export function subscribedSkus(ctx: Ctx, deps: GraphDeps, id: string | undefined): Reply {
  requireRole(ctx, READ_SKUS);
  let select: string[] | null;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: 'microsoft.graph.subscribedSku', schema: SKU_SCHEMA });
  } catch (err) {
    queryError(ctx, err, 'Parsing OData Select and Expand failed');
  }
  if (id !== undefined) {
    const skuId = id.split('_').pop() ?? '';
    if (!id.startsWith(`${TENANT_ID}_`) || !deps.store.sku(skuId)) throw notFound(ctx, id);
    return json(200, {
      '@odata.context': context(ctx, 'subscribedSkus', select, true),
      ...project(skuView(ctx, deps, skuId), select),
    });
  }
  return json(200, {
    '@odata.context': context(ctx, 'subscribedSkus', select, false),
    value: deps.store.data.skus.map((s) => project(skuView(ctx, deps, s.skuId), select)),
  });
}
