import { all, enc } from "../api";
import { Empty, Link, Loading, PageTitle, useLoad, when } from "../ui";

export function ReservationTable({ list, project }: { list: any[]; project?: (r: any) => any }) {
  return (
    <div class="table-wrap"><table class="list" aria-label="Hardware reservations">
      <thead><tr><th>Reservation</th>{project ? <th>Project</th> : null}<th>Plan</th><th>Metro</th><th>Provisionable</th><th>Device</th><th>Needs service</th><th>Created</th></tr></thead>
      <tbody>{list.map((r) => (
        <tr><td class="mono">{r.short_id}</td>{project ? <td>{project(r)}</td> : null}<td>{r.plan?.slug || "—"}</td><td>{r.metro?.code}</td>
          <td>{r.provisionable ? "yes" : "no"}</td>
          <td>{r.device ? <Link href={`/devices/${r.device.id}`}>{r.device.id.slice(0, 8)}</Link> : "free"}</td>
          <td>{r.need_of_service ? "yes" : "no"}</td><td>{when(r.created_at)}</td></tr>))}
      </tbody></table></div>
  );
}

export function HardwareReservations({ pid }: { pid: string }) {
  const list = useLoad(() => all(`/projects/${enc(pid)}/hardware-reservations`, "hardware_reservations"), [pid]);
  return (
    <>
      <PageTitle>Hardware reservations</PageTitle>
      <p class="muted">Machines an operator holds for this project. Pick one in the create form to put a device on it.</p>
      <Loading state={list}>{(l: any[]) => l.length === 0 ? <Empty>No machine is reserved for this project.</Empty> : <ReservationTable list={l} />}</Loading>
    </>
  );
}
