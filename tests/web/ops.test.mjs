// The pure parts of the web app's whole-file operations (issue 18): asset names and links as
// Logseq 0.10.15 makes them (web/src/write/assets.js, LS handler/editor.cljs `save-assets!`,
// handler/assets.cljs `get-asset-file-link`), the upload limits, and a new page's text
// (names.js `newPage`, LS handler/page.cljs `create!`).

import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  assetLink,
  assetPath,
  encryptedSize,
  MAX_OBJECT_BYTES,
  relativePath,
  splitName,
  uploadRefusal,
} from "../../web/src/write/assets.js";
import { newPage, readConfig } from "../../web/src/write/names.js";
import { createGraphCrypto } from "../../web/src/crypto/graphcrypto.js";
import * as rsapi from "../harness/rsapi.mjs";

const NOW = 1765100000000;

describe("asset names (LS save-assets!)", () => {
  it("a phone photo: <stem>_<ms>_<index>.<ext> in assets/", () => {
    assert.equal(assetPath("image.jpg", { now: NOW }), "assets/image_1765100000000_0.jpg");
    assert.equal(assetPath("image.jpg", { now: NOW, index: 2 }), "assets/image_1765100000000_2.jpg");
  });
  it("spaces, % and / become _, runs of _ collapse; a known extension keeps its case", () => {
    assert.equal(assetPath("IMG 2024  05.HEIC", { now: NOW }), "assets/IMG_2024_05_1765100000000_0.HEIC");
    assert.equal(assetPath("100% done__x.png", { now: NOW }), "assets/100_done_x_1765100000000_0.png");
    assert.equal(assetPath("C:\\Users\\me\\scan.pdf", { now: NOW }), "assets/scan_1765100000000_0.pdf");
  });
  it("the last extension when LS knows it, else the complete one (path-complete-extname)", () => {
    assert.deepEqual(splitName("some.weird.name.jpeg"), { stem: "some.weird.name", ext: ".jpeg" });
    assert.deepEqual(splitName("backup.tar.gz"), { stem: "backup", ext: ".tar.gz" });
    assert.deepEqual(splitName("notes.v2.xyz"), { stem: "notes", ext: ".v2.xyz" });
    assert.deepEqual(splitName("README"), { stem: "README", ext: "" });
    assert.equal(assetPath("backup.tar.gz", { now: NOW }), "assets/backup_1765100000000_0.tar.gz");
  });
  it("characters Logseq Sync cannot carry become _ (the desktop would write an unsyncable file)", () => {
    assert.equal(assetPath('a#b?c:d*"e<f>|g.png', { now: NOW }), "assets/a_b_c_d_e_f_g_1765100000000_0.png");
  });
  it("a name over the 458-byte path limit is shortened; a hidden name is refused with the reason", () => {
    const p = assetPath(`${"é".repeat(400)}.jpg`, { now: NOW });
    assert.ok(new TextEncoder().encode(p).length <= 458, p.length);
    assert.match(p, /^assets\/é+_1765100000000_0\.jpg$/);
    assert.throws(
      () => assetPath(".jpg", { now: NOW }),
      (e) => /hidden/.test(e.userMessage),
    );
  });
});

describe("asset links (LS get-asset-file-link)", () => {
  const path = "assets/image_1765100000000_0.jpg";
  it("Markdown: ![name](relative) for images, audio, video, PDF; [name](…) otherwise", () => {
    assert.equal(
      assetLink({ format: "markdown", pagePath: "pages/Trip.md", assetPath: path, label: "image.jpg" }),
      "![image.jpg](../assets/image_1765100000000_0.jpg)",
    );
    assert.equal(
      assetLink({
        format: "markdown",
        pagePath: "journals/2026_12_07.md",
        assetPath: "assets/a_1_0.pdf",
        label: "a.pdf",
      }),
      "![a.pdf](../assets/a_1_0.pdf)",
    );
    assert.equal(
      assetLink({ format: "markdown", pagePath: "pages/x.md", assetPath: "assets/talk_1_0.m4a", label: "talk.m4a" }),
      "![talk.m4a](../assets/talk_1_0.m4a)",
    );
    assert.equal(
      assetLink({ format: "markdown", pagePath: "pages/x.md", assetPath: "assets/b_1_0.ogg", label: "b.ogg" }),
      "[b.ogg](../assets/b_1_0.ogg)",
    );
    assert.equal(
      assetLink({ format: "markdown", pagePath: "pages/x.md", assetPath: "assets/d_1_0.tar.gz", label: "d.tar.gz" }),
      "[d.tar.gz](../assets/d_1_0.tar.gz)",
    );
  });
  it("Org: [[relative]] for images, [[relative][name]] otherwise; nested pages go up more", () => {
    assert.equal(
      assetLink({ format: "org", pagePath: "pages/Org Page.org", assetPath: path, label: "image.jpg" }),
      "[[../assets/image_1765100000000_0.jpg]]",
    );
    assert.equal(
      assetLink({ format: "org", pagePath: "pages/sub/deep/n.org", assetPath: "assets/x_1_0.docx", label: "x.docx" }),
      "[[../../../assets/x_1_0.docx][x.docx]]",
    );
    assert.equal(relativePath("pages/a.md", "assets/x.png"), "../assets/x.png");
  });
});

describe("upload limits", () => {
  it("age's ciphertext size is the plaintext plus header and 16 bytes a 64 KiB chunk, as the crypto makes it", async () => {
    const c = createGraphCrypto(await rsapi.keygen());
    for (const n of [0, 1, 65536, 65537, 300_000]) {
      const real = (await c.encryptBody(new Uint8Array(n))).length;
      assert.ok(
        real <= encryptedSize(n) && encryptedSize(n) - real < 40,
        `${n}: real ${real}, estimate ${encryptedSize(n)}`,
      );
    }
  });
  it("a file of the server's object limit or more is refused before upload, with the limit in the message", () => {
    assert.match(
      uploadRefusal(MAX_OBJECT_BYTES),
      /^Too large: this file is 97\.7 MB \(102,400,000 bytes\); Logseq Sync takes files under 102,400,000 bytes \(97\.7 MB\)/,
    );
    assert.match(uploadRefusal(MAX_OBJECT_BYTES - 100), /Too large/, "the encryption overhead counts");
    assert.equal(uploadRefusal(50_000_000), null);
  });
  it("a file over the storage left is refused with what is left", () => {
    assert.match(
      uploadRefusal(2_000_000, { limit: 5 * 2 ** 30, usage: 5 * 2 ** 30 - 1_000_000 }),
      /only 977 KB of your 5\.0 GB/,
    );
    assert.equal(uploadRefusal(1000, { limit: 5 * 2 ** 30, usage: 0 }), null);
  });
});

describe("a new page's text (LS create!)", () => {
  it("triple-lowbar: no title:: property; one block with the first text", () => {
    const c = readConfig("{:file/name-format :triple-lowbar}");
    assert.deepEqual(newPage("Trip/Lisbon: day 1", c, "packed"), {
      path: "pages/Trip___Lisbon%3A day 1.md",
      format: "markdown",
      title: "Trip/Lisbon: day 1",
      text: "- packed",
    });
    assert.equal(newPage("v1.2 notes", c, "x").text, "- x");
  });
  it("legacy: title:: first when the file name does not give the title back (a dot reads as /)", () => {
    const c = readConfig("");
    assert.equal(newPage("v1.2 notes", c, "x").text, "title:: v1.2 notes\n\n- x");
    assert.equal(newPage("Trip/Lisbon", c, "x").text, "- x");
    assert.equal(newPage("Trip/Lisbon", c, "x").path, "pages/Trip%2FLisbon.md");
  });
  it("org, [[brackets]] and #tags removed from the title, refusals keep their reason", () => {
    const c = readConfig("{:preferred-format :org :file/name-format :triple-lowbar}");
    assert.deepEqual(newPage("[[Reading list]]", c, "one"), {
      path: "pages/Reading list.org",
      format: "org",
      title: "Reading list",
      text: "* one",
    });
    assert.equal(newPage("#inbox", c).path, "pages/inbox.org");
    assert.throws(
      () => newPage("   ", c),
      (e) => e.userMessage === "A page needs a title.",
    );
  });
});
