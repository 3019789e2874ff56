// The fields of a JSON object as a table: each field's type (a check and the `expected` wording of
// messages), whether it may be left out, and a description. The environments file's entries and
// WORKFLOW_TIMING are declared this way; their TypeScript types come from the table (FieldValues),
// and so do their messages, which name the field, what it must be and what it was.

/** A type of JSON value: how to recognize it, and how messages name it ("a non-empty string"). */
export interface FieldKind<T> {
  expected: string;
  is: (value: unknown) => value is T;
}

export interface Field<T = unknown, Optional extends boolean = boolean> extends FieldKind<T> {
  /** The field may be left out (the code fills in its default). */
  optional: Optional;
  description?: string;
}

export type Fields = Record<string, Field>;

export const required = <T>(kind: FieldKind<T>, description?: string): Field<T, false> => ({
  ...kind,
  optional: false,
  description,
});

export const optional = <T>(kind: FieldKind<T>, description?: string): Field<T, true> => ({
  ...kind,
  optional: true,
  description,
});

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type FieldType<F> = F extends FieldKind<infer T> ? T : never;
type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K]['optional'] extends true ? never : K }[keyof F];
type OptionalKeys<F extends Fields> = Exclude<keyof F, RequiredKeys<F>>;

/** The object a table of fields describes: required fields as such, the others optional. */
export type FieldValues<F extends Fields> = Simplify<
  { [K in RequiredKeys<F>]: FieldType<F[K]> } & { [K in OptionalKeys<F>]?: FieldType<F[K]> }
>;

const isString = (value: unknown): value is string => typeof value === 'string';

/** A string; `test` narrows it (a pattern, a URL), with `expected` saying how. */
export const string = (expected: string, test: (s: string) => boolean = () => true): FieldKind<string> => ({
  expected,
  is: (value): value is string => isString(value) && test(value),
});

/** An array of strings, of at least `minItems`. */
export const stringArray = (expected: string, minItems = 0): FieldKind<string[]> => ({
  expected,
  is: (value): value is string[] => Array.isArray(value) && value.length >= minItems && value.every(isString),
});

/** true or false. */
export const boolean = (expected: string): FieldKind<boolean> => ({
  expected,
  is: (value): value is boolean => typeof value === 'boolean',
});

/** A finite number of at least `minimum`; `integer`: whole numbers only. */
export const number = (expected: string, { minimum = -Infinity, integer = false } = {}): FieldKind<number> => ({
  expected,
  is: (value): value is number =>
    typeof value === 'number' && Number.isFinite(value) && value >= minimum && (!integer || Number.isInteger(value)),
});

/** `kind`, or null; `expected` words the pair ("a string or null"). */
export const orNull = <T>(kind: FieldKind<T>, expected: string): FieldKind<T | null> => ({
  expected,
  is: (value): value is T | null => value === null || kind.is(value),
});

/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The first problem of a JSON object against its table, as the messages word it; undefined: none.
 * The order is the one TypeBox reported them in when the messages were first written: a missing
 * field (table order), then a field the table does not know (`closed` objects only, document
 * order), then a value of the wrong type (table order); a bad field is shown whole, also when one
 * item of it is wrong.
 */
export function objectProblem(fields: Fields, doc: Record<string, unknown>, closed = false): string | undefined {
  const declared = Object.entries(fields);
  const missing = declared.find(([name, field]) => !field.optional && !Object.hasOwn(doc, name));
  if (missing) return `needs field "${missing[0]}" (${missing[1].expected})`;
  const unknown = closed ? Object.keys(doc).find((name) => !Object.hasOwn(fields, name)) : undefined;
  if (unknown !== undefined) {
    return `has an unknown field "${unknown}" (known: ${Object.keys(fields).join(', ')})`;
  }
  const bad = declared.find(([name, field]) => Object.hasOwn(doc, name) && !field.is(doc[name]));
  if (bad) return `field "${bad[0]}" must be ${bad[1].expected}, got ${JSON.stringify(doc[bad[0]])}`;
  return undefined;
}
