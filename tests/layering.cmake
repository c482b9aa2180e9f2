# Layering tests: a file in layer L that includes a header of layer M compiles only when L depends
# on M (cmake/SinkscopeLayers.cmake). For every pair, a one-line file with an include of one of
# M's headers is compiled with exactly the include paths that L's own sources get:
#   Layering.<L>.sees.<M>     L reaches M: must compile (the probe itself works)
#   Layering.<L>.blocked.<M>  L does not reach M: must fail, for the missing header
# Compiler calls only (no build system), so they run in parallel with everything else.
set(SS_LAYER_PROBE_HEADERS
  base/error.h ops/basic.h format/gguf.h tokenizer/tokenizer.h model/model.h runtime/runtime.h
  analysis/head_stats.h eval/perplexity.h prune/select.h train/trainer.h report/csv.h
  experiments/analyze.h cli/common.h)
set(probe_dir ${CMAKE_CURRENT_BINARY_DIR}/layering)
file(MAKE_DIRECTORY ${probe_dir})
foreach(layer IN LISTS SS_LAYERS)
  get_property(reach GLOBAL PROPERTY SS_REACH_${layer})
  set(includes "$<TARGET_PROPERTY:ss_${layer},INCLUDE_DIRECTORIES>")
  foreach(header IN LISTS SS_LAYER_PROBE_HEADERS)
    string(REGEX REPLACE "/.*" "" other "${header}")
    if(other STREQUAL layer)
      continue()
    endif()
    if(other IN_LIST reach)
      set(name "Layering.${layer}.sees.${other}")
    else()
      set(name "Layering.${layer}.blocked.${other}")
    endif()
    set(probe ${probe_dir}/${layer}_includes_${other}.cpp)
    file(WRITE ${probe} "#include \"${header}\"\n")
    add_test(NAME ${name}
      COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only "-I$<JOIN:${includes},;-I>" ${probe}
      COMMAND_EXPAND_LISTS)
    set_tests_properties(${name} PROPERTIES LABELS unit)
    if(NOT other IN_LIST reach)
      # Must fail, and for this reason (not a broken probe).
      set_tests_properties(${name} PROPERTIES
        PASS_REGULAR_EXPRESSION "${header}: No such file or directory|'${header}' file not found")
    endif()
  endforeach()
endforeach()
