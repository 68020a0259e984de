import { useState } from "preact/hooks";
import { post } from "../api";
import { useSession } from "../session";
import { Busy, ErrorBox, Field, PageTitle, useAction } from "../ui";

export function Account() {
  const { session, signOut } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const act = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(false);
    if (next !== again) {
      act.setError(new Error("the new password and its confirmation differ"));
      return;
    }
    if (await act.run("Changing the password…", () => post("/web/password", { current_password: current, new_password: next }))) {
      setDone(true);
      setCurrent(""); setNext(""); setAgain("");
    }
  };
  return (
    <>
      <PageTitle actions={<button type="button" onClick={signOut}>Sign out</button>}>Account</PageTitle>
      <dl class="facts">
        <dt>Signed in as</dt><dd>{session.user ? session.user.email : "a project API key"}</dd>
        <dt>Name</dt><dd>{session.user?.full_name || "—"}</dd>
        <dt>Role</dt><dd>{session.is_operator ? "operator" : "project member"}</dd>
        <dt>Signed in with</dt><dd>{session.signed_in_with === "password" ? "email and password" : "an API key"}{session.read_only ? " (read-only)" : ""}</dd>
        <dt>Session ends</dt><dd>{new Date(session.expires_at).toLocaleString()}</dd>
      </dl>
      <h2>Change password</h2>
      {session.signed_in_with !== "password" ? (
        <p class="muted">You signed in with an API key; sign in with your email and password to change it.</p>
      ) : (
        <form class="card narrow" onSubmit={submit}>
          <Field label="Current password">
            <input type="password" name="current_password" autocomplete="current-password" value={current}
              onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="New password" hint="At least 8 characters.">
            <input type="password" name="new_password" autocomplete="new-password" required minLength={8} value={next}
              onInput={(e) => setNext((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="New password again">
            <input type="password" name="new_password_again" autocomplete="new-password" required value={again}
              onInput={(e) => setAgain((e.target as HTMLInputElement).value)} />
          </Field>
          <ErrorBox error={act.error} />
          {act.busy ? <Busy label={act.busy} /> : null}
          {done ? <p class="ok" role="status">Password changed. Your other sessions were signed out.</p> : null}
          <button type="submit" class="primary" disabled={!!act.busy}>Change password</button>
        </form>
      )}
    </>
  );
}
