// Temporal namespaces of the jest run's dev server. Test files share the `default` namespace and
// keep apart by task queue and UPN, except where a fuzzer drives the API: it lists requests and
// then cancels what it found (schemathesis cancelled another file's running workflows this way),
// so each fuzzed stack gets a namespace of its own. Global setup creates them all.
export const NAMESPACES = {
  fuzzOpenapi: 'niu-test-fuzz-openapi',
  fuzzHostile: 'niu-test-fuzz-hostile',
} as const;
