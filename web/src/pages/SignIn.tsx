import { useState } from "preact/hooks";
import { post } from "../api";
import type { Session } from "../session";
import { Busy, ErrorBox, Field, useAction } from "../ui";

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [mode, setMode] = useState<"password" | "token">("password");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    let s: Session | null = null;
    const ok = await act.run("Signing in…", async () => {
      s = await post<Session>("/web/session", mode === "password" ? { email, password } : { token });
    });
    if (ok && s) onSignedIn(s);
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to Ingot</h1>
      <div class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={mode === "password"} onClick={() => setMode("password")}>Email and password</button>
        <button type="button" role="tab" aria-selected={mode === "token"} onClick={() => setMode("token")}>API token</button>
      </div>
      <form onSubmit={submit} class="card">
        {mode === "password" ? (
          <>
            <Field label="Email">
              <input name="email" type="email" autocomplete="username" required value={email}
                onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Password">
              <input name="password" type="password" autocomplete="current-password" required value={password}
                onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
            </Field>
          </>
        ) : (
          <Field label="API token" hint="A user or project API key (X-Auth-Token). The console acts with its rights.">
            <input name="token" type="password" autocomplete="off" required value={token}
              onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
          </Field>
        )}
        <ErrorBox error={act.error} />
        {act.busy ? <Busy label={act.busy} /> : null}
        <button type="submit" class="primary" disabled={!!act.busy}>Sign in</button>
      </form>
    </main>
  );
}
