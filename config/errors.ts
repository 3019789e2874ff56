// The one error configuration throws, and how a check says what is wrong before it knows the
// variable's name: it throws a Refusal with the problem ("must be between 0 and 65535, got 70000"),
// which the reader turns into a ConfigError naming the variable.

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Configuration error: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** A value's problem, worded as the message continues after the variable's name. */
export class Refusal extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'Refusal';
  }
}

/** Refuses the value being checked with its own problem (a bound, an unreadable file, a bad item). */
export function refuse(problem: string): never {
  throw new Refusal(problem);
}
