"""The escape sequences of a console session, as OpenSSH and ``ipmitool sol`` have them: after a
newline (or at the start), ``~.`` detaches, ``~?`` shows help and ``~~`` sends one ``~``."""
from __future__ import annotations

HELP = (b"\r\n[ingot: escapes, typed at the start of a line: ~. detach   ~~ send ~   ~? this help]\r\n"
        b"[ingot: OpenSSH's client takes ~ escapes first: type ~~. there, or connect with -e none]\r\n")
NEWLINES = (0x0D, 0x0A)
TILDE = 0x7E


class Escape:
    """Feed a session's input through :meth:`feed`; it returns what to send on and an action."""

    def __init__(self):
        self.line_start = True
        self.pending = False

    def feed(self, data: bytes) -> tuple[bytes, str | None]:
        """``(bytes for the console, "detach" | "help" | None)``; input after a detach is dropped."""
        out = bytearray()
        action = None
        for b in data:
            if self.pending:
                self.pending = False
                if b == ord("."):
                    return bytes(out), "detach"
                if b == ord("?"):
                    action = "help"
                    continue
                if b != TILDE:
                    out.append(TILDE)
                out.append(b)
            elif self.line_start and b == TILDE:
                self.pending = True
                continue
            else:
                out.append(b)
            self.line_start = b in NEWLINES
        return bytes(out), action
