/** Test-only workflow index: the people-in-the-loop workflows, until src/workflows/index.ts exports them. */
export { approvalWorkflow } from '../../src/workflows/approval/approval';
export { manualTaskWorkflow } from '../../src/workflows/task/task';
