// What fastify-plugin does, for this app's own plugins (fastify-plugin comes with the @fastify
// packages but is no dependency of this project): a plugin marked so is registered without a
// context of its own, so its hooks, decorators and the plugins it registers apply to every route
// of the app, also those registered after it. `dependencies` names plugins that must be
// registered before it; Fastify checks them when it loads the plugin.
import type { FastifyPluginAsync } from 'fastify';

export function appWide<Options extends object>(
  name: string,
  plugin: FastifyPluginAsync<Options>,
  dependencies: string[] = [],
): FastifyPluginAsync<Options> {
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: name,
    [Symbol.for('plugin-meta')]: { name, dependencies },
  });
}
