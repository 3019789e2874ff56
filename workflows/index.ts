// Entry point of the workflow bundle: every workflow the worker runs is exported here.
export { provisionNonInteractiveUser } from './provision';
export { admission } from './admission';
export { readEnvironmentCapacity } from './read-capacity';
export { checkEnvironmentReadiness } from './readiness';
export { deprovisionNonInteractiveUser } from './deprovision';
export { rotateNonInteractiveUserPassword } from './rotate-password';
export { auditEnvironment, readInventory } from './audit';
