// How an environment variable is declared and read. A declaration is a TypeBox schema of the
// value (its type, bounds and format, and the `expected` wording of messages), how the variable's
// text becomes that value, the default text and a description. Reading checks the value against
// the schema, so the types, the defaults and the error messages all come from the declaration.
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError, problem } from './errors';

export type Env = Record<string, string | undefined>;

/** The project root: relative paths are resolved against it, whatever the working directory. */
export const root = path.resolve(__dirname, '..');

export interface Variable<S extends TSchema = TSchema, Default extends string | undefined = string | undefined> {
  /** The value's type, bounds and format; a TypeBox codec on it finishes the checked value. */
  schema: S;
  /** Text to value; text that is not of the type is returned as is, for the schema to refuse. */
  fromText: (text: string) => unknown;
  /**
   * The text used when the variable is unset or empty, as .env.example shows it; `${NAME}` stands
   * for the value of another variable. None: the value is null.
   */
  default: Default;
  /** One line for .env.example and the docs. */
  description: string;
  /**
   * The default serves the dev stack only (the sandbox's endpoints and credentials), so a
   * deployment must set the variable. Declared for the docs; loading does not enforce it yet.
   */
  requiredOutsideDev?: boolean;
}

interface Options<D extends string | undefined> {
  default?: D;
  description: string;
  requiredOutsideDev?: boolean;
}

/** The value a variable reads as: null when it has no default and is unset. */
export type ValueOf<V> =
  V extends Variable<infer S, infer D> ? (D extends string ? Static<S> : Static<S> | null) : never;
export type Values<Declared> = { [K in keyof Declared]: ValueOf<Declared[K]> };

/** A variable of any schema, with its own conversion from text. */
export function variable<S extends TSchema, D extends string | undefined = undefined>(
  schema: S,
  fromText: (text: string) => unknown,
  options: Options<D>,
): Variable<S, D> {
  const { description, requiredOutsideDev } = options;
  return { schema, fromText, default: options.default as D, description, requiredOutsideDev };
}

export const text = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable(Type.String({ expected: 'text' }), (t) => t, options);

/** A path, resolved against the project root. */
export const filePath = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable(Type.String({ expected: 'a path' }), (t) => path.resolve(root, t), options);

/** A path to a file that must be readable now (resolved against the project root). */
export const readableFile = (options: Options<undefined>) =>
  variable(
    Type.Refine(
      Type.String({ expected: 'a readable file' }),
      (file) => unreadable(file) === undefined,
      (file) => unreadable(file) ?? '',
    ),
    (t) => path.resolve(root, t),
    options,
  );

function unreadable(file: string): string | undefined {
  try {
    accessSync(file, fsConstants.R_OK);
    return undefined;
  } catch (err) {
    return `cannot be read: ${(err as Error).message}`;
  }
}

/** A whole number between `minimum` (0) and `maximum` (the largest safe integer). */
export const int = (
  options: Omit<Options<string>, 'default'> & { default: number; minimum?: number; maximum?: number },
) =>
  variable(
    Type.Integer({
      minimum: options.minimum ?? 0,
      maximum: options.maximum ?? Number.MAX_SAFE_INTEGER,
      expected: 'a whole number',
    }),
    (t) => (/^\d+$/.test(t) ? Number(t) : t),
    { ...options, default: String(options.default) },
  );

export const TRUE = /^(1|true|yes|on)$/i;
export const FALSE = /^(0|false|no|off)$/i;

export const flag = (options: Options<'true' | 'false'>) =>
  variable(
    Type.Boolean({ expected: 'true or false' }),
    (t) => (TRUE.test(t) ? true : FALSE.test(t) ? false : t),
    options,
  );

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

const HTTP_URL = 'an http(s) URL';

/** An http(s) URL, kept without trailing slashes (paths are appended to it). */
export const url = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable(
    Type.Decode(
      Type.Refine(Type.String({ expected: HTTP_URL }), isHttpUrl, (v) => `must be ${HTTP_URL}, got "${v}"`),
      (v) => v.replace(/\/+$/, ''),
    ),
    (t) => t,
    options,
  );

/** Comma-separated items, trimmed, empty ones dropped. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const list = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable(Type.Array(Type.String(), { expected: 'a comma-separated list' }), splitList, options);

/** A JSON document; text that is not JSON stays text, for the schema to refuse. */
export const json = <S extends TSchema>(schema: S, options: Options<undefined>) =>
  variable(
    schema,
    (t) => {
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return t;
      }
    },
    options,
  );

/**
 * Reads the declared variables from `env`: the text (or the default, with the values it names
 * filled in), converted and checked. Throws a ConfigError naming the first bad variable.
 */
export function readVariables<Declared extends Record<string, Variable>>(
  declared: Declared,
  env: Env,
): Values<Declared> {
  return resolveVariables(declared, env).values as Values<Declared>;
}

/**
 * The text each variable was read from (its default's where unset), and its value. Defaults are
 * resolved on demand, so a default may name a variable declared after it.
 */
export function resolveVariables(declared: Record<string, Variable>, env: Env) {
  const texts: Record<string, string | undefined> = {};
  const values: Record<string, unknown> = {};
  const pending = new Set<string>();
  const read = (name: string, referrer?: string): unknown => {
    if (name in values) return values[name];
    const declaration = declared[name];
    if (declaration === undefined || pending.has(name)) {
      throw new Error(`config: the default of ${referrer} names ${name}, which is undeclared or refers back`);
    }
    pending.add(name);
    const raw = env[name];
    const text =
      raw === undefined || raw === ''
        ? declaration.default?.replace(/\$\{(\w+)\}/g, (_match, ref: string) => String(read(ref, name)))
        : raw;
    texts[name] = text;
    values[name] = text === undefined ? null : parse(name, declaration, text);
    return values[name];
  };
  for (const name of Object.keys(declared)) read(name);
  return { texts, values };
}

function parse(name: string, { schema, fromText }: Variable, text: string): unknown {
  const value = fromText(text);
  if (!Value.Check(schema, value))
    throw new ConfigError(name, problem(schema, text, value, Value.Errors(schema, value)));
  // Only a codec changes a checked value (a URL's trailing slashes); decoding checks it again, slowly.
  return Value.HasCodec(schema) ? Value.Decode(schema, value) : value;
}
