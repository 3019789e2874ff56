// Payload encryption for everything the service stores in Temporal: workflow inputs and results,
// activity arguments and results, query answers, summaries, and failure messages and stack
// traces (the failure converter in ./failure-converter.ts moves those into a payload, which this
// codec then encrypts). AES-256-GCM, a fresh 96-bit nonce per payload, the key id in the
// payload's metadata and bound to the ciphertext as additional data, so a payload cannot be
// re-labelled with another key id. Every configured key decrypts; only the current one encrypts,
// which is how keys rotate: add the new key, make it current, keep the old one until no open
// history needs it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecConfig, Config } from '../config';

export const ENCODING = 'binary/encrypted';
export const METADATA_ENCODING = 'encoding';
export const METADATA_KEY_ID = 'encryption-key-id';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: Pick<CodecConfig, 'keys' | 'currentKeyId'>) {
    if (!keys.keys.has(keys.currentKeyId)) throw new CodecError('the current key id has no key');
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload): Payload {
    const keyId = this.keys.currentKeyId;
    const key = this.keys.keys.get(keyId)!;
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(keyId, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return {
      metadata: {
        [METADATA_ENCODING]: encoder.encode(ENCODING),
        [METADATA_KEY_ID]: encoder.encode(keyId),
      },
      data: Buffer.concat([nonce, body, cipher.getAuthTag()]),
    };
  }

  private decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING];
    // Payloads written before encryption was switched on (or by a client without the codec)
    // pass through unchanged, so enabling the codec never strands open workflows.
    if (!encoding || decoder.decode(encoding) !== ENCODING) return payload;
    const rawKeyId = payload.metadata?.[METADATA_KEY_ID];
    const keyId = rawKeyId ? decoder.decode(rawKeyId) : '';
    const key = this.keys.keys.get(keyId);
    if (!key) throw new CodecError(`payload encrypted with unknown key id "${keyId.slice(0, 64)}"`);
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES) throw new CodecError('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodecError('encrypted payload failed authentication (wrong key or tampered)');
    }
    const inner = temporal.api.common.v1.Payload.decode(plain);
    return { metadata: inner.metadata ?? {}, data: inner.data ?? new Uint8Array() };
  }
}

/** Whether a payload carries this codec's encoding (tests read raw histories with this). */
export function isEncrypted(payload: Payload | null | undefined): boolean {
  const encoding = payload?.metadata?.[METADATA_ENCODING];
  return !!encoding && decoder.decode(encoding) === ENCODING;
}

/** The failure converter module: loaded by path, because the workflow bundle needs it too. */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The data converter every Temporal client and the worker use: failure messages always go into
 * an (encodable) payload, and payloads are encrypted when CODEC_KEYS is configured.
 */
export function createDataConverter(config: Pick<Config, 'codec'>): DataConverter {
  return {
    failureConverterPath: FAILURE_CONVERTER_PATH,
    payloadCodecs: config.codec ? [new AesGcmCodec(config.codec)] : [],
  };
}
