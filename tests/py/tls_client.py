#!/usr/bin/env python3
"""A TLS IRC client for the tests, on Python's ssl module (OpenSSL).

Usage: tls_client.py PORT [--cert FILE --key FILE] [--tls12]

Connects to 127.0.0.1:PORT over TLS without checking the server's
certificate (the tests' pairs are self-signed), then prints:
  TLS <version> <sha256 hex of the server certificate>
and every line from the server as
  << <line>
Lines on stdin are sent as they are (CR LF added); end of stdin closes
the connection (close_notify). On a TLS or socket error it prints
`ERROR <text>`; when the server closes, `CLOSED`.

One thread: an OpenSSL connection must not be read and written from two
threads at once (TLS 1.3 session tickets arrive while the client writes).
"""
import hashlib
import os
import select
import socket
import ssl
import sys


def main():
    args = sys.argv[1:]
    port = int(args[0])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if "--cert" in args:
        ctx.load_cert_chain(args[args.index("--cert") + 1], args[args.index("--key") + 1])
    if "--tls12" in args:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock = ctx.wrap_socket(raw, server_hostname="pico.test")
    except (OSError, ssl.SSLError) as e:
        print(f"ERROR {e}", flush=True)
        sys.exit(2)
    der = sock.getpeercert(binary_form=True)
    print(f"TLS {sock.version()} {hashlib.sha256(der).hexdigest()}", flush=True)
    sock.setblocking(False)

    stdin = sys.stdin.fileno()
    inbuf = b""
    netbuf = b""
    stdin_open = True
    while True:
        watch = [sock] + ([stdin] if stdin_open else [])
        # Decrypted bytes OpenSSL already holds do not make the socket readable.
        ready = [sock] if sock.pending() else select.select(watch, [], [], 30)[0]
        if not ready:
            print("ERROR timeout", flush=True)
            return
        if stdin in ready:
            data = os.read(stdin, 65536)
            if not data:
                stdin_open = False
                try:
                    sock.setblocking(True)
                    sock.unwrap()
                except (OSError, ssl.SSLError, ValueError):
                    pass
                return
            inbuf += data
            while b"\n" in inbuf:
                line, inbuf = inbuf.split(b"\n", 1)
                try:
                    sock.setblocking(True)
                    sock.sendall(line.rstrip(b"\r") + b"\r\n")
                    sock.setblocking(False)
                except (OSError, ssl.SSLError) as e:
                    print(f"ERROR {e}", flush=True)
                    return
        if sock in ready:
            try:
                data = sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError) as e:
                print(f"ERROR {e}", flush=True)
                print("CLOSED", flush=True)
                return
            if not data:
                print("CLOSED", flush=True)
                return
            netbuf += data
            while b"\n" in netbuf:
                line, netbuf = netbuf.split(b"\n", 1)
                print("<< " + line.rstrip(b"\r").decode("utf-8", "replace"), flush=True)


if __name__ == "__main__":
    main()
