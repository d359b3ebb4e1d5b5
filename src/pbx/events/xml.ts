// XML text and attribute escaping for the event bodies: display names and
// numbers come from users and from carriers, and one stray "<" or "&" would
// make a phone drop the whole document (XML 1.0 §2.4, §3.3.3).

/** Escapes text content and attribute values (double-quoted); drops characters XML 1.0 cannot carry. */
export function escapeXml(value: string): string {
  let out = "";
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    // XML 1.0 §2.2: controls other than tab, newline and carriage return are not allowed at all.
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) continue;
    // Unpaired surrogates and the two non-characters are not XML characters either.
    if ((c >= 0xd800 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) continue;
    switch (ch) {
      case "&":
        out += "&amp;";
        break;
      case "<":
        out += "&lt;";
        break;
      case ">":
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case "'":
        out += "&apos;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}
