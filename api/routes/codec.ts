// The codec endpoints of the Temporal UI's "remote codec" protocol: POST /codec/decode and
// /codec/encode with `{payloads: [{metadata: {name: base64}, data: base64}]}` (proto3 JSON of
// temporal.api.common.v1.Payloads), answered in the same shape. The UI calls them from the
// operator's browser, so they are the only routes with CORS (api/plugins/security.ts), for the
// configured UI origins only. Authentication: a bearer token (the UI forwards its own sign-in's
// access token), Read role to decode, ReadWrite to encode. The one exception is CODEC_TRUSTED_ORIGINS, loopback
// UI origins (the dev stack's own UI, which has no sign-in) trusted when the call also comes
// from a loopback address: nobody off the machine can use that door.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { Payload } from '@temporalio/common';
import { authenticate, type Access, type TokenVerifier } from '../auth';
import { HttpProblem } from '../problem';
import { AUTH_ERRORS, responses } from '../schemas';
import { AesGcmCodec, CodecError } from '../../worker/codec';
import type { CodecConfig } from '../../config';

/** Canonical base64 (padded), as proto3 JSON writes bytes: nothing is dropped when decoding. */
const BASE64 = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
/** Temporal's own limit for one payload is 2 MB; base64 makes that about 2.7 MB of text. */
export const CODEC_BODY_LIMIT = 4 * 1024 * 1024;

const JsonPayload = Type.Object(
  {
    // additionalProperties rather than Type.Record: a Record's `^.*$` key pattern does not match
    // keys with a line break, whose values then escaped validation (found by the fuzzer).
    metadata: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: Type.String({ pattern: BASE64, maxLength: 4096 }),
          propertyNames: { maxLength: 256 },
          maxProperties: 32,
        },
      ),
    ),
    data: Type.Optional(Type.String({ pattern: BASE64, maxLength: 3 * 1024 * 1024 })),
  },
  { additionalProperties: false },
);
const Payloads = Type.Object(
  { payloads: Type.Array(JsonPayload, { maxItems: 1000 }) },
  { additionalProperties: false, description: 'temporal.api.common.v1.Payloads in proto3 JSON (bytes as base64).' },
);
type JsonPayloadT = Type.Static<typeof JsonPayload>;

const fromJson = (p: JsonPayloadT): Payload => ({
  metadata: Object.fromEntries(
    Object.entries((p.metadata ?? {}) as Record<string, unknown>).map(([k, v]) => {
      // The schema has checked this; a second look costs nothing and keeps a bad value a 400.
      if (typeof v !== 'string')
        throw new HttpProblem(400, 'invalid-request', 'Payload metadata values are base64 strings.');
      return [k, Buffer.from(v, 'base64')];
    }),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): { metadata: Record<string, string>; data: string } => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const LOOPBACK_ADDRESS = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export const codecRoutes: FastifyPluginAsyncTypebox<{ codec: CodecConfig; verifier: TokenVerifier }> = async (
  app,
  { codec: config, verifier },
) => {
  const codec = new AesGcmCodec(config);
  const trusted = (request: FastifyRequest): boolean => {
    const origin = request.headers.origin;
    return (
      typeof origin === 'string' &&
      config.trustedOrigins.includes(origin) &&
      LOOPBACK_ADDRESS.test(request.socket.remoteAddress ?? '')
    );
  };
  // Encapsulated in this plugin: runs for the two codec routes only (not for CORS preflights).
  app.addHook('onRequest', async (request) => {
    if (trusted(request)) return;
    await authenticate(verifier, request, request.routeOptions.config.codecAccess ?? 'write');
  });

  const route = (name: 'encode' | 'decode', access: Access, description: string) =>
    app.post(
      `/codec/${name}`,
      {
        bodyLimit: CODEC_BODY_LIMIT,
        config: { codecAccess: access },
        schema: {
          operationId: `codec${name[0]!.toUpperCase()}${name.slice(1)}`,
          summary: `${name === 'encode' ? 'Encrypt' : 'Decrypt'} Temporal payloads (Temporal UI codec endpoint)`,
          description,
          tags: ['codec'],
          security: [{ bearerAuth: [] }],
          body: Payloads,
          response: responses({ 200: { description: 'The payloads, in order.', schema: Payloads } }, [
            400,
            413,
            415,
            ...AUTH_ERRORS,
          ]),
        },
      },
      async (request) => {
        try {
          const input = request.body.payloads.map(fromJson);
          const output = name === 'encode' ? await codec.encode(input) : await codec.decode(input);
          return { payloads: output.map(toJson) };
        } catch (err) {
          if (err instanceof CodecError) throw new HttpProblem(400, 'codec-error', err.message);
          throw err;
        }
      },
    );

  route(
    'decode',
    'read',
    'Decrypts payloads written by the service (AES-256-GCM, key id in the metadata); other payloads come back unchanged. ' +
      'Needs NonInteractiveUsers.Read or ReadWrite.',
  );
  route('encode', 'write', 'Encrypts payloads with the current key. Needs NonInteractiveUsers.ReadWrite.');
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Role a codec route needs when the caller is not a trusted loopback UI. */
    codecAccess?: Access;
  }
}
