import { useState } from "preact/hooks";
import { all, del, enc, post } from "../api";
import { Busy, Empty, ErrorBox, Field, Link, Loading, PageTitle, Tags, useAction, useLoad } from "../ui";

export function Ips({ pid }: { pid: string }) {
  const data = useLoad(async () => {
    const [blocks, devices, metros] = await Promise.all([
      all(`/projects/${enc(pid)}/ips`, "ip_addresses"), all(`/projects/${enc(pid)}/devices`, "devices"),
      all("/locations/metros", "metros")]);
    return { blocks, devices, metros };
  }, [pid]);
  const act = useAction();
  const [form, setForm] = useState({ type: "public_ipv4", metro: "", quantity: 4, details: "", tags: "" });
  const [assign, setAssign] = useState({ device: "", address: "" });
  const reserve = async (e: Event) => {
    e.preventDefault();
    const body = { ...form, metro: form.metro || data.data?.metros[0]?.code, tags: form.tags.split(",").map((t) => t.trim()).filter(Boolean) };
    if (await act.run("Reserving…", () => post(`/projects/${enc(pid)}/ips`, body))) data.reload();
  };
  const attach = async (e: Event) => {
    e.preventDefault();
    if (await act.run("Assigning…", () => post(`/devices/${enc(assign.device)}/ips`, { address: assign.address }))) {
      setAssign({ ...assign, address: "" }); data.reload();
    }
  };
  const release = async (id: string, what: string) => {
    if (!confirm(`${what}?`)) return;
    if (await act.run("Releasing…", () => del(`/ips/${enc(id)}`))) data.reload();
  };
  return (
    <>
      <PageTitle>IP addresses</PageTitle>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} /> : null}
      <Loading state={data}>{(d) => (
        <>
          <h2>Reserved blocks</h2>
          {d.blocks.length === 0 ? <Empty>No reserved blocks. Reserve one below to give devices extra addresses.</Empty> : (
            <div class="table-wrap"><table class="list" aria-label="Reserved blocks">
              <thead><tr><th>Block</th><th>Type</th><th>Metro</th><th>Description</th><th>Tags</th><th></th></tr></thead>
              <tbody>{d.blocks.map((b: any) => (
                <tr><td class="mono">{b.network}/{b.cidr}</td><td>{b.type}</td><td>{b.metro?.code}</td><td>{b.details || "—"}</td>
                  <td><Tags tags={b.tags} /></td>
                  <td><button type="button" class="danger small" onClick={() => release(b.id, `Release ${b.network}/${b.cidr}`)}>Release</button></td></tr>))}
              </tbody></table></div>)}
          <h2>Assignments</h2>
          {d.devices.every((x: any) => !(x.ip_addresses || []).length) ? <Empty>No device has an address yet.</Empty> : (
            <div class="table-wrap"><table class="list" aria-label="Assignments">
              <thead><tr><th>Address</th><th>Device</th><th>Type</th><th></th></tr></thead>
              <tbody>{d.devices.flatMap((dev: any) => (dev.ip_addresses || []).map((a: any) => (
                <tr><td class="mono">{a.address}/{a.cidr}</td><td><Link href={`/devices/${dev.id}`}>{dev.hostname}</Link></td>
                  <td>{a.public ? "public" : "private"} IPv{a.address_family}{a.management ? " (management)" : ""}</td>
                  <td>{a.management ? null : <button type="button" class="danger small" onClick={() => release(a.id, `Unassign ${a.address} from ${dev.hostname}`)}>Unassign</button>}</td></tr>)))}
              </tbody></table></div>)}
          <div class="columns">
            <form class="card" onSubmit={reserve} aria-label="Reserve a block">
              <h2>Reserve a block</h2>
              <Field label="Type">
                <select value={form.type} onChange={(e) => setForm({ ...form, type: (e.target as HTMLSelectElement).value })}>
                  <option value="public_ipv4">public IPv4</option><option value="private_ipv4">private IPv4</option><option value="public_ipv6">public IPv6</option>
                </select>
              </Field>
              <Field label="Metro">
                <select value={form.metro} onChange={(e) => setForm({ ...form, metro: (e.target as HTMLSelectElement).value })}>
                  {d.metros.map((m: any) => <option value={m.code}>{m.code}</option>)}
                </select>
              </Field>
              <Field label="Addresses" hint="A power of two.">
                <input type="number" min={1} max={256} value={form.quantity} onInput={(e) => setForm({ ...form, quantity: parseInt((e.target as HTMLInputElement).value || "1", 10) })} />
              </Field>
              <Field label="Details"><input value={form.details} onInput={(e) => setForm({ ...form, details: (e.target as HTMLInputElement).value })} /></Field>
              <Field label="Tags"><input value={form.tags} onInput={(e) => setForm({ ...form, tags: (e.target as HTMLInputElement).value })} /></Field>
              <button type="submit" class="primary" disabled={!!act.busy}>Reserve</button>
            </form>
            <form class="card" onSubmit={attach} aria-label="Assign an address">
              <h2>Assign an address</h2>
              <Field label="Device">
                <select required value={assign.device} onChange={(e) => setAssign({ ...assign, device: (e.target as HTMLSelectElement).value })}>
                  <option value="">Choose a device</option>
                  {d.devices.map((x: any) => <option value={x.id}>{x.hostname}</option>)}
                </select>
              </Field>
              <Field label="Address" hint="From one of the reserved blocks.">
                <input required class="mono" value={assign.address} onInput={(e) => setAssign({ ...assign, address: (e.target as HTMLInputElement).value })} />
              </Field>
              <button type="submit" class="primary" disabled={!!act.busy}>Assign</button>
            </form>
          </div>
        </>
      )}</Loading>
    </>
  );
}
