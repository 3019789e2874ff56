// The one error configuration throws, and the wording of TypeBox's validation errors for a person:
// each schema carries an `expected` annotation ("a whole number", "an ISO 3166 alpha-2 code")
// from which the message is made, so a message always says what was expected and what was got.
import type { TSchema } from 'typebox';
import type { TLocalizedValidationError } from 'typebox/error';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Configuration error: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The annotations the messages are made from (TypeBox keeps unknown options on the schema). */
interface Annotated {
  expected?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, TSchema>;
}

/** What a schema expects, for "must be …". */
export function expected(schema: TSchema): string {
  return (schema as Annotated).expected ?? 'valid';
}

/**
 * The problem of a value that failed its schema, worded from the first error. A refinement
 * words its own problem; a union lists an error per member, of which the refinement's is meant.
 */
export function problem(schema: TSchema, text: string, value: unknown, errors: TLocalizedValidationError[]): string {
  const refined = errors.find((e) => e.keyword === '~refine');
  if (refined?.keyword === '~refine') return refined.params.message;
  const error = errors[0]!;
  const [, field] = error.instancePath.split('/');
  if (field !== undefined) return fieldProblem(schema, decodePointer(field), value);
  if (error.keyword === 'minimum' || error.keyword === 'maximum') {
    const { minimum, maximum } = schema as Annotated;
    return `must be between ${minimum} and ${maximum}, got ${String(value)}`;
  }
  return `must be ${expected(schema)}, got "${text}"`;
}

/**
 * The problem of one field of a JSON object: unknown to the object's schema, missing, or not
 * what its schema expects (the whole field is shown, also when one item of it is wrong).
 */
export function fieldProblem(object: TSchema, field: string, doc: unknown, missing = false): string {
  const properties = (object as Annotated).properties ?? {};
  const schema = properties[field];
  if (schema === undefined) {
    return `has an unknown field "${field}" (known: ${Object.keys(properties).join(', ')})`;
  }
  if (missing) return `needs field "${field}" (${expected(schema)})`;
  const value = (doc as Record<string, unknown>)[field];
  return `field "${field}" must be ${expected(schema)}, got ${JSON.stringify(value)}`;
}

/** A JSON pointer segment as the key it names. */
export function decodePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
