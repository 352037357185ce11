// The destination decision fed by an injected resolver: no socket is opened and no packet is sent, so the
// non-loopback forms (metadata, private ranges, public names) are checked here only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkDestination, compileRules, type DestinationPolicy } from "./destination-check.ts";
import { classifyAddress } from "./address-range.ts";
import { parseDestinationRule } from "./destination-rules.ts";
import { readHostsFile, systemResolver, type ResolvedAddress, type Resolver } from "./resolver.ts";

/** Answers from a table; records each name asked. Never touches the network. */
function fakeResolver(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const r = async (host: string): Promise<ResolvedAddress[]> => {
    asked.push(host);
    const answers = table[host];
    if (!answers) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return answers.map((a) => ({ address: a, family: a.includes(":") ? 6 : 4 }));
  };
  return Object.assign(r, { asked });
}

const strict: DestinationPolicy = { rules: [], allowLoopback: false, policyName: "default" };
const noNames = fakeResolver({});

const REFUSED: [string, string][] = [
  ["127.0.0.1", "loopback"],
  ["127.1", "loopback"],
  ["2130706433", "loopback"],
  ["0177.0.0.1", "loopback"],
  ["0x7f000001", "loopback"],
  ["0x7f.0.0.1", "loopback"],
  ["::1", "loopback"],
  ["[::1]", "loopback"],
  ["::ffff:127.0.0.1", "loopback"],
  ["[::ffff:7f00:1]", "loopback"],
  ["169.254.169.254", "linkLocal"],
  ["::ffff:169.254.169.254", "linkLocal"],
  ["fd00:ec2::254", "uniqueLocal"],
  ["fe80::1", "linkLocal"],
  ["fc00::1", "uniqueLocal"],
  ["10.0.0.1", "private"],
  ["167772161", "private"],
  ["172.16.0.1", "private"],
  ["192.168.1.1", "private"],
  ["100.64.0.1", "carrierGradeNat"],
  ["0.0.0.0", "unspecified"],
  ["0", "unspecified"],
  ["::", "unspecified"],
  ["224.0.0.1", "multicast"],
  ["ff02::1", "multicast"],
  ["255.255.255.255", "broadcast"],
  ["240.0.0.1", "reserved"],
  ["192.0.2.1", "reserved"],
  ["2001:db8::1", "reserved"],
  ["64:ff9b::a9fe:a9fe", "rfc6052"],
  ["2002:a9fe:a9fe::", "6to4"],
];

test("every non-public address form is refused by default, naming host, address, range and rule", async () => {
  for (const [host, range] of REFUSED) {
    const d = await checkDestination({ host, port: 80 }, strict, noNames);
    assert.ok(!d.ok, `${host} was allowed`);
    assert.equal(d.denial.range, range, host);
    assert.equal(d.denial.rule, `destination.${range}`, host);
    assert.equal(d.denial.host, host);
    assert.ok(d.denial.address, host);
    assert.match(d.denial.message, new RegExp(`destination ${host.replace(/[[\].]/g, "\\$&")}:80`));
    assert.match(d.denial.message, /refused by default under policy "default"/);
  }
  assert.deepEqual(noNames.asked, [], "IP literals are decided without a resolver");
});

test("the spellings a URL normalises (decimal, octal, short, IPv4-mapped) reach the decision as loopback", () => {
  for (const url of [
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0x7f.1/",
    "http://[::ffff:127.0.0.1]/",
  ]) {
    assert.equal(classifyAddress(new URL(url).hostname)?.address, "127.0.0.1", url);
  }
});

test("a name is decided by every address it resolves to: one internal answer refuses it", async () => {
  const dns = fakeResolver({
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "10.0.0.5"],
    "public.example": ["93.184.216.34", "2606:2800:220:1::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
  });
  const meta = await checkDestination({ host: "metadata.example", port: 80 }, strict, dns);
  assert.ok(!meta.ok);
  assert.deepEqual([meta.denial.address, meta.denial.range], ["169.254.169.254", "linkLocal"]);
  assert.match(meta.denial.message, /metadata\.example:80 \(address 169\.254\.169\.254\)/);
  const mixed = await checkDestination({ host: "mixed.example", port: 443 }, strict, dns);
  assert.ok(!mixed.ok);
  assert.equal(mixed.denial.address, "10.0.0.5");
  const mapped = await checkDestination({ host: "mapped.example", port: 80 }, strict, dns);
  assert.ok(!mapped.ok);
  assert.equal(mapped.denial.range, "loopback");
  const pub = await checkDestination({ host: "public.example", port: 443 }, strict, dns);
  assert.deepEqual(pub, { ok: true, address: "93.184.216.34", family: 4 });
  const missing = await checkDestination({ host: "nowhere.example", port: 80 }, strict, dns);
  assert.ok(!missing.ok);
  assert.equal(missing.denial.rule, "destination.resolve");
});

test("network.allow rules open an address:port, a CIDR range and a host name, and nothing else", async () => {
  const dns = fakeResolver({
    "api.example.com": ["10.9.0.1"],
    "other.example.com": ["10.9.0.1"],
    "a.corp.example": ["192.168.4.4"],
  });
  const policy: DestinationPolicy = {
    rules: compileRules([
      "127.0.0.1:9000",
      "10.1.0.0/16",
      "api.example.com",
      "*.corp.example:443",
      "[::1]:8080",
    ]),
    allowLoopback: false,
  };
  const decide = (host: string, port: number) => checkDestination({ host, port }, policy, dns);
  assert.deepEqual(await decide("127.0.0.1", 9000), {
    ok: true,
    address: "127.0.0.1",
    family: 4,
    rule: "127.0.0.1:9000",
  });
  assert.equal(((await decide("2130706433", 9000)) as { rule?: string }).rule, "127.0.0.1:9000");
  assert.equal((await decide("127.0.0.1", 9001)).ok, false);
  assert.equal(((await decide("10.1.200.3", 80)) as { rule?: string }).rule, "10.1.0.0/16");
  assert.equal((await decide("10.2.0.1", 80)).ok, false);
  assert.equal(((await decide("api.example.com", 443)) as { rule?: string }).rule, "api.example.com");
  assert.equal((await decide("other.example.com", 443)).ok, false, "a host rule opens that name only");
  assert.equal(((await decide("a.corp.example", 443)) as { rule?: string }).rule, "*.corp.example:443");
  assert.equal((await decide("a.corp.example", 80)).ok, false, "the rule's port must match");
  assert.equal(((await decide("::1", 8080)) as { rule?: string }).rule, "[::1]:8080");
  assert.equal((await decide("169.254.169.254", 80)).ok, false);
});

test("the operator's allow-loopback setting opens loopback only, never private or link-local ranges", async () => {
  const dev: DestinationPolicy = { rules: [], allowLoopback: true };
  for (const host of ["127.0.0.1", "::1", "2130706433", "::ffff:127.0.0.1"]) {
    const d = await checkDestination({ host, port: 80 }, dev, noNames);
    assert.ok(d.ok, host);
    assert.equal(d.rule, "MEND_NETWORK_ALLOW_LOOPBACK");
  }
  for (const host of ["169.254.169.254", "10.0.0.1", "fd00:ec2::254", "0.0.0.0"]) {
    assert.equal((await checkDestination({ host, port: 80 }, dev, noNames)).ok, false, host);
  }
});

test("malformed rules are reported with a reason, not accepted", () => {
  for (const bad of ["", "10.0.0.0/33", "host:port", "a b", "127.0.0.1:0", "1.2.3.4/x", "http://x"]) {
    assert.equal(typeof parseDestinationRule(bad), "string", JSON.stringify(bad));
  }
  assert.throws(() => compileRules(["10.0.0.0/99"]), /network\.allow/);
});

test("the hosts file maps names before DNS, IP literals resolve to themselves, a bad line names its number", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "mend-hosts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "hosts");
  writeFileSync(file, "# operator names\n127.0.0.1  app.test  API.Test\n::1 app.test\n\n");
  const hosts = readHostsFile(file);
  assert.deepEqual(hosts.get("app.test"), ["127.0.0.1", "::1"]);
  assert.deepEqual(hosts.get("api.test"), ["127.0.0.1"]);
  const resolve = systemResolver(hosts);
  assert.deepEqual(await resolve("APP.test."), [
    { address: "127.0.0.1", family: 4 },
    { address: "::1", family: 6 },
  ]);
  assert.deepEqual(await resolve("[::ffff:127.0.0.1]"), [{ address: "127.0.0.1", family: 4 }]);
  writeFileSync(file, "127.0.0.1 ok.test\nnot-an-address bad.test\n");
  assert.throws(() => readHostsFile(file), /hosts:2: expected/);
});
