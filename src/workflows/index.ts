/** Every workflow the worker registers. */
export { employeeWorkflow } from './employee/employee';
export { offboardingWorkflow, onboardingWorkflow, roleChangeWorkflow } from './onboarding/onboarding';
export { approvalWorkflow } from './approval/approval';
export { manualTaskWorkflow } from './task/task';
export { auditCheckpointWorkflow } from './audit-checkpoint/audit-checkpoint';
export { guardWorkflow } from './guard/guard';
export { syncWorkflow } from './sync/sync';
export { reconcileWorkflow } from './reconcile/reconcile';
