#!/usr/bin/env python3
"""An independent SCRAM-SHA-256 client for tests/sasl_scram_vectors.rs,
on the `scramp` package (pinned in tests/py/requirements.txt).

Usage:
  scram_client.py login USER PASSWORD [--cb]
      Speaks IRC's AUTHENTICATE lines on stdout and reads the server's on
      stdin (one per line, `AUTHENTICATE <param>`, or a numeric line such as
      `904 <text>` / `903 <account>`). Base64 and the 400-byte chunking are
      done here with Python's base64 module, independently of the server.
      --cb gives scramp channel-binding data, so it sends the `y` GS2 flag
      (it can bind, the mechanism offered cannot). scramp checks the
      server's `v=` signature itself. Ends with one line:
        RESULT ok <the server's 903 line>
        RESULT fail <the server's numeric line>
  scram_client.py derive PASSWORD SALT_BASE64 ITERATIONS
      Prints `<StoredKey base64> <ServerKey base64>` as scramp derives them.
"""
import base64
import signal
import sys

from scramp import ScramClient, ScramMechanism

CHUNK = 400


class Numeric(Exception):
    pass


def send(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def recv():
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("scram_client.py: the server side closed")
    return line.rstrip("\r\n")


def send_msg(data):
    coded = base64.b64encode(data).decode("ascii")
    for i in range(0, len(coded), CHUNK):
        send("AUTHENTICATE " + coded[i : i + CHUNK])
    if len(coded) % CHUNK == 0:
        send("AUTHENTICATE +")


def recv_msg():
    coded = ""
    while True:
        line = recv()
        if not line.startswith("AUTHENTICATE "):
            raise Numeric(line)
        piece = line[len("AUTHENTICATE ") :]
        if piece == "+":
            break
        coded += piece
        if len(piece) < CHUNK:
            break
    return base64.b64decode(coded, validate=True)


def login(user, password, cb):
    binding = ("tls-unique", b"not used by the server") if cb else None
    client = ScramClient(["SCRAM-SHA-256"], user, password, channel_binding=binding)
    send("AUTHENTICATE SCRAM-SHA-256")
    try:
        if recv_msg() != b"":
            raise SystemExit("scram_client.py: expected AUTHENTICATE +")
        send_msg(client.get_client_first().encode("utf-8"))
        client.set_server_first(recv_msg().decode("utf-8"))
        send_msg(client.get_client_final().encode("utf-8"))
        client.set_server_final(recv_msg().decode("utf-8"))
        send("AUTHENTICATE +")
        send("RESULT ok " + recv())
    except Numeric as e:
        send("RESULT fail " + e.args[0])


def derive(password, salt, iterations):
    mech = ScramMechanism("SCRAM-SHA-256")
    _, stored, server, _ = mech.make_auth_info(
        password, iteration_count=iterations, salt=base64.b64decode(salt)
    )
    print(base64.b64encode(stored).decode(), base64.b64encode(server).decode())


def main():
    signal.alarm(60)
    args = sys.argv[1:]
    if args[:1] == ["login"] and len(args) in (3, 4):
        login(args[1], args[2], args[3:] == ["--cb"])
    elif args[:1] == ["derive"] and len(args) == 4:
        derive(args[1], args[2], int(args[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
