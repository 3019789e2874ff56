// How an environment variable is declared and read. A declaration is a kind (what the value must
// be, worded for messages, and how its text becomes the checked value), the default text and a
// description; the types, the defaults and the error messages all come from it.
// The check is hand-rolled, not TypeBox (the API's routes use it), for the worker's memory: TypeBox
// 1.x is ~700 ES modules; config on it cost a fresh process +40-55 MB RSS and +17 MB heap (the
// earlier hand-written module: +9 MB), and the worker 254-258 MB RSS at 1,000 parked requests
// (before: 238.7-242.6 MB).
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { ConfigError, Refusal, refuse } from './errors';

export type Env = Record<string, string | undefined>;

/** The project root: relative paths are resolved against it, whatever the working directory. */
export const root = path.resolve(__dirname, '..');

/** What a variable's value must be, and how its text becomes that value. */
export interface Kind<T> {
  /** For "must be …" and the docs, e.g. "a whole number". */
  expected: string;
  /**
   * The checked value of the text. Undefined: the text is not of the kind ("must be <expected>,
   * got "<text>""); a problem of its own (a bound, an unreadable file) is thrown with refuse().
   */
  parse: (text: string) => T | undefined;
}

export interface Variable<T = unknown, Default extends string | undefined = string | undefined> extends Kind<T> {
  /**
   * The text used when the variable is unset or empty, as .env.example shows it; `${NAME}` stands
   * for the value of another variable. None: the value is null.
   */
  default: Default;
  /** One line for .env.example and the docs. */
  description: string;
  /**
   * The default on the sandbox only (NIU_SANDBOX=true: the dev stack, the tests, the benchmarks),
   * in place of `default`: its endpoints and identities. Elsewhere the variable has `default`,
   * or none, so a deployment that forgot it never reaches the sandbox.
   */
  sandbox?: string;
}

interface Options<D extends string | undefined> {
  default?: D;
  sandbox?: string;
  description: string;
}

/** The value a variable reads as: null when it has no default and is unset (a sandbox default may be absent). */
export type ValueOf<V> = V extends Variable<infer T, infer D> ? (D extends string ? T : T | null) : never;
export type Values<Declared> = { [K in keyof Declared]: ValueOf<Declared[K]> };

/** A variable of any kind; the special ones (schemas.ts) bring their own. */
export function variable<T, D extends string | undefined = undefined>(
  kind: Kind<T>,
  options: Options<D>,
): Variable<T, D> {
  const { description, sandbox } = options;
  return { ...kind, default: options.default as D, description, sandbox };
}

export const text = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable({ expected: 'text', parse: (t) => t }, options);

/** A path, resolved against the project root. */
export const filePath = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable({ expected: 'a path', parse: (t) => path.resolve(root, t) }, options);

/** A path to a file that must be readable now (resolved against the project root). */
export const readableFile = (options: Options<undefined>) =>
  variable({ expected: 'a readable file', parse: (t) => readable(path.resolve(root, t)) }, options);

function readable(file: string): string {
  try {
    accessSync(file, fsConstants.R_OK);
  } catch (err) {
    refuse(`cannot be read: ${(err as Error).message}`);
  }
  return file;
}

/** A whole number between `minimum` (0) and `maximum` (the largest safe integer). */
export const int = ({
  minimum = 0,
  maximum = Number.MAX_SAFE_INTEGER,
  ...options
}: Omit<Options<string>, 'default'> & { default: number; minimum?: number; maximum?: number }) =>
  variable(
    {
      expected: 'a whole number',
      parse: (t) => {
        if (!/^\d+$/.test(t)) return undefined;
        const n = Number(t);
        return n >= minimum && n <= maximum ? n : refuse(`must be between ${minimum} and ${maximum}, got ${n}`);
      },
    },
    { ...options, default: String(options.default) },
  );

export const TRUE = /^(1|true|yes|on)$/i;
export const FALSE = /^(0|false|no|off)$/i;

export const flag = (options: Options<'true' | 'false'>) =>
  variable(
    { expected: 'true or false', parse: (t) => (TRUE.test(t) ? true : FALSE.test(t) ? false : undefined) },
    options,
  );

/** One of `names` (any case), as written there. */
export const oneOf = <N extends string, D extends N | undefined = undefined>(
  names: readonly N[],
  options: Options<D>,
) =>
  variable(
    {
      expected: `one of ${names.join(', ')}`,
      parse: (t) => names.find((n) => n === t.toLowerCase()),
    },
    options,
  );

/** An http(s) URL, kept without trailing slashes (paths are appended to it). */
export const url = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable({ expected: 'an http(s) URL', parse: (t) => (isHttpUrl(t) ? t.replace(/\/+$/, '') : undefined) }, options);

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

/** Comma-separated items, trimmed, empty ones dropped. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const list = <D extends string | undefined = undefined>(options: Options<D>) =>
  variable({ expected: 'a comma-separated list', parse: splitList }, options);

/** A JSON document that `check` accepts: its value, or undefined (text that is not JSON is refused too). */
export interface JsonCheck<T> {
  expected: string;
  check: (doc: unknown) => T | undefined;
}

export const json = <T>({ expected, check }: JsonCheck<T>, options: Options<undefined>) =>
  variable(
    {
      expected,
      parse: (t) => {
        let doc: unknown;
        try {
          doc = JSON.parse(t);
        } catch {
          return undefined;
        }
        return check(doc);
      },
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
  options: ReadOptions = {},
): Values<Declared> {
  return resolveVariables(declared, env, options).values as Values<Declared>;
}

export interface ReadOptions {
  /** Use the sandbox defaults (NIU_SANDBOX=true). */
  sandbox?: boolean;
}

/**
 * The text each variable was read from (its default's where unset), and its value. Defaults are
 * resolved on demand, so a default may name a variable declared after it.
 */
export function resolveVariables(declared: Record<string, Variable>, env: Env, { sandbox = false }: ReadOptions = {}) {
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
    const fallback = sandbox && declaration.sandbox !== undefined ? declaration.sandbox : declaration.default;
    const text =
      raw === undefined || raw === ''
        ? fallback?.replace(/\$\{(\w+)\}/g, (_match, ref: string) => String(read(ref, name)))
        : raw;
    texts[name] = text;
    values[name] = text === undefined ? null : parse(name, declaration, text);
    return values[name];
  };
  for (const name of Object.keys(declared)) read(name);
  return { texts, values };
}

function parse(name: string, { expected, parse }: Variable, text: string): unknown {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    if (err instanceof Refusal) throw new ConfigError(name, err.problem);
    throw err;
  }
  if (value === undefined) throw new ConfigError(name, `must be ${expected}, got "${text}"`);
  return value;
}
