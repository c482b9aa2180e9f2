# One static library per folder of src/, each a layer that may use only the layers below it.
#
# A layer's sources and users see headers through build/layers/<layer>/<layer>, a link to
# src/<layer>: "ops/matmul.h" is found only by targets that link ss_ops, so a file that includes a
# header of a layer it does not depend on fails to compile ("No such file or directory"). The
# order below is the only one allowed: ss_add_layer refuses a dependency on a layer at or above
# its own. docs/architecture.md says what each layer holds.
set(SS_LAYERS base ops format tokenizer model runtime analysis eval prune train report
              experiments cli)

# ss_add_layer(<name> [PUBLIC <layer>...] [PRIVATE <layer>...] [LIBS_PUBLIC <target>...]
#              [LIBS_PRIVATE <target>...] [EXCLUDE <file>...])
# PUBLIC: layers a header of this one includes; PRIVATE: layers only its sources include.
function(ss_add_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 L "" "" "PUBLIC;PRIVATE;LIBS_PUBLIC;LIBS_PRIVATE;EXCLUDE")
  list(FIND SS_LAYERS ${name} rank)
  if(rank LESS 0)
    message(FATAL_ERROR "ss_add_layer: '${name}' is not in SS_LAYERS")
  endif()
  foreach(dep IN LISTS L_PUBLIC L_PRIVATE)
    list(FIND SS_LAYERS ${dep} dep_rank)
    if(dep_rank LESS 0 OR NOT dep_rank LESS rank)
      message(FATAL_ERROR "layer ${name} may not depend on ${dep} (order, low to high: ${SS_LAYERS})")
    endif()
  endforeach()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  foreach(x IN LISTS L_EXCLUDE)
    list(REMOVE_ITEM sources ${PROJECT_SOURCE_DIR}/src/${name}/${x})
  endforeach()
  set(root ${PROJECT_BINARY_DIR}/layers/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${name} ${root}/${name} SYMBOLIC)
  # Every layer this one reaches, directly or not: what the layering tests expect it to see.
  set(reach ${L_PUBLIC} ${L_PRIVATE})
  foreach(dep IN LISTS L_PUBLIC L_PRIVATE)
    get_property(dep_reach GLOBAL PROPERTY SS_REACH_${dep})
    list(APPEND reach ${dep_reach})
  endforeach()
  list(REMOVE_DUPLICATES reach)
  set_property(GLOBAL PROPERTY SS_REACH_${name} "${reach}")
  add_library(ss_${name} STATIC ${sources})
  target_include_directories(ss_${name} PUBLIC ${root})
  list(TRANSFORM L_PUBLIC PREPEND ss_)
  list(TRANSFORM L_PRIVATE PREPEND ss_)
  target_link_libraries(ss_${name} PUBLIC ${L_PUBLIC} ${L_LIBS_PUBLIC}
                                   PRIVATE ${L_PRIVATE} ${L_LIBS_PRIVATE})
endfunction()
