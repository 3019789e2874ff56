// Entra ID through Microsoft Graph v1.0: the create-entra-user, assign-license and
// remove-license steps, and the deletion used by compensation.
import {
  Client,
  HTTPMessageHandler,
  AuthenticationHandler,
  type Context as GraphContext,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import type { User, SubscribedSku } from '@microsoft/microsoft-graph-types';
import { log } from '@temporalio/activity';
import type { Config } from '../config';
import { callSignal } from './cancellation';
import type { TokenSource } from './credential';
import { environmentOf } from './environments';
import { failure, fromGraphError, valuesOrLongestWait } from './errors';
import { generatePassword } from './password';
import { secretNameFor, type PasswordStore } from './keyvault';

/**
 * How this service marks the accounts it creates. `employeeType` is Entra's own property for
 * classifying accounts (filterable, shown in the admin center), so operators can list every
 * integration account; `companyName` names the service that owns it; `employeeId` carries the
 * tag of the request that created it (16 hex digits of the workflow run id), so a retry after a
 * lost response can tell "my own account" (adopt, and compensation may delete it) from "an
 * account another request of ours created" (adopt, never delete) from "someone else's account"
 * (refuse: upn-conflict).
 */
export const ACCOUNT_MARK = { employeeType: 'NonInteractiveIntegration', companyName: 'noninteractive-users' } as const;

export const USER_FIELDS =
  'id,userPrincipalName,displayName,employeeType,companyName,employeeId,usageLocation,assignedLicenses,accountEnabled';

/** Whether this service made the account (ACCOUNT_MARK): the only accounts it ever changes. */
export const isMarked = (u: User): boolean =>
  u.employeeType === ACCOUNT_MARK.employeeType && u.companyName === ACCOUNT_MARK.companyName;

export interface CreateUserInput {
  environment: string;
  userPrincipalName: string;
  displayName: string;
  usageLocation: string;
  /** Identifies this request on the account (ACCOUNT_MARK). */
  requestTag: string;
  requestId: string;
}

export interface CreateUserResult {
  entraObjectId: string;
  /** True when this request created the account (only then may compensation delete it). */
  created: boolean;
  passwordSecretId: string | null;
}

export interface LicenseInput {
  entraObjectId: string;
  licenseSku: string;
}

/** Gives every Graph request a timeout and the activity's cancellation (activities/cancellation.ts). */
class CallSignalHandler implements Middleware {
  private next: Middleware | undefined;
  async execute(context: GraphContext): Promise<void> {
    context.options = { ...context.options, signal: callSignal() };
    await this.next!.execute(context);
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

export function createGraphClient(config: Config, tokens: TokenSource): Client {
  // The Graph root of the configured cloud (a national cloud's token is not the global one's).
  const authProvider = new TokenCredentialAuthenticationProvider(tokens.credential, {
    scopes: [`${config.microsoft.graphAudience}/.default`],
  });
  const base = new URL(config.microsoft.graphBaseUrl);
  // The default chain has a RetryHandler (3 retries on 429/503/504): left out on purpose, so
  // only Temporal retries and every attempt is visible (see errors.ts).
  return Client.initWithMiddleware({
    baseUrl: config.microsoft.graphBaseUrl,
    customHosts: new Set([base.hostname]),
    middleware: [new CallSignalHandler(), new AuthenticationHandler(authProvider), new HTTPMessageHandler()],
    defaultVersion: 'v1.0',
  });
}

/** Runs a Graph call, mapping its errors to ApplicationFailures. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromGraphError(err) ?? err;
  }
}

export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: number }).statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** A user by object id or UPN with the `select`ed properties; null when Graph has none. */
export async function readGraphUser(graph: Client, idOrUpn: string, select: string): Promise<User | null> {
  try {
    return (await graph
      .api(`/users/${encodeURIComponent(idOrUpn)}`)
      .select(select)
      .get()) as User;
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw fromGraphError(err) ?? err;
  }
}

/** A new password, stored in the vault first (if any), then set on the account in the caller. */
export async function storedPassword(
  passwords: PasswordStore,
  who: { environment: string; userPrincipalName: string; requestId: string },
): Promise<{ password: string; secretId: string | null }> {
  const password = generatePassword();
  const secretId = await passwords.store(secretNameFor(who.userPrincipalName), password, {
    environment: who.environment,
    requestId: who.requestId,
  });
  return { password, secretId };
}

export function graphActivities(config: Config, graph: Client, passwords: PasswordStore) {
  const findUser = (idOrUpn: string): Promise<User | null> => readGraphUser(graph, idOrUpn, USER_FIELDS);

  // A SKU's id never changes (it names the product, the same in every tenant): once read, the
  // license's removal needs no read of the subscriptions. Its seat counts do change, so the
  // assignment reads them every time.
  const skuIds = new Map<string, string>();
  async function resolveSku(partNumber: string): Promise<SubscribedSku & { skuId: string }> {
    const res = (await call(() => graph.api('/subscribedSkus').get())) as { value: SubscribedSku[] };
    const sku = res.value.find((s) => s.skuPartNumber?.toLowerCase() === partNumber.toLowerCase());
    if (!sku?.skuId) throw failure('license-unavailable', `the tenant has no subscription for SKU ${partNumber}`);
    skuIds.set(partNumber.toLowerCase(), sku.skuId);
    return sku as SubscribedSku & { skuId: string };
  }
  async function skuIdOf(partNumber: string): Promise<string> {
    return skuIds.get(partNumber.toLowerCase()) ?? (await resolveSku(partNumber)).skuId;
  }

  const newPassword = (input: CreateUserInput) => storedPassword(passwords, input);

  async function adopt(existing: User, input: CreateUserInput): Promise<CreateUserResult> {
    if (!isMarked(existing) || !existing.id) {
      // Someone else's account: never touch it.
      throw failure(
        'upn-conflict',
        `${input.userPrincipalName} already exists and was not created by this service; it is left untouched`,
      );
    }
    if (existing.employeeId !== input.requestTag && existing.accountEnabled !== false) {
      log.info('adopting an integration account created by another request', { entraObjectId: existing.id });
      return { entraObjectId: existing.id, created: false, passwordSecretId: null };
    }
    if (existing.employeeId !== input.requestTag) {
      // Ours, disabled by a deprovisioning, which also deleted its password's secret: enabled
      // again with a fresh password, stored, as a new account would get.
      log.info('enabling an integration account that was deprovisioned', { entraObjectId: existing.id });
      const { password, secretId } = await newPassword(input);
      await call(() =>
        graph.api(`/users/${existing.id}`).patch({
          accountEnabled: true,
          passwordProfile: { password, forceChangePasswordNextSignIn: false },
        }),
      );
      return { entraObjectId: existing.id, created: false, passwordSecretId: secretId };
    }
    // Our own account from an earlier attempt whose answer was lost: its password went nowhere
    // we can read, so set a fresh one (and store it) to end up in the same state as attempt one.
    const { password, secretId } = await newPassword(input);
    await call(() =>
      graph.api(`/users/${existing.id}`).patch({ passwordProfile: { password, forceChangePasswordNextSignIn: false } }),
    );
    return { entraObjectId: existing.id, created: true, passwordSecretId: secretId };
  }

  return {
    async createEntraUser(input: CreateUserInput): Promise<CreateUserResult> {
      const { passwordExpires } = environmentOf(config, input.environment);
      const existing = await findUser(input.userPrincipalName);
      if (existing) return adopt(existing, input);
      const { password, secretId } = await newPassword(input);
      const mailNickname = input.userPrincipalName
        .split('@')[0]!
        .replace(/[^A-Za-z0-9._-]/g, '')
        .slice(0, 64);
      try {
        const user = (await graph.api('/users').post({
          accountEnabled: true,
          displayName: input.displayName,
          userPrincipalName: input.userPrincipalName,
          mailNickname: mailNickname || 'integration',
          usageLocation: input.usageLocation,
          passwordProfile: { password, forceChangePasswordNextSignIn: false },
          // An integration account whose password expires stops working: unless the environment
          // says otherwise, the tenant's expiry policy does not apply to it.
          ...(passwordExpires ? {} : { passwordPolicies: 'DisablePasswordExpiration' }),
          ...ACCOUNT_MARK,
          employeeId: input.requestTag,
        })) as User;
        return { entraObjectId: user.id!, created: true, passwordSecretId: secretId };
      } catch (err) {
        const mapped = fromGraphError(err);
        if (mapped?.type === 'upn-conflict') {
          // Created meanwhile (a lost response of this very call, or a concurrent request).
          const now = await findUser(input.userPrincipalName);
          if (now) return adopt(now, input);
          // Exists but not readable yet (directory replication): try again shortly.
          throw failure('conflict', `${input.userPrincipalName} exists but is not visible yet`, true);
        }
        throw mapped ?? err;
      }
    },

    async assignLicense(input: LicenseInput): Promise<{ assigned: boolean }> {
      // Two independent reads, side by side (this step is on every request's path to its sync).
      const [sku, user] = valuesOrLongestWait(
        await Promise.allSettled([resolveSku(input.licenseSku), findUser(input.entraObjectId)] as const),
      );
      if (!user) throw failure('not-found', `user ${input.entraObjectId} not visible yet`, true);
      if (user.assignedLicenses?.some((l) => l.skuId === sku.skuId)) return { assigned: false };
      const prepaid = sku.prepaidUnits ?? {};
      const free = (prepaid.enabled ?? 0) + (prepaid.warning ?? 0) - (sku.consumedUnits ?? 0);
      if (free <= 0) {
        throw failure('license-unavailable', `subscription ${input.licenseSku} does not have any available licenses`);
      }
      await call(() =>
        graph
          .api(`/users/${input.entraObjectId}/assignLicense`)
          .post({ addLicenses: [{ skuId: sku.skuId, disabledPlans: [] }], removeLicenses: [] }),
      );
      return { assigned: true };
    },

    async removeLicense(input: LicenseInput): Promise<{ removed: boolean }> {
      // The SKU's id is known from the assignment (or read alongside the user); it matters only
      // if the user is still there.
      const [userRead, skuRead] = await Promise.allSettled([
        findUser(input.entraObjectId),
        skuIdOf(input.licenseSku),
      ] as const);
      // Gone already (compensation after delete): nothing to remove.
      if (userRead.status === 'fulfilled' && !userRead.value) return { removed: false };
      const [user, skuId] = valuesOrLongestWait([userRead, skuRead] as const);
      if (!user) return { removed: false };
      if (!user.assignedLicenses?.some((l) => l.skuId === skuId)) return { removed: false };
      try {
        await graph
          .api(`/users/${input.entraObjectId}/assignLicense`)
          .post({ addLicenses: [], removeLicenses: [skuId] });
      } catch (err) {
        // Removed meanwhile (an earlier attempt whose answer was lost): the state we want.
        if (/does not have a corresponding license/i.test((err as Error).message)) return { removed: false };
        throw fromGraphError(err) ?? err;
      }
      return { removed: true };
    },

    /** Compensation only: deletes the account if this very request created it. */
    async deleteEntraUser(input: {
      entraObjectId: string | null;
      userPrincipalName: string;
      requestTag: string;
    }): Promise<{ deleted: boolean }> {
      // By UPN when the create call never answered (its id is unknown to the workflow).
      const user = await findUser(input.entraObjectId ?? input.userPrincipalName);
      if (!user) return { deleted: false };
      if (!isMarked(user) || user.employeeId !== input.requestTag) {
        log.info('not deleting an account this request did not create', { entraObjectId: user.id });
        return { deleted: false };
      }
      try {
        await graph.api(`/users/${user.id}`).delete();
      } catch (err) {
        if (statusOf(err) !== 404) throw fromGraphError(err) ?? err;
      }
      return { deleted: true };
    },
  };
}

export type GraphActivities = ReturnType<typeof graphActivities>;
