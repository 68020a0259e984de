import { createContext } from "preact";
import { useContext } from "preact/hooks";

export type Session = {
  user: { id: string; email: string; full_name: string; is_operator: boolean } | null;
  signed_in_with: "password" | "api_key";
  project_id: string | null;
  read_only: boolean;
  is_operator: boolean;
  csrf_token: string;
  expires_at: string;
};

export type Project = { id: string; name: string; members?: { id: string }[]; created_at?: string };

export type Ctx = {
  session: Session;
  projects: Project[];
  reloadProjects: () => void;
  signOut: () => void;
};

export const SessionContext = createContext<Ctx | null>(null);

export function useSession(): Ctx {
  const c = useContext(SessionContext);
  if (!c) throw new Error("no session");
  return c;
}
