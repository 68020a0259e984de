import { enc, get, query } from "../api";
import { Empty, Loading, TRANSITIONAL, useLoad, when } from "../ui";

export function EventList({ events }: { events: any[] }) {
  if (!events.length) return <Empty>No events yet.</Empty>;
  return (
    <ol class="timeline" aria-label="Events">
      {events.map((e) => (
        <li class={`ev ev-${e.state}`} data-type={e.type}>
          <time dateTime={e.created_at}>{when(e.created_at)}</time>
          <span class="ev-type">{e.type}</span>
          <span class="ev-body">{e.body}</span>
          {e.actor && e.actor !== "system" ? <span class="muted small">by {e.actor}</span> : null}
        </li>
      ))}
    </ol>
  );
}

/** A device's or machine's events, refreshed while the engine works on it; ``story``: oldest first
 * (the latest 100, read newest first and shown in the order they happened). */
export function LiveEvents({ path, busy, version, story }: { path: string; busy: boolean; version?: string; story?: boolean }) {
  // ``version`` (the object's state and update time) changes when an action lands: read again at once
  const events = useLoad(() => get(`${path}${path.includes("?") ? "&" : "?"}per_page=100`), [path, version], () => (busy ? 1500 : 6000));
  return <Loading state={events}>{(d: any) => <EventList events={story ? [...d.events].reverse() : d.events} />}</Loading>;
}

export function deviceEventsPath(id: string) {
  return `/devices/${enc(id)}/events`;
}

export const isBusy = (state: string) => TRANSITIONAL.includes(state);
export { query };
