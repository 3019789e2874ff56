// TypeBox schemas of the lifecycle routes (api/routes/user-lifecycle.ts): deprovisioning and
// password rotation, their answers and status documents (docs/api.md).
import { Type, type Static, type TSchema } from 'typebox';
import { DEPROVISION_STEP_NAMES, ROTATION_STEP_NAMES } from '../workflows/lifecycle-types';
import { ErrorInfo, RequestStatus, stepSchema, Timestamp } from './schemas';

export const DeprovisionQuery = Type.Object(
  {
    deleteAccount: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Also delete the Entra ID account (only one this service made, and used in no other environment).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DeprovisionQuery = Static<typeof DeprovisionQuery>;

const LifecycleLinks = Type.Object({
  self: Type.String({ format: 'uri', description: 'The status document of this deprovisioning or rotation.' }),
  user: Type.String({ format: 'uri', description: "The user's provisioning request." }),
});

export const DeprovisionAccepted = Type.Object({
  id: Type.String({ examples: ['niu:contoso-prod:svc-erp@contoso.onmicrosoft.com'] }),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded')]),
  links: LifecycleLinks,
});

export const RotationAccepted = Type.Object({
  id: Type.String(),
  status: Type.Literal('running'),
  passwordSecretId: Type.Union([Type.String({ format: 'uri' }), Type.Null()], {
    description:
      "The password's Key Vault secret, without a version (its latest version); null without a vault. " +
      "The new version's id is the rotation's `result.passwordSecretId` once it succeeded.",
  }),
  links: LifecycleLinks,
});

/** A status document with its own step names and result, in provisioning's shape. */
function statusDocument(names: readonly string[], result: TSchema, description: string) {
  const name = Type.Union(names.map((n) => Type.Literal(n)));
  return Type.Object(
    {
      id: Type.String(),
      environment: Type.String(),
      userPrincipalName: Type.String(),
      status: RequestStatus,
      currentStep: Type.Union([name, Type.Null()]),
      steps: Type.Array(stepSchema(name), { minItems: names.length, maxItems: names.length }),
      result: Type.Union([result, Type.Null()]),
      error: Type.Union([ErrorInfo, Type.Null()]),
      createdAt: Timestamp,
      updatedAt: Timestamp,
      links: Type.Optional(LifecycleLinks),
    },
    { description },
  );
}

export const DeprovisionStatusDocument = statusDocument(
  DEPROVISION_STEP_NAMES,
  Type.Object({
    entraObjectId: Type.String(),
    systemUserId: Type.Union([Type.String(), Type.Null()]),
    accessMode: Type.Union([Type.Integer(), Type.Null()], { description: 'The access mode now (0: read-write).' }),
    accountDisabled: Type.Boolean(),
    passwordSecretDeleted: Type.Boolean(),
    accountDeleted: Type.Boolean(),
    stillUsedIn: Type.Array(Type.String(), {
      description: 'Environments where the account is still a non-interactive user (so it was left enabled).',
    }),
  }),
  'Status document of a deprovisioning; `steps` lists its six steps in order.',
);

export const RotationStatusDocument = statusDocument(
  ROTATION_STEP_NAMES,
  Type.Object({
    entraObjectId: Type.String(),
    passwordSecretId: Type.Union([Type.String(), Type.Null()], {
      description: 'The new secret version (with its version); null without a vault.',
    }),
  }),
  'Status document of a password rotation; `steps` lists its two steps in order.',
);
