import { useState } from "preact/hooks";
import { Dialog, Field } from "../ui";

/** Asks why machines go into maintenance; ``onSubmit`` gets the reason. */
export function MaintenanceDialog({ open, title, onClose, onSubmit }: { open: boolean; title: string; onClose: () => void; onSubmit: (reason: string) => void }) {
  const [reason, setReason] = useState("");
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); onSubmit(reason); }}>
        <Field label="Reason"><input name="reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} /></Field>
        <div class="actions">
          <button type="submit" class="primary">Maintenance on</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
