import { all, enc, get } from "../api";
import { useEffect, useState } from "preact/hooks";
import { Empty, Link, Loading, PageTitle, useLoad, when } from "../ui";

function DeviceCount({ pid }: { pid: string }) {
  const [n, setN] = useState<number | null>(null);
  useEffect(() => { get(`/projects/${enc(pid)}/devices?per_page=1`).then((r) => setN(r.meta?.total ?? 0), () => setN(null)); }, [pid]);
  return <>{n ?? "…"}</>;
}

export function People() {
  const data = useLoad(async () => {
    const [projects, users] = await Promise.all([all("/projects", "projects"), all("/users", "users")]);
    return { projects, users };
  }, []);
  return (
    <>
      <PageTitle>Projects & users</PageTitle>
      <Loading state={data}>{(d) => {
        const email = new Map(d.users.map((u: any) => [u.id, u.email]));
        return (
          <>
            <h2>Projects</h2>
            {d.projects.length === 0 ? <Empty>No projects yet.</Empty> : (
              <div class="table-wrap"><table class="list" aria-label="Projects">
                <thead><tr><th>Name</th><th>Members</th><th>Devices</th><th>Created</th></tr></thead>
                <tbody>{d.projects.map((p: any) => (
                  <tr><td><Link href={`/projects/${p.id}/devices`}>{p.name}</Link><div class="mono small muted">{p.id}</div></td>
                    <td>{(p.members || []).map((m: any) => m.href.split("/").pop()).map((id: string) => email.get(id) || id).join(", ") || "—"}</td>
                    <td><DeviceCount pid={p.id} /></td><td>{when(p.created_at)}</td></tr>))}
                </tbody></table></div>)}
            <h2>Users</h2>
            <p class="muted small">Add users with <code>ingot admin user create --email … --password</code>.</p>
            {d.users.length === 0 ? <Empty>No users.</Empty> : (
              <div class="table-wrap"><table class="list" aria-label="Users">
                <thead><tr><th>Email</th><th>Name</th><th>Role</th><th>Created</th></tr></thead>
                <tbody>{d.users.map((u: any) => (
                  <tr><td>{u.email}</td><td>{u.full_name || "—"}</td><td>{u.is_operator ? "operator" : "member"}</td><td>{when(u.created_at)}</td></tr>))}
                </tbody></table></div>)}
          </>
        );
      }}</Loading>
    </>
  );
}
