// TypeBox schemas of the REST contract (docs/api.md). They validate requests
// (unknown fields rejected), shape the OpenAPI document and type the handlers.
import { Type, type Static, type TSchema } from 'typebox';
import { STEP_NAMES } from '../workflows/types';

const CONTROL_FREE = '^[^\\x00-\\x1F\\x7F]+$';

// Entra ID's UPN rules: local part up to 64 of A-Z a-z 0-9 ' . - _ ! # ^ ~, no leading,
// trailing or doubled dot; a DNS domain name with at least two labels.
export const UPN_PATTERN =
  "^(?!\\.)(?!.*\\.\\.)[A-Za-z0-9'._!#^~-]{1,64}(?<!\\.)@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";
export const ENVIRONMENT_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

const EnvironmentName = Type.String({
  pattern: ENVIRONMENT_PATTERN,
  description: 'Environment alias as configured (see GET /v1/environments).',
  examples: ['contoso-prod'],
});
export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-27T12:00:00.000Z'] });
const StepName = Type.Union(
  STEP_NAMES.map((n) => Type.Literal(n)),
  { description: 'The eight step names of the recipe, in the order they run.' },
);
export const RequestStatus = Type.Union(
  [Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')],
  { description: 'Overall state of the request.' },
);
export const ErrorInfo = Type.Object({
  type: Type.String({ examples: ['capacity-exhausted'] }),
  message: Type.String(),
});

export const CreateRequest = Type.Object(
  {
    environment: EnvironmentName,
    userPrincipalName: Type.String({
      pattern: UPN_PATTERN,
      maxLength: 113,
      description: "User principal name; its domain must be one of the environment's allowed domains.",
      examples: ['svc-erp@contoso.onmicrosoft.com'],
    }),
    displayName: Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: '^(?=.*\\S)[^\\x00-\\x1F\\x7F]+$',
      examples: ['ERP integration'],
    }),
    usageLocation: Type.Optional(
      Type.String({
        pattern: '^[A-Z]{2}$',
        description: "ISO 3166-1 alpha-2 country code; default: the environment's.",
        examples: ['US'],
      }),
    ),
    licenseSku: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_]{1,64}$',
        description:
          "SKU part number of the Dynamics license assigned during provisioning; default: the environment's.",
        examples: ['DYN365_ENTERPRISE_PLAN1'],
      }),
    ),
    securityRoles: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100, pattern: CONTROL_FREE }), {
        maxItems: 20,
        uniqueItems: true,
        description: "Dataverse security role names; default: the environment's default roles.",
        examples: [['Basic User']],
      }),
    ),
    businessUnit: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 160,
        pattern: CONTROL_FREE,
        description: "Business unit name; default: the environment's (or the root business unit).",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        environment: 'contoso-prod',
        userPrincipalName: 'svc-erp@contoso.onmicrosoft.com',
        displayName: 'ERP integration',
      },
    ],
  },
);
export type CreateRequest = Static<typeof CreateRequest>;

export const Links = Type.Object({
  self: Type.String({ format: 'uri' }),
  cancel: Type.Optional(Type.String({ format: 'uri' })),
});

export const Accepted = Type.Object({
  id: Type.String({ examples: ['niu:contoso-prod:svc-erp@contoso.onmicrosoft.com'] }),
  status: Type.String({ examples: ['running'] }),
  links: Links,
});

export const IdParams = Type.Object({
  id: Type.String({
    minLength: 1,
    maxLength: 300,
    description: 'Request id, percent-encoded (it contains ":" and "@").',
    examples: ['niu%3Acontoso-prod%3Asvc-erp%40contoso.onmicrosoft.com'],
  }),
});

/** One step of a status document, named as its workflow names them. */
export const stepSchema = (name: TSchema) =>
  Type.Object({
    name,
    status: Type.Union([
      Type.Literal('pending'),
      Type.Literal('running'),
      Type.Literal('waiting'),
      Type.Literal('completed'),
      Type.Literal('failed'),
      Type.Literal('skipped'),
      Type.Literal('compensated'),
    ]),
    attempts: Type.Integer({ minimum: 0 }),
    startedAt: Type.Union([Timestamp, Type.Null()]),
    completedAt: Type.Union([Timestamp, Type.Null()]),
    error: Type.Union([ErrorInfo, Type.Null()]),
    detail: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  });
const Step = stepSchema(StepName);

export const StatusDocument = Type.Object(
  {
    id: Type.String(),
    environment: Type.String(),
    userPrincipalName: Type.String(),
    status: RequestStatus,
    currentStep: Type.Union([StepName, Type.Null()]),
    steps: Type.Array(Step, { minItems: STEP_NAMES.length, maxItems: STEP_NAMES.length }),
    result: Type.Union([
      Type.Object({
        entraObjectId: Type.String(),
        systemUserId: Type.String(),
        accessMode: Type.Literal('non-interactive'),
        passwordSecretId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      }),
      Type.Null(),
    ]),
    error: Type.Union([ErrorInfo, Type.Null()]),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    links: Type.Optional(Links),
  },
  { description: 'Status document; `steps` lists the eight steps in order.' },
);

export const ListQuery = Type.Object(
  {
    environment: Type.Optional(EnvironmentName),
    status: Type.Optional(RequestStatus),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    pageToken: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 4096, description: 'nextPageToken of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ListItem = Type.Object({
  id: Type.String(),
  environment: Type.String(),
  userPrincipalName: Type.String(),
  status: RequestStatus,
  currentStep: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  closedAt: Type.Union([Timestamp, Type.Null()]),
  links: Links,
});
export type ListItem = Static<typeof ListItem>;

export const ListPage = Type.Object({
  items: Type.Array(ListItem),
  nextPageToken: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page.' }),
});

export const CancelAccepted = Type.Object({
  id: Type.String(),
  status: Type.Literal('cancel-requested'),
  links: Links,
});

export const Environment = Type.Object({
  name: Type.String({ examples: ['contoso-prod'] }),
  dataverseUrl: Type.String(),
  powerPlatformEnvironmentId: Type.Union([Type.String(), Type.Null()], {
    description: 'Configured id in the Power Platform admin API (null: the worker finds it from the Dataverse URL).',
  }),
  securityGroupId: Type.Union([Type.String(), Type.Null()], {
    description:
      "Configured security group new accounts join (null: the worker reads the environment's from the admin API).",
  }),
  passwordExpires: Type.Boolean({
    description: "Whether new accounts' passwords expire (false: they get `DisablePasswordExpiration`).",
  }),
  auditRepair: Type.Boolean({
    description: "Whether the drift audit repairs this service's users here (false: it only reports).",
  }),
  licenseSku: Type.String(),
  usageLocation: Type.String(),
  allowedUpnDomains: Type.Array(Type.String()),
  defaultSecurityRoles: Type.Array(Type.String()),
  businessUnit: Type.Union([Type.String(), Type.Null()]),
  nonInteractiveLimit: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Configured override of the limit read from Dataverse (null: none).',
  }),
  links: Type.Object({
    capacity: Type.String({ format: 'uri' }),
    readiness: Type.String({ format: 'uri' }),
    inventory: Type.String({ format: 'uri' }),
    audit: Type.String({ format: 'uri' }),
  }),
});
export const EnvironmentList = Type.Object({ items: Type.Array(Environment) });

export const EnvironmentParams = Type.Object({ environment: EnvironmentName });

export const Capacity = Type.Object({
  environment: Type.String(),
  limit: Type.Integer({ minimum: 0, description: 'Maximum number of non-interactive users.' }),
  used: Type.Integer({ minimum: 0, description: 'Non-interactive users that exist now (Dataverse).' }),
  reserved: Type.Integer({ minimum: 0, description: 'Slots held by requests still running.' }),
  available: Type.Integer({ minimum: 0, description: 'max(0, limit - used - reserved)' }),
});

export const Health = Type.Object({ status: Type.String(), temporal: Type.Optional(Type.String()) });

export const Problem = Type.Object(
  {
    type: Type.String({ format: 'uri' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ pointer: Type.String(), detail: Type.String() }))),
  },
  { description: 'RFC 9457 problem details.' },
);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request does not match the schema (`errors` lists each field).',
  401: 'No valid bearer token (missing, expired, wrong audience or issuer, bad signature).',
  403: 'The token lacks the application role this operation needs.',
  404: 'No such resource.',
  405: 'Method not allowed on this resource.',
  409: 'Conflicts with the state of the request.',
  413: 'Request body too large.',
  415: 'Unsupported media type (send application/json).',
  422: 'Semantically invalid (unknown environment, UPN domain not allowed, unknown usage location).',
  429: 'Too many requests from this client, or too many failed authentications from its address; see Retry-After.',
  500: 'Unexpected error (no internals disclosed; quote the request id).',
  503: 'Temporal or the identity provider is unreachable; retry later.',
};

/** Response entries of a route: its successes plus the listed problem+json errors. */
export function responses(success: Record<number, { description: string; schema: TSchema }>, errors: number[]) {
  const out: Record<number, unknown> = {};
  for (const [code, { description, schema }] of Object.entries(success)) {
    out[Number(code)] = { description, content: { 'application/json': { schema } } };
  }
  for (const code of [...errors, 429, 500]) {
    out[code] = { description: ERROR_DESCRIPTIONS[code], content: { 'application/problem+json': { schema: Problem } } };
  }
  return out;
}

export const AUTH_ERRORS = [401, 403, 503];
