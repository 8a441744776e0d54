#!/usr/bin/python3
"""dnsdelay.py - a DNS proxy that adds a fixed round-trip time to every answer.

    /usr/bin/python3 bench/dnsdelay.py LISTEN_IP@PORT UPSTREAM_IP@PORT --rtt MS
        [--rtt-file FILE] [--log FILE]

Listens on UDP and TCP at LISTEN, forwards each query unchanged to UPSTREAM
(the bench's nsd) over the same transport, and sends the answer back MS
milliseconds after the query arrived (or at once, if the upstream took
longer); with --rtt-file, MS is read from FILE (one number) at each query,
so one proxy serves runs at several RTTs.  It models a far authoritative server for scripts/bench -C: the
resolver under test sees every question cost one RTT.  Queries are
handled concurrently (each its own task), so the delay never serialises
them.  With --log, one line per forwarded query: "udp|tcp qname qtype",
so a run can count the questions that reached the "network".
"""

import argparse
import asyncio
import struct
import sys
import time


def qname(pkt):
    """the question name and type of a DNS packet, for the log"""
    try:
        i, labels = 12, []
        while pkt[i]:
            n = pkt[i]
            labels.append(pkt[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += n + 1
        return ".".join(labels), struct.unpack("!H", pkt[i + 1:i + 3])[0]
    except (IndexError, struct.error):
        return "?", 0


class Proxy:
    def __init__(self, up, rtt, log, rtt_file=None):
        self.up, self.rtt, self.log = up, rtt / 1000.0, log
        self.rtt_file = rtt_file
        self.loop = asyncio.get_event_loop()

    def note(self, proto, pkt):
        if self.log:
            n, t = qname(pkt)
            self.log.write("%s %s %d\n" % (proto, n, t))
            self.log.flush()

    async def hold(self, t0):
        if self.rtt_file:
            try:
                with open(self.rtt_file) as f:
                    self.rtt = float(f.read().strip()) / 1000.0
            except (OSError, ValueError):
                pass
        left = self.rtt - (time.monotonic() - t0)
        if left > 0:
            await asyncio.sleep(left)

    async def udp_one(self, data, addr, out):
        t0 = time.monotonic()
        self.note("udp", data)
        fut = self.loop.create_future()

        class Up(asyncio.DatagramProtocol):
            def datagram_received(self, d, a):
                if not fut.done():
                    fut.set_result(d)

        tr, _ = await self.loop.create_datagram_endpoint(
            Up, remote_addr=self.up)
        try:
            tr.sendto(data)
            ans = await asyncio.wait_for(fut, 5)
        except asyncio.TimeoutError:
            return
        finally:
            tr.close()
        await self.hold(t0)
        out.sendto(ans, addr)

    async def tcp_conn(self, reader, writer):
        try:
            while True:
                hdr = await reader.readexactly(2)
                data = await reader.readexactly(struct.unpack("!H", hdr)[0])
                t0 = time.monotonic()
                self.note("tcp", data)
                ur, uw = await asyncio.open_connection(*self.up)
                uw.write(hdr + data)
                await uw.drain()
                lh = await ur.readexactly(2)
                ans = await ur.readexactly(struct.unpack("!H", lh)[0])
                uw.close()
                await self.hold(t0)
                writer.write(lh + ans)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def hostport(s):
    h, p = s.split("@")
    return h, int(p)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("listen")
    ap.add_argument("upstream")
    ap.add_argument("--rtt", type=float, default=20)
    ap.add_argument("--rtt-file")
    ap.add_argument("--log")
    a = ap.parse_args()
    log = open(a.log, "a") if a.log else None
    px = Proxy(hostport(a.upstream), a.rtt, log, a.rtt_file)
    host, port = hostport(a.listen)

    class Down(asyncio.DatagramProtocol):
        def connection_made(self, tr):
            self.tr = tr

        def datagram_received(self, d, addr):
            px.loop.create_task(px.udp_one(d, addr, self.tr))

    await px.loop.create_datagram_endpoint(Down, local_addr=(host, port))
    srv = await asyncio.start_server(px.tcp_conn, host, port)
    sys.stderr.write("dnsdelay: %s@%d -> %s@%d, rtt %g ms\n" % (
        host, port, px.up[0], px.up[1], a.rtt))
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
