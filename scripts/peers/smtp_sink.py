"""An SMTP sink for Atalaya's tests: an aiosmtpd handler that keeps every
message exactly as it was received (bytes, CRLF and all) in a Maildir, so a
test can check what a real client put on the wire.

Run through aiosmtpd's own command line (see smtp.sh):

    python -m aiosmtpd -n -l 127.0.0.1:2525 -c smtp_sink.Sink MAILDIR

Recipients whose local part starts with `reject` are refused with a permanent
550, those starting with `tempfail` with a transient 451, so tests can see how
the sender treats each kind of refusal. Every stored message gets an
`X-Sink-Rcpt-To` line per envelope recipient prepended.
"""

import os
import socket
import time


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        self.counter = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("usage: -c smtp_sink.Sink MAILDIR")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("tempfail"):
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        prefix = b"".join(
            b"X-Sink-Rcpt-To: " + rcpt.encode("utf-8") + b"\r\n" for rcpt in envelope.rcpt_tos
        )
        self.counter += 1
        name = "%d.%d_%d.%s" % (time.time(), os.getpid(), self.counter, socket.gethostname())
        temporary = os.path.join(self.maildir, "tmp", name)
        with open(temporary, "wb") as stored:
            stored.write(prefix + content)
            stored.flush()
            os.fsync(stored.fileno())
        # Maildir delivery: written in tmp/, then moved into new/ in one step,
        # so a reader never sees half a message.
        os.rename(temporary, os.path.join(self.maildir, "new", name))
        return "250 OK: queued as %s" % name
