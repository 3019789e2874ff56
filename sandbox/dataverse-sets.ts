// The Dataverse entity sets the emulation serves — systemusers, roles and businessunits — and
// their reads: a collection with $filter, $select, $orderby, $top, $count, $expand of a user's
// roles (systemuserroles_association) and odata.maxpagesize paging by $skiptoken cookie, or a
// single row; formatted values on request. One generic reader serves all three sets, as the
// Web API does, each set described by its schema and a mapping from the stored rows.
import { CODE_QUERY, apiBase, prefers, queryError } from './dataverse-shared';
import type { Ctx, Reply } from './http';
import { dataverseError, json, odataQuery } from './http';
import { type EntitySchema, type Row, compileOrderBy, parseSelect, project } from './odata';
import { compileFilter } from './odata-filter';
import type { BusinessUnit, Environment, Role, SystemUser } from './types';

const ACCESS_MODE_LABELS = [
  'Read-Write',
  'Administrative',
  'Read',
  'Support User',
  'Non-interactive',
  'Delegated Admin',
];

const SYSTEMUSER_SCHEMA: EntitySchema = {
  systemuserid: 'guid',
  azureactivedirectoryobjectid: 'guid',
  applicationid: 'guid',
  domainname: 'string',
  fullname: 'string',
  internalemailaddress: 'string',
  accessmode: 'int',
  isdisabled: 'bool',
  islicensed: 'bool',
  _businessunitid_value: 'guid',
  createdon: 'datetime',
  modifiedon: 'datetime',
  versionnumber: 'int',
};
const ROLE_SCHEMA: EntitySchema = {
  roleid: 'guid',
  name: 'string',
  _businessunitid_value: 'guid',
  roletemplateid: 'guid',
  ismanaged: 'bool',
};
const BUSINESSUNIT_SCHEMA: EntitySchema = {
  businessunitid: 'guid',
  name: 'string',
  _parentbusinessunitid_value: 'guid',
  // The navigation property, usable as `parentbusinessunitid eq null` for the root.
  parentbusinessunitid: 'guid',
  isdisabled: 'bool',
};

interface EntitySet {
  logicalName: string;
  key: string;
  schema: EntitySchema;
  rows: (env: Environment) => Row[];
}

export function systemUserRow(s: SystemUser): Row {
  return {
    '@odata.etag': `W/"${s.versionnumber}"`,
    systemuserid: s.systemuserid,
    azureactivedirectoryobjectid: s.azureactivedirectoryobjectid,
    applicationid: s.applicationid,
    domainname: s.domainname,
    fullname: s.fullname,
    internalemailaddress: s.internalemailaddress,
    accessmode: s.accessmode,
    isdisabled: s.isdisabled,
    islicensed: s.islicensed,
    _businessunitid_value: s._businessunitid_value,
    createdon: s.createdon,
    modifiedon: s.modifiedon,
    versionnumber: s.versionnumber,
  };
}

export function roleRow(r: Role): Row {
  return { '@odata.etag': 'W/"1"', ...r };
}

function businessUnitRow(b: BusinessUnit): Row {
  return { '@odata.etag': 'W/"1"', ...b, isdisabled: false };
}

export const SETS: Record<string, EntitySet> = {
  systemusers: {
    logicalName: 'systemuser',
    key: 'systemuserid',
    schema: SYSTEMUSER_SCHEMA,
    rows: (env) => env.systemUsers.map(systemUserRow),
  },
  roles: { logicalName: 'role', key: 'roleid', schema: ROLE_SCHEMA, rows: (env) => env.roles.map(roleRow) },
  businessunits: {
    logicalName: 'businessunit',
    key: 'businessunitid',
    schema: BUSINESSUNIT_SCHEMA,
    rows: (env) => env.businessUnits.map(businessUnitRow),
  },
};

function typeName(set: EntitySet): string {
  return `Microsoft.Dynamics.CRM.${set.logicalName}`;
}

function annotate(row: Row, on: boolean): Row {
  if (!on) return row;
  const out = { ...row };
  if (typeof row.accessmode === 'number') {
    out['accessmode@OData.Community.Display.V1.FormattedValue'] =
      ACCESS_MODE_LABELS[row.accessmode] ?? String(row.accessmode);
  }
  if (typeof row.isdisabled === 'boolean') {
    out['isdisabled@OData.Community.Display.V1.FormattedValue'] = row.isdisabled ? 'Disabled' : 'Enabled';
  }
  return out;
}

interface Expand {
  select: string[] | null;
}

function parseExpand(ctx: Ctx, set: EntitySet): Expand | null {
  const text = ctx.query.get('$expand');
  if (text === null || text.trim() === '') return null;
  const m = /^\s*(\w+)\s*(?:\(\s*\$select=([^)]*)\))?\s*$/.exec(text);
  if (!m) throw dataverseError(400, CODE_QUERY, `Syntax error in $expand: '${text}'.`);
  if (set.logicalName !== 'systemuser' || m[1] !== 'systemuserroles_association') {
    throw dataverseError(400, CODE_QUERY, `Could not find a property named '${m[1]}' on type '${typeName(set)}'.`);
  }
  try {
    return { select: parseSelect(m[2] ?? null, { typeName: 'Microsoft.Dynamics.CRM.role', schema: ROLE_SCHEMA }) };
  } catch (err) {
    queryError(err);
  }
}

function withExpand(row: Row, env: Environment, expand: Expand | null): Row {
  if (!expand) return row;
  const su = env.systemUsers.find((s) => s.systemuserid === row.systemuserid);
  const roles = (su?.roles ?? [])
    .map((id) => env.roles.find((r) => r.roleid === id))
    .filter((r): r is Role => !!r)
    .map((r) => project(roleRow(r), expand.select, ['roleid']));
  return { ...row, systemuserroles_association: roles };
}

export function list(ctx: Ctx, env: Environment, set: EntitySet, rows: Row[], contextSuffix: string): Reply {
  let select: string[] | null;
  let predicate: (row: Row) => boolean = () => true;
  let order: ((a: Row, b: Row) => number) | null;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: typeName(set), schema: set.schema });
    const filter = ctx.query.get('$filter');
    if (filter !== null) predicate = compileFilter(filter, { typeName: typeName(set), schema: set.schema });
    order = compileOrderBy(ctx.query.get('$orderby'), { typeName: typeName(set), schema: set.schema });
  } catch (err) {
    queryError(err);
  }
  const expand = parseExpand(ctx, set);
  const pref = prefers(ctx);
  const filterRow = (r: Row) =>
    set.logicalName === 'businessunit' ? { ...r, parentbusinessunitid: r._parentbusinessunitid_value } : r;
  let matched = rows.filter((r) => predicate(filterRow(r)));
  if (order) matched = [...matched].sort(order);
  const topRaw = ctx.query.get('$top');
  if (topRaw !== null) {
    const top = Number(topRaw);
    if (!Number.isInteger(top) || top < 0)
      throw dataverseError(400, CODE_QUERY, `Invalid value '${topRaw}' for $top query option found.`);
    matched = matched.slice(0, top);
  }
  let offset = 0;
  const skip = ctx.query.get('$skiptoken');
  if (skip !== null) {
    const m = /^<cookie page="(\d+)" offset="(\d+)" \/>$/.exec(skip);
    if (!m) throw dataverseError(400, CODE_QUERY, 'The $skiptoken is invalid.');
    offset = Number(m[2]);
  }
  const pageSize = pref.maxPageSize ?? 5000;
  const page = matched.slice(offset, offset + pageSize);
  const headers: Record<string, string> = { 'odata-version': '4.0' };
  if (pref.maxPageSize !== null) headers['preference-applied'] = `odata.maxpagesize=${pref.maxPageSize}`;
  const out: Row = {
    '@odata.context': `${apiBase(ctx, env)}/$metadata#${contextSuffix}${select ? `(${select.join(',')})` : ''}`,
  };
  if (ctx.query.get('$count') === 'true') out['@odata.count'] = matched.length;
  out.value = page.map((r) => annotate(withExpand(project(r, select, [set.key]), env, expand), pref.annotations));
  if (offset + pageSize < matched.length) {
    const next = new URLSearchParams();
    for (const [k, v] of ctx.query) if (k !== '$skiptoken') next.set(k, v);
    next.set('$skiptoken', `<cookie page="${Math.floor(offset / pageSize) + 2}" offset="${offset + pageSize}" />`);
    out['@odata.nextLink'] = `${apiBase(ctx, env)}/${contextSuffix}?${odataQuery(next)}`;
  }
  return json(200, out, headers);
}

export function single(ctx: Ctx, env: Environment, set: EntitySet, row: Row, setName: string): Reply {
  let select: string[] | null;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: typeName(set), schema: set.schema });
  } catch (err) {
    queryError(err);
  }
  const expand = parseExpand(ctx, set);
  const pref = prefers(ctx);
  return json(
    200,
    {
      '@odata.context': `${apiBase(ctx, env)}/$metadata#${setName}${select ? `(${select.join(',')})` : ''}/$entity`,
      ...annotate(withExpand(project(row, select, [set.key]), env, expand), pref.annotations),
    },
    { 'odata-version': '4.0' },
  );
}
