import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./styles.css";
import { all, call, get, setCsrf, SIGNED_OUT } from "./api";
import { match, navigate, useLocation } from "./router";
import { Project, Session, SessionContext } from "./session";
import { Busy, ErrorBox, Empty, Link } from "./ui";
import { SignIn } from "./pages/SignIn";
import { Account } from "./pages/Account";
import { Devices } from "./pages/Devices";
import { DeviceCreate } from "./pages/DeviceCreate";
import { DevicePage } from "./pages/Device";
import { SshKeys } from "./pages/SshKeys";
import { ApiKeys } from "./pages/ApiKeys";
import { Ips } from "./pages/Ips";
import { HardwareReservations } from "./pages/HardwareReservations";
import { ProjectEvents } from "./pages/ProjectEvents";
import { Networks, useNetworkApis } from "./pages/Networks";
import { Fleet } from "./pages/Fleet";
import { MachinePage } from "./pages/Machine";
import { Enroll } from "./pages/Enroll";
import { Catalogue } from "./pages/Catalogue";
import { People } from "./pages/People";
import { OperatorReservations } from "./pages/OperatorReservations";
import { Charts } from "./pages/Charts";

type Route = [string, (p: Record<string, string>) => any];

const ROUTES: Route[] = [
  ["/account", () => <Account />],
  ["/projects/:pid/devices", (p) => <Devices pid={p.pid} />],
  ["/projects/:pid/devices/new", (p) => <DeviceCreate pid={p.pid} />],
  ["/devices/:id", (p) => <DevicePage id={p.id} />],
  ["/projects/:pid/ssh-keys", (p) => <SshKeys pid={p.pid} />],
  ["/projects/:pid/api-keys", (p) => <ApiKeys pid={p.pid} />],
  ["/projects/:pid/ips", (p) => <Ips pid={p.pid} />],
  ["/projects/:pid/hardware-reservations", (p) => <HardwareReservations pid={p.pid} />],
  ["/projects/:pid/events", (p) => <ProjectEvents pid={p.pid} />],
  ["/projects/:pid/networks", (p) => <Networks pid={p.pid} />],
  ["/fleet", () => <Fleet />],
  ["/fleet/machines/:id", (p) => <MachinePage id={p.id} />],
  ["/fleet/enroll", () => <Enroll />],
  ["/fleet/catalogue", () => <Catalogue />],
  ["/fleet/people", () => <People />],
  ["/fleet/reservations", () => <OperatorReservations />],
  ["/fleet/charts", () => <Charts />],
];

function currentProject(path: string, projects: Project[]): string | null {
  const m = path.match(/^\/projects\/([^/]+)/);
  if (m) return decodeURIComponent(m[1]);
  const saved = sessionStorage.getItem("ingot.project");
  if (saved && projects.some((p) => p.id === saved)) return saved;
  return projects[0]?.id ?? null;
}

function Nav({ pid, session, projects }: { pid: string | null; session: Session; projects: Project[] }) {
  const { path } = useLocation();
  const nets = useNetworkApis(pid);
  const item = (href: string, label: string) => (
    <li>
      <Link href={href} aria-current={path === href || (href !== "/fleet" && path.startsWith(href + "/")) ? "page" : undefined}>
        {label}
      </Link>
    </li>
  );
  return (
    <nav aria-label="Main">
      {pid ? (
        <>
          <label class="switcher">
            <span class="label">Project</span>
            <select value={pid} onChange={(e) => {
              const id = (e.target as HTMLSelectElement).value;
              sessionStorage.setItem("ingot.project", id);
              navigate(`/projects/${id}/devices`);
            }}>
              {projects.map((p) => <option value={p.id}>{p.name}</option>)}
            </select>
          </label>
          <ul>
            {item(`/projects/${pid}/devices`, "Devices")}
            {item(`/projects/${pid}/ssh-keys`, "SSH keys")}
            {item(`/projects/${pid}/api-keys`, "API keys")}
            {item(`/projects/${pid}/ips`, "IP addresses")}
            {nets.vlans || nets.bgp ? item(`/projects/${pid}/networks`, nets.vlans ? "VLANs & BGP" : "BGP") : null}
            {item(`/projects/${pid}/hardware-reservations`, "Hardware reservations")}
            {item(`/projects/${pid}/events`, "Events")}
          </ul>
        </>
      ) : null}
      {session.is_operator ? (
        <>
          <h2 class="nav-head">Operator</h2>
          <ul>
            {item("/fleet", "Fleet")}
            {item("/fleet/enroll", "Enrol machines")}
            {item("/fleet/catalogue", "Catalogue")}
            {item("/fleet/people", "Projects & users")}
            {item("/fleet/reservations", "Hardware reservations")}
            {item("/fleet/charts", "Charts")}
          </ul>
        </>
      ) : null}
    </nav>
  );
}

function Home({ pid, session }: { pid: string | null; session: Session }) {
  useEffect(() => {
    if (pid) navigate(`/projects/${pid}/devices`, true);
    else if (session.is_operator) navigate("/fleet", true);
  }, [pid]);
  if (pid || session.is_operator) return <Busy />;
  return <Empty>You belong to no project yet. Ask an operator to add you to one.</Empty>;
}

function App() {
  const { path } = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [nonce, setNonce] = useState(0);

  const loadSession = async () => {
    try {
      const s = await get<Session>("/web/session");
      setCsrf(s.csrf_token);
      setSession(s);
    } catch {
      setSession(null);
    }
  };
  useEffect(() => {
    loadSession();
    const out = () => setSession(null);
    window.addEventListener(SIGNED_OUT, out);
    return () => window.removeEventListener(SIGNED_OUT, out);
  }, []);
  useEffect(() => {
    if (!session) return;
    all<Project>("/projects", "projects").then(setProjects, (e) => { setError(e); setProjects([]); });
  }, [session, nonce]);

  if (session === undefined) return <Busy />;
  if (session === null) {
    return <SignIn onSignedIn={(s) => { setCsrf(s.csrf_token); setSession(s); if (path === "/sign-in") navigate("/", true); }} />;
  }
  if (projects === null) return <Busy />;
  const signOut = async () => {
    try { await call("DELETE", "/web/session"); } catch { /* signed out already */ }
    setCsrf("");
    setSession(null);
    navigate("/sign-in");
  };
  const pid = currentProject(path, projects);
  if (pid) sessionStorage.setItem("ingot.project", pid);
  let page: any = null;
  for (const [pattern, draw] of ROUTES) {
    const params = match(pattern, path);
    if (params) { page = draw(params); break; }
  }
  if (path === "/" || path === "/sign-in") page = <Home pid={pid} session={session} />;
  const who = session.user ? session.user.email : "project API key";
  return (
    <SessionContext.Provider value={{ session, projects, reloadProjects: () => setNonce((n) => n + 1), signOut }}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link href="/" class="brand">Ingot</Link>
        <span class="who">
          {session.read_only ? <span class="tag">read-only key</span> : null} {who}
          {session.is_operator ? <span class="tag">operator</span> : null}
        </span>
        <Link href="/account">Account</Link>
        <button type="button" class="link" onClick={signOut}>Sign out</button>
      </header>
      <div class="shell">
        <Nav pid={pid} session={session} projects={projects} />
        <main id="main" tabIndex={-1}>
          <ErrorBox error={error} />
          {page || <div class="error" role="alert"><strong>404 Not found</strong><ul><li>No page at {path}</li></ul></div>}
        </main>
      </div>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById("app")!);
