/** Every workflow the worker registers. */
export { employeeWorkflow } from './employee/employee';
export { offboardingWorkflow, onboardingWorkflow } from './onboarding/onboarding';
export { approvalWorkflow } from './approval/approval';
export { manualTaskWorkflow } from './task/task';
