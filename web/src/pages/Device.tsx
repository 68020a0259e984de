import { useState } from "preact/hooks";
import { all, del, enc, get, patch, post } from "../api";
import { navigate } from "../router";
import { Busy, Dialog, ErrorBox, Field, Json, Link, Loading, PageTitle, StateBadge, Tags, useAction, useLoad, when } from "../ui";
import { FailedReason } from "./Devices";
import { LiveEvents, deviceEventsPath, isBusy } from "./Events";

export function DevicePage({ id }: { id: string }) {
  const device = useLoad(() => get(`/devices/${enc(id)}`), [id], (d: any) => (d && isBusy(d.state) ? 1500 : 6000));
  return (
    <Loading state={device}>{(d: any) => <DeviceView d={d} reload={device.reload} />}</Loading>
  );
}

function DeviceView({ d, reload }: { d: any; reload: () => void }) {
  const act = useAction();
  const [dialog, setDialog] = useState<"" | "delete" | "reinstall" | "tags">("");
  const busy = isBusy(d.state);
  const action = (type: string, extra: object = {}) =>
    act.run(`${type.replace("_", " ")}…`, () => post(`/devices/${enc(d.id)}/actions`, { type, ...extra })).then((ok) => { if (ok) reload(); return ok; });
  const lock = () => act.run(d.locked ? "Unlocking…" : "Locking…", () => patch(`/devices/${enc(d.id)}`, { locked: !d.locked })).then(reload);
  const remove = async () => {
    if (await act.run("Deleting…", () => del(`/devices/${enc(d.id)}`))) {
      setDialog("");
      navigate(`/projects/${d.project.id}/devices`);
    } else setDialog("");
  };
  return (
    <>
      <PageTitle>{d.hostname}</PageTitle>
      <p class="crumbs"><Link href={`/projects/${d.project.id}/devices`}>← Devices</Link> · <span class="mono">{d.id}</span></p>
      <div class="status-line">
        <StateBadge state={d.state} percent={d.provisioning_percentage} />
        {d.locked ? <span class="tag">locked</span> : null}
        {d.rescue ? <span class="tag">rescue</span> : null}
      </div>
      {d.state === "failed" ? <div class="error" role="alert"><strong>Why it failed</strong><FailedReason id={d.id} /></div> : null}
      <div class="toolbar" role="toolbar" aria-label="Device actions">
        <button type="button" onClick={() => action("power_on")} disabled={!!act.busy || d.state !== "inactive"}>Power on</button>
        <button type="button" onClick={() => action("power_off")} disabled={!!act.busy || d.state !== "active"}>Power off</button>
        <button type="button" onClick={() => action("reboot")} disabled={!!act.busy || d.state !== "active"}>Reboot</button>
        <button type="button" onClick={() => setDialog("reinstall")} disabled={!!act.busy || busy || d.locked}>Reinstall…</button>
        <button type="button" onClick={() => action("rescue")} disabled={!!act.busy || d.state !== "active"}>Rescue</button>
        <button type="button" onClick={lock} disabled={!!act.busy}>{d.locked ? "Unlock" : "Lock"}</button>
        <button type="button" onClick={() => setDialog("tags")} disabled={!!act.busy}>Edit tags…</button>
        <button type="button" class="danger" onClick={() => setDialog("delete")} disabled={!!act.busy || d.locked || d.state === "deprovisioning"}>Delete…</button>
      </div>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} since={act.since} /> : null}
      <div class="columns">
        <section>
          <h2>Details</h2>
          <dl class="facts">
            <dt>Plan</dt><dd>{d.plan?.slug} <span class="muted">{d.plan?.name}</span></dd>
            <dt>Metro</dt><dd>{d.metro?.code} <span class="muted">{d.metro?.name}</span></dd>
            <dt>Operating system</dt><dd>{d.operating_system?.name || d.operating_system?.slug}</dd>
            <dt>Network type</dt><dd>{d.network_type || "layer3"}</dd>
            <dt>Description</dt><dd>{d.description || "—"}</dd>
            <dt>Tags</dt><dd><Tags tags={d.tags} /></dd>
            <dt>Hardware reservation</dt><dd>{d.hardware_reservation ? <span class="mono">{d.hardware_reservation.id}</span> : "—"}</dd>
            <dt>Always PXE</dt><dd>{d.always_pxe ? "yes" : "no"}</dd>
            {d.ipxe_script_url ? <><dt>iPXE script</dt><dd class="mono">{d.ipxe_script_url}</dd></> : null}
            {d.root_password ? <><dt>Root password</dt><dd><details><summary>Show (for a day after creation)</summary><code>{d.root_password}</code></details></dd></> : null}
            <dt>Created</dt><dd>{when(d.created_at)}</dd>
            <dt>Updated</dt><dd>{when(d.updated_at)}</dd>
          </dl>
          <h2>Addresses</h2>
          {(d.ip_addresses || []).length === 0 ? <p class="muted">No addresses yet.</p> : (
            <div class="table-wrap"><table class="list" aria-label="Addresses">
              <thead><tr><th>Address</th><th>Type</th><th>Gateway</th><th>Management</th></tr></thead>
              <tbody>{d.ip_addresses.map((a: any) => (
                <tr><td class="mono">{a.address}/{a.cidr}</td><td>{a.public ? "public" : "private"} IPv{a.address_family}</td>
                  <td class="mono">{a.gateway || "—"}</td><td>{a.management ? "yes" : "no"}</td></tr>))}
              </tbody></table></div>
          )}
          <h2>Network ports</h2>
          {(d.network_ports || []).length === 0 ? <p class="muted">No ports.</p> : (
            <div class="table-wrap"><table class="list" aria-label="Network ports">
              <thead><tr><th>Name</th><th>MAC</th><th>Type</th><th>Bonded</th></tr></thead>
              <tbody>{d.network_ports.map((p: any) => (
                <tr><td>{p.name}</td><td class="mono">{p.data?.mac}</td><td>{p.network_type || p.type}</td><td>{p.data?.bonded ? "yes" : "no"}</td></tr>))}
              </tbody></table></div>
          )}
          {d.userdata ? <><h2>User data</h2><pre class="userdata">{d.userdata}</pre></> : null}
          {d.customdata && Object.keys(d.customdata).length ? <><h2>Custom data</h2><Json value={d.customdata} /></> : null}
        </section>
        <section>
          <h2>Events</h2>
          <LiveEvents path={deviceEventsPath(d.id)} busy={busy} version={`${d.state} ${d.updated_at}`} story />
        </section>
      </div>
      <Dialog open={dialog === "delete"} title={`Delete ${d.hostname}?`} onClose={() => setDialog("")}>
        <p>The server is powered off, its disks are wiped and it returns to the pool. This cannot be undone.</p>
        <div class="actions">
          <button type="button" class="danger" onClick={remove}>Delete {d.hostname}</button>
          <button type="button" onClick={() => setDialog("")}>Cancel</button>
        </div>
      </Dialog>
      <Dialog open={dialog === "reinstall"} title={`Reinstall ${d.hostname}`} onClose={() => setDialog("")}>
        <Reinstall d={d} onDone={async (os, preserve) => {
          setDialog("");
          await action("reinstall", { operating_system: os, preserve_data: preserve });
        }} onCancel={() => setDialog("")} />
      </Dialog>
      <Dialog open={dialog === "tags"} title={`Tags of ${d.hostname}`} onClose={() => setDialog("")}>
        <TagsForm d={d} onDone={async (tags) => {
          setDialog("");
          await act.run("Saving tags…", () => patch(`/devices/${enc(d.id)}`, { tags }));
          reload();
        }} onCancel={() => setDialog("")} />
      </Dialog>
    </>
  );
}

function Reinstall({ d, onDone, onCancel }: { d: any; onDone: (os: string, preserve: boolean) => void; onCancel: () => void }) {
  const oses = useLoad(() => all("/operating-systems", "operating_systems"), []);
  const [os, setOs] = useState(d.operating_system?.slug || "");
  const [preserve, setPreserve] = useState(false);
  return (
    <form onSubmit={(e) => { e.preventDefault(); onDone(os, preserve); }}>
      <Field label="Operating system">
        <select value={os} onChange={(e) => setOs((e.target as HTMLSelectElement).value)}>
          {(oses.data || []).map((o: any) => <option value={o.slug}>{o.name || o.slug}</option>)}
        </select>
      </Field>
      <label class="check"><input type="checkbox" checked={preserve} onChange={(e) => setPreserve((e.target as HTMLInputElement).checked)} /> Preserve data (keep non-OS disks)</label>
      <div class="actions">
        <button type="submit" class="primary">Reinstall</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

function TagsForm({ d, onDone, onCancel }: { d: any; onDone: (tags: string[]) => void; onCancel: () => void }) {
  const [text, setText] = useState((d.tags || []).join(", "));
  return (
    <form onSubmit={(e) => { e.preventDefault(); onDone(text.split(",").map((t: string) => t.trim()).filter(Boolean)); }}>
      <Field label="Tags" hint="Comma-separated.">
        <input value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
      </Field>
      <div class="actions">
        <button type="submit" class="primary">Save</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
