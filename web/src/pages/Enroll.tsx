import { useState } from "preact/hooks";
import { all, post } from "../api";
import { Busy, ErrorBox, Field, Link, Loading, PageTitle, useAction, useLoad } from "../ui";

export function Enroll() {
  const catalogue = useLoad(async () => ({ metros: await all("/locations/metros", "metros"), plans: await all("/plans", "plans") }), []);
  return (
    <>
      <PageTitle>Enrol machines</PageTitle>
      <Loading state={catalogue}>{(c) => (
        <div class="columns">
          <OneMachine metros={c.metros} plans={c.plans} />
          <FromFile />
        </div>
      )}</Loading>
    </>
  );
}

function OneMachine({ metros, plans }: { metros: any[]; plans: any[] }) {
  const [f, setF] = useState({ hostname: "", metro: metros[0]?.code || "", plan: "", driver: "redfish", address: "",
    username: "", password: "", options: "{}", macs: "", inspect: false });
  const [made, setMade] = useState<any>(null);
  const act = useAction();
  const set = (k: string) => (e: Event) => {
    const t = e.target as HTMLInputElement;
    setF({ ...f, [k]: t.type === "checkbox" ? t.checked : t.value });
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setMade(null);
    await act.run("Enrolling…", async () => {
      let options: unknown;
      try { options = JSON.parse(f.options || "{}"); } catch { throw new Error("BMC options: must be a JSON object"); }
      const body: any = { hostname: f.hostname, metro: f.metro, plan: f.plan || null,
        bmc: { driver: f.driver, address: f.address, username: f.username, password: f.password, options },
        nics: f.macs.split(/[\s,]+/).filter(Boolean).map((mac, i) => ({ mac, name: `eth${i}` })) };
      if (f.inspect) body.inspect = true;
      setMade(await post("/machines", body));
      setF({ ...f, hostname: "", address: "", password: "", macs: "" });
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Enrol one machine">
      <h2>One machine</h2>
      <Field label="Hostname"><input name="hostname" required value={f.hostname} onInput={set("hostname")} /></Field>
      <Field label="Metro"><select name="metro" value={f.metro} onChange={set("metro")}>{metros.map((m) => <option value={m.code}>{m.code}</option>)}</select></Field>
      <Field label="Plan" hint="Without one, the machine is inspected and matched to a plan.">
        <select name="plan" value={f.plan} onChange={set("plan")}><option value="">Inspect and match</option>{plans.map((p) => <option value={p.slug}>{p.slug}</option>)}</select>
      </Field>
      <Field label="BMC driver"><select name="driver" value={f.driver} onChange={set("driver")}>{["redfish", "ipmi", "qemu", "sim"].map((d) => <option value={d}>{d}</option>)}</select></Field>
      <Field label="BMC address"><input name="address" required value={f.address} onInput={set("address")} /></Field>
      <Field label="BMC username"><input name="username" autocomplete="off" value={f.username} onInput={set("username")} /></Field>
      <Field label="BMC password" hint="Stored encrypted; never shown again."><input name="password" type="password" autocomplete="new-password" value={f.password} onInput={set("password")} /></Field>
      <Field label="BMC options (JSON)"><textarea class="mono" rows={2} value={f.options} onInput={set("options")} /></Field>
      <Field label="NIC MACs" hint="Optional; inspection finds them too."><input name="macs" class="mono" value={f.macs} onInput={set("macs")} /></Field>
      <label class="check"><input type="checkbox" checked={f.inspect} onChange={set("inspect")} /> Inspect even with a plan</label>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} /> : null}
      {made ? <p class="ok" role="status">Enrolled <Link href={`/fleet/machines/${made.id}`}>{made.hostname}</Link> ({made.state}).</p> : null}
      <button type="submit" class="primary" disabled={!!act.busy}>Enrol</button>
    </form>
  );
}

function FromFile() {
  const [file, setFile] = useState<File | null>(null);
  const [check, setCheck] = useState(true);
  const [result, setResult] = useState<any>(null);
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setResult(null);
    const form = new FormData();
    form.append("file", file, file.name);
    await act.run("Checking each BMC and enrolling…", async () => setResult(await post(`/machines/bulk-enroll?check=${check}`, form)));
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Enrol from a file">
      <h2>Many machines from a file</h2>
      <p class="muted small">The inventory file of <code>ingot admin machines enroll --from-file</code>: YAML (or JSON by its name), a list of machines or
        {" "}<code>{"{defaults, machines}"}</code>. See docs/fleet.md.</p>
      <Field label="Inventory file"><input type="file" name="file" accept=".yaml,.yml,.json" required onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] || null)} /></Field>
      <label class="check"><input type="checkbox" checked={check} onChange={(e) => setCheck((e.target as HTMLInputElement).checked)} /> Ask each BMC for its power state first</label>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} since={act.since} /> : null}
      <button type="submit" class="primary" disabled={!!act.busy || !file}>Upload and enrol</button>
      {result ? (
        <div role="status">
          <p><strong>{result.enrolled} enrolled, {result.existing} already enrolled, {result.failed} failed</strong> ({result.seconds} s)</p>
          <div class="table-wrap"><table class="list" aria-label="Enrolment outcomes">
            <thead><tr><th>Hostname</th><th>Outcome</th><th>Why</th></tr></thead>
            <tbody>{result.outcomes.map((o: any) => (
              <tr class={o.status === "failed" ? "bad" : ""}><td>{o.machine_id ? <Link href={`/fleet/machines/${o.machine_id}`}>{o.hostname}</Link> : o.hostname}</td>
                <td>{o.status}{o.state ? ` (${o.state})` : ""}</td><td>{o.kind ? `${o.kind}: ` : ""}{o.message || "—"}</td></tr>))}
            </tbody></table></div>
        </div>
      ) : null}
    </form>
  );
}
