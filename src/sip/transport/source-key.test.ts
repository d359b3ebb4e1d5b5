import assert from "node:assert/strict";
import { test } from "node:test";
import { sourceKey } from "./source-key.ts";

test("IPv4 sources are counted per address", () => {
  assert.equal(sourceKey("192.0.2.7"), "192.0.2.7");
  assert.equal(sourceKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(sourceKey("::ffff:c000:207"), "192.0.2.7");
});

test("IPv6 sources are counted by their /64", () => {
  assert.equal(sourceKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  assert.equal(sourceKey("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(sourceKey("2001:0db8:0001:0002:ffff::9"), "2001:db8:1:2::/64");
  assert.equal(sourceKey("[2001:db8:1:2::1]"), "2001:db8:1:2::/64");
  assert.equal(sourceKey("fe80::1%eth0"), "fe80::/64");
  assert.equal(sourceKey("::1"), "::/64");
  assert.equal(sourceKey("2001:db8::"), "2001:db8::/64");
  assert.equal(sourceKey("64:ff9b::192.0.2.1"), "64:ff9b::/64");
  assert.equal(sourceKey("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4::/64");
  assert.notEqual(sourceKey("2001:db8:1:2::1"), sourceKey("2001:db8:1:3::1"));
});

test("what is not an address is returned unchanged", () => {
  assert.equal(sourceKey(""), "");
  assert.equal(sourceKey("pbx.example.com"), "pbx.example.com");
  assert.equal(sourceKey("1:2:3"), "1:2:3");
});

test("IPv4 counts by address, IPv6 by its /64 (RFC 5952 text)", () => {
  const cases: Array<[string, string]> = [
    ["192.0.2.1", "192.0.2.1"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["2001:db8:1:2::5", "2001:db8:1:2::/64"],
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2::1", "2001:db8:1:2::/64"],
    ["[2001:db8:a:b::1]", "2001:db8:a:b::/64"],
    ["2001:db8::1", "2001:db8::/64"],
    ["fe80::1%eth0", "fe80::/64"],
    ["::1", "::/64"],
    ["1:0:0:1::", "1:0:0:1::/64"],
    ["64:ff9b::192.0.2.33", "64:ff9b::/64"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4::/64"],
    ["not an address", "not an address"],
  ];
  for (const [input, expected] of cases) assert.equal(sourceKey(input), expected, input);
  assert.notEqual(sourceKey("2001:db8:1:2::1"), sourceKey("2001:db8:1:3::1"));
});
