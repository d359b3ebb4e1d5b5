// What counts as "one source": for the TCP caps, the lockout of guessing
// (pbx/security) and the API's wrong tokens. An IPv4 address is one host (or
// one NAT); an IPv6 host usually holds a whole /64 (RFC 4291 §2.5.1
// interface identifiers, RFC 8981 temporary addresses), so counting per
// address would give it 2^64 fresh starts: IPv6 sources count by their /64.
import { isIPv4, isIPv6 } from "node:net";

/** "192.0.2.1" → "192.0.2.1"; "2001:db8:1:2::5" → "2001:db8:1:2::/64"; "::ffff:192.0.2.1" → "192.0.2.1". */
export function sourceKey(address: string): string {
  let a = address.trim();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  // An IPv4 peer on a dual-stack socket is the IPv4 address it is.
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(a)) return a;
  const groups = isIPv6(a) ? expandIPv6(a) : undefined;
  // Not an IP literal (transports always give one): its own subject, as written.
  if (!groups) return a.toLowerCase();
  // IPv4-mapped written in hex (::ffff:c000:201): the IPv4 host all the same.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return `${compress([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/** The eight 16-bit groups of an IPv6 literal (already checked by isIPv6). */
function expandIPv6(a: string): number[] | undefined {
  let text = a.toLowerCase();
  const tail: number[] = [];
  // A trailing dotted quad (RFC 4291 §2.2 form 3) is the last two groups.
  const quad = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (quad) {
    const [b0, b1, b2, b3] = quad.slice(1).map(Number);
    tail.push((b0 << 8) | b1, (b2 << 8) | b3);
    text = text.slice(0, quad.index);
    if (!text.endsWith("::")) text = text.slice(0, -1);
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const fill = 8 - tail.length - left.length - right.length;
  if (fill < 0 || (rest === undefined && fill !== 0)) return undefined;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right, ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

/** RFC 5952 §4.2: the longest run of two or more zero groups (the first on a tie) becomes "::". */
function compress(groups: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
