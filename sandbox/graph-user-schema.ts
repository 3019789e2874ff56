// The Graph v1.0 user resource as the emulated Graph knows it: its properties and their OData
// types (for $filter, $select and $orderby), which of them a client may write, the default
// property set of a read without $select, how a stored user renders (never its password), and
// the checks a POST or PATCH body passes as Graph makes them (UPN rules and verified domain,
// duplicate UPN as ObjectConflict, mailNickname characters, usage location, password
// complexity, password policies), with the same error bodies.
import type * as Graph from '@microsoft/microsoft-graph-types';
import { type GraphDeps, invalidValue } from './graph-shared';
import type { Ctx } from './http';
import { graphError, isObject } from './http';
import type { EntitySchema } from './odata';
import { VERIFIED_DOMAINS } from './seed';
import type { StoredUser } from './types';

export const USER_TYPE = 'microsoft.graph.user';

export const USER_SCHEMA: EntitySchema = {
  id: 'string',
  accountEnabled: 'bool',
  displayName: 'string',
  givenName: 'string',
  surname: 'string',
  mailNickname: 'string',
  userPrincipalName: 'string',
  usageLocation: 'string',
  employeeType: 'string',
  employeeId: 'string',
  companyName: 'string',
  department: 'string',
  jobTitle: 'string',
  mail: 'string',
  mobilePhone: 'string',
  officeLocation: 'string',
  preferredLanguage: 'string',
  userType: 'string',
  passwordPolicies: 'string',
  createdDateTime: 'datetime',
  lastPasswordChangeDateTime: 'datetime',
  businessPhones: 'collection',
  assignedLicenses: 'collection',
  'assignedLicenses/skuId': 'guid',
};

/** Properties a client may write (POST/PATCH). */
const WRITABLE_STRING = [
  'displayName',
  'givenName',
  'surname',
  'mailNickname',
  'userPrincipalName',
  'usageLocation',
  'employeeType',
  'employeeId',
  'companyName',
  'department',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
] as const;
const WRITABLE = new Set<string>([
  ...WRITABLE_STRING,
  'accountEnabled',
  'passwordProfile',
  'businessPhones',
  'passwordPolicies',
]);
const READ_ONLY = new Set(['id', 'assignedLicenses', 'createdDateTime', 'lastPasswordChangeDateTime', 'userType']);

/** What GET /users returns without $select (Graph v1.0's default set). */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

/** The full user resource (never the password). */
export function userView(u: StoredUser): Graph.User {
  const { passwordProfile: _p, ...rest } = u.user;
  return { businessPhones: [], userType: 'Member', ...rest, createdDateTime: new Date(u.createdAt).toISOString() };
}

export function renderUser(u: StoredUser, select: string[] | null): Record<string, unknown> {
  const view = userView(u) as Record<string, unknown>;
  const names = select ?? DEFAULT_USER_PROPERTIES;
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = view[name] ?? (name === 'businessPhones' ? [] : null);
  return out;
}

/**
 * `passwordPolicies`, as the Graph user resource documents it: `DisablePasswordExpiration` and
 * `DisableStrongPassword`, alone or both, comma-separated ("DisablePasswordExpiration,
 * DisableStrongPassword"); `None` or null clears them. Returned only on $select.
 */
const PASSWORD_POLICIES = ['DisablePasswordExpiration', 'DisableStrongPassword'];
function validPasswordPolicies(value: unknown): boolean {
  if (value === null || value === 'None') return true;
  if (typeof value !== 'string') return false;
  const names = value.split(',').map((n) => n.trim());
  return names.every((n) => PASSWORD_POLICIES.includes(n)) && new Set(names).size === names.length;
}

/** Entra ID's default complexity rule: 8-256 characters, 3 of 4 character classes. */
function passwordIsComplex(password: string): boolean {
  if (password.length < 8 || password.length > 256) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  return classes >= 3;
}

/** Validates the properties of a POST or PATCH body and returns the changes to apply. */
export function validateUserBody(
  ctx: Ctx,
  deps: GraphDeps,
  body: Record<string, unknown>,
  existing: StoredUser | null,
) {
  for (const key of Object.keys(body)) {
    if (key.startsWith('@')) continue;
    if (READ_ONLY.has(key)) {
      if (key === 'id' && existing === null) continue; // Graph ignores a client-chosen id on create
      throw graphError(ctx, 400, 'Request_BadRequest', `Property '${key}' is read-only and cannot be set.`);
    }
    if (!WRITABLE.has(key)) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        `Property '${key}' does not exist as a declared property or extension property.`,
      );
    }
  }
  for (const key of WRITABLE_STRING) {
    if (key in body && body[key] !== null && typeof body[key] !== 'string') throw invalidValue(ctx, key);
  }
  if ('accountEnabled' in body && typeof body.accountEnabled !== 'boolean') throw invalidValue(ctx, 'accountEnabled');
  if (
    'businessPhones' in body &&
    !(Array.isArray(body.businessPhones) && body.businessPhones.every((p) => typeof p === 'string'))
  ) {
    throw invalidValue(ctx, 'businessPhones');
  }
  if ('passwordPolicies' in body && !validPasswordPolicies(body.passwordPolicies)) {
    throw invalidValue(ctx, 'passwordPolicies');
  }
  if (existing === null) {
    for (const key of ['accountEnabled', 'displayName', 'mailNickname', 'userPrincipalName', 'passwordProfile']) {
      if (body[key] === undefined || body[key] === null || body[key] === '') throw invalidValue(ctx, key);
    }
  }
  if ('mailNickname' in body) {
    const nick = body.mailNickname;
    if (typeof nick !== 'string' || nick === '' || nick.length > 64 || /[@\s()<>,;:\\"[\]]/.test(nick)) {
      throw invalidValue(ctx, 'mailNickname');
    }
  }
  if ('displayName' in body && (typeof body.displayName !== 'string' || body.displayName.trim() === '')) {
    throw invalidValue(ctx, 'displayName');
  }
  if ('usageLocation' in body && body.usageLocation !== null) {
    if (typeof body.usageLocation !== 'string' || !/^[A-Za-z]{2}$/.test(body.usageLocation)) {
      throw invalidValue(ctx, 'usageLocation');
    }
  }
  if ('userPrincipalName' in body) {
    const upn = body.userPrincipalName as string;
    // Microsoft's UPN rules (KB 2439357): the user name up to 64 of A-Z a-z 0-9 ' . - _ ! # ^ ~,
    // no period just before the @; the domain up to 48 characters.
    const m = /^([A-Za-z0-9'._!#^~-]{1,64})@([A-Za-z0-9.-]{1,48})$/.exec(upn);
    if (!m || m[1]!.startsWith('.') || m[1]!.endsWith('.')) throw invalidValue(ctx, 'userPrincipalName');
    if (!VERIFIED_DOMAINS.includes(m[2]!.toLowerCase())) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
        { details: [{ code: 'InvalidValue', target: 'userPrincipalName' }] },
      );
    }
    const clash = deps.store.findUser(upn);
    if (clash && clash !== existing) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        'Another object with the same value for property userPrincipalName already exists.',
        {
          details: [
            {
              code: 'ObjectConflict',
              message: 'Another object with the same value for property userPrincipalName already exists.',
              target: 'userPrincipalName',
            },
          ],
        },
      );
    }
  }
  let password: string | null = null;
  if ('passwordProfile' in body) {
    const profile = body.passwordProfile;
    if (!isObject(profile) || typeof profile.password !== 'string') throw invalidValue(ctx, 'passwordProfile');
    if (!passwordIsComplex(profile.password)) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        'The specified password does not comply with password complexity requirements. Please provide a different password.',
      );
    }
    password = profile.password;
  }
  return { password };
}

export function applyUserBody(u: StoredUser, body: Record<string, unknown>): void {
  const target = u.user as unknown as Record<string, unknown>;
  for (const key of WRITABLE_STRING) {
    if (key in body)
      target[key] = key === 'usageLocation' && body[key] ? (body[key] as string).toUpperCase() : body[key];
  }
  if ('accountEnabled' in body) target.accountEnabled = body.accountEnabled;
  if ('businessPhones' in body) target.businessPhones = body.businessPhones;
  if ('passwordPolicies' in body)
    target.passwordPolicies = body.passwordPolicies === 'None' ? null : body.passwordPolicies;
  if ('passwordProfile' in body && isObject(body.passwordProfile)) {
    target.passwordProfile = {
      forceChangePasswordNextSignIn: body.passwordProfile.forceChangePasswordNextSignIn !== false,
    };
  }
}
