# Writes OUT, a C++ source defining the attention viewer's script and style sheet
# (src/report/view/view.js and view.css) as string constants (report/attention_view.h).
# cmake -DJS=... -DCSS=... -DOUT=... -P EmbedViewAssets.cmake
file(READ ${JS} js)
file(READ ${CSS} css)
foreach(part js css)
  string(FIND "${${part}}" ")ssview\"" bad)
  if(NOT bad EQUAL -1)
    message(FATAL_ERROR "${part} holds the raw-string delimiter )ssview\"")
  endif()
endforeach()
file(WRITE ${OUT}.tmp "// Generated from src/report/view/ by cmake/EmbedViewAssets.cmake: do not edit.\n"
  "#include \"report/attention_view.h\"\n\nnamespace ss {\n"
  "const char* const kAttentionViewJs = R\"ssview(${js})ssview\";\n"
  "const char* const kAttentionViewCss = R\"ssview(${css})ssview\";\n}  // namespace ss\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
