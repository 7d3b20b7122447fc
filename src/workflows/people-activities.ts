/** Activity proxies shared by the human-wait workflows (approval, manual task). */
import { proxyActivities } from '@temporalio/workflow';
import type { PeopleActivities } from '../activities/slack/activities';

/** Messages and reminders: worth retrying for an hour; a reminder that cannot be sent must not hold up the wait. */
export const notify = proxyActivities<PeopleActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The outcome's evidence: retried for a day. */
export const record = proxyActivities<PeopleActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 day',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** The shortest reminder interval accepted, so a bad input cannot spin. */
export const MIN_REMINDER_MS = 1000;
