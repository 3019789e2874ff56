// Environment settings (Dataverse URL, Power Platform id, limit override) are looked up here, by
// name, inside the activities: the workflow input carries only the environment's name, so a
// changed URL takes effect on the next attempt and nothing environment-specific sits in history.
import type { Config, EnvironmentConfig } from '../config';
import { failure } from './errors';

export function environmentOf(config: Config, name: string): EnvironmentConfig {
  const env = config.environments.find((e) => e.name === name);
  if (!env) throw failure('unknown-environment', `environment "${name}" is not configured on this worker`);
  return env;
}
