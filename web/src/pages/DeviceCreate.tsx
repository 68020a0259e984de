import { useMemo, useState } from "preact/hooks";
import { all, ApiError, enc, get, post } from "../api";
import { navigate } from "../router";
import { Busy, ErrorBox, Field, Link, Loading, PageTitle, useAction, useLoad } from "../ui";

type Capacity = Record<string, Record<string, { level: string; available_servers: number }>>;

function specs(p: any): string {
  const s = p.specs || {};
  const cpu = (s.cpus || []).map((c: any) => `${c.count}× ${c.type}`).join(", ");
  const drives = (s.drives || []).map((d: any) => `${d.count}× ${d.size} ${d.type}`).join(", ");
  return [cpu, s.memory?.total, drives].filter(Boolean).join(" · ");
}

export function DeviceCreate({ pid }: { pid: string }) {
  const data = useLoad(async () => {
    const [metros, plans, oses, capacity, projectKeys, myKeys, reservations] = await Promise.all([
      all("/locations/metros", "metros"), all("/plans", "plans"), all("/operating-systems", "operating_systems"),
      get<{ capacity: Capacity }>("/capacity/metros").then((r) => r.capacity),
      all(`/projects/${enc(pid)}/ssh-keys`, "ssh_keys"), all("/ssh-keys", "ssh_keys").catch(() => []),
      all(`/projects/${enc(pid)}/hardware-reservations`, "hardware_reservations"),
    ]);
    return { metros, plans, oses, capacity, projectKeys, myKeys, reservations };
  }, [pid]);
  return (
    <>
      <PageTitle>New device</PageTitle>
      <Loading state={data}>{(d) => <CreateForm pid={pid} {...d} />}</Loading>
    </>
  );
}

function CreateForm(props: { pid: string; metros: any[]; plans: any[]; oses: any[]; capacity: Capacity; projectKeys: any[]; myKeys: any[]; reservations: any[] }) {
  const { pid, metros, plans, oses, capacity, projectKeys, reservations } = props;
  const userKeys = props.myKeys.filter((k: any) => !projectKeys.some((p: any) => p.id === k.id) && !k.project);
  const [metro, setMetro] = useState(metros[0]?.code || "");
  const free = (slug: string) => capacity[metro]?.[slug]?.available_servers ?? 0;
  const firstFree = plans.find((p: any) => free(p.slug) > 0)?.slug || "";
  const [plan, setPlan] = useState(firstFree);
  const [os, setOs] = useState(oses.find((o: any) => o.slug !== "custom_ipxe")?.slug || oses[0]?.slug || "");
  const [hostnames, setHostnames] = useState("");
  const [quantity, setQuantity] = useState(1);
  const [description, setDescription] = useState("");
  const [tags, setTags] = useState("");
  const [userdata, setUserdata] = useState("");
  const [ipxe, setIpxe] = useState("");
  const [reservation, setReservation] = useState("");
  const allKeys = [...projectKeys.map((k: any) => ({ ...k, scope: "project" })), ...userKeys.map((k: any) => ({ ...k, scope: "user" }))];
  const [keys, setKeys] = useState<Set<string>>(new Set(allKeys.map((k: any) => k.id)));
  const act = useAction();
  const usable = reservations.filter((r: any) => r.provisionable && !r.device);
  const chosenOs = oses.find((o: any) => o.slug === os);
  const names = useMemo(() => hostnames.split(/[\s,]+/).map((h) => h.trim()).filter(Boolean), [hostnames]);
  const count = Math.max(quantity, names.length || 1);

  const submit = async (e: Event) => {
    e.preventDefault();
    const spec: any = {
      plan, metro, operating_system: os, description, userdata,
      tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
    };
    if (ipxe) spec.ipxe_script_url = ipxe;
    if (reservation) spec.hardware_reservation_id = reservation;
    if (keys.size === 0 && allKeys.length > 0) {
      spec.no_ssh_keys = true;  // empty key lists mean "the default keys" in the API, as omitted ones do
    } else if (keys.size !== allKeys.length) {
      spec.project_ssh_keys = allKeys.filter((k: any) => k.scope === "project" && keys.has(k.id)).map((k: any) => k.id);
      spec.user_ssh_keys = allKeys.filter((k: any) => k.scope === "user" && keys.has(k.id)).map((k: any) => k.id);
    }
    const ok = await act.run(count > 1 ? `Creating ${count} devices…` : "Creating the device…", async () => {
      if (count === 1) {
        if (names[0]) spec.hostname = names[0];
        await post(`/projects/${enc(pid)}/devices`, spec);
        return;
      }
      const batch = { ...spec, quantity: count, hostnames: names };
      if (names.length === 1) { batch.hostname = names[0]; batch.hostnames = []; }
      const r = await post(`/projects/${enc(pid)}/devices/batch`, { batches: [batch] });
      const failed = (r.batches || []).flatMap((b: any) => b.error_messages || []);
      if (failed.length) throw new ApiError(422, failed);
    });
    if (ok) navigate(`/projects/${pid}/devices`);
  };

  return (
    <form class="card create" onSubmit={submit} aria-label="New device">
      <div class="grid2">
        <Field label="Metro">
          <select name="metro" value={metro} onChange={(e) => setMetro((e.target as HTMLSelectElement).value)}>
            {metros.map((m: any) => <option value={m.code}>{m.code} — {m.name}</option>)}
          </select>
        </Field>
        <Field label="Operating system">
          <select name="operating_system" value={os} onChange={(e) => setOs((e.target as HTMLSelectElement).value)}>
            {oses.map((o: any) => <option value={o.slug}>{o.name || o.slug}</option>)}
          </select>
        </Field>
      </div>
      <fieldset class="plans">
        <legend>Plan</legend>
        {plans.length === 0 ? <p class="muted">No plans in the catalogue yet.</p> : null}
        {plans.map((p: any) => {
          const n = free(p.slug);
          return (
            <label class={`plan-choice${n ? "" : " disabled"}`}>
              <input type="radio" name="plan" value={p.slug} checked={plan === p.slug} disabled={n === 0}
                onChange={() => setPlan(p.slug)} />
              <span><strong>{p.slug}</strong> {p.name ? `— ${p.name}` : ""}<br />
                <span class="muted small">{specs(p)}</span></span>
              <span class={`capacity c-${capacity[metro]?.[p.slug]?.level || "unavailable"}`}>
                {n ? `${n} available` : "none available"}
              </span>
            </label>
          );
        })}
      </fieldset>
      <div class="grid2">
        <Field label="Hostname(s)" hint="One per line or comma-separated; leave empty for generated names.">
          <textarea name="hostnames" rows={2} value={hostnames} onInput={(e) => setHostnames((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <Field label="Quantity" hint={count > 1 ? `${count} devices, created together (all or none).` : undefined}>
          <input name="quantity" type="number" min={1} max={100} value={quantity}
            onInput={(e) => setQuantity(Math.max(1, parseInt((e.target as HTMLInputElement).value || "1", 10)))} />
        </Field>
        <Field label="Description">
          <input name="description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Tags" hint="Comma-separated.">
          <input name="tags" value={tags} onInput={(e) => setTags((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="Hardware reservation">
          <select name="hardware_reservation" value={reservation} onChange={(e) => setReservation((e.target as HTMLSelectElement).value)}>
            <option value="">None (any free machine)</option>
            {usable.length ? <option value="next-available">Next available reservation</option> : null}
            {usable.map((r: any) => <option value={r.id}>{r.short_id} — {r.plan?.slug} in {r.metro?.code}</option>)}
          </select>
        </Field>
        {chosenOs?.slug === "custom_ipxe" || ipxe ? (
          <Field label="iPXE script URL">
            <input name="ipxe_script_url" type="url" value={ipxe} onInput={(e) => setIpxe((e.target as HTMLInputElement).value)} />
          </Field>
        ) : null}
      </div>
      <fieldset>
        <legend>SSH keys</legend>
        {allKeys.length === 0 ? <p class="muted">No SSH keys yet. <Link href={`/projects/${pid}/ssh-keys`}>Add one</Link> to log in to your servers.</p> : null}
        {allKeys.map((k: any) => (
          <label class="check">
            <input type="checkbox" checked={keys.has(k.id)} onChange={(e) => {
              const next = new Set(keys);
              if ((e.target as HTMLInputElement).checked) next.add(k.id); else next.delete(k.id);
              setKeys(next);
            }} />
            {k.label || k.fingerprint} <span class="muted small">({k.scope} key, {k.fingerprint})</span>
          </label>
        ))}
      </fieldset>
      <Field label="User data" hint="cloud-init or a script, up to 64 KiB.">
        <textarea name="userdata" rows={5} class="mono" value={userdata} onInput={(e) => setUserdata((e.target as HTMLTextAreaElement).value)} />
      </Field>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} since={act.since} /> : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={!!act.busy || !plan}>Create {count > 1 ? `${count} devices` : "device"}</button>
        <Link class="button" href={`/projects/${pid}/devices`}>Cancel</Link>
      </div>
    </form>
  );
}
