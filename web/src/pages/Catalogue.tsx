import { useState } from "preact/hooks";
import { all, del, enc, post } from "../api";
import { Busy, Empty, ErrorBox, Field, Loading, PageTitle, useAction, useLoad } from "../ui";

export function Catalogue() {
  const data = useLoad(async () => {
    const [metros, plans, oses, pools] = await Promise.all([all("/locations/metros", "metros"), all("/plans", "plans"),
      all("/operating-systems", "operating_systems"), all("/ip-pools", "ip_pools")]);
    return { metros, plans, oses, pools };
  }, []);
  const act = useAction();
  const [metro, setMetro] = useState({ code: "", name: "", country: "" });
  const [pool, setPool] = useState({ metro: "", type: "public_ipv4", cidr: "", gateway: "", description: "" });
  const remove = async (path: string, what: string) => {
    if (!confirm(`Delete ${what}?`)) return;
    if (await act.run("Deleting…", () => del(path))) data.reload();
  };
  const create = async (e: Event, path: string, body: object, reset: () => void) => {
    e.preventDefault();
    if (await act.run("Saving…", () => post(path, body))) { reset(); data.reload(); }
  };
  const x = (path: string, what: string) => <button type="button" class="danger small" onClick={() => remove(path, what)}>Delete</button>;
  return (
    <>
      <PageTitle>Catalogue</PageTitle>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} /> : null}
      <Loading state={data}>{(d) => (
        <>
          <h2>Metros</h2>
          {d.metros.length === 0 ? <Empty>No metros yet.</Empty> : (
            <div class="table-wrap"><table class="list" aria-label="Metros"><thead><tr><th>Code</th><th>Name</th><th>Country</th><th></th></tr></thead>
              <tbody>{d.metros.map((m: any) => <tr><td>{m.code}</td><td>{m.name}</td><td>{m.country || "—"}</td><td>{x(`/locations/metros/${enc(m.id)}`, `metro ${m.code}`)}</td></tr>)}</tbody></table></div>)}
          <form class="inline-form" onSubmit={(e) => create(e, "/locations/metros", metro, () => setMetro({ code: "", name: "", country: "" }))} aria-label="Add a metro">
            <Field label="Code"><input required value={metro.code} onInput={(e) => setMetro({ ...metro, code: (e.target as HTMLInputElement).value })} /></Field>
            <Field label="Name"><input required value={metro.name} onInput={(e) => setMetro({ ...metro, name: (e.target as HTMLInputElement).value })} /></Field>
            <Field label="Country"><input value={metro.country} onInput={(e) => setMetro({ ...metro, country: (e.target as HTMLInputElement).value })} /></Field>
            <button type="submit">Add metro</button>
          </form>
          <h2>Plans</h2>
          {d.plans.length === 0 ? <Empty>No plans yet (the API's POST /plans adds them).</Empty> : (
            <div class="table-wrap"><table class="list" aria-label="Plans"><thead><tr><th>Slug</th><th>Name</th><th>Class</th><th>Price / h</th><th>Metros with machines</th><th>Match rules</th><th></th></tr></thead>
              <tbody>{d.plans.map((p: any) => <tr><td>{p.slug}</td><td>{p.name}</td><td>{p.class}</td><td>{p.pricing?.hour ?? "—"}</td>
                <td>{(p.available_in_metros || []).map((m: any) => d.metros.find((x: any) => x.href === m.href)?.code ?? "?").join(", ") || "—"}</td><td class="mono small">{JSON.stringify(p.match || {})}</td>
                <td>{x(`/plans/${enc(p.id)}`, `plan ${p.slug}`)}</td></tr>)}</tbody></table></div>)}
          <h2>Operating systems</h2>
          {d.oses.length === 0 ? <Empty>No operating systems yet.</Empty> : (
            <div class="table-wrap"><table class="list" aria-label="Operating systems"><thead><tr><th>Slug</th><th>Name</th><th>Distro</th><th>Version</th><th>Install</th><th></th></tr></thead>
              <tbody>{d.oses.map((o: any) => <tr><td>{o.slug}</td><td>{o.name}</td><td>{o.distro}</td><td>{o.version || "—"}</td><td>{o.install_method || "—"}</td>
                <td>{x(`/operating-systems/${enc(o.id)}`, `operating system ${o.slug}`)}</td></tr>)}</tbody></table></div>)}
          <h2>IP pools</h2>
          {d.pools.length === 0 ? <Empty>No IP pools yet: devices need one per kind in their metro.</Empty> : (
            <div class="table-wrap"><table class="list" aria-label="IP pools"><thead><tr><th>Metro</th><th>Type</th><th>CIDR</th><th>Gateway</th><th>Description</th><th></th></tr></thead>
              <tbody>{d.pools.map((p: any) => <tr><td>{p.metro?.code}</td><td>{p.type}</td><td class="mono">{p.cidr}</td><td class="mono">{p.gateway || "—"}</td><td>{p.description || "—"}</td>
                <td>{x(`/ip-pools/${enc(p.id)}`, `pool ${p.cidr}`)}</td></tr>)}</tbody></table></div>)}
          <form class="inline-form" aria-label="Add an IP pool"
            onSubmit={(e) => create(e, "/ip-pools", { ...pool, metro: pool.metro || d.metros[0]?.code }, () => setPool({ ...pool, cidr: "", gateway: "", description: "" }))}>
            <Field label="Metro"><select value={pool.metro} onChange={(e) => setPool({ ...pool, metro: (e.target as HTMLSelectElement).value })}>{d.metros.map((m: any) => <option value={m.code}>{m.code}</option>)}</select></Field>
            <Field label="Type"><select value={pool.type} onChange={(e) => setPool({ ...pool, type: (e.target as HTMLSelectElement).value })}>
              <option value="public_ipv4">public IPv4</option><option value="private_ipv4">private IPv4</option><option value="public_ipv6">public IPv6</option></select></Field>
            <Field label="CIDR"><input required class="mono" value={pool.cidr} onInput={(e) => setPool({ ...pool, cidr: (e.target as HTMLInputElement).value })} /></Field>
            <Field label="Gateway"><input class="mono" value={pool.gateway} onInput={(e) => setPool({ ...pool, gateway: (e.target as HTMLInputElement).value })} /></Field>
            <Field label="Description"><input value={pool.description} onInput={(e) => setPool({ ...pool, description: (e.target as HTMLInputElement).value })} /></Field>
            <button type="submit">Add pool</button>
          </form>
        </>
      )}</Loading>
    </>
  );
}
