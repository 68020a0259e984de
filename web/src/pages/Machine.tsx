import { useState } from "preact/hooks";
import { call, enc, get, post } from "../api";
import { Busy, ErrorBox, Json, Link, Loading, PageTitle, useAction, useLoad, when } from "../ui";
import { LiveEvents } from "./Events";
import { MaintenanceDialog } from "./MaintenanceDialog";

export function MachinePage({ id }: { id: string }) {
  const machine = useLoad(() => get(`/machines/${enc(id)}`), [id], (m: any) => (m && m.operation ? 1500 : 5000));
  return <Loading state={machine}>{(m: any) => <MachineView m={m} reload={machine.reload} />}</Loading>;
}

function MachineView({ m, reload }: { m: any; reload: () => void }) {
  const act = useAction();
  const [asking, setAsking] = useState(false);
  const match = useLoad(() => get(`/machines/${enc(m.id)}/plan-match`), [m.id, m.plan?.slug, m.facts ? Object.keys(m.facts).length : 0]);
  const action = (type: string) => act.run(`${type.replace("_", " ")}…`, () => post(`/machines/${enc(m.id)}/actions`, { type })).then(reload);
  const maintenanceOn = async (reason: string) => {
    setAsking(false);
    await act.run("Maintenance on…", () => post(`/machines/${enc(m.id)}/maintenance`, { reason }));
    reload();
  };
  const maintenanceOff = () => act.run("Maintenance off…", () => call("DELETE", `/machines/${enc(m.id)}/maintenance`)).then(reload);
  const bmc = m.bmc || {};
  return (
    <>
      <PageTitle>{m.hostname}</PageTitle>
      <p class="crumbs"><Link href="/fleet">← Fleet</Link> · <span class="mono">{m.id}</span></p>
      <div class="status-line">
        <span class={`state s-${m.state}`} data-state={m.state}>{m.state}</span>
        <span class="tag">power {m.power_state}{m.power_expected && m.power_expected !== m.power_state ? ` (expected ${m.power_expected})` : ""}</span>
        {m.operation ? <span class="tag">{m.operation}{m.step ? `: ${m.step}` : ""}</span> : null}
      </div>
      {m.state === "maintenance" && m.maintenance_reason ? <p class="note">In maintenance: {m.maintenance_reason}</p> : null}
      {m.last_error ? <div class="error" role="alert"><strong>Last error</strong><ul><li>{m.last_error}</li></ul></div> : null}
      <div class="toolbar" role="toolbar" aria-label="Machine actions">
        {m.state === "maintenance" ? (
          <button type="button" onClick={maintenanceOff} disabled={!!act.busy}>Maintenance off</button>
        ) : (
          <button type="button" onClick={() => setAsking(true)} disabled={!!act.busy}>Maintenance on…</button>
        )}
        <button type="button" onClick={() => action("power_on")} disabled={!!act.busy || !!m.device}>Power on</button>
        <button type="button" onClick={() => action("power_off")} disabled={!!act.busy || !!m.device}>Power off</button>
        <button type="button" onClick={() => action("reboot")} disabled={!!act.busy || !!m.device}>Reboot</button>
        <button type="button" onClick={() => action("inspect")} disabled={!!act.busy}>Inspect</button>
      </div>
      <ErrorBox error={act.error} />
      {act.busy ? <Busy label={act.busy} since={act.since} /> : null}
      <div class="columns">
        <section>
          <h2>Machine</h2>
          <dl class="facts">
            <dt>Metro</dt><dd>{m.metro?.code}</dd>
            <dt>Plan</dt><dd>{m.plan?.slug || "none yet"}</dd>
            <dt>Device</dt><dd>{m.device ? <Link href={`/devices/${m.device.id}`}>{m.device.id}</Link> : "none (free)"}</dd>
            <dt>Current operation</dt><dd>{m.operation ? `${m.operation} — step ${m.step || "?"}` : "none"}</dd>
            <dt>Power checked</dt><dd>{when(m.power_checked_at)}</dd>
            <dt>Enrolled</dt><dd>{when(m.created_at)}</dd>
          </dl>
          <h2>BMC</h2>
          <dl class="facts">
            <dt>Driver</dt><dd>{bmc.driver}</dd>
            <dt>Address</dt><dd class="mono">{bmc.address}</dd>
            <dt>Username</dt><dd>{bmc.username || "—"}</dd>
            <dt>Password</dt><dd>{bmc.password_set ? "set (never shown)" : "not set"}</dd>
            <dt>Options</dt><dd><Json value={bmc.options || {}} /></dd>
          </dl>
          <h2>NICs</h2>
          {(m.nics || []).length === 0 ? <p class="muted">No NICs known.</p> : (
            <div class="table-wrap"><table class="list" aria-label="NICs"><thead><tr><th>Name</th><th>MAC</th></tr></thead>
              <tbody>{m.nics.map((n: any) => <tr><td>{n.name}</td><td class="mono">{n.mac}</td></tr>)}</tbody></table></div>
          )}
          <h2>Plan match</h2>
          <Loading state={match}>{(pm: any) => !pm.inspected ? <p class="muted">Not inspected yet: no facts to match.</p> : (
            <>
              <p>{pm.plan ? (pm.fits ? `The facts fit ${pm.plan}.` : `The facts do not fit ${pm.plan}: ${pm.reasons.join("; ")}`) : "No plan yet."}</p>
              <div class="table-wrap"><table class="list" aria-label="Plans"><thead><tr><th>Plan</th><th>Fits</th><th>Why not</th></tr></thead>
                <tbody>{pm.candidates.map((c: any) => <tr><td>{c.plan}</td><td>{c.fits ? "yes" : "no"}</td><td>{c.reasons.join("; ") || "—"}</td></tr>)}</tbody></table></div>
            </>)}</Loading>
          <h2>Inspected facts</h2>
          {m.facts && Object.keys(m.facts).length ? <Json value={m.facts} /> : <p class="muted">None yet.</p>}
        </section>
        <section>
          <h2>Events</h2>
          <LiveEvents path={`/events?target=${enc(m.id)}`} busy={!!m.operation} version={`${m.state} ${m.updated_at}`} />
        </section>
      </div>
      <MaintenanceDialog open={asking} title={`Put ${m.hostname} in maintenance`} onClose={() => setAsking(false)} onSubmit={maintenanceOn} />
    </>
  );
}
