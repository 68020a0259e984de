import { useState } from "preact/hooks";
import { all, del, enc, post } from "../api";
import { Busy, Empty, ErrorBox, Field, Loading, PageTitle, ago, useAction, useLoad, when } from "../ui";

export function ApiKeys({ pid }: { pid: string }) {
  const keys = useLoad(async () => {
    const project = await all(`/projects/${enc(pid)}/api-keys`, "api_keys");
    const mine = await all("/user/api-keys", "api_keys").catch(() => []);
    return [...project.map((k: any) => ({ ...k, scope: "project" })), ...mine.map((k: any) => ({ ...k, scope: "user" }))];
  }, [pid]);
  const [description, setDescription] = useState("");
  const [readOnly, setReadOnly] = useState(false);
  const [scope, setScope] = useState("project");
  const [fresh, setFresh] = useState<any>(null);
  const act = useAction();
  const create = async (e: Event) => {
    e.preventDefault();
    setFresh(null);
    const path = scope === "project" ? `/projects/${enc(pid)}/api-keys` : "/user/api-keys";
    let made: any = null;
    if (await act.run("Creating the key…", async () => { made = await post(path, { description, read_only: readOnly }); })) {
      setFresh(made); setDescription(""); keys.reload();
    }
  };
  const revoke = async (k: any) => {
    if (!confirm(`Revoke the API key ${k.token_prefix}…? Programs using it stop working.`)) return;
    if (await act.run("Revoking…", () => del(`/api-keys/${enc(k.id)}`))) keys.reload();
  };
  return (
    <>
      <PageTitle>API keys</PageTitle>
      {fresh ? (
        <div class="secret" role="status">
          <strong>Your new key — copy it now, it is shown only once:</strong>
          <code class="token">{fresh.token}</code>
          <button type="button" onClick={() => navigator.clipboard?.writeText(fresh.token)}>Copy</button>
          <button type="button" onClick={() => setFresh(null)}>I have saved it</button>
        </div>
      ) : null}
      <ErrorBox error={act.error} />
      <Loading state={keys}>{(list: any[]) => list.length === 0 ? <Empty>No API keys yet.</Empty> : (
        <div class="table-wrap"><table class="list" aria-label="API keys">
          <thead><tr><th>Key</th><th>Description</th><th>Scope</th><th>Access</th><th>Last used</th><th>Expires</th><th></th></tr></thead>
          <tbody>{list.map((k) => (
            <tr><td class="mono">{k.token_prefix}…</td><td>{k.description || "—"}</td><td>{k.scope === "project" ? "this project" : "you"}</td>
              <td>{k.read_only ? "read-only" : "read-write"}</td><td>{ago(k.last_used_at)}</td><td>{when(k.expires_at)}</td>
              <td><button type="button" class="danger small" onClick={() => revoke(k)}>Revoke</button></td></tr>))}
          </tbody></table></div>)}
      </Loading>
      <h2>Create a key</h2>
      <form class="card" onSubmit={create}>
        <div class="grid2">
          <Field label="Description"><input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} /></Field>
          <Field label="Acts as">
            <select value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value)}>
              <option value="project">A member of this project only</option><option value="user">You, in all your projects</option>
            </select>
          </Field>
        </div>
        <label class="check"><input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly((e.target as HTMLInputElement).checked)} /> Read-only</label>
        {act.busy ? <Busy label={act.busy} /> : null}
        <button type="submit" class="primary" disabled={!!act.busy}>Create key</button>
      </form>
    </>
  );
}
