// Shared pieces. Every value from the API is rendered as text (JSX escapes it): nothing here
// sets innerHTML, so a hostname like <img src=x onerror=...> shows as the characters it is.
import type { AnchorHTMLAttributes, ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api";
import { onLinkClick } from "./router";

export function Link(props: AnchorHTMLAttributes & { href: string }) {
  const { href, ...rest } = props;
  return <a href={href} onClick={(e) => onLinkClick(e as unknown as MouseEvent, href)} {...rest} />;
}

export type Loaded<T> = { data: T | undefined; error: unknown; loading: boolean; reload: () => void };

/** Run ``load`` now and whenever ``deps`` change; with ``every`` (ms, or a function of the last
 * data), again after each answer, so lists follow the engine without a reload. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], every?: number | ((d: T | undefined) => number)): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const everyRef = useRef(every);
  everyRef.current = every;
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const run = async () => {
      let last: T | undefined;
      try {
        last = await load();
        if (!live) return;
        setData(last);
        setError(null);
      } catch (e) {
        if (!live) return;
        setError(e);
      } finally {
        if (live) setLoading(false);
      }
      const e = everyRef.current;
      const ms = typeof e === "function" ? e(last) : e;
      if (live && ms) timer = window.setTimeout(run, ms);
    };
    setLoading(true);
    run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, nonce]);
  return { data, error, loading, reload };
}

export function errorTitle(error: unknown): string {
  if (error instanceof ApiError) {
    const names: Record<number, string> = { 0: "No connection", 400: "Bad request", 401: "Signed out",
      403: "Forbidden", 404: "Not found", 409: "Conflict", 413: "Too large", 422: "Refused", 429: "Too many attempts",
      500: "Server error", 503: "Unavailable", 507: "Disk full" };
    return error.status ? `${error.status} ${names[error.status] || "Error"}` : names[0];
  }
  return "Error";
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const messages = error instanceof ApiError ? error.messages : [String((error as Error)?.message || error)];
  return (
    <div class="error" role="alert">
      <strong>{errorTitle(error)}</strong>
      <ul>{messages.map((m) => <li>{m}</li>)}</ul>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Busy({ label = "Loading…", since }: { label?: string; since?: number }) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!since) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [since]);
  const secs = since ? Math.floor((Date.now() - since) / 1000) : 0;
  return (
    <div class="busy" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> {label}
      {since ? ` (${secs} s)` : ""}
    </div>
  );
}

export function Loading<T>({ state, children }: { state: Loaded<T>; children: (d: T) => ComponentChildren }) {
  if (state.data === undefined) return state.error ? <ErrorBox error={state.error} /> : <Busy />;
  return (
    <>
      {state.error ? <ErrorBox error={state.error} /> : null}
      {children(state.data)}
    </>
  );
}

export const TRANSITIONAL = ["queued", "provisioning", "powering_on", "powering_off", "reinstalling", "deprovisioning"];

export function StateBadge({ state, percent }: { state: string; percent?: number }) {
  return (
    <span class={`state s-${state}`} data-state={state}>
      {state.replace(/_/g, " ")}
      {state === "provisioning" || state === "reinstalling" ? (
        <>
          {" "}
          <progress max={100} value={percent || 0} aria-label={`${percent || 0} percent`} />
          <span class="pct">{percent || 0}%</span>
        </>
      ) : null}
    </span>
  );
}

export function when(iso?: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function ago(iso?: string | null): string {
  if (!iso) return "—";
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span class="label">{label}</span>
      {children}
      {hint ? <span class="hint">{hint}</span> : null}
    </label>
  );
}

/** A modal dialog (the browser's <dialog>: Esc closes it, focus stays inside). */
export function Dialog({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} onClose={onClose} aria-label={title}>
      <h2>{title}</h2>
      {open ? children : null}
    </dialog>
  );
}

/** Runs an async action with a busy flag and its error kept for display. */
export function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [since, setSince] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const run = async (label: string, fn: () => Promise<unknown>): Promise<boolean> => {
    setBusy(label);
    setSince(Date.now());
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(null);
    }
  };
  return { busy, since, error, setError, run };
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function Tags({ tags }: { tags?: string[] }) {
  if (!tags || !tags.length) return <span class="muted">—</span>;
  return <span class="tags">{tags.map((t) => <span class="tag">{t}</span>)}</span>;
}

export function PageTitle({ children, actions }: { children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    const h = document.querySelector("main h1");
    if (h) document.title = `${h.textContent} · Ingot`;
  });
  return (
    <div class="page-title">
      <h1>{children}</h1>
      {actions ? <div class="actions">{actions}</div> : null}
    </div>
  );
}
