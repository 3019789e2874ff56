// Password for a new integration account. Generated inside the create activity, handed to Graph
// (and to Key Vault when one is configured) and then dropped: it never enters workflow history,
// logs or results. Nobody signs in with it interactively (the account becomes non-interactive);
// the integration authenticates with its own secret or certificate later.
import { randomInt } from 'node:crypto';

const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '23456789';
// A subset of the symbols Entra accepts, without quotes, backslash and space (safe in any shell or file).
const SYMBOLS = '!#$%&*+-=?@^_~.:';

/**
 * A random password meeting Entra's complexity rules (8–256 characters, at least three of
 * lower case, upper case, digits, symbols): here all four, 32 characters, from the CSPRNG.
 */
export function generatePassword(length = 32): string {
  if (length < 8 || length > 256) throw new RangeError('password length must be 8..256');
  const all = LOWER + UPPER + DIGITS + SYMBOLS;
  const pick = (set: string): string => set[randomInt(set.length)] as string;
  const chars = [pick(LOWER), pick(UPPER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < length) chars.push(pick(all));
  // Fisher–Yates, so the guaranteed classes are not always at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

/** True when `password` satisfies Entra's rule of three character classes out of four. */
export function meetsEntraComplexity(password: string): boolean {
  if (password.length < 8 || password.length > 256) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password)).length;
  return classes >= 3;
}
