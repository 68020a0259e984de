import { useState } from "preact/hooks";
import { all, del, enc, post } from "../api";
import { Busy, Empty, ErrorBox, Field, Loading, PageTitle, ago, useAction, useLoad } from "../ui";

export function SshKeys({ pid }: { pid: string }) {
  const keys = useLoad(async () => {
    const project = await all(`/projects/${enc(pid)}/ssh-keys`, "ssh_keys");
    const mine = (await all("/ssh-keys", "ssh_keys").catch(() => [])).filter((k: any) => !project.some((p: any) => p.id === k.id) && !k.project);
    return [...project.map((k: any) => ({ ...k, scope: "project" })), ...mine.map((k: any) => ({ ...k, scope: "yours" }))];
  }, [pid]);
  const [label, setLabel] = useState("");
  const [key, setKey] = useState("");
  const [scope, setScope] = useState("project");
  const act = useAction();
  const add = async (e: Event) => {
    e.preventDefault();
    const path = scope === "project" ? `/projects/${enc(pid)}/ssh-keys` : "/ssh-keys";
    if (await act.run("Adding the key…", () => post(path, { label, key }))) { setLabel(""); setKey(""); keys.reload(); }
  };
  const remove = async (k: any) => {
    if (!confirm(`Delete the SSH key ${k.label || k.fingerprint}?`)) return;
    if (await act.run("Deleting…", () => del(`/ssh-keys/${enc(k.id)}`))) keys.reload();
  };
  return (
    <>
      <PageTitle>SSH keys</PageTitle>
      <p class="muted">New devices get the project's keys and yours, unless you pick others in the create form.</p>
      <ErrorBox error={act.error} />
      <Loading state={keys}>{(list: any[]) => list.length === 0 ? <Empty>No SSH keys yet: add one below.</Empty> : (
        <div class="table-wrap"><table class="list" aria-label="SSH keys">
          <thead><tr><th>Label</th><th>Fingerprint</th><th>Belongs to</th><th>Added</th><th></th></tr></thead>
          <tbody>{list.map((k) => (
            <tr><td>{k.label || "—"}</td><td class="mono">{k.fingerprint}</td><td>{k.scope === "project" ? "this project" : "you"}</td>
              <td>{ago(k.created_at)}</td><td><button type="button" class="danger small" onClick={() => remove(k)}>Delete</button></td></tr>))}
          </tbody></table></div>)}
      </Loading>
      <h2>Add a key</h2>
      <form class="card" onSubmit={add}>
        <div class="grid2">
          <Field label="Label"><input value={label} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} /></Field>
          <Field label="Belongs to">
            <select value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value)}>
              <option value="project">This project</option><option value="user">You (every project)</option>
            </select>
          </Field>
        </div>
        <Field label="Public key" hint="An OpenSSH public key: ssh-ed25519 AAAA… comment">
          <textarea class="mono" rows={3} required value={key} onInput={(e) => setKey((e.target as HTMLTextAreaElement).value)} />
        </Field>
        {act.busy ? <Busy label={act.busy} /> : null}
        <button type="submit" class="primary" disabled={!!act.busy}>Add key</button>
      </form>
    </>
  );
}
