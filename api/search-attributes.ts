// The custom search attributes (docs/design.md), typed, and a reader that tolerates
// their absence (a workflow started by hand, or before an attribute was registered).
import { defineSearchAttributeKey, SearchAttributeType, type TypedSearchAttributes } from '@temporalio/common';

export const NIU_ENVIRONMENT = defineSearchAttributeKey('NiuEnvironment', SearchAttributeType.KEYWORD);
export const NIU_USER_PRINCIPAL_NAME = defineSearchAttributeKey('NiuUserPrincipalName', SearchAttributeType.KEYWORD);
export const NIU_STEP = defineSearchAttributeKey('NiuStep', SearchAttributeType.KEYWORD);

const KEYS = { NiuEnvironment: NIU_ENVIRONMENT, NiuUserPrincipalName: NIU_USER_PRINCIPAL_NAME, NiuStep: NIU_STEP };

export function searchAttributeValue(
  attributes: TypedSearchAttributes | undefined,
  name: keyof typeof KEYS,
): string | undefined {
  try {
    return attributes?.get(KEYS[name]) ?? undefined;
  } catch {
    return undefined;
  }
}
