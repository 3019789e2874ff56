// The sandbox's state and the platform behaviour that is not a direct answer to one request:
// the Entra ID -> Dataverse synchronisation. It runs lazily (before each request and each
// state read) from timestamps kept on the users, rather than on timers, so it is exact,
// needs no cleanup, and survives a restart when the state is persisted.
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { seedData } from './seed';
import type { Environment, SandboxData, Sku, StoredUser, SystemUser } from './types';

export const ACCESS_MODE = {
  readWrite: 0,
  administrative: 1,
  read: 2,
  supportUser: 3,
  nonInteractive: 4,
  delegatedAdmin: 5,
} as const;

export class Store {
  data: SandboxData;
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    data: SandboxData,
    private readonly stateFile: string | undefined,
  ) {
    this.data = data;
  }

  /** Loads `stateFile` when given and readable, else starts from the seed. */
  static async open(stateFile?: string): Promise<Store> {
    if (stateFile) {
      try {
        const data = JSON.parse(await readFile(stateFile, 'utf8')) as SandboxData;
        if (data.version === 1 && Array.isArray(data.environments)) return new Store(data, stateFile);
      } catch {
        // Missing or unreadable: seed.
      }
    }
    return new Store(seedData(), stateFile);
  }

  reset(): void {
    this.data = seedData();
    this.changed();
  }

  /** Schedules a save of the state (when persistence is on). */
  changed(): void {
    if (!this.stateFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.save();
    }, 50);
  }

  private save(): Promise<void> {
    const file = this.stateFile;
    if (!file) return Promise.resolve();
    const text = JSON.stringify(this.data);
    this.saving = this.saving.then(async () => {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, file);
    });
    return this.saving;
  }

  async flush(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
      await this.save();
    }
    await this.saving;
  }

  // ---- lookups ----

  liveUsers(): StoredUser[] {
    return this.data.users.filter((u) => u.deletedAt === null);
  }

  /** A live user by object id or UPN (case-insensitive). */
  findUser(idOrUpn: string): StoredUser | undefined {
    const key = idOrUpn.toLowerCase();
    return this.liveUsers().find((u) => u.user.id === key || u.user.userPrincipalName.toLowerCase() === key);
  }

  sku(skuId: string): Sku | undefined {
    return this.data.skus.find((s) => s.skuId === skuId.toLowerCase());
  }

  consumedUnits(skuId: string): number {
    return this.liveUsers().filter((u) => (u.user.assignedLicenses ?? []).some((l) => l.skuId === skuId)).length;
  }

  environment(name: string): Environment | undefined {
    return this.data.environments.find((e) => e.name === name.toLowerCase());
  }

  /**
   * Whether the environment takes the user at `now`: it has no security group, or the user is a
   * member, and has been for `groupPropagationMs` (a new membership takes a while to reach the
   * platform: until then addUser and the sync see the user outside the group).
   */
  inSecurityGroup(env: Environment, u: StoredUser, now: number): boolean {
    if (!env.securityGroupId) return true;
    const group = this.data.groups.find((g) => g.id === env.securityGroupId);
    if (!group?.members.includes(u.user.id)) return false;
    return now >= (group.joinedAt?.[u.user.id] ?? -Infinity) + this.data.settings.groupPropagationMs;
  }

  /** Enabled, non-application users in mode 4: what counts toward the limit. */
  nonInteractiveCount(env: Environment): number {
    return env.systemUsers.filter(
      (s) => s.applicationid === null && s.accessmode === ACCESS_MODE.nonInteractive && !s.isdisabled,
    ).length;
  }

  // ---- behaviour ----

  private dataverseLicensed(u: StoredUser): boolean {
    return (
      u.deletedAt === null && (u.user.assignedLicenses ?? []).some((l) => this.sku(l.skuId ?? '')?.grantsDataverse)
    );
  }

  /** Licenses became effective (for `addUser`): the earliest Dataverse-granting assignment time. */
  licensedSince(u: StoredUser): number | null {
    const times = (u.user.assignedLicenses ?? [])
      .filter((l) => this.sku(l.skuId ?? '')?.grantsDataverse)
      .map((l) => u.licensedAt[l.skuId ?? ''] ?? 0);
    return times.length ? Math.min(...times) : null;
  }

  /** Applies every synchronisation that is due at `now`. Returns whether anything changed. */
  sync(now: number): boolean {
    let changed = false;
    const delay = this.data.settings.syncDelayMs;
    for (const env of this.data.environments) {
      for (const u of this.data.users) {
        const forced = u.forcedSyncAt[env.name] ?? -Infinity;
        const due = now >= u.changedAt + delay || forced >= u.changedAt;
        if (!due) continue;
        if (this.syncUser(env, u, now)) changed = true;
      }
    }
    if (changed) this.changed();
    return changed;
  }

  /** Brings one user's systemuser in one environment in line with Entra ID. */
  syncUser(env: Environment, u: StoredUser, now: number): boolean {
    const licensed = this.dataverseLicensed(u);
    const existing = env.systemUsers.find((s) => s.azureactivedirectoryobjectid === u.user.id);
    const stamp = new Date(now).toISOString();
    // An environment restricted to a security group adds only its members, and disables a user
    // that leaves the group (or that was there before the group was set).
    const member = this.inSecurityGroup(env, u, now);
    if (!existing) {
      if (!licensed || u.user.accountEnabled === false || !member) return false;
      const root = env.businessUnits.find((b) => b._parentbusinessunitid_value === null)!;
      env.systemUsers.push({
        systemuserid: randomUUID(),
        azureactivedirectoryobjectid: u.user.id,
        applicationid: null,
        domainname: u.user.userPrincipalName,
        fullname: u.user.displayName ?? u.user.userPrincipalName,
        internalemailaddress: u.user.mail ?? null,
        accessmode: ACCESS_MODE.readWrite,
        isdisabled: false,
        islicensed: true,
        _businessunitid_value: root.businessunitid,
        createdon: stamp,
        modifiedon: stamp,
        versionnumber: 1,
        roles: [],
        accessModeSetAt: null,
        revertedOnce: false,
      });
      return true;
    }
    if (existing.applicationid !== null) return false;
    // A non-interactive user needs no license; any other unlicensed user is disabled.
    const disabled =
      existing.disabledInDataverse === true ||
      u.deletedAt !== null ||
      u.user.accountEnabled === false ||
      !member ||
      (!licensed && existing.accessmode !== ACCESS_MODE.nonInteractive);
    const fullname = u.user.displayName ?? existing.fullname;
    if (
      existing.isdisabled === disabled &&
      existing.islicensed === licensed &&
      existing.fullname === fullname &&
      existing.domainname === u.user.userPrincipalName
    ) {
      return false;
    }
    existing.isdisabled = disabled;
    existing.islicensed = licensed;
    existing.fullname = fullname;
    existing.domainname = u.user.userPrincipalName;
    touch(existing, now);
    return true;
  }

  /** The reported platform behaviour: removing the license soon after mode 4 resets it, once. */
  applyRevertWindow(u: StoredUser, now: number): void {
    const window = this.data.settings.revertWindowMs;
    if (window <= 0) return;
    for (const env of this.data.environments) {
      const su = env.systemUsers.find((s) => s.azureactivedirectoryobjectid === u.user.id);
      if (
        su &&
        su.applicationid === null &&
        su.accessmode === ACCESS_MODE.nonInteractive &&
        su.accessModeSetAt !== null &&
        now - su.accessModeSetAt < window &&
        !su.revertedOnce
      ) {
        su.accessmode = ACCESS_MODE.administrative;
        su.revertedOnce = true;
        touch(su, now);
      }
    }
  }
}

export function touch(su: SystemUser, now: number): void {
  su.versionnumber += 1;
  su.modifiedon = new Date(now).toISOString();
}
