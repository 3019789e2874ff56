// The payload codec's configuration (worker/codec.ts) from CODEC_KEYS, CODEC_CURRENT_KEY_ID and
// CODEC_TRUSTED_ORIGINS. The keys are secrets: no message ever shows key material, only a key's
// id or its position in the list.
import { readVariables, type Env, type Values } from './declare';
import { ConfigError } from './errors';
import { VARIABLES } from './variables';

export interface CodecConfig {
  /** AES-256 keys by id; every one decrypts (rotation), only `currentKeyId` encrypts. */
  keys: Map<string, Buffer>;
  currentKeyId: string;
  /**
   * Browser origins whose codec calls are trusted without a token when they come from a
   * loopback address: the dev stack's own Temporal UI. Loopback origins only (validated).
   */
  trustedOrigins: string[];
}

const CODEC_VARIABLES = {
  CODEC_KEYS: VARIABLES.CODEC_KEYS,
  CODEC_CURRENT_KEY_ID: VARIABLES.CODEC_CURRENT_KEY_ID,
  CODEC_TRUSTED_ORIGINS: VARIABLES.CODEC_TRUSTED_ORIGINS,
};
type CodecValues = Values<typeof CODEC_VARIABLES>;

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The codec configuration from the environment; null: payloads are stored in clear. */
export function parseCodec(env: Env): CodecConfig | null {
  return codecConfig(readVariables(CODEC_VARIABLES, env));
}

/**
 * CODEC_KEYS holds `id=base64` pairs, each key 32 bytes (AES-256), e.g.
 * `2026-11=q0S...=,2026-05=Zt1...=`; CODEC_CURRENT_KEY_ID picks the encrypting key (default:
 * the first listed).
 */
export function codecConfig(values: CodecValues): CodecConfig | null {
  const { CODEC_KEYS: entries, CODEC_CURRENT_KEY_ID: current } = values;
  const trustedOrigins = values.CODEC_TRUSTED_ORIGINS ?? [];
  if (entries === null) {
    if (current !== null) throw new ConfigError('CODEC_CURRENT_KEY_ID', 'is set but CODEC_KEYS is not');
    if (trustedOrigins.length) throw new ConfigError('CODEC_TRUSTED_ORIGINS', 'is set but CODEC_KEYS is not');
    return null;
  }
  const keys = new Map<string, Buffer>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq) : '';
    const b64 = entry.slice(eq + 1);
    if (!KEY_ID.test(id)) {
      throw new ConfigError(
        'CODEC_KEYS',
        `entry ${keys.size + 1} must be "<id>=<base64 key>" with an id of letters, digits, ".", "_" or "-"`,
      );
    }
    if (keys.has(id)) throw new ConfigError('CODEC_KEYS', `repeats the key id "${id}"`);
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) {
      throw new ConfigError('CODEC_KEYS', `key "${id}" must be 32 bytes in base64 (openssl rand -base64 32)`);
    }
    keys.set(id, key);
  }
  if (keys.size === 0) throw new ConfigError('CODEC_KEYS', 'holds no key');
  const currentKeyId = current ?? [...keys.keys()][0]!;
  if (!keys.has(currentKeyId)) {
    throw new ConfigError('CODEC_CURRENT_KEY_ID', `names "${currentKeyId}", which is not in CODEC_KEYS`);
  }
  return { keys, currentKeyId, trustedOrigins };
}
