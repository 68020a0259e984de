import { useState } from "preact/hooks";
import { enc, get, query } from "../api";
import { Loading, PageTitle, useLoad } from "../ui";
import { EventList } from "./Events";

export function ProjectEvents({ pid }: { pid: string }) {
  const [type, setType] = useState("");
  const [page, setPage] = useState(1);
  const events = useLoad(() => get(`/projects/${enc(pid)}/events${query({ type, page, per_page: 50 })}`), [pid, type, page], 5000);
  return (
    <>
      <PageTitle>Events</PageTitle>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <input type="search" aria-label="Event type starts with" placeholder="Type starts with (e.g. device.)" value={type}
          onChange={(e) => { setPage(1); setType((e.target as HTMLInputElement).value); }} />
      </form>
      <Loading state={events}>{(d: any) => (
        <>
          <EventList events={d.events} />
          {d.meta?.last_page > 1 ? (
            <div class="pager">
              <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>Newer</button>
              <span>Page {page} of {d.meta.last_page}</span>
              <button type="button" disabled={page >= d.meta.last_page} onClick={() => setPage(page + 1)}>Older</button>
            </div>
          ) : null}
        </>
      )}</Loading>
    </>
  );
}
