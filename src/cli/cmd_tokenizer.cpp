// sinkscope tokenizer train: learn a SentencePiece-style BPE vocabulary from text files.
#include <cstdio>

#include "base/error.h"
#include "base/text_file.h"
#include "cli/common.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/spm_trainer.h"

namespace ss::cli {

void add_tokenizer(CLI::App& root) {
  CLI::App* tok = root.add_subcommand("tokenizer", "Tokenizer tools");
  tok->require_subcommand(1);
  struct Args {
    std::vector<std::string> data;
    std::string out;
    SpmTrainOptions opt;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = tok->add_subcommand(
      "train",
      "Train a SentencePiece-style BPE vocabulary with byte fallback on text files and write it "
      "as a llama2.c tokenizer .bin (usable as --tokenizer anywhere)");
  cmd->add_option("--data", a->data, "Text files (UTF-8)")->required()->expected(1, -1);
  cmd->add_option("--vocab", a->opt.vocab_size, "Vocabulary size (> 259)")->capture_default_str();
  cmd->add_option("--character-coverage", a->opt.character_coverage,
                  "Share of characters that get their own piece")
      ->capture_default_str();
  cmd->add_option("-o,--out", a->out, "Output .bin")->required();
  cmd->callback([a] {
    std::vector<std::string> texts;
    for (const auto& f : a->data) {
      texts.push_back(read_text(f).text);
      require(!texts.back().empty(), f, "empty file");
    }
    Vocab v = train_spm_bpe(texts, a->opt);
    write_llama2c_vocab(v, a->out);
    // Report the compression on the training text.
    SpmTokenizer t(v);
    size_t bytes = 0, ids = 0;
    for (const auto& s : texts) bytes += s.size(), ids += t.encode(s, false).size();
    std::printf("vocab      %zu tokens -> %s\n", v.size(), a->out.c_str());
    std::printf("bytes/tok  %.3f on the training text\n",
                static_cast<double>(bytes) / static_cast<double>(std::max<size_t>(1, ids)));
  });
}

}  // namespace ss::cli
