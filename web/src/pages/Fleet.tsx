import { useMemo, useState } from "preact/hooks";
import { all, call, enc, post } from "../api";
import { navigate } from "../router";
import { Busy, Empty, ErrorBox, Link, Loading, PageTitle, useAction, useLoad } from "../ui";
import { MaintenanceDialog } from "./MaintenanceDialog";

export const MACHINE_STATES = ["enrolled", "inspecting", "available", "allocated", "provisioning", "active",
  "deprovisioning", "cleaning", "maintenance", "failed"];
const MOVING = ["inspecting", "allocated", "provisioning", "deprovisioning", "cleaning"];

type Machine = any;

function group(machines: Machine[]): [string, [string, Machine[]][]][] {
  const byMetro = new Map<string, Map<string, Machine[]>>();
  for (const m of machines) {
    const metro = m.metro?.code || "?";
    const plan = m.plan?.slug || "(no plan yet)";
    if (!byMetro.has(metro)) byMetro.set(metro, new Map());
    const plans = byMetro.get(metro)!;
    if (!plans.has(plan)) plans.set(plan, []);
    plans.get(plan)!.push(m);
  }
  return [...byMetro.entries()].sort().map(([metro, plans]) => [metro, [...plans.entries()].sort()]);
}

export function Fleet() {
  const [filters, setFilters] = useState({ state: "", metro: "", plan: "", text: "" });
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [progress, setProgress] = useState<{ done: number; total: number; errors: string[] } | null>(null);
  const act = useAction();
  const machines = useLoad(() => all("/machines", "machines"), [], (d: any) => (d && d.some((m: Machine) => MOVING.includes(m.state) || m.operation) ? 2000 : 6000));
  const list: Machine[] = machines.data || [];
  const shown = useMemo(() => list.filter((m) =>
    (!filters.state || m.state === filters.state) && (!filters.metro || m.metro?.code === filters.metro) &&
    (!filters.plan || (m.plan?.slug || "") === filters.plan) &&
    (!filters.text || m.hostname.toLowerCase().includes(filters.text.toLowerCase()))), [list, filters]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const m of shown) c[m.state] = (c[m.state] || 0) + 1;
    return c;
  }, [shown]);
  const metros = [...new Set(list.map((m) => m.metro?.code))].sort();
  const plans = [...new Set(list.map((m) => m.plan?.slug || ""))].sort();
  const set = (k: string) => (e: Event) => setFilters({ ...filters, [k]: (e.target as HTMLInputElement).value });

  const bulk = async (label: string, fn: (m: Machine) => Promise<unknown>) => {
    const targets = list.filter((m) => selected.has(m.id));
    setProgress({ done: 0, total: targets.length, errors: [] });
    await act.run(label, async () => {
      const errors: string[] = [];
      let done = 0;
      for (const m of targets) {
        try { await fn(m); } catch (e) { errors.push(`${m.hostname}: ${(e as Error).message}`); }
        done += 1;
        setProgress({ done, total: targets.length, errors: [...errors] });
      }
    });
    machines.reload();
  };
  const [asking, setAsking] = useState(false);
  const maintenanceOn = (reason: string) => {
    setAsking(false);
    bulk("Maintenance on…", (m) => post(`/machines/${enc(m.id)}/maintenance`, { reason }));
  };
  const toggle = (m: Machine) => {
    const next = new Set(selected);
    if (next.has(m.id)) next.delete(m.id); else next.add(m.id);
    setSelected(next);
  };

  return (
    <>
      <PageTitle actions={<Link class="button" href="/fleet/enroll">Enrol machines</Link>}>Fleet</PageTitle>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <input type="search" aria-label="Hostname" placeholder="Hostname" value={filters.text} onInput={set("text")} />
        <select aria-label="State" value={filters.state} onChange={set("state")}>
          <option value="">Any state</option>{MACHINE_STATES.map((s) => <option value={s}>{s}</option>)}
        </select>
        <select aria-label="Metro" value={filters.metro} onChange={set("metro")}>
          <option value="">Any metro</option>{metros.map((m) => <option value={m}>{m}</option>)}
        </select>
        <select aria-label="Plan" value={filters.plan} onChange={set("plan")}>
          <option value="">Any plan</option>{plans.map((p) => <option value={p}>{p || "(no plan yet)"}</option>)}
        </select>
        <label class="check"><input type="checkbox" checked={selecting} onChange={(e) => { setSelecting((e.target as HTMLInputElement).checked); setSelected(new Set()); }} /> Select for actions</label>
      </form>
      <ul class="legend" aria-label="Machines by state">
        {MACHINE_STATES.filter((s) => counts[s]).map((s) => <li><span class={`swatch s-${s}`} />{s} <strong>{counts[s]}</strong></li>)}
        <li><span class="dot p-on" /> power on</li><li><span class="dot p-off" /> off</li><li><span class="dot p-unknown" /> unknown</li>
      </ul>
      {selecting ? (
        <div class="toolbar" role="toolbar" aria-label="Actions on the selected machines">
          <span>{selected.size} selected</span>
          <button type="button" onClick={() => setSelected(new Set(shown.map((m) => m.id)))}>Select all shown</button>
          <button type="button" onClick={() => setAsking(true)} disabled={!selected.size || !!act.busy}>Maintenance on…</button>
          <button type="button" onClick={() => bulk("Maintenance off…", (m) => call("DELETE", `/machines/${enc(m.id)}/maintenance`))} disabled={!selected.size || !!act.busy}>Maintenance off</button>
          <button type="button" onClick={() => bulk("Power on…", (m) => post(`/machines/${enc(m.id)}/actions`, { type: "power_on" }))} disabled={!selected.size || !!act.busy}>Power on</button>
          <button type="button" onClick={() => bulk("Power off…", (m) => post(`/machines/${enc(m.id)}/actions`, { type: "power_off" }))} disabled={!selected.size || !!act.busy}>Power off</button>
          <button type="button" onClick={() => bulk("Reboot…", (m) => post(`/machines/${enc(m.id)}/actions`, { type: "reboot" }))} disabled={!selected.size || !!act.busy}>Reboot</button>
        </div>
      ) : null}
      {progress ? (
        <div class="card" role="status">
          {act.busy ? <Busy label={`${act.busy} ${progress.done} of ${progress.total}`} since={act.since} /> : <p>Done: {progress.done} of {progress.total}{progress.errors.length ? `, ${progress.errors.length} refused` : ""}.</p>}
          <progress max={progress.total || 1} value={progress.done} />
          {progress.errors.length ? <ul class="error">{progress.errors.map((e) => <li>{e}</li>)}</ul> : null}
        </div>
      ) : null}
      <ErrorBox error={act.error} />
      <Loading state={machines}>{() => list.length === 0 ? <Empty>No machines yet. <Link href="/fleet/enroll">Enrol some.</Link></Empty> :
        shown.length === 0 ? <Empty>No machine matches these filters.</Empty> : (
          <div class="fleet">
            {group(shown).map(([metro, plans]) => (
              <section class="metro" aria-label={`Metro ${metro}`}>
                <h2>{metro}</h2>
                {plans.map(([plan, ms]) => (
                  <div class="plan-group">
                    <h3>{plan} <span class="muted small">{ms.length} machines, {ms.filter((m) => m.state === "available").length} available</span></h3>
                    <div class="tiles">
                      {ms.map((m) => {
                        const label = `${m.hostname}: ${m.state}, power ${m.power_state}${m.operation ? `, ${m.operation}` : ""}`;
                        return (
                          <a href={`/fleet/machines/${m.id}`} class={`tile s-${m.state}${selected.has(m.id) ? " selected" : ""}`}
                            data-hostname={m.hostname} data-state={m.state} data-power={m.power_state} title={label} aria-label={label}
                            aria-pressed={selecting ? selected.has(m.id) : undefined}
                            onClick={(e) => { if (e.button !== 0 || e.ctrlKey || e.metaKey) return; e.preventDefault(); if (selecting) toggle(m); else navigate(`/fleet/machines/${m.id}`); }}>
                            <span class={`dot p-${m.power_state}`} aria-hidden="true" />
                            <span class="name">{m.hostname}</span>
                          </a>
                        );
                      })}
                    </div>
                  </div>
                ))}
              </section>
            ))}
          </div>
        )}</Loading>
      <MaintenanceDialog open={asking} title={`Put ${selected.size} machines in maintenance`} onClose={() => setAsking(false)} onSubmit={maintenanceOn} />
    </>
  );
}
