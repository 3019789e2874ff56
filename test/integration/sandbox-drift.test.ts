// Contract tests of what the sandbox offers to provoke the drift audit's findings: Graph's
// lastPasswordChangeDateTime (read-only, set with each password, aged through the control API),
// a systemuser disabled in Dataverse that the sync keeps disabled, and an administrator's access
// mode change through the Dataverse Web API.
import { useSandbox } from '../helpers/lifecycle';
import { DOMAIN, SandboxControlError, addUser, caught, createUser, license, password } from '../helpers/sandbox';
import { sandboxView } from '../helpers/worker';
import { createUnmanagedUser, setAccessModeInDataverse } from '../helpers/drift';

const { sandbox, control, graph } = useSandbox({ reset: { syncDelayMs: 100, licensePropagationMs: 0 } });

const read = async (id: string) =>
  (await graph.api(`/users/${id}`).select('id,lastPasswordChangeDateTime,passwordPolicies').get()) as {
    lastPasswordChangeDateTime: string | null;
    passwordPolicies: string | null;
  };

async function controlError(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  const err = await caught(promise);
  expect(err).toBeInstanceOf(SandboxControlError);
  return {
    status: err.status as number,
    message: (err.body as { error: { message: string } }).error.message,
  };
}

describe('lastPasswordChangeDateTime', () => {
  test('set when the account is created, returned on $select only, read-only in Graph', async () => {
    const before = Date.now();
    const id = await createUser(graph, `pw-created@${DOMAIN}`);
    const at = Date.parse((await read(id)).lastPasswordChangeDateTime!);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    const plain = (await graph.api(`/users/${id}`).get()) as Record<string, unknown>;
    expect('lastPasswordChangeDateTime' in plain).toBe(false);
    const err = await caught(graph.api(`/users/${id}`).patch({ lastPasswordChangeDateTime: '2020-01-01T00:00:00Z' }));
    expect(err.statusCode).toBe(400);
  });

  test('set again with a new password', async () => {
    const id = await createUser(graph, `pw-reset@${DOMAIN}`);
    await control.setPasswordChanged(id, '2026-01-01T00:00:00Z');
    await graph.api(`/users/${id}`).patch({ passwordProfile: { password: password() } });
    expect(Date.parse((await read(id)).lastPasswordChangeDateTime!)).toBeGreaterThan(Date.parse('2026-06-01'));
  });

  test('the control API ages it, by object id or UPN, and checks what it is given', async () => {
    const upn = `pw-aged@${DOMAIN}`;
    const id = await createUser(graph, upn);
    await control.setPasswordChanged(upn, '2026-03-01T10:00:00Z');
    expect((await read(id)).lastPasswordChangeDateTime).toBe('2026-03-01T10:00:00.000Z');
    expect(await controlError(control.setPasswordChanged(id, 'last tuesday'))).toEqual({
      status: 400,
      message: "'lastPasswordChangeDateTime' must be an ISO 8601 time",
    });
    expect((await controlError(control.setPasswordChanged(`nobody@${DOMAIN}`, '2026-03-01T10:00:00Z'))).status).toBe(
      404,
    );
  });
});

describe('a systemuser disabled in Dataverse', () => {
  test('stays disabled through the sync until enabled again, then follows its account', async () => {
    const { systemUserId, entraObjectId } = await createUnmanagedUser(
      { sandbox, graph, control },
      'contoso-prod',
      `su-off@${DOMAIN}`,
    );
    await control.patchSystemUser('contoso-prod', systemUserId, { isdisabled: true });
    await new Promise((r) => setTimeout(r, 300)); // past the sync delay
    const su = () => control.state().then((s) => sandboxView(s).systemUser('contoso-prod', entraObjectId)!);
    expect(await su()).toMatchObject({ isdisabled: true, accessmode: 4 });
    await control.patchSystemUser('contoso-prod', systemUserId, { isdisabled: false });
    expect(await su()).toMatchObject({ isdisabled: false });
    // Its account disabled: the sync disables it again, as Dataverse does.
    await graph.api(`/users/${entraObjectId}`).patch({ accountEnabled: false });
    await new Promise((r) => setTimeout(r, 300));
    expect(await su()).toMatchObject({ isdisabled: true });
  });

  test('the control API sets any access mode and checks what it is given', async () => {
    const id = await createUser(graph, `su-mode@${DOMAIN}`);
    await license(graph, id);
    await addUser(sandbox, 'contoso-test', id);
    const su = sandboxView(await control.state()).systemUser('contoso-test', id)!;
    await control.patchSystemUser('contoso-test', su.systemuserid, { accessmode: 1 });
    expect(sandboxView(await control.state()).systemUser('contoso-test', id)!.accessmode).toBe(1);
    expect(await controlError(control.patchSystemUser('contoso-test', su.systemuserid, { accessmode: 9 }))).toEqual({
      status: 400,
      message: "'accessmode' must be a whole number from 0 to 5",
    });
    const unknown = await controlError(
      control.patchSystemUser('contoso-test', su.systemuserid, { fullname: 'x' } as never),
    );
    expect(unknown).toEqual({ status: 400, message: "'fullname' is not a setting of a systemuser" });
    expect(
      (await controlError(control.patchSystemUser('contoso-test', '00000000-0000-0000-0000-000000000000', {}))).status,
    ).toBe(404);
  });
});

test("an administrator's access mode change through the Web API: the mode-4 user made by hand, reverted", async () => {
  const { systemUserId, entraObjectId } = await createUnmanagedUser(
    { sandbox, graph, control },
    'contoso-test',
    `by-hand@${DOMAIN}`,
    {
      keepLicense: false,
    },
  );
  const view = sandboxView(await control.state());
  expect(view.systemUser('contoso-test', entraObjectId)).toMatchObject({ accessmode: 4, isdisabled: false });
  expect(view.user(`by-hand@${DOMAIN}`)).toMatchObject({ assignedLicenses: [] });
  expect(view.user(`by-hand@${DOMAIN}`)!.employeeType).toBeUndefined();
  await setAccessModeInDataverse(sandbox, 'contoso-test', systemUserId, 0);
  expect(sandboxView(await control.state()).systemUser('contoso-test', entraObjectId)!.accessmode).toBe(0);
});
