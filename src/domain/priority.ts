/**
 * Task priorities (Temporal task queue priority: 1 goes first, 5 last, 3 when unset; docs/scaling.md).
 *
 * A person's entity answers the intake synchronously (accepted / duplicate / rejected), so a sender waits for the
 * entity's workflow task. Under a burst the task queue also holds the tasks of runs already accepted (their steps,
 * their activities); if they went first, every sender would wait behind the whole backlog. The entity's tasks go
 * first; a run and its activities come after, and still drain at the workers' full pace.
 */
export const ENTITY_PRIORITY = 1;

/** A run started by the entity (hire, change, exit…) and its activities. */
export const RUN_PRIORITY = 3;
