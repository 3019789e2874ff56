// The control API's changes to single users, for what Microsoft's own APIs do not let a client
// do (tests provoke the drift audit's findings with them; everything else goes through Graph and
// Dataverse as a client would):
//   PATCH /_sandbox/users/{id|upn}                          {"lastPasswordChangeDateTime": "<ISO time>"}
//   PATCH /_sandbox/environments/{env}/systemusers/{id}     {"isdisabled": true|false, "accessmode": 0..5}
// The password's age is read-only in Graph; a synchronised user is disabled in Dataverse by an
// administrator, not through the Web API; and an administrator may set any access mode, past the
// limit included, as the platform's own admin tools allow.
import { HttpError, empty, isObject, json } from './http';
import { ACCESS_MODE, touch } from './store';
import type { Store } from './store';

function bad(message: string): HttpError {
  return new HttpError(json(400, { error: { code: 'BadRequest', message } }));
}

function notFound(message: string): HttpError {
  return new HttpError(json(404, { error: { code: 'NotFound', message } }));
}

function only(body: Record<string, unknown>, keys: string[], what: string): void {
  for (const key of Object.keys(body)) if (!keys.includes(key)) throw bad(`'${key}' is not a setting of ${what}`);
}

/** Handles the route when it is one of these; undefined otherwise. */
export function handleUserControl(
  store: Store,
  method: string,
  name: string,
  body: unknown,
  now: number,
): ReturnType<typeof empty> | undefined {
  const user = /^users\/([^/]+)$/.exec(name);
  const systemUser = /^environments\/([^/]+)\/systemusers\/([^/]+)$/.exec(name);
  if (method !== 'PATCH' || (!user && !systemUser)) return undefined;
  if (!isObject(body)) throw bad('the body must be a JSON object');
  if (user) {
    const u = store.findUser(decodeURIComponent(user[1]!));
    if (!u) throw notFound(`no user '${user[1]}'`);
    only(body, ['lastPasswordChangeDateTime'], 'a user');
    const at = body.lastPasswordChangeDateTime;
    if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) {
      throw bad("'lastPasswordChangeDateTime' must be an ISO 8601 time");
    }
    u.user.lastPasswordChangeDateTime = new Date(at).toISOString();
    store.changed();
    return empty(204);
  }
  const env = store.environment(decodeURIComponent(systemUser![1]!));
  if (!env) throw notFound(`no environment '${systemUser![1]}'`);
  const su = env.systemUsers.find((s) => s.systemuserid === systemUser![2]!.toLowerCase());
  if (!su) throw notFound(`no systemuser '${systemUser![2]}' in ${env.name}`);
  only(body, ['isdisabled', 'accessmode'], 'a systemuser');
  if ('isdisabled' in body && typeof body.isdisabled !== 'boolean') throw bad("'isdisabled' must be true or false");
  const mode = body.accessmode;
  if (mode !== undefined && (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 5)) {
    throw bad("'accessmode' must be a whole number from 0 to 5");
  }
  if (typeof body.isdisabled === 'boolean') {
    su.disabledInDataverse = body.isdisabled;
    su.isdisabled = body.isdisabled;
  }
  if (typeof mode === 'number') {
    su.accessmode = mode;
    if (mode === ACCESS_MODE.nonInteractive) su.accessModeSetAt = now;
  }
  touch(su, now);
  // An enabled user is re-read from Entra ID at once (it may still be disabled there).
  const u = store.data.users.find((x) => x.user.id === su.azureactivedirectoryobjectid);
  if (u) store.syncUser(env, u, now);
  store.changed();
  return empty(204);
}
