// Writes the inputs of tests/bpe_vs_node.sh to stdout, one JSON string per line:
//  - the first N non-empty lines of every file in SHARED/data/text (CRLF files keep their '\r'),
//  - 10 chunks of 40 consecutive lines of each file (newlines, blank lines, indentation),
//  - the llama.cpp tokenizer test strings (models/vocab/ggml-vocab-gpt-2.gguf.inp),
//  - a few strings with added tokens of Qwen3, Llama-3, Gemma-3, GPT-3.5-turbo, Llama-2 and
//    Phi-3, and text that is not NFC.
// usage: node make_inputs.mjs SHARED_DIR [N=1000]
import fs from "node:fs";
import path from "node:path";

const [shared, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 1000);
const inputs = [];

const textDir = path.join(shared, "data", "text");
for (const f of fs.readdirSync(textDir).sort()) {
  const lines = fs.readFileSync(path.join(textDir, f), "utf8").split("\n");
  inputs.push(...lines.filter((l) => l.length > 0).slice(0, n));
  for (let k = 0; k < 10; ++k) {
    const start = Math.floor((k * lines.length) / 10);
    inputs.push(lines.slice(start, start + 40).join("\n"));
  }
}

// Split as llama.cpp's test-tokenizer-0 does.
const inp = fs.readFileSync(path.join(shared, "models", "vocab", "ggml-vocab-gpt-2.gguf.inp"), "utf8");
const sep = "\n__ggml_vocab_test__\n";
for (let pos = 0; pos < inp.length; ) {
  const next = inp.indexOf(sep, pos);
  if (next < 0) {
    inputs.push(inp.slice(pos));
    break;
  }
  inputs.push(inp.slice(pos, next));
  pos = next + sep.length;
}

inputs.push(
  "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHi.<|im_end|>",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
  "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
  "<table><tr><td>1</td></tr></table>\t\tindented\n\n\n  spaces  ",
  "don't DON'T it's IT'S we'Ve 1234567 ３４５ x²",
  "<|endoftext|>Hello<|fim_prefix|>a(<|fim_suffix|>)b<|fim_middle|> <|endofprompt|>\n",
  "<s>[INST] Hello  [/INST] Hi</s> <unk>\n</s>",
  "<|user|>\nHello  there<|end|>\n<|assistant|>\n Hi!</s>  x<|endoftext|> y<|system|>",
  "a<|placeholder1|>\t\nb <|end|>",
  "Cafe\u0301 re\u0301sume\u0301, \u212b \uff21 \ufb01",
);

process.stdout.write(inputs.map((s) => JSON.stringify(s)).join("\n") + "\n");
