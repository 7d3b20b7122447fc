import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * The activities a workflow's history shows, in order: scheduled activities, and local activities from the markers
 * Temporal's core records for them (a run the entity carries out runs its steps as local activities). The entity's
 * planning (`plan…`) is left out.
 */
export function historyActivities(events: readonly HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) return [scheduled];
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = marker.details?.data?.payloads?.[0]?.data;
    if (!data) return [];
    const type = (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type ?? '';
    return type && !type.startsWith('plan') ? [type] : [];
  });
}
