import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { LANGUAGES } from "../types.ts";
import { de } from "./de.ts";
import { en } from "./en.ts";
import { fr } from "./fr.ts";
import { DICTIONARIES, translate } from "./index.ts";
import { it as itDict } from "./it.ts";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("the four dictionaries", () => {
  test("each has every key, and no other (the types say so too)", () => {
    const keys = Object.keys(en).sort();
    for (const [lang, dict] of Object.entries({ fr, de, it: itDict })) {
      assert.deepEqual(Object.keys(dict).sort(), keys, lang);
    }
  });

  test("no text is empty, and each names the same placeholders as the English", () => {
    for (const lang of LANGUAGES) {
      const dict = DICTIONARIES[lang];
      for (const [key, text] of Object.entries(dict)) {
        assert.ok(text.trim().length > 0, `${lang} ${key} is empty`);
        assert.deepEqual(placeholders(text), placeholders(en[key as keyof typeof en]), `${lang} ${key}`);
      }
    }
  });

  test("the translations are translations: most texts differ from the English", () => {
    for (const [lang, dict] of Object.entries({ fr, de, it: itDict })) {
      const same = Object.entries(dict).filter(([k, v]) => v === en[k as keyof typeof en]).length;
      assert.ok(same < Object.keys(en).length * 0.1, `${lang}: ${same} texts are the English ones`);
    }
  });

  test("placeholders are filled; an unknown one stays as it is", () => {
    assert.equal(translate("fr", "extension.title", { number: "101" }), "Poste 101");
    assert.equal(translate("de", "extension.title", { number: "101" }), "Nebenstelle 101");
    assert.equal(translate("en", "extension.title"), "Extension {number}");
  });

  // The softphone (softphone/) keeps its own words (softphone/i18n.ts): it is not walked.
  test('every key the pages use with t("…") is in the dictionary', () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) {
          if (name !== "softphone") walk(p);
        } else if (/\.tsx?$/.test(name) && !name.endsWith(".test.ts")) files.push(p);
      }
    };
    walk(root);
    const missing: string[] = [];
    for (const f of files) {
      for (const m of readFileSync(f, "utf8").matchAll(/\bt\("([a-zA-Z0-9_.-]+)"/g)) {
        if (!(m[1] in en)) missing.push(`${f}: ${m[1]}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
