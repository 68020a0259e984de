import { useState } from "preact/hooks";
import { all, del, enc, patch, post } from "../api";
import { Busy, Empty, ErrorBox, Field, Loading, PageTitle, useAction, useLoad } from "../ui";
import { ReservationTable } from "./HardwareReservations";

export function OperatorReservations() {
  const data = useLoad(async () => {
    const [projects, machines] = await Promise.all([all("/projects", "projects"), all("/machines", "machines")]);
    const lists = await Promise.all(projects.map((p: any) => all(`/projects/${enc(p.id)}/hardware-reservations`, "hardware_reservations")));
    return { projects, machines, reservations: lists.flat() };
  }, []);
  const act = useAction();
  const [form, setForm] = useState({ project_id: "", machine_id: "" });
  const submit = async (e: Event) => {
    e.preventDefault();
    if (await act.run("Reserving…", () => post("/hardware-reservations", form))) { setForm({ project_id: "", machine_id: "" }); data.reload(); }
  };
  const release = async (r: any) => {
    if (!confirm(`Release reservation ${r.short_id}? Its machine rejoins the pool.`)) return;
    if (await act.run("Releasing…", () => del(`/hardware-reservations/${enc(r.id)}`))) data.reload();
  };
  const toggle = async (r: any) => {
    if (await act.run("Saving…", () => patch(`/hardware-reservations/${enc(r.id)}`, { provisionable: !r.provisionable }))) data.reload();
  };
  return (
    <>
      <PageTitle>Hardware reservations</PageTitle>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} /> : null}
      <Loading state={data}>{(d) => {
        const name = new Map(d.projects.map((p: any) => [p.id, p.name]));
        const free = d.machines.filter((m: any) => m.plan && !m.device);
        return (
          <>
            {d.reservations.length === 0 ? <Empty>No machine is reserved.</Empty> : (
              <>
                <ReservationTable list={d.reservations} project={(r) => name.get(r.project.id) || r.project.id} />
                <ul class="plain">{d.reservations.map((r: any) => (
                  <li>{r.short_id}: <button type="button" class="small" onClick={() => toggle(r)}>{r.provisionable ? "Make unprovisionable" : "Make provisionable"}</button>
                    {" "}<button type="button" class="danger small" onClick={() => release(r)} disabled={!!r.device}>Release</button></li>))}</ul>
              </>)}
            <form class="inline-form" onSubmit={submit} aria-label="Reserve a machine">
              <Field label="Project"><select required value={form.project_id} onChange={(e) => setForm({ ...form, project_id: (e.target as HTMLSelectElement).value })}>
                <option value="">Choose</option>{d.projects.map((p: any) => <option value={p.id}>{p.name}</option>)}</select></Field>
              <Field label="Machine"><select required value={form.machine_id} onChange={(e) => setForm({ ...form, machine_id: (e.target as HTMLSelectElement).value })}>
                <option value="">Choose</option>{free.map((m: any) => <option value={m.id}>{m.hostname} ({m.plan.slug}, {m.metro.code}, {m.state})</option>)}</select></Field>
              <button type="submit" class="primary">Reserve</button>
            </form>
          </>
        );
      }}</Loading>
    </>
  );
}
