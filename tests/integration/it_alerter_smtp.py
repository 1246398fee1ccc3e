"""SMTP sink for it_alerter: accepts every message and writes it to DIR/<n>.eml
(atomically, via a rename), with the envelope recipients in an X-Rcpt header.

usage: /usr/bin/python3 it_alerter_smtp.py PORT DIR   (Debian's python3-aiosmtpd)"""
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        tmp = os.path.join(self.directory, ".%d.tmp" % self.count)
        with open(tmp, "wb") as f:
            f.write(b"X-Rcpt: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.content)
        os.rename(tmp, os.path.join(self.directory, "%d.eml" % self.count))
        return "250 OK"


def main():
    controller = Controller(Sink(sys.argv[2]), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
