// The egress proxy over real loopback sockets: plain HTTP and CONNECT admitted, refusals, journal, bounds.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { allowlistCheck } from "./egress-check.ts";
import { EgressProxy } from "./egress-proxy.ts";

let allowed: Server;
let denied: Server;
let deniedHits = 0;
const port = (s: Server) => (s.address() as AddressInfo).port;

before(async () => {
  allowed = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => res.end(`ok ${req.method} ${req.url} host=${req.headers.host} body=${body}`));
  });
  denied = createServer((_req, res) => {
    deniedHits++;
    res.end("should never be reached");
  });
  allowed.listen(0, "127.0.0.1");
  denied.listen(0, "127.0.0.1");
  await Promise.all([once(allowed, "listening"), once(denied, "listening")]);
});

after(() => {
  allowed.close();
  denied.close();
});

async function withProxy(fn: (p: EgressProxy) => Promise<void>, maxRecords?: number): Promise<EgressProxy> {
  const proxy = await EgressProxy.listen({
    listenHost: "127.0.0.1",
    check: allowlistCheck([`127.0.0.1:${port(allowed)}`]),
    ...(maxRecords === undefined ? {} : { maxRecords }),
  });
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
  return proxy;
}

/** A plain proxied request: absolute URL to the proxy. */
async function viaProxy(
  proxy: EgressProxy,
  url: string,
  body = "",
): Promise<{ status: number; text: string }> {
  const req = request({
    host: "127.0.0.1",
    port: proxy.port,
    method: body ? "POST" : "GET",
    path: url,
    agent: false,
  });
  req.end(body);
  const [res] = (await once(req, "response")) as [IncomingMessage];
  let text = "";
  for await (const c of res) text += (c as Buffer).toString();
  return { status: res.statusCode ?? 0, text };
}

/** Raw bytes to the proxy, everything it answers until it closes. */
async function raw(proxy: EgressProxy, bytes: string, afterConnect?: (s: Socket) => void): Promise<string> {
  const s = connect(proxy.port, "127.0.0.1");
  let text = "";
  s.on("data", (c: Buffer) => {
    text += c.toString();
    if (afterConnect && text.startsWith("HTTP/1.1 200")) {
      const f = afterConnect;
      afterConnect = undefined;
      f(s);
    }
  });
  s.write(bytes);
  await once(s, "close");
  return text;
}

void describe("EgressProxy", () => {
  void it("forwards a plain HTTP request to an allowlisted host and journals its bytes", async () => {
    const proxy = await withProxy(async (p) => {
      const r = await viaProxy(p, `http://127.0.0.1:${port(allowed)}/a?b=1`, "hi");
      assert.equal(r.status, 200);
      assert.equal(r.text, `ok POST /a?b=1 host=127.0.0.1:${port(allowed)} body=hi`);
    });
    const [rec] = proxy.journal.records;
    assert.equal(proxy.journal.records.length, 1);
    assert.equal(rec?.allowed, true);
    assert.equal(rec?.host, "127.0.0.1");
    assert.equal(rec?.port, port(allowed));
    assert.ok((rec?.bytesIn ?? 0) > 0 && (rec?.bytesOut ?? 0) > 0, JSON.stringify(rec));
  });

  void it("tunnels CONNECT to an allowlisted host", async () => {
    const proxy = await withProxy(async (p) => {
      const text = await raw(p, `CONNECT 127.0.0.1:${port(allowed)} HTTP/1.1\r\nHost: x\r\n\r\n`, (s) =>
        s.write("GET /t HTTP/1.1\r\nHost: inner\r\nConnection: close\r\n\r\n"),
      );
      assert.match(text, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
      assert.match(text, /ok GET \/t host=inner/);
    });
    const rec = proxy.journal.records[0];
    assert.equal(rec?.allowed, true);
    assert.ok((rec?.bytesIn ?? 0) > 0 && (rec?.bytesOut ?? 0) > 0, JSON.stringify(rec));
  });

  void it("refuses a host that is not allowlisted, plain and CONNECT, without connecting to it", async () => {
    const proxy = await withProxy(async (p) => {
      const r = await viaProxy(p, `http://127.0.0.1:${port(denied)}/`);
      assert.equal(r.status, 403);
      assert.match(r.text, /not in the egress allowlist/);
      const t = await raw(p, `CONNECT 127.0.0.1:${port(denied)} HTTP/1.1\r\n\r\n`);
      assert.match(t, /^HTTP\/1\.1 403 Forbidden/);
    });
    assert.equal(deniedHits, 0);
    assert.deepEqual(
      proxy.journal.records.map((r) => [r.allowed, r.port, r.bytesIn, r.bytesOut]),
      [
        [false, port(denied), 0, 0],
        [false, port(denied), 0, 0],
      ],
    );
  });

  void it("answers malformed requests with 400 and keeps serving", async () => {
    await withProxy(async (p) => {
      assert.match(await raw(p, "GARBAGE\r\n\r\n"), /^HTTP\/1\.1 400/);
      assert.match(await raw(p, "CONNECT nonsense HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 400/);
      assert.match(await raw(p, "CONNECT x:99999 HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 400/);
      assert.equal((await viaProxy(p, "/relative")).status, 400);
      assert.equal((await viaProxy(p, `https://127.0.0.1:${port(allowed)}/`)).status, 400);
      assert.equal((await viaProxy(p, `http://127.0.0.1:${port(allowed)}/still`)).status, 200);
    });
  });

  void it("bounds the journal and counts what it left out", async () => {
    const proxy = await withProxy(async (p) => {
      for (let i = 0; i < 5; i++) await viaProxy(p, `http://127.0.0.1:${port(denied)}/${i}`);
    }, 3);
    assert.equal(proxy.journal.records.length, 3);
    assert.equal(proxy.journal.omitted, 2);
  });

  void it("close() cuts an open tunnel and keeps the bytes it carried", async () => {
    const proxy = await EgressProxy.listen({
      listenHost: "127.0.0.1",
      check: allowlistCheck([`127.0.0.1:${port(allowed)}`]),
    });
    const s = connect(proxy.port, "127.0.0.1");
    s.on("error", () => undefined);
    s.write(`CONNECT 127.0.0.1:${port(allowed)} HTTP/1.1\r\n\r\n`);
    await once(s, "data");
    s.write("GET /held HTTP/1.1\r\nHost: x\r\n\r\n"); // keep-alive: the tunnel stays open
    await once(s, "data");
    const closed = once(s, "close");
    const journal = await proxy.close();
    await closed;
    assert.equal(journal.records.length, 1);
    assert.ok((journal.records[0]?.bytesIn ?? 0) > 0, JSON.stringify(journal.records[0]));
  });

  void it("a check that throws is a refusal, not a crash", async () => {
    const proxy = await EgressProxy.listen({
      listenHost: "127.0.0.1",
      check: () => Promise.reject(new Error("boom")),
    });
    try {
      assert.equal((await viaProxy(proxy, `http://127.0.0.1:${port(allowed)}/`)).status, 403);
    } finally {
      await proxy.close();
    }
    assert.equal(proxy.journal.records[0]?.reason, "check failed: boom");
  });
});
