// The console is a client of Ingot's API: every call goes to /metal/v1 with the session cookie
// (sent by the browser, HttpOnly) and, when it changes something, the session's CSRF token.

export const API = "/metal/v1";

export class ApiError extends Error {
  status: number;
  messages: string[];
  constructor(status: number, messages: string[]) {
    super(messages.join("; ") || `HTTP ${status}`);
    this.status = status;
    this.messages = messages;
  }
}

let csrfToken = "";
export function setCsrf(token: string) {
  csrfToken = token;
}

export const SIGNED_OUT = "ingot:signed-out";

function url(path: string): string {
  return path.startsWith("/web/") ? path : API + path;
}

export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(url(path), { method, headers, body: payload, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, [`network: cannot reach Ingot (${(e as Error).message})`]);
  }
  if (response.status === 204) return null as T;
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const messages: string[] = Array.isArray(data?.errors) ? data.errors.map(String) : [response.statusText];
    if (response.status === 401 && !path.startsWith("/web/")) window.dispatchEvent(new Event(SIGNED_OUT));
    throw new ApiError(response.status, messages);
  }
  return data as T;
}

export const get = <T = any>(path: string) => call<T>("GET", path);
export const post = <T = any>(path: string, body?: unknown) => call<T>("POST", path, body ?? {});
export const patch = <T = any>(path: string, body: unknown) => call<T>("PATCH", path, body);
export const del = <T = any>(path: string) => call<T>("DELETE", path);

/** Every item of a paginated list (Equinix `meta`), a page of 1000 at a time. */
export async function all<T = any>(path: string, key: string): Promise<T[]> {
  const out: T[] = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let page = 1; page < 1000; page++) {
    const data = await get(`${path}${sep}per_page=1000&page=${page}`);
    out.push(...(data[key] || []));
    if (!data.meta || !data.meta.next) break;
  }
  return out;
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function enc(id: string): string {
  return encodeURIComponent(id);
}
