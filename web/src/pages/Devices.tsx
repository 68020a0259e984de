import { useEffect, useState } from "preact/hooks";
import { all, enc, get, query } from "../api";
import { useLocation } from "../router";
import { Empty, Link, Loading, PageTitle, StateBadge, Tags, TRANSITIONAL, ago, useLoad } from "../ui";

export const DEVICE_STATES = ["queued", "provisioning", "active", "powering_on", "powering_off", "inactive",
  "reinstalling", "deprovisioning", "failed"];

export type Device = any;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

export function primaryAddress(d: Device): string {
  const ips = (d.ip_addresses || []) as any[];
  const pick = ips.find((a) => a.public && a.address_family === 4) || ips.find((a) => a.address_family === 4) || ips[0];
  return pick ? pick.address : "—";
}

const reasons = new Map<string, string>();

/** Why a device failed: the newest error event of the device (the engine records one). */
export function FailedReason({ id }: { id: string }) {
  const [text, setText] = useState(reasons.get(id) || "");
  useEffect(() => {
    if (reasons.has(id)) return;
    get(`/devices/${enc(id)}/events?per_page=50`).then((r) => {
      const ev = (r.events || []).find((e: any) => e.state === "error");
      const t = ev ? ev.body || ev.type : "";
      reasons.set(id, t);
      setText(t);
    }, () => undefined);
  }, [id]);
  return text ? <div class="reason">{text}</div> : null;
}

export function Devices({ pid }: { pid: string }) {
  const { search } = useLocation();
  const [filters, setFilters] = useState({
    state: search.get("state") || "", search: search.get("search") || "", tag: search.get("tag") || "",
    metro: search.get("metro") || "", plan: search.get("plan") || "",
  });
  const [typed, setTyped] = useState(filters.search);
  useEffect(() => {
    const t = setTimeout(() => setFilters((f) => ({ ...f, search: typed })), 300);
    return () => clearTimeout(t);
  }, [typed]);
  useEffect(() => {
    history.replaceState(null, "", `/projects/${pid}/devices${query(filters)}`);
  }, [filters]);
  const [page, setPage] = useState(1);
  const catalogue = useLoad(async () => ({
    metros: await all("/locations/metros", "metros"), plans: await all("/plans", "plans"),
  }), []);
  const devices = useLoad(
    () => get(`/projects/${enc(pid)}/devices${query({ ...filters, page, per_page: 100 })}`),
    [pid, filters, page],
    (d: any) => (d && d.devices.some((x: Device) => TRANSITIONAL.includes(x.state)) ? 1500 : 8000),
  );
  const set = (k: string) => (e: Event) => { setPage(1); setFilters({ ...filters, [k]: (e.target as HTMLInputElement).value }); };
  const filtered = Object.values(filters).some(Boolean);
  return (
    <>
      <PageTitle actions={<Link class="button primary" href={`/projects/${pid}/devices/new`}>New device</Link>}>Devices</PageTitle>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <input type="search" aria-label="Search hostname, description or id" placeholder="Search hostname, description, id"
          value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        <select aria-label="State" value={filters.state} onChange={set("state")}>
          <option value="">Any state</option>
          {DEVICE_STATES.map((s) => <option value={s}>{s}</option>)}
        </select>
        <select aria-label="Metro" value={filters.metro} onChange={set("metro")}>
          <option value="">Any metro</option>
          {(catalogue.data?.metros || []).map((m: any) => <option value={m.code}>{m.code} — {m.name}</option>)}
        </select>
        <select aria-label="Plan" value={filters.plan} onChange={set("plan")}>
          <option value="">Any plan</option>
          {(catalogue.data?.plans || []).map((p: any) => <option value={p.slug}>{p.slug}</option>)}
        </select>
        <input aria-label="Tag" placeholder="Tag" value={filters.tag} onChange={set("tag")} />
      </form>
      <Loading state={devices}>
        {(data: any) =>
          data.devices.length === 0 ? (
            <Empty>
              {filtered ? "No device matches these filters." : <>No devices yet. <Link href={`/projects/${pid}/devices/new`}>Create one</Link> to reserve a server.</>}
            </Empty>
          ) : (
            <>
              <div class="table-wrap">
                <table class="list" aria-label="Devices">
                  <thead><tr><th>Hostname</th><th>State</th><th>Plan</th><th>Metro</th><th>OS</th><th>Address</th><th>Tags</th><th>Created</th></tr></thead>
                  <tbody>
                    {data.devices.map((d: Device) => (
                      <tr data-device={d.id} data-hostname={d.hostname} data-state={d.state}>
                        <td><Link href={`/devices/${d.id}`}>{d.hostname}</Link>{d.locked ? <span class="tag" title="locked">locked</span> : null}
                          {d.description ? <div class="muted small">{d.description}</div> : null}</td>
                        <td><StateBadge state={d.state} percent={d.provisioning_percentage} />{d.state === "failed" ? <FailedReason id={d.id} /> : null}</td>
                        <td>{d.plan?.slug}</td>
                        <td>{d.metro?.code}</td>
                        <td>{d.operating_system?.name || d.operating_system?.slug}</td>
                        <td class="mono">{primaryAddress(d)}</td>
                        <td><Tags tags={d.tags} /></td>
                        <td title={d.created_at}>{ago(d.created_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {data.meta && data.meta.last_page > 1 ? (
                <div class="pager">
                  <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
                  <span>Page {data.meta.current_page} of {data.meta.last_page} ({data.meta.total} devices)</span>
                  <button type="button" disabled={page >= data.meta.last_page} onClick={() => setPage(page + 1)}>Next</button>
                </div>
              ) : <p class="muted small">{plural(data.meta?.total ?? data.devices.length, "device")}; the list follows the engine as it works.</p>}
            </>
          )
        }
      </Loading>
    </>
  );
}

