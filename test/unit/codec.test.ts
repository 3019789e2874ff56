// The payload codec (worker/codec.ts) and its configuration: AES-256-GCM round trip, key
// rotation, refusal of tampered or re-labelled payloads, pass-through of plain payloads, and
// the validation of CODEC_KEYS / CODEC_CURRENT_KEY_ID / CODEC_TRUSTED_ORIGINS.
import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, CodecError, ENCODING, isEncrypted, METADATA_KEY_ID } from '../../worker/codec';
import { ConfigError, loadConfig, parseCodec } from '../../config';

const key = () => randomBytes(32).toString('base64');
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

describe('AesGcmCodec', () => {
  const config = parseCodec({ CODEC_KEYS: `new=${key()},old=${key()}` })!;
  const codec = new AesGcmCodec(config);
  const plain = defaultPayloadConverter.toPayload({ displayName: 'Zoë Integration', password: 'S3cret!' });

  test('round trip; the ciphertext holds no clear text; the key id is in the metadata', async () => {
    const [encrypted] = await codec.encode([plain]);
    expect(isEncrypted(encrypted)).toBe(true);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCODING);
    expect(text(encrypted!.metadata![METADATA_KEY_ID])).toBe('new');
    expect(text(encrypted!.data)).not.toMatch(/Zo|S3cret|json/);
    const [decrypted] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decrypted!)).toEqual({
      displayName: 'Zoë Integration',
      password: 'S3cret!',
    });
    expect(text(decrypted!.metadata!.encoding)).toBe('json/plain');
  });

  test('two encodings of the same payload differ (fresh nonce)', async () => {
    const [a, b] = await codec.encode([plain, plain]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  test('rotation: payloads under an older key still decrypt; new ones use the current key', async () => {
    const before = new AesGcmCodec({ keys: config.keys, currentKeyId: 'old' });
    const [old] = await before.encode([plain]);
    expect(text(old!.metadata![METADATA_KEY_ID])).toBe('old');
    const [decrypted] = await codec.decode([old!]);
    expect(defaultPayloadConverter.fromPayload(decrypted!)).toMatchObject({ password: 'S3cret!' });
    // Once the old key is retired, its payloads are refused with a clear error, not garbage.
    const retired = new AesGcmCodec({ keys: new Map([['new', config.keys.get('new')!]]), currentKeyId: 'new' });
    await expect(retired.decode([old!])).rejects.toThrow(/unknown key id "old"/);
  });

  test('a flipped bit, a truncated payload or a re-labelled key id fail authentication', async () => {
    const [encrypted] = await codec.encode([plain]);
    const flipped = Buffer.from(encrypted!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...encrypted!, data: flipped }])).rejects.toThrow(CodecError);
    await expect(codec.decode([{ ...encrypted!, data: flipped.subarray(0, 10) }])).rejects.toThrow(/truncated/);
    // Same bytes, other key id (both keys known): the key id is bound as additional data.
    const relabelled: Payload = {
      ...encrypted!,
      metadata: { ...encrypted!.metadata, [METADATA_KEY_ID]: Buffer.from('old') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });

  test('plain payloads (written before encryption was on) pass through decode unchanged', async () => {
    const [out] = await codec.decode([plain]);
    expect(out).toBe(plain);
  });
});

describe('codec configuration', () => {
  test('unset: no codec', () => {
    expect(loadConfig({ NIU_SANDBOX: 'true' }).codec).toBeNull();
  });

  test('keys by id, the first is current unless CODEC_CURRENT_KEY_ID says otherwise', () => {
    const a = key();
    const b = key();
    const c = loadConfig({ NIU_SANDBOX: 'true', CODEC_KEYS: `k1=${a}, k2=${b}` }).codec!;
    expect([...c.keys.keys()]).toEqual(['k1', 'k2']);
    expect(c.currentKeyId).toBe('k1');
    expect(c.keys.get('k2')!.toString('base64')).toBe(b);
    expect(parseCodec({ CODEC_KEYS: `k1=${a},k2=${b}`, CODEC_CURRENT_KEY_ID: 'k2' })!.currentKeyId).toBe('k2');
  });

  test.each([
    [{ CODEC_KEYS: 'k1=c2hvcnQ=' }, 'CODEC_KEYS', /32 bytes/],
    [{ CODEC_KEYS: `k1=${key()},k1=${key()}` }, 'CODEC_KEYS', /repeats/],
    [{ CODEC_KEYS: `no-equals-sign` }, 'CODEC_KEYS', /entry 1/],
    [{ CODEC_KEYS: `bad id=${key()}` }, 'CODEC_KEYS', /entry 1/],
    [{ CODEC_KEYS: `k1=${key()}`, CODEC_CURRENT_KEY_ID: 'k9' }, 'CODEC_CURRENT_KEY_ID', /not in CODEC_KEYS/],
    [{ CODEC_CURRENT_KEY_ID: 'k1' }, 'CODEC_CURRENT_KEY_ID', /CODEC_KEYS is not/],
    [
      { CODEC_KEYS: `k1=${key()}`, CODEC_TRUSTED_ORIGINS: 'https://ui.example.com' },
      'CODEC_TRUSTED_ORIGINS',
      /loopback/,
    ],
    [
      { CODEC_KEYS: `k1=${key()}`, CODEC_TRUSTED_ORIGINS: 'http://127.0.0.1:8233/path' },
      'CODEC_TRUSTED_ORIGINS',
      /origin/,
    ],
  ])('refuses %j naming %s', (env, variable, message) => {
    let error: unknown;
    try {
      parseCodec(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toMatch(message);
  });

  test('errors never echo key material', () => {
    const secret = 'c2VjcmV0LWtleS1tYXRlcmlhbA==';
    expect(() => parseCodec({ CODEC_KEYS: `k1=${secret}` })).toThrow(ConfigError);
    try {
      parseCodec({ CODEC_KEYS: `k1=${secret}` });
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });

  test('loopback origins are accepted as trusted', () => {
    const c = parseCodec({
      CODEC_KEYS: `k1=${key()}`,
      CODEC_TRUSTED_ORIGINS: 'http://127.0.0.1:8233,http://localhost:8233',
    })!;
    expect(c.trustedOrigins).toEqual(['http://127.0.0.1:8233', 'http://localhost:8233']);
  });
});
