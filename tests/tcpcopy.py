# tests/tcpcopy.py - the NAT lab's goodput probe: a TCP copy timed until the receiver has every byte.
"""
Usage:
  tcpcopy.py serve PORT              take copies on 0.0.0.0:PORT, one after another, forever;
                                     each: read to EOF, answer the count of bytes read
  tcpcopy.py send HOST PORT BYTES [CCA]
                                     connect (with congestion control CCA, as
                                     TCP_CONGESTION names it: cubic, bbr), send BYTES
                                     zero bytes, close the sending half, wait for the
                                     count; print "MBIT SECONDS" from connect() to the count

iperf3 counts what its receiver read by the time the sender's end-of-test message
arrives; through a forward that message overtakes data still in the stream's buffers
(10.4 of 16.8 MB were counted in one run), so it cannot time a forward fairly.
"""
import socket
import sys
import time

CHUNK = 1 << 16


def serve(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    while True:
        s, _ = ls.accept()
        n = 0
        while True:
            b = s.recv(CHUNK)
            if not b:
                break
            n += len(b)
        s.sendall(b"%d\n" % n)
        s.close()


def send(host, port, total, cca):
    buf = bytes(CHUNK)
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if cca:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cca.encode())
    s.connect((host, port))
    left = total
    while left > 0:
        left -= s.send(buf[:min(left, CHUNK)])
    s.shutdown(socket.SHUT_WR)
    answer = b""
    while not answer.endswith(b"\n"):
        b = s.recv(64)
        if not b:
            break
        answer += b
    secs = time.monotonic() - t0
    if answer.strip() != str(total).encode():
        sys.exit("tcpcopy: the receiver got %r bytes of %d" % (answer.strip(), total))
    print("%.1f %.2f" % (total * 8 / secs / 1e6, secs))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) == 6 else "")
    else:
        sys.exit(__doc__)
