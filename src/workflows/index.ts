/** Every workflow the worker registers. */
export { employeeWorkflow } from './employee/employee';
export { onboardingWorkflow } from './onboarding/onboarding';
